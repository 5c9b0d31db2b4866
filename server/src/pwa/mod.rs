//! What makes the app installable and usable offline: the build-rendered icons, the service
//! worker generated for this build, and the build version every page carries.

use std::path::Path;
use std::sync::LazyLock;

use axum::{
    extract::{Path as UrlPath, Request, State},
    http::{header, HeaderName, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::state::AppState;

const SW_TEMPLATE: &str = include_str!("sw.js");

/// What cargo-leptos writes under the site root, named after the app (`app::NAME`): the WASM,
/// its JS glue and the CSS.
fn built_files() -> [String; 3] {
    ["js", "wasm", "css"].map(|ext| format!("pkg/{}.{ext}", app::NAME))
}

/// The files of the app shell, precached together under one version.
pub fn shell() -> Vec<String> {
    std::iter::once("/".to_string())
        .chain(built_files().iter().map(|f| format!("/{f}")))
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
    for file in built_files()
        .iter()
        .map(String::as_str)
        .chain(["manifest.webmanifest"])
    {
        h.update(file.as_bytes());
        // A missing file (tests without a site) still yields a stable version.
        h.update(std::fs::read(site_root.join(file)).unwrap_or_default());
    }
    h.update(SW_TEMPLATE.as_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (_, bytes) in ICONS {
        h.update(bytes);
    }
    hex::encode(&h.finalize()[..8])
}

/// The response header that tells a page's build (`x-mac-status-build`).
pub fn build_header() -> &'static HeaderName {
    static NAME: LazyLock<HeaderName> = LazyLock::new(|| {
        HeaderName::try_from(format!("x-{}-build", app::NAME)).expect("the app name is a token")
    });
    &NAME
}

/// The worker for this build: its version, its shell, and the names it shares with the host.
pub fn service_worker_js(version: &str) -> String {
    let assets = serde_json::to_string(&shell()).unwrap_or_else(|_| "[]".into());
    SW_TEMPLATE
        .replace("__VERSION__", version)
        .replace("__ASSETS__", &assets)
        .replace("__NAME__", app::NAME)
        .replace("__BUILD_HEADER__", build_header().as_str())
}

pub async fn service_worker(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Browsers must always see the newest worker to learn about updates.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        service_worker_js(&state.build),
    )
        .into_response()
}

pub async fn icon(UrlPath(name): UrlPath<String>) -> Response {
    match ICONS.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Tags every response with the build, so the service worker can tell a page of another
/// version from its own.
pub async fn tag_build(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&state.build) {
        res.headers_mut().insert(build_header(), v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_carries_the_version_and_the_whole_shell() {
        let js = service_worker_js("abc123");
        assert!(js.contains("const VERSION = \"abc123\";"));
        assert!(js.contains("\"/pkg/mac-status.wasm\""));
        assert!(js.contains("\"/pkg/mac-status.js\""));
        assert!(js.contains("const CACHE = `mac-status-${VERSION}`;"));
        assert!(js.contains("res.headers.get(\"x-mac-status-build\")"));
        assert!(!js.contains("__"), "every placeholder is filled");
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
