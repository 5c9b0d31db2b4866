//! Whether a memory-mapped model file is still the file that was loaded.
//!
//! A mapped model *is* its file: rewritten in place, the weights change under the running
//! model; truncated, the next touch of a page past the new end raises SIGBUS and kills the
//! host. Deleting the file, or renaming another over it (as `model pull` installs a download),
//! is harmless: the mapping keeps the old inode alive. So before each answer the engine
//! compares the path's file with the one it mapped, and refuses to touch the weights when
//! that very file changed. (Small models are not mapped at all: see
//! `hardware::memory_map_for_model`.)

use std::path::Path;
use std::time::SystemTime;

/// What the loaded file was: which file (device and inode on Unix), how long, when modified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    id: Option<(u64, u64)>,
}

impl FileStamp {
    pub(crate) fn of(path: &Path) -> std::io::Result<FileStamp> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt;
            Some((meta.dev(), meta.ino()))
        };
        #[cfg(not(unix))]
        let id = None;
        Ok(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            id,
        })
    }

    /// `Err` with the reason when the file at `path` is the loaded file, changed in place
    /// (truncated or rewritten). A missing file, or another file renamed there, is fine: the
    /// mapping still holds the loaded one, untouched.
    pub(crate) fn check(&self, path: &Path) -> Result<(), String> {
        let Ok(now) = FileStamp::of(path) else {
            return Ok(());
        };
        if now.id.is_some() && now.id != self.id {
            return Ok(());
        }
        if now.len == self.len && now.modified == self.modified {
            return Ok(());
        }
        Err(format!(
            "it changed on disk while loaded ({} bytes, now {}), so its memory-mapped weights \
             are no longer the loaded model; restart Mac Status to load it again (to replace a \
             model while the host runs, move the new file over it: copying onto it rewrites it)",
            self.len, now.len
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_file_changed_in_place_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let stamp = FileStamp::of(&path).unwrap();
        assert_eq!(stamp.check(&path), Ok(()));

        // Another file renamed over it: the mapping keeps the old one.
        let other = dir.path().join("new.gguf");
        std::fs::write(&other, vec![1u8; 100]).unwrap();
        std::fs::rename(&other, &path).unwrap();
        #[cfg(unix)]
        assert_eq!(stamp.check(&path), Ok(()));
        // Deleted: likewise.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(stamp.check(&path), Ok(()));

        // Truncated in place.
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let stamp = FileStamp::of(&path).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1024)
            .unwrap();
        let why = stamp.check(&path).unwrap_err();
        assert!(why.contains("4096 bytes, now 1024"), "{why}");
    }
}
