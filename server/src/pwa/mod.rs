//! What makes the app installable and usable offline: the build-rendered icons, the service
//! worker generated for this build, and the build version every page carries.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use app::SiteFiles;
use axum::{
    extract::{Path as UrlPath, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::site::{Embedded, Site};
use crate::state::AppState;

const SW_TEMPLATE: &str = include_str!("sw.js");

/// What cargo-leptos writes under the site root, named after the app (`app::NAME`): the WASM,
/// its JS glue and the CSS.
fn built_files() -> [String; 3] {
    ["js", "wasm", "css"].map(|ext| format!("pkg/{}.{ext}", app::NAME))
}

/// The files of the app shell, precached together under one version: the page, the names it
/// loads its JS, WASM and CSS by (content-hashed for the embedded site), the static rest.
pub fn shell(files: &SiteFiles) -> Vec<String> {
    ["/", &files.js, &files.wasm, &files.css]
        .into_iter()
        .map(str::to_string)
        .chain(STATIC_SHELL.iter().map(|f| f.to_string()))
        .collect()
}

/// The rest of the shell: files served as they are.
const STATIC_SHELL: &[&str] = &[
    "/manifest.webmanifest",
    "/favicon.svg",
    "/pwa.js",
    "/icons/icon-192.png",
    "/icons/icon-512.png",
    "/icons/apple-touch-icon.png",
];

const ICONS: &[(&str, &[u8])] = &[
    (
        "icon-192.png",
        include_bytes!(concat!(env!("OUT_DIR"), "/icon-192.png")),
    ),
    (
        "icon-512.png",
        include_bytes!(concat!(env!("OUT_DIR"), "/icon-512.png")),
    ),
    (
        "icon-maskable-512.png",
        include_bytes!(concat!(env!("OUT_DIR"), "/icon-maskable-512.png")),
    ),
    (
        "apple-touch-icon.png",
        include_bytes!(concat!(env!("OUT_DIR"), "/apple-touch-icon.png")),
    ),
];

/// A short hash of everything in the shell that a build can change (the WASM, its JS glue,
/// the CSS, the manifest) and of this binary's service worker and icons.
pub fn build_version(site_root: &Path) -> String {
    let mut h = Sha256::new();
    for file in hashed_files() {
        h.update(file.as_bytes());
        // A missing file (tests without a site) still yields a stable version.
        h.update(std::fs::read(site_root.join(file)).unwrap_or_default());
    }
    finish(h)
}

/// The version of an embedded site: every file's hash (computed when it was compiled in), so
/// nothing is read or hashed again at start.
pub fn embedded_version(site: &Embedded) -> String {
    let mut h = Sha256::new();
    for (path, sha256) in site.digests() {
        h.update(path.as_bytes());
        h.update(sha256);
    }
    finish(h)
}

/// Adds what the binary itself contributes to the shell and shortens the hash.
fn finish(mut h: Sha256) -> String {
    h.update(SW_TEMPLATE.as_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (_, bytes) in ICONS {
        h.update(bytes);
    }
    hex::encode(&h.finalize()[..8])
}

/// The build version, kept current while the host runs.
///
/// The embedded site cannot change under the binary: its version is fixed. A site on disk can:
/// a rebuild under a running host (`cargo leptos build`) replaces the files it serves; a version
/// computed once at start would keep the old worker, whose cache then pairs the new HTML with
/// the old WASM. So each read re-stamps the built files (size and modification time: a few
/// `stat` calls) and hashes them again only when a stamp changed.
pub struct BuildVersion(Source);

enum Source {
    Fixed(Arc<str>),
    Disk {
        root: PathBuf,
        cached: Mutex<(Vec<Stamp>, Arc<str>)>,
    },
}

/// What tells a file changed without reading it.
type Stamp = Option<(u64, SystemTime)>;

impl BuildVersion {
    pub fn new(site: &Site) -> Self {
        match site {
            Site::Embedded(e) => Self(Source::Fixed(embedded_version(e).into())),
            Site::Disk(root) => Self::disk(root),
        }
    }

    /// The version of the site in `site_root`, following rebuilds.
    pub fn disk(site_root: &Path) -> Self {
        let root = site_root.to_path_buf();
        let stamps = stamps(&root);
        let version = build_version(&root).into();
        Self(Source::Disk {
            root,
            cached: Mutex::new((stamps, version)),
        })
    }

    /// This build's version, hashed again when the built files changed since the last read.
    pub fn current(&self) -> Arc<str> {
        match &self.0 {
            Source::Fixed(v) => v.clone(),
            Source::Disk { root, cached } => {
                let now = stamps(root);
                let mut cached = cached.lock().unwrap_or_else(|e| e.into_inner());
                if cached.0 != now {
                    *cached = (now, build_version(root).into());
                }
                cached.1.clone()
            }
        }
    }
}

fn stamps(root: &Path) -> Vec<Stamp> {
    hashed_files()
        .map(|f| {
            let m = std::fs::metadata(root.join(f)).ok()?;
            Some((m.len(), m.modified().ok()?))
        })
        .collect()
}

/// The files of the site that `build_version` hashes.
fn hashed_files() -> impl Iterator<Item = String> {
    built_files()
        .into_iter()
        .chain(["manifest.webmanifest".to_string()])
}

/// The response header that tells a page's build (`x-mac-status-build`).
pub fn build_header() -> &'static HeaderName {
    static NAME: LazyLock<HeaderName> = LazyLock::new(|| {
        HeaderName::try_from(format!("x-{}-build", app::NAME)).expect("the app name is a token")
    });
    &NAME
}

/// The worker for this build: its version, its shell, and the names it shares with the host.
pub fn service_worker_js(version: &str, files: &SiteFiles) -> String {
    let assets = serde_json::to_string(&shell(files)).unwrap_or_else(|_| "[]".into());
    SW_TEMPLATE
        .replace("__VERSION__", version)
        .replace("__ASSETS__", &assets)
        .replace("__NAME__", app::NAME)
        .replace("__BUILD_HEADER__", build_header().as_str())
}

pub async fn service_worker(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // `no-cache`: browsers must always see the newest worker to learn about updates; the
    // ETag makes that check a 304 while the build is the same.
    crate::site::revalidated(
        "text/javascript; charset=utf-8",
        service_worker_js(&state.build.current(), &state.site.files()),
        &headers,
    )
}

/// The icons, revalidated like the rest of the shell (they change with `public/icon.svg`,
/// under the same name).
pub async fn icon(UrlPath(name): UrlPath<String>, headers: HeaderMap) -> Response {
    match ICONS.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) => crate::site::revalidated("image/png", *bytes, &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Tags every response with the build, so the service worker can tell a page of another
/// version from its own.
pub async fn tag_build(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&state.build.current()) {
        res.headers_mut().insert(build_header(), v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_carries_the_version_and_the_whole_shell() {
        let js = service_worker_js("abc123", &SiteFiles::plain());
        assert!(js.contains("const VERSION = \"abc123\";"));
        assert!(js.contains("\"/pkg/mac-status.wasm\""));
        assert!(js.contains("\"/pkg/mac-status.js\""));
        assert!(js.contains("const CACHE = `mac-status-${VERSION}`;"));
        assert!(js.contains("res.headers.get(\"x-mac-status-build\")"));
        assert!(!js.contains("__"), "every placeholder is filled");
        let hashed = SiteFiles {
            js: "/pkg/mac-status.0123456789ab.js".into(),
            ..SiteFiles::plain()
        };
        let js = service_worker_js("abc123", &hashed);
        assert!(js.contains("\"/pkg/mac-status.0123456789ab.js\""));
        assert!(!js.contains("\"/pkg/mac-status.js\""));
    }

    #[test]
    fn an_embedded_version_follows_the_content() {
        let site = |wasm: &'static [u8]| {
            Embedded::new([crate::site::EmbeddedFile {
                path: "pkg/mac-status.wasm".into(),
                data: wasm.into(),
                sha256: Sha256::digest(wasm).into(),
                content_type: "application/wasm".into(),
            }])
        };
        let v1 = embedded_version(&site(b"one"));
        assert_eq!(v1, embedded_version(&site(b"one")));
        assert_ne!(v1, embedded_version(&site(b"two")));
        assert_eq!(v1.len(), 16);
    }

    #[test]
    fn the_name_is_the_one_cargo_leptos_builds() {
        // `output-name` in the workspace manifest is what cargo-leptos names `pkg/*` after.
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        let conf = leptos::config::get_configuration(Some(manifest)).unwrap();
        assert_eq!(&*conf.leptos_options.output_name, app::NAME);
    }

    #[test]
    fn the_version_changes_when_the_wasm_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/mac-status.wasm"), b"one").unwrap();
        let v1 = build_version(dir.path());
        assert_eq!(v1, build_version(dir.path()), "stable for the same files");
        std::fs::write(dir.path().join("pkg/mac-status.wasm"), b"two").unwrap();
        assert_ne!(v1, build_version(dir.path()));
    }

    #[test]
    fn a_running_host_sees_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        let wasm = dir.path().join("pkg/mac-status.wasm");
        std::fs::write(&wasm, b"first build").unwrap();
        let build = BuildVersion::disk(dir.path());
        let v1 = build.current();
        assert_eq!(v1, build.current(), "unchanged files keep the version");
        assert_eq!(&*v1, build_version(dir.path()));
        // Same length, so only the content and the modification time tell the change.
        std::fs::write(&wasm, b"other build").unwrap();
        let f = std::fs::File::options().write(true).open(&wasm).unwrap();
        f.set_modified(SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        let v2 = build.current();
        assert_ne!(v1, v2);
        assert_eq!(&*v2, build_version(dir.path()));
    }

    #[test]
    fn icons_are_real_pngs_of_the_right_size() {
        for (name, bytes) in ICONS {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}");
            // IHDR width/height, big-endian, at bytes 16..24.
            let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
            let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
            let expected = if name.starts_with("apple") {
                180
            } else if name.contains("192") {
                192
            } else {
                512
            };
            assert_eq!((w, h), (expected, expected), "{name}");
        }
    }
}
