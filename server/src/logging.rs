//! Where the host's log goes: standard output (a terminal, or the journal under systemd), or,
//! for the LaunchAgent, a file of its own that is rotated daily with the last
//! [`KEEP_DAYS`] days kept — launchd never rotates the file it is given, and a log that only
//! grows would in the end fill the disk.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Days of log kept beside today's.
pub const KEEP_DAYS: usize = 7;

#[derive(Debug, Error)]
pub enum LogError {
    #[error("cannot write the log in {}: {source}", dir.display())]
    Dir { dir: PathBuf, source: io::Error },
    #[error("cannot open the log file: {0}")]
    Open(#[from] tracing_appender::rolling::InitError),
}

/// A log file name split the way the rotating appender names its files:
/// `mac-status.log` → `mac-status.2026-11-27.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub dir: PathBuf,
    pub prefix: String,
    pub suffix: String,
}

impl LogFile {
    pub fn new(path: &Path) -> Self {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = |s: Option<&std::ffi::OsStr>| s.map(|s| s.to_string_lossy().into_owned());
        Self {
            dir,
            prefix: name(path.file_stem()).unwrap_or_else(|| app::NAME.to_string()),
            suffix: name(path.extension()).unwrap_or_else(|| "log".to_string()),
        }
    }

    /// This file's dated siblings, oldest first (the dates sort as text).
    fn dated(&self) -> io::Result<Vec<PathBuf>> {
        let head = format!("{}.", self.prefix);
        let tail = format!(".{}", self.suffix);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.len() == head.len() + "YYYY-MM-DD".len() + tail.len()
                    && n.starts_with(&head)
                    && n.ends_with(&tail)
            })
            .map(|e| e.path())
            .collect();
        files.sort();
        Ok(files)
    }

    /// Deletes all but the newest `keep` dated files. The appender prunes only when a day
    /// rolls over, so a host restarted daily (a laptop's login) would otherwise never prune.
    pub fn prune(&self, keep: usize) -> io::Result<usize> {
        let files = self.dated()?;
        let excess = files.len().saturating_sub(keep);
        for f in &files[..excess] {
            std::fs::remove_file(f)?;
        }
        Ok(excess)
    }

    fn appender(&self) -> Result<RollingFileAppender, LogError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| LogError::Dir {
            dir: self.dir.clone(),
            source,
        })?;
        Ok(RollingFileAppender::builder()
            .rotation(Rotation::DAILY)
            .filename_prefix(&self.prefix)
            .filename_suffix(&self.suffix)
            .max_log_files(KEEP_DAYS + 1)
            .build(&self.dir)?)
    }
}

/// Starts logging: to `file` (rotated) when given, else to standard output. `RUST_LOG`
/// chooses the level, as usual.
pub fn init(file: Option<&Path>) -> Result<(), LogError> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,llama_cpp_2=warn,llama-cpp-2=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        None => builder.init(),
        Some(path) => {
            let log = LogFile::new(path);
            // Before the appender opens today's file, by the dates in the names (the appender's
            // own pruning orders by creation time, which copies and restores scramble).
            let pruned = log.prune(KEEP_DAYS);
            let appender = log.appender()?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(appender))
                .init();
            match pruned {
                Ok(0) => {}
                Ok(n) => tracing::info!("removed {n} log files older than {KEEP_DAYS} days"),
                Err(e) => tracing::warn!("cannot prune old log files: {e}"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_the_appender_writes_them() {
        let l = LogFile::new(Path::new("/Users/kei/Library/Logs/mac-status.log"));
        assert_eq!(l.dir, PathBuf::from("/Users/kei/Library/Logs"));
        assert_eq!(
            (l.prefix.as_str(), l.suffix.as_str()),
            ("mac-status", "log")
        );
        assert_eq!(LogFile::new(Path::new("host.txt")).dir, PathBuf::from("."));
    }

    #[test]
    fn prune_keeps_the_newest_dated_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let l = LogFile::new(&dir.path().join("mac-status.log"));
        for day in 1..=9 {
            std::fs::write(
                dir.path().join(format!("mac-status.2026-11-0{day}.log")),
                "x",
            )
            .unwrap();
        }
        // Not ours: other names, another suffix, the undated file.
        for other in [
            "notes.2026-11-01.log",
            "mac-status.2026-11-01.txt",
            "mac-status.log",
        ] {
            std::fs::write(dir.path().join(other), "x").unwrap();
        }
        assert_eq!(l.prune(3).unwrap(), 6);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "mac-status.2026-11-01.txt",
                "mac-status.2026-11-07.log",
                "mac-status.2026-11-08.log",
                "mac-status.2026-11-09.log",
                "mac-status.log",
                "notes.2026-11-01.log",
            ]
        );
    }
}
