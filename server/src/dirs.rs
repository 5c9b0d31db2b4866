//! The platform's folders for this app, so an installed binary finds its config, models and
//! data from any working folder: `~/Library/Application Support/dev.macstatus.host/` on macOS
//! (named like the LaunchAgent), `$XDG_CONFIG_HOME/mac-status/` and `$XDG_DATA_HOME/mac-status/`
//! elsewhere. `None` where the OS has no home folder for this user.

use std::path::{Path, PathBuf};

fn folder() -> &'static str {
    if cfg!(target_os = "macos") {
        crate::service::LAUNCH_AGENT_LABEL
    } else {
        "mac-status"
    }
}

/// Config and secrets (`config.toml`, `remote-token`).
pub fn config_dir() -> Option<PathBuf> {
    Some(directories::BaseDirs::new()?.config_dir().join(folder()))
}

/// Data (`history.db`, `models/`).
pub fn data_dir() -> Option<PathBuf> {
    Some(directories::BaseDirs::new()?.data_dir().join(folder()))
}

/// The config file read when `--config` is not given, if it exists.
pub fn default_config() -> Option<PathBuf> {
    config_dir()
        .map(|d| d.join("config.toml"))
        .filter(|p| p.is_file())
}

/// A model path as given, or, when it is relative and not found from the working folder, the
/// same path under the data folder (`models/X.gguf` → `<data>/models/X.gguf`) where that
/// exists: `mac-status` started from anywhere finds the model `model pull` put there.
pub fn find_model(path: &Path, data: Option<&Path>) -> PathBuf {
    if path.is_relative() && !path.exists() {
        if let Some(alt) = data.map(|d| d.join(path)).filter(|p| p.exists()) {
            return alt;
        }
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_model_is_found_in_the_data_folder_when_not_here() {
        let data = tempfile::tempdir().unwrap();
        let rel = Path::new("models/not-in-the-working-folder.gguf");
        // Not anywhere: the path as given, so the error names what was asked for.
        assert_eq!(find_model(rel, Some(data.path())), rel);
        std::fs::create_dir_all(data.path().join("models")).unwrap();
        std::fs::write(data.path().join(rel), b"GGUF").unwrap();
        assert_eq!(find_model(rel, Some(data.path())), data.path().join(rel));
        // Absolute paths are never moved.
        let abs = Path::new("/nowhere/x.gguf");
        assert_eq!(find_model(abs, Some(data.path())), abs);
        assert_eq!(find_model(rel, None), rel);
    }

    #[test]
    fn folders_follow_the_platform() {
        if let (Some(c), Some(d)) = (config_dir(), data_dir()) {
            assert!(c.ends_with(folder()) && d.ends_with(folder()));
        }
    }
}
