//! The bearer token of the remote listener: 32 random bytes as hex, in a file only its owner
//! can read (0600, written to a temporary file and renamed, so no reader ever sees a partial or
//! world-readable token). `mac-status token show` prints it (creating it on first use),
//! `token rotate` replaces it; a running host notices the new file at its next request.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Random bytes in a token (256 bits: guessing is hopeless, rate limit or not).
pub const TOKEN_BYTES: usize = 32;
/// The file's name in the platform's config folder.
pub const FILE_NAME: &str = "remote-token";

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("cannot read the token file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the token file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the token file {path} can be read by other users (mode {mode:o}): run `chmod 600 {path}` or `mac-status token rotate`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("the token file {path} holds no token: run `mac-status token rotate`")]
    Empty { path: PathBuf },
    #[error("no random numbers from the OS: {0}")]
    Random(String),
    #[error("no config folder for this user: name a token file with --token-file")]
    NoConfigFolder,
}

/// `remote-token` in the platform's config folder: `~/Library/Application
/// Support/dev.macstatus.host/` on macOS, `$XDG_CONFIG_HOME/mac-status/` elsewhere.
pub fn default_path() -> Option<PathBuf> {
    Some(crate::dirs::config_dir()?.join(FILE_NAME))
}

/// A fresh token: [`TOKEN_BYTES`] from the OS's generator, as lowercase hex.
pub fn generate() -> Result<String, TokenError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// Writes a new token to `path` atomically with owner-only permissions, and returns it.
pub fn rotate(path: &Path) -> Result<String, TokenError> {
    let token = generate()?;
    write_atomically(path, &token)?;
    Ok(token)
}

/// The token in `path`, created first if the file does not exist.
pub fn load_or_create(path: &Path) -> Result<String, TokenError> {
    match read(path) {
        Err(TokenError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            rotate(path)
        }
        other => other,
    }
}

/// The token in `path`, refused when others may read the file.
pub fn read(path: &Path) -> Result<String, TokenError> {
    let read_err = |source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(read_err)?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(TokenError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(token.to_owned())
}

/// A temporary file beside `path`, created 0600 (never wider, not even for an instant), then
/// renamed over it: readers see the old token or the new one, whole.
fn write_atomically(path: &Path, token: &str) -> Result<(), TokenError> {
    let write_err = |source| TokenError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| FILE_NAME.into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(token.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

/// What identifies one version of the file: a rotation renames a new file in (another inode),
/// and the modification time covers an editor that rewrites it in place.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        let meta = std::fs::metadata(path)?;
        Ok(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(&meta),
        })
    }
}

/// The token as the running host checks it: only its SHA-256 kept, compared in constant time;
/// the file re-read when it changes, so `token rotate` takes effect without a restart.
pub struct TokenFile {
    path: PathBuf,
    /// `None`: the file became unreadable; every request is refused until it is fixed.
    current: RwLock<(Stamp, Option<[u8; 32]>)>,
}

/// The path only: not even the token's hash goes to a log.
impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl TokenFile {
    /// Loads (or first creates) the token at `path`.
    pub fn open(path: &Path) -> Result<TokenFile, TokenError> {
        let token = load_or_create(path)?;
        let stamp = Stamp::of(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(TokenFile {
            path: path.to_path_buf(),
            current: RwLock::new((stamp, Some(digest(token.as_bytes())))),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `presented` is the token now in the file. One `stat` per call (a microsecond);
    /// the file is read again only when it changed. Fails closed: an unreadable or too-open
    /// file refuses everyone.
    pub fn verify(&self, presented: &[u8]) -> bool {
        let stamp = Stamp::of(&self.path).ok();
        let expected = {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            match &stamp {
                Some(s) if *s == current.0 => current.1,
                _ => None,
            }
        };
        let expected = match (expected, stamp) {
            (Some(d), _) => Some(d),
            (None, None) => None,
            (None, Some(stamp)) => self.reload(stamp),
        };
        // Hashing first makes both sides 32 bytes: the comparison time says nothing about
        // the token, not even its length.
        expected.is_some_and(|e| bool::from(e.ct_eq(&digest(presented))))
    }

    fn reload(&self, stamp: Stamp) -> Option<[u8; 32]> {
        let loaded = match read(&self.path) {
            Ok(token) => Some(digest(token.as_bytes())),
            Err(e) => {
                tracing::error!("remote access refused until the token file is fixed: {e}");
                None
            }
        };
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = (stamp, loaded);
        loaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_in_hex() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_eq!(a.len(), 2 * TOKEN_BYTES);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_created_owner_only_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/remote-token");
        let token = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&path).unwrap(), token, "created once");
        // Nothing left behind but the file itself.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["remote-token"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, "abc").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read(&path),
            Err(TokenError::TooOpen { mode: 0o644, .. })
        ));
        assert!(TokenFile::open(&path).is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read(&path).unwrap(), "abc");
    }

    #[test]
    fn verify_accepts_only_the_token_and_follows_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        let file = TokenFile::open(&path).unwrap();
        let old = read(&path).unwrap();
        assert!(file.verify(old.as_bytes()));
        for wrong in ["", "x", &old[1..], &format!("{old}0"), &old.to_uppercase()] {
            assert!(!file.verify(wrong.as_bytes()), "{wrong:?}");
        }
        let new = rotate(&path).unwrap();
        assert!(
            file.verify(new.as_bytes()),
            "the rotated token is picked up"
        );
        assert!(
            !file.verify(old.as_bytes()),
            "the old one is refused at once"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(!file.verify(new.as_bytes()), "no file: everyone is refused");
    }
}
