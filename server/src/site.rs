//! The built site (WASM, JS glue, CSS, public assets): inside the binary by default, so an
//! installed `mac-status` works from any folder; or a folder on disk (`--site-root`,
//! `LEPTOS_SITE_ROOT` under `cargo leptos watch`), served as it is.
//!
//! The embedded site serves the page's three files under content-hashed names
//! (`/pkg/mac-status.1a2b3c4d5e6f.wasm`), cached for a year, so a browser never revalidates
//! them and never pairs a new page with an old WASM; every other file (and the plain names)
//! answers `no-cache` with a strong ETag, so a revalidation is a cheap 304. Always the brotli
//! copy when the client takes it, else the gzip one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

use app::SiteFiles;
use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};

/// Where the site comes from.
#[derive(Clone, Debug)]
pub enum Site {
    /// Compiled into this binary (feature `embed-site`, the default).
    Embedded(&'static Embedded),
    /// A folder on disk with cargo-leptos' plain names (`ServeDir`, revalidated each time).
    Disk(PathBuf),
}

impl Site {
    /// The folder `site_root` when one is named; else the embedded site, or `target/site` in a
    /// build without it.
    pub fn new(site_root: Option<PathBuf>) -> Self {
        match (site_root, Embedded::get()) {
            (Some(root), _) => Site::Disk(root),
            (None, Some(embedded)) => Site::Embedded(embedded),
            (None, None) => Site::Disk(PathBuf::from("target/site")),
        }
    }

    /// The names the page loads its JS, WASM and CSS by.
    pub fn files(&self) -> SiteFiles {
        match self {
            Site::Embedded(e) => e.files.clone(),
            Site::Disk(_) => SiteFiles::plain(),
        }
    }
}

/// A content encoding the site is stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The best encoding `Accept-Encoding` allows: brotli (smallest), else gzip, else the file
    /// as it is. A coding is allowed when listed (or matched by `*`) with a non-zero quality.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Encoding::Identity;
        };
        let mut star = None;
        let (mut br, mut gzip) = (None, None);
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "br" => br = Some(q),
                "gzip" | "x-gzip" => gzip = Some(q),
                "*" => star = Some(q),
                _ => {}
            }
        }
        let allowed = |q: Option<f32>| q.or(star).is_some_and(|q| q > 0.0);
        if allowed(br) {
            Encoding::Brotli
        } else if allowed(gzip) {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` value (none for the file as it is).
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }
}

/// How long a browser may keep an answer without asking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// A content-hashed name: its content never changes.
    Immutable,
    /// Any other name: revalidated every time (a 304 when unchanged).
    Revalidate,
}

impl Caching {
    fn header(self) -> &'static str {
        match self {
            Caching::Immutable => "public, max-age=31536000, immutable",
            Caching::Revalidate => "no-cache",
        }
    }
}

/// How many hex digits of the SHA-256 name a file (48 bits: no collision between builds).
const HASH_HEX: usize = 12;

/// `pkg/mac-status.wasm` → `pkg/mac-status.1a2b3c4d5e6f.wasm`: the first 12 hex digits of the
/// content's SHA-256 before the extension.
pub fn hashed_name(path: &str, sha256: &[u8; 32]) -> String {
    let hash = &hex::encode(sha256)[..HASH_HEX];
    let file_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[file_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let dot = file_start + dot;
            format!("{}.{hash}{}", &path[..dot], &path[dot..])
        }
        _ => format!("{path}.{hash}"),
    }
}

/// One file of the site as compiled in.
#[derive(Clone, Debug)]
pub struct EmbeddedFile {
    /// Its path in the site, without a leading `/` (`pkg/mac-status.wasm`).
    pub path: String,
    pub data: Cow<'static, [u8]>,
    /// SHA-256 of `data`, computed when it was compiled in.
    pub sha256: [u8; 32],
    pub content_type: String,
}

/// A file with its compressed copies.
#[derive(Debug)]
struct Asset {
    file: EmbeddedFile,
    br: Option<Cow<'static, [u8]>>,
    gz: Option<Cow<'static, [u8]>>,
}

impl Asset {
    /// The stored copy for `encoding`, or a lesser one that is there.
    fn variant(&self, encoding: Encoding) -> (Encoding, &Cow<'static, [u8]>) {
        match (encoding, &self.br, &self.gz) {
            (Encoding::Brotli, Some(br), _) => (Encoding::Brotli, br),
            (Encoding::Brotli | Encoding::Gzip, _, Some(gz)) => (Encoding::Gzip, gz),
            _ => (Encoding::Identity, &self.file.data),
        }
    }

    /// A strong validator per stored copy: the content's hash, and the coding (a brotli body
    /// is another representation than the gzip one).
    fn etag(&self, encoding: Encoding) -> String {
        let hash = hex::encode(&self.file.sha256[..8]);
        match encoding.header() {
            Some(coding) => format!("\"{hash}-{coding}\""),
            None => format!("\"{hash}\""),
        }
    }
}

/// The site compiled into the binary, indexed by the URL paths it answers.
#[derive(Debug)]
pub struct Embedded {
    files: SiteFiles,
    assets: Vec<Asset>,
    /// URL path without the leading `/` → (asset, caching).
    routes: HashMap<String, (usize, Caching)>,
}

impl Embedded {
    /// The site of this binary (`None` in a build without the `embed-site` feature).
    pub fn get() -> Option<&'static Embedded> {
        #[cfg(feature = "embed-site")]
        {
            static SITE: std::sync::LazyLock<Embedded> =
                std::sync::LazyLock::new(|| Embedded::new(compiled::files()));
            Some(&SITE)
        }
        #[cfg(not(feature = "embed-site"))]
        None
    }

    /// Indexes `files` (each file with its `.br`/`.gz` copies): every file under its own name,
    /// and the page's JS, WASM and CSS also under their content-hashed names.
    pub fn new(files: impl IntoIterator<Item = EmbeddedFile>) -> Self {
        let mut by_path: HashMap<String, EmbeddedFile> =
            files.into_iter().map(|f| (f.path.clone(), f)).collect();
        let copies: Vec<String> = by_path
            .keys()
            .filter(|p| p.ends_with(".br") || p.ends_with(".gz"))
            .cloned()
            .collect();
        let mut copies: HashMap<String, Cow<'static, [u8]>> = copies
            .into_iter()
            .filter_map(|p| by_path.remove(&p).map(|f| (p, f.data)))
            .collect();
        let mut paths: Vec<String> = by_path.keys().cloned().collect();
        paths.sort();
        let plain = SiteFiles::plain();
        let page = [plain.js, plain.wasm, plain.css];
        let mut assets = Vec::new();
        let mut routes = HashMap::new();
        let mut hashed = HashMap::new();
        for path in paths {
            let file = by_path.remove(&path).expect("listed");
            let index = assets.len();
            routes.insert(path.clone(), (index, Caching::Revalidate));
            if let Some(url) = page.iter().find(|u| u[1..] == path) {
                let name = hashed_name(&path, &file.sha256);
                routes.insert(name.clone(), (index, Caching::Immutable));
                hashed.insert(url.clone(), format!("/{name}"));
            }
            assets.push(Asset {
                br: copies.remove(&format!("{path}.br")),
                gz: copies.remove(&format!("{path}.gz")),
                file,
            });
        }
        let name = |plain: &String| hashed.get(plain).cloned().unwrap_or_else(|| plain.clone());
        let [js, wasm, css] = &page;
        Embedded {
            files: SiteFiles {
                js: name(js),
                wasm: name(wasm),
                css: name(css),
            },
            assets,
            routes,
        }
    }

    /// The names the page loads (hashed where the site has the file).
    pub fn files(&self) -> &SiteFiles {
        &self.files
    }

    /// Every file's path and SHA-256, in path order (what the build version hashes).
    pub fn digests(&self) -> impl Iterator<Item = (&str, &[u8; 32])> {
        self.assets
            .iter()
            .map(|a| (a.file.path.as_str(), &a.file.sha256))
    }

    /// The answer for a GET or HEAD of `path` (`/pkg/…`), or `None` when the site has no such
    /// file (the app then renders its 404 page).
    pub fn respond(&self, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let (index, caching) = *self.routes.get(path.strip_prefix('/')?)?;
        let asset = &self.assets[index];
        let wanted = Encoding::negotiate(
            headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
        let (encoding, body) = asset.variant(wanted);
        let etag = asset.etag(encoding);
        let not_modified = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| etag_matches(v, &etag));
        let mut res = Response::builder()
            .header(header::CACHE_CONTROL, caching.header())
            .header(header::ETAG, &etag)
            .header(header::VARY, "accept-encoding");
        if not_modified {
            return res
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .ok();
        }
        res = res.header(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&asset.file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        if let Some(coding) = encoding.header() {
            res = res.header(header::CONTENT_ENCODING, coding);
        }
        res.header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body.clone()))
            .ok()
    }
}

/// A generated or built-in file (`/sw.js`, the icons) answered as the embedded site's
/// revalidated files are: `no-cache`, a strong ETag of its content, 304 when the client has it.
pub fn revalidated(
    content_type: &'static str,
    body: impl Into<Body> + AsRef<[u8]>,
    headers: &HeaderMap,
) -> Response {
    use sha2::{Digest, Sha256};
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(body.as_ref())[..8]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag));
    let res = Response::builder()
        .header(header::CACHE_CONTROL, Caching::Revalidate.header())
        .header(header::ETAG, etag);
    let res = if fresh {
        res.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        res.header(header::CONTENT_TYPE, content_type)
            .body(body.into())
    };
    res.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `If-None-Match` (a list, or `*`) against our strong tag, by weak comparison (RFC 9110
/// 13.1.2: a `W/` prefix is ignored).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The site compiled in by rust-embed from the folder build.rs found (`MAC_STATUS_SITE_DIR`).
#[cfg(feature = "embed-site")]
mod compiled {
    use super::EmbeddedFile;

    #[derive(rust_embed::Embed)]
    #[folder = "$MAC_STATUS_SITE_DIR"]
    struct Files;

    pub fn files() -> impl Iterator<Item = EmbeddedFile> {
        Files::iter().filter_map(|path| {
            let file = Files::get(&path)?;
            Some(EmbeddedFile {
                sha256: file.metadata.sha256_hash(),
                content_type: content_type(&path, file.metadata.mimetype()),
                path: path.into_owned(),
                data: file.data,
            })
        })
    }

    /// mime_guess' type, with a charset for text (a browser must not guess it).
    fn content_type(path: &str, guessed: &str) -> String {
        let text = guessed.starts_with("text/")
            || matches!(guessed, "application/javascript" | "application/json")
            || path.ends_with(".webmanifest");
        if text && !guessed.contains("charset") {
            format!("{guessed}; charset=utf-8")
        } else {
            guessed.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_put_the_hash_before_the_extension() {
        let sha = [0xab; 32];
        assert_eq!(
            hashed_name("pkg/mac-status.wasm", &sha),
            "pkg/mac-status.abababababab.wasm"
        );
        assert_eq!(hashed_name("a.b/file", &sha), "a.b/file.abababababab");
        assert_eq!(hashed_name(".hidden", &sha), ".hidden.abababababab");
    }

    #[test]
    fn negotiation_prefers_brotli_then_gzip_and_honours_zero_quality() {
        use Encoding::*;
        let n = |s| Encoding::negotiate(Some(s));
        assert_eq!(Encoding::negotiate(None), Identity);
        assert_eq!(n("gzip, deflate, br, zstd"), Brotli);
        assert_eq!(n("gzip"), Gzip);
        assert_eq!(n("br;q=0, gzip"), Gzip);
        assert_eq!(n("br; q=0.0, gzip;q=0"), Identity);
        assert_eq!(n("BR;Q=0.5"), Brotli);
        assert_eq!(n("*"), Brotli);
        assert_eq!(n("*;q=0, gzip"), Gzip);
        assert_eq!(n("identity"), Identity);
        assert_eq!(n(""), Identity);
        assert_eq!(n("x-gzip"), Gzip);
    }

    #[test]
    fn etags_match_lists_stars_and_weak_forms() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }

    fn file(path: &str, data: &'static [u8]) -> EmbeddedFile {
        use sha2::{Digest, Sha256};
        EmbeddedFile {
            path: path.into(),
            data: Cow::Borrowed(data),
            sha256: Sha256::digest(data).into(),
            content_type: "text/plain".into(),
        }
    }

    fn site() -> Embedded {
        Embedded::new([
            file("pkg/mac-status.wasm", b"wasm"),
            file("pkg/mac-status.wasm.br", b"wasm-br"),
            file("pkg/mac-status.wasm.gz", b"wasm-gz"),
            file("pkg/mac-status.js", b"js"),
            file("manifest.webmanifest", b"{}"),
            file("manifest.webmanifest.gz", b"{}-gz"),
        ])
    }

    fn get(site: &Embedded, path: &str, headers: &[(&'static str, &str)]) -> Option<Response> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        site.respond(&Method::GET, path, &map)
    }

    #[test]
    fn the_page_files_get_hashed_names_and_the_rest_keep_theirs() {
        let site = site();
        let files = site.files();
        assert!(files.wasm.starts_with("/pkg/mac-status.") && files.wasm.ends_with(".wasm"));
        assert_ne!(files.wasm, SiteFiles::plain().wasm);
        assert_ne!(files.js, SiteFiles::plain().js);
        // No CSS in this site: the plain name stays.
        assert_eq!(files.css, SiteFiles::plain().css);
        let hashed = get(&site, &files.wasm, &[]).unwrap();
        assert_eq!(
            hashed.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let plain = get(&site, "/pkg/mac-status.wasm", &[]).unwrap();
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(get(&site, "/pkg/mac-status.000000000000.wasm", &[]).is_none());
        assert!(
            get(&site, "/pkg/mac-status.wasm.br", &[]).is_none(),
            "copies are not files"
        );
        assert!(get(&site, "/nothing", &[]).is_none());
        let post = site.respond(&Method::POST, "/manifest.webmanifest", &HeaderMap::new());
        assert!(post.is_none());
    }

    #[test]
    fn the_best_stored_copy_answers_with_its_own_tag() {
        let site = site();
        let wasm = &site.files().wasm.clone();
        let br = get(&site, wasm, &[("accept-encoding", "gzip, br")]).unwrap();
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::VARY], "accept-encoding");
        let gz = get(&site, wasm, &[("accept-encoding", "gzip, br;q=0")]).unwrap();
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        assert_ne!(br.headers()[header::ETAG], gz.headers()[header::ETAG]);
        // The manifest has no brotli copy: gzip instead.
        let m = get(
            &site,
            "/manifest.webmanifest",
            &[("accept-encoding", "br, gzip")],
        )
        .unwrap();
        assert_eq!(m.headers()[header::CONTENT_ENCODING], "gzip");
        let raw = get(&site, "/pkg/mac-status.js", &[("accept-encoding", "br")]).unwrap();
        assert!(raw.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(raw.headers()[header::CONTENT_LENGTH], "2");
    }

    #[test]
    fn a_known_tag_is_a_304() {
        let site = site();
        let first = get(&site, "/manifest.webmanifest", &[]).unwrap();
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_string();
        let again = get(&site, "/manifest.webmanifest", &[("if-none-match", &tag)]).unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], tag.as_str());
        // Another coding is another representation: its tag does not match.
        let gz = get(
            &site,
            "/manifest.webmanifest",
            &[("if-none-match", &tag), ("accept-encoding", "gzip")],
        )
        .unwrap();
        assert_eq!(gz.status(), StatusCode::OK);
    }
}
