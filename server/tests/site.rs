//! The site inside the binary, as an installed `mac-status` serves it: the real release binary
//! started from an empty folder without `--site-root`, spoken to over real HTTP (a plain socket,
//! so nothing decompresses or negotiates for us).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// A host killed when dropped.
struct Host {
    child: Child,
    addr: String,
    _cwd: tempfile::TempDir,
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary from an empty temporary folder (no `target/site` beside it) with `args`.
fn start(args: &[&str]) -> Host {
    let cwd = tempfile::tempdir().unwrap();
    for attempt in 0.. {
        let addr = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().to_string()
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_mac-status"))
            .current_dir(cwd.path())
            .args(["--addr", &addr, "--no-model", "--no-history"])
            .args(args)
            .env_remove("LEPTOS_SITE_ROOT")
            .env_remove("MAC_STATUS_SITE_ROOT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the host starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // The probed port was taken meanwhile (tests run in parallel): another one.
                assert!(attempt < 3, "the host exited: {status}");
                break;
            }
            if get(&addr, "/healthz", &[]).is_some_and(|r| r.status == 200) {
                return Host {
                    child,
                    addr,
                    _cwd: cwd,
                };
            }
            assert!(Instant::now() < deadline, "the host did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    unreachable!()
}

struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// One HTTP/1.1 GET with `headers`; `None` when nothing answers.
fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Option<Answer> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        body = dechunk(&body);
    }
    Some(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line + 2..line + 2 + size]);
        data = &data[line + 2 + size + 2..];
    }
}

/// The `/pkg/mac-status.<12 hex>.<ext>` names in `html`.
fn hashed_names(html: &str) -> Vec<String> {
    let prefix = "/pkg/mac-status.";
    let mut names = Vec::new();
    for (i, _) in html.match_indices(prefix) {
        let rest = &html[i + prefix.len()..];
        let hash = &rest[..12.min(rest.len())];
        let is_hash = hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        for ext in ["js", "wasm", "css"] {
            if is_hash && rest[12..].starts_with(&format!(".{ext}")) {
                let name = format!("{prefix}{hash}.{ext}");
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names.sort();
    names
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &data[..], &mut out).expect("valid brotli");
    out
}

fn ungzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[test]
fn an_installed_binary_serves_its_own_site_from_any_folder() {
    let host = start(&[]);
    let addr = host.addr.as_str();

    let page = get(addr, "/", &[]).unwrap();
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    let names = hashed_names(&html);
    assert_eq!(
        names.len(),
        3,
        "the page loads hashed JS, WASM and CSS: {names:?}"
    );
    assert!(
        !html.contains("\"/pkg/mac-status.wasm\""),
        "no plain name left"
    );

    for name in &names {
        let br = get(
            addr,
            name,
            &[("Accept-Encoding", "gzip, deflate, br, zstd")],
        )
        .unwrap();
        assert_eq!(br.status, 200, "{name}");
        assert_eq!(br.header("content-encoding"), Some("br"), "{name}");
        assert_eq!(br.header("vary"), Some("accept-encoding"), "{name}");
        assert_eq!(
            br.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{name}"
        );
        let content_type = br.header("content-type").unwrap();
        let expected = match name.rsplit('.').next().unwrap() {
            "js" => "text/javascript",
            "wasm" => "application/wasm",
            _ => "text/css",
        };
        assert!(content_type.starts_with(expected), "{name}: {content_type}");

        let gz = get(addr, name, &[("Accept-Encoding", "br;q=0, gzip")]).unwrap();
        assert_eq!(gz.header("content-encoding"), Some("gzip"), "{name}");
        let plain = get(addr, name, &[]).unwrap();
        assert_eq!(plain.header("content-encoding"), None, "{name}");
        assert_eq!(
            plain.header("content-length"),
            Some(plain.body.len().to_string().as_str())
        );

        let body = plain.body;
        assert!(!body.is_empty(), "{name}");
        assert_eq!(unbrotli(&br.body), body, "{name}: brotli copy");
        assert_eq!(ungzip(&gz.body), body, "{name}: gzip copy");
        assert!(br.body.len() < body.len(), "{name}: compressed");
        // The name is the content's hash.
        let hash = hex_prefix(&Sha256::digest(&body));
        assert!(name.contains(&format!(".{hash}.")), "{name} vs {hash}");

        // The plain name still answers, revalidated: the same bytes.
        let unhashed = name.replace(&format!(".{hash}"), "");
        let old = get(addr, &unhashed, &[]).unwrap();
        assert_eq!(old.status, 200, "{unhashed}");
        assert_eq!(old.header("cache-control"), Some("no-cache"), "{unhashed}");
        assert_eq!(old.body, body, "{unhashed}");
    }

    // A hash of another build: not found (the app's 404 page).
    let wasm = names.iter().find(|n| n.ends_with(".wasm")).unwrap();
    let stale = wasm.replace(&wasm[16..28], "000000000000");
    assert_eq!(get(addr, &stale, &[]).unwrap().status, 404);

    // Everything else: no-cache, a strong ETag, a 304 when unchanged.
    for path in ["/manifest.webmanifest", "/pwa.js", "/favicon.svg"] {
        let first = get(addr, path, &[("Accept-Encoding", "br")]).unwrap();
        assert_eq!(first.status, 200, "{path}");
        assert_eq!(first.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(first.header("content-encoding"), Some("br"), "{path}");
        let etag = first.header("etag").unwrap().to_string();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "{path}: {etag}"
        );
        let again = get(
            addr,
            path,
            &[("Accept-Encoding", "br"), ("If-None-Match", &etag)],
        )
        .unwrap();
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
    }
    let manifest = get(addr, "/manifest.webmanifest", &[]).unwrap();
    assert!(manifest
        .header("content-type")
        .unwrap()
        .starts_with("application/manifest+json"));

    // Generated and built-in files too: the worker, the icons.
    for path in ["/sw.js", "/icons/icon-192.png"] {
        let first = get(addr, path, &[]).unwrap();
        assert_eq!(first.status, 200, "{path}");
        assert_eq!(first.header("cache-control"), Some("no-cache"), "{path}");
        let etag = first.header("etag").unwrap();
        let again = get(addr, path, &[("If-None-Match", etag)]).unwrap();
        assert_eq!(again.status, 304, "{path}");
    }

    // The service worker precaches the names the page loads.
    let sw = get(addr, "/sw.js", &[]).unwrap();
    let sw = String::from_utf8(sw.body).unwrap();
    for name in &names {
        assert!(sw.contains(&format!("\"{name}\"")), "{name} precached");
    }
    assert!(!sw.contains("\"/pkg/mac-status.wasm\""));
}

#[test]
fn a_site_root_serves_that_folder_under_the_plain_names() {
    let host = start(&["--site-root", env!("MAC_STATUS_SITE_DIR")]);
    let html = String::from_utf8(get(&host.addr, "/", &[]).unwrap().body).unwrap();
    assert!(hashed_names(&html).is_empty());
    assert!(html.contains("\"/pkg/mac-status.wasm\""));
    let wasm = get(
        &host.addr,
        "/pkg/mac-status.wasm",
        &[("Accept-Encoding", "br")],
    )
    .unwrap();
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-encoding"), Some("br"));
    assert_eq!(wasm.header("cache-control"), Some("no-cache"));
    let sw = String::from_utf8(get(&host.addr, "/sw.js", &[]).unwrap().body).unwrap();
    assert!(sw.contains("\"/pkg/mac-status.wasm\""));
}

fn hex_prefix(digest: &[u8]) -> String {
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}
