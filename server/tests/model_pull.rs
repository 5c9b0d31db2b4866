//! `model pull` against real local HTTP servers (Hugging Face is unreachable here): a full
//! download, a resumed one, a corrupted one, the server-stated checksum; Hugging Face's shape
//! (a redirect that alone carries the checksum, to a server without it); ranges the client must
//! refuse; a stale part file; a server that never answers.
#![cfg(feature = "pull")]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{extract::Request, http::HeaderValue, middleware, middleware::Next, Router};
use mac_status::models::{
    pull, pull_with, sha256_file, CatalogEntry, ModelError, PullOptions, Pulled, Source,
};
use tower_http::services::ServeDir;

struct Mirror {
    addr: SocketAddr,
    ranges: Arc<Mutex<Vec<String>>>,
    /// Every request it answered.
    requests: Arc<AtomicUsize>,
    sha: String,
    bytes: Vec<u8>,
}

/// Serves `<root>/org/repo/resolve/main/model.gguf` with range support, recording the `Range`
/// headers it is sent and stating the SHA-256 like Hugging Face does when `linked_etag`.
fn mirror(root: &Path, linked_etag: bool) -> Mirror {
    let dir = root.join("org/repo/resolve/main");
    std::fs::create_dir_all(&dir).unwrap();
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("model.gguf"), &bytes).unwrap();
    let sha = sha256_file(&dir.join("model.gguf")).unwrap();
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::new(AtomicUsize::new(0));
    let (seen, count, etag) = (ranges.clone(), requests.clone(), sha.clone());
    let app = Router::new()
        .fallback_service(ServeDir::new(root))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let seen = seen.clone();
            let etag = etag.clone();
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                if let Some(r) = req.headers().get("range") {
                    seen.lock().unwrap().push(r.to_str().unwrap().to_string());
                }
                let mut res = next.run(req).await;
                if linked_etag {
                    res.headers_mut().insert(
                        "x-linked-etag",
                        HeaderValue::from_str(&format!("\"{etag}\"")).unwrap(),
                    );
                }
                res
            }
        }));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    Mirror {
        addr: rx.recv().unwrap(),
        ranges,
        requests,
        sha,
        bytes,
    }
}

/// What a [`raw_server`] was asked.
#[derive(Debug, Clone)]
struct Asked {
    path: String,
    range: Option<String>,
}

/// A bare HTTP/1.1 server on loopback, for answers a real server would not give: `answer`
/// returns the raw response bytes, or `None` to accept the connection and never answer.
/// Returns its address and everything it was asked.
fn raw_server<F>(answer: F) -> (SocketAddr, Arc<Mutex<Vec<Asked>>>)
where
    F: Fn(&Asked) -> Option<Vec<u8>> + Send + Sync + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let (answer, log) = (Arc::new(answer), asked.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (answer, log) = (answer.clone(), log.clone());
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                let range = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("range")
                        .then(|| v.trim().to_string())
                });
                let req = Asked { path, range };
                log.lock().unwrap().push(req.clone());
                match answer(&req) {
                    Some(bytes) => {
                        let _ = stream.write_all(&bytes);
                        let _ = stream.flush();
                    }
                    // Hold the connection open, silent, well past any timeout under test.
                    None => std::thread::sleep(Duration::from_secs(60)),
                }
            });
        }
    });
    (addr, asked)
}

/// A complete HTTP/1.1 response that closes the connection.
fn response(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn model_bytes() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn sha_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Hugging Face's `resolve/` shape: every request is redirected (302) to `target`, with the
/// file's SHA-256 and size stated on the redirect only.
fn redirector(target: String, etag: String, size: usize) -> (SocketAddr, Arc<Mutex<Vec<Asked>>>) {
    raw_server(move |_| {
        Some(response(
            "302 Found",
            &[
                ("Location", target.clone()),
                ("X-Linked-Etag", format!("\"{etag}\"")),
                ("X-Linked-Size", size.to_string()),
            ],
            b"",
        ))
    })
}

fn entry(sha256: Option<String>) -> CatalogEntry {
    CatalogEntry {
        name: "test".into(),
        description: "test model".into(),
        file: "model.gguf".into(),
        source: Source::Huggingface,
        url: Some("https://huggingface.co/org/repo/resolve/main/model.gguf".into()),
        package: None,
        sha256,
        languages: vec![app::i18n::Lang::En],
        suggest_for: Vec::new(),
    }
}

#[test]
fn downloads_and_verifies_then_skips_when_present() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let m = mirror(root.path(), false);
    let base = format!("http://{}", m.addr);
    let got = pull(&entry(Some(m.sha.clone())), out.path(), Some(&base), false).unwrap();
    let path = out.path().join("model.gguf");
    assert_eq!(
        got,
        Pulled::Downloaded {
            path: path.clone(),
            resumed_from: 0
        }
    );
    assert_eq!(std::fs::read(&path).unwrap(), m.bytes);
    assert!(!out.path().join("model.gguf.part").exists());
    let again = pull(&entry(Some(m.sha.clone())), out.path(), Some(&base), false).unwrap();
    assert_eq!(again, Pulled::AlreadyPresent(path));
}

#[test]
fn resumes_an_interrupted_download_with_a_range_request() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let m = mirror(root.path(), false);
    std::fs::write(out.path().join("model.gguf.part"), &m.bytes[..1_234_567]).unwrap();
    let got = pull(
        &entry(Some(m.sha.clone())),
        out.path(),
        Some(&format!("http://{}", m.addr)),
        false,
    )
    .unwrap();
    assert!(
        matches!(
            got,
            Pulled::Downloaded {
                resumed_from: 1_234_567,
                ..
            }
        ),
        "{got:?}"
    );
    assert_eq!(m.ranges.lock().unwrap().as_slice(), ["bytes=1234567-"]);
    assert_eq!(
        std::fs::read(out.path().join("model.gguf")).unwrap(),
        m.bytes
    );
}

#[test]
fn a_corrupt_download_is_deleted_and_reported() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let m = mirror(root.path(), false);
    let wrong = "0".repeat(64);
    let err = pull(
        &entry(Some(wrong.clone())),
        out.path(),
        Some(&format!("http://{}", m.addr)),
        false,
    )
    .unwrap_err();
    match err {
        ModelError::ChecksumMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, m.sha);
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }
    assert!(!out.path().join("model.gguf").exists());
    assert!(!out.path().join("model.gguf.part").exists());
}

#[test]
fn uses_the_servers_checksum_or_refuses_without_one() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let m = mirror(root.path(), true);
    let got = pull(
        &entry(None),
        out.path(),
        Some(&format!("http://{}", m.addr)),
        false,
    )
    .unwrap();
    assert!(matches!(got, Pulled::Downloaded { .. }));

    let root2 = tempfile::tempdir().unwrap();
    let out2 = tempfile::tempdir().unwrap();
    let m2 = mirror(root2.path(), false);
    let err = pull(
        &entry(None),
        out2.path(),
        Some(&format!("http://{}", m2.addr)),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::NoChecksum { .. }), "{err}");
    assert!(!out2.path().join("model.gguf").exists());
}

#[test]
fn a_missing_file_on_the_server_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let m = mirror(root.path(), true);
    let mut e = entry(Some(m.sha.clone()));
    e.url = Some("https://huggingface.co/org/repo/resolve/main/nope.gguf".into());
    let err = pull(&e, out.path(), Some(&format!("http://{}", m.addr)), false).unwrap_err();
    assert!(err.to_string().contains("HTTP 404"), "{err}");
}

fn opts(base: String) -> PullOptions {
    PullOptions {
        base_url: Some(base),
        ..PullOptions::default()
    }
}

#[test]
fn follows_huggingfaces_redirect_and_verifies_with_the_checksum_only_the_redirect_carries() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // B: the "CDN", serving the bytes without any checksum header.
    let b = mirror(root.path(), false);
    // A: "huggingface.co", answering only with a redirect to B that names the SHA-256.
    let target = format!("http://{}/org/repo/resolve/main/model.gguf", b.addr);
    let (a, a_asked) = redirector(target, b.sha.clone(), b.bytes.len());
    let got = pull(
        &entry(None),
        out.path(),
        Some(&format!("http://{a}")),
        false,
    )
    .unwrap();
    let path = out.path().join("model.gguf");
    assert_eq!(
        got,
        Pulled::Downloaded {
            path: path.clone(),
            resumed_from: 0
        }
    );
    assert_eq!(std::fs::read(&path).unwrap(), b.bytes);
    assert!(!out.path().join("model.gguf.part").exists());
    assert_eq!(
        a_asked.lock().unwrap()[0].path,
        "/org/repo/resolve/main/model.gguf"
    );

    // Run again: the file is there and matches the server's checksum, nothing is downloaded.
    let before = b.requests.load(Ordering::SeqCst);
    let again = pull(
        &entry(None),
        out.path(),
        Some(&format!("http://{a}")),
        false,
    )
    .unwrap();
    assert_eq!(again, Pulled::AlreadyPresent(path));
    assert_eq!(b.requests.load(Ordering::SeqCst), before);

    // The catalogue's pin, when it agrees with the header, is fine too; a resume goes through
    // the redirect with its range.
    let out2 = tempfile::tempdir().unwrap();
    std::fs::write(out2.path().join("model.gguf.part"), &b.bytes[..777_777]).unwrap();
    let got = pull(
        &entry(Some(b.sha.to_uppercase())),
        out2.path(),
        Some(&format!("http://{a}")),
        false,
    )
    .unwrap();
    assert!(
        matches!(
            got,
            Pulled::Downloaded {
                resumed_from: 777_777,
                ..
            }
        ),
        "{got:?}"
    );
    assert_eq!(b.ranges.lock().unwrap().as_slice(), ["bytes=777777-"]);
    assert_eq!(
        std::fs::read(out2.path().join("model.gguf")).unwrap(),
        b.bytes
    );
}

#[test]
fn a_pin_that_disagrees_with_the_servers_checksum_is_refused_before_downloading() {
    let root = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let b = mirror(root.path(), false);
    let target = format!("http://{}/org/repo/resolve/main/model.gguf", b.addr);
    let (a, _) = redirector(target, b.sha.clone(), b.bytes.len());
    let pin = "ab".repeat(32);
    let err = pull(
        &entry(Some(pin.clone())),
        out.path(),
        Some(&format!("http://{a}")),
        false,
    )
    .unwrap_err();
    match &err {
        ModelError::ChecksumConflict { pinned, server, .. } => {
            assert_eq!(pinned, &pin);
            assert_eq!(server, &b.sha);
        }
        other => panic!("expected a checksum conflict, got {other}"),
    }
    assert!(err.to_string().contains("refusing"), "{err}");
    assert_eq!(
        b.requests.load(Ordering::SeqCst),
        0,
        "nothing was downloaded"
    );
    assert!(!out.path().join("model.gguf").exists());
    assert!(!out.path().join("model.gguf.part").exists());
}

#[test]
fn a_range_that_does_not_start_where_the_part_file_ends_is_refused() {
    let bytes = model_bytes();
    let sha = sha_of(&bytes);
    let len = bytes.len();
    // Answers every request with 206 from byte 0, whatever was asked.
    let body = bytes.clone();
    let (srv, asked) = raw_server(move |_| {
        Some(response(
            "206 Partial Content",
            &[("Content-Range", format!("bytes 0-{}/{len}", len - 1))],
            &body,
        ))
    });
    let out = tempfile::tempdir().unwrap();
    let part = out.path().join("model.gguf.part");
    std::fs::write(&part, &bytes[..1000]).unwrap();
    let err = pull(
        &entry(Some(sha.clone())),
        out.path(),
        Some(&format!("http://{srv}")),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::Download { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("bytes 1000-") && msg.contains("Content-Range") && msg.contains("bytes 0-"),
        "{msg}"
    );
    assert_eq!(
        asked.lock().unwrap()[0].range.as_deref(),
        Some("bytes=1000-")
    );
    assert!(!out.path().join("model.gguf").exists());
    // Nothing was appended: the part file is still the 1000 good bytes.
    assert_eq!(std::fs::read(&part).unwrap(), &bytes[..1000]);

    // A range that starts right but claims another total than the file's is refused as well.
    let body = bytes.clone();
    let (srv, _) = raw_server(move |_| {
        Some(response(
            "206 Partial Content",
            &[
                ("Content-Range", format!("bytes 1000-{len}/{}", len + 1)),
                ("X-Linked-Size", len.to_string()),
            ],
            &body[..len - 999],
        ))
    });
    let err = pull(
        &entry(Some(sha)),
        out.path(),
        Some(&format!("http://{srv}")),
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Content-Range"), "{err}");
    assert!(!out.path().join("model.gguf").exists());
    assert_eq!(std::fs::read(&part).unwrap(), &bytes[..1000]);
}

#[test]
fn a_server_that_ignores_the_range_restarts_the_download_from_zero() {
    let bytes = model_bytes();
    let sha = sha_of(&bytes);
    let body = bytes.clone();
    let (srv, asked) = raw_server(move |_| Some(response("200 OK", &[], &body)));
    let out = tempfile::tempdir().unwrap();
    // Whatever the part file holds, a 200 replaces it.
    std::fs::write(out.path().join("model.gguf.part"), b"not the model").unwrap();
    let got = pull(
        &entry(Some(sha)),
        out.path(),
        Some(&format!("http://{srv}")),
        false,
    )
    .unwrap();
    assert!(
        matches!(
            got,
            Pulled::Downloaded {
                resumed_from: 0,
                ..
            }
        ),
        "{got:?}"
    );
    assert_eq!(asked.lock().unwrap()[0].range.as_deref(), Some("bytes=13-"));
    assert_eq!(std::fs::read(out.path().join("model.gguf")).unwrap(), bytes);
}

#[test]
fn a_bad_hash_from_the_server_leaves_neither_file_nor_part_file() {
    let root = tempfile::tempdir().unwrap();
    let b = mirror(root.path(), false);
    let target = format!("http://{}/org/repo/resolve/main/model.gguf", b.addr);
    let wrong = "0".repeat(64);
    let (a, _) = redirector(target, wrong.clone(), b.bytes.len());
    let out = tempfile::tempdir().unwrap();
    let err = pull(
        &entry(None),
        out.path(),
        Some(&format!("http://{a}")),
        false,
    )
    .unwrap_err();
    match &err {
        ModelError::ChecksumMismatch {
            expected,
            actual,
            origin,
            ..
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &b.sha);
            assert!(origin.contains("X-Linked-Etag"), "{origin}");
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }
    assert!(!out.path().join("model.gguf").exists());
    assert!(!out.path().join("model.gguf.part").exists());

    // A resumed download whose old part is corrupt fails the check as a whole, and is deleted.
    let out = tempfile::tempdir().unwrap();
    let mut corrupt = b.bytes[..500_000].to_vec();
    corrupt[1234] ^= 0xff;
    std::fs::write(out.path().join("model.gguf.part"), &corrupt).unwrap();
    let err = pull(
        &entry(Some(b.sha.clone())),
        out.path(),
        Some(&format!("http://{}", b.addr)),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::ChecksumMismatch { .. }), "{err}");
    assert!(!out.path().join("model.gguf").exists());
    assert!(!out.path().join("model.gguf.part").exists());
}

#[test]
fn a_stale_part_file_answered_416_is_discarded_and_the_download_restarts_once() {
    let root = tempfile::tempdir().unwrap();
    let m = mirror(root.path(), false);
    let out = tempfile::tempdir().unwrap();
    // Longer than the file (another version of it): no range from its end exists.
    let mut stale = m.bytes.clone();
    stale.extend_from_slice(&[9u8; 100]);
    std::fs::write(out.path().join("model.gguf.part"), &stale).unwrap();
    let got = pull(
        &entry(Some(m.sha.clone())),
        out.path(),
        Some(&format!("http://{}", m.addr)),
        false,
    )
    .unwrap();
    assert!(
        matches!(
            got,
            Pulled::Downloaded {
                resumed_from: 0,
                ..
            }
        ),
        "{got:?}"
    );
    // One range request (416), then one from the start (no range).
    assert_eq!(m.ranges.lock().unwrap().as_slice(), ["bytes=3000100-"]);
    assert_eq!(m.requests.load(Ordering::SeqCst), 2);
    assert_eq!(
        std::fs::read(out.path().join("model.gguf")).unwrap(),
        m.bytes
    );
    assert!(!out.path().join("model.gguf.part").exists());
}

#[test]
fn a_complete_part_file_answered_416_is_verified_and_installed_without_downloading() {
    let root = tempfile::tempdir().unwrap();
    let m = mirror(root.path(), false);
    let out = tempfile::tempdir().unwrap();
    // The previous run received every byte but stopped before installing.
    std::fs::write(out.path().join("model.gguf.part"), &m.bytes).unwrap();
    let got = pull(
        &entry(Some(m.sha.clone())),
        out.path(),
        Some(&format!("http://{}", m.addr)),
        false,
    )
    .unwrap();
    assert!(
        matches!(
            got,
            Pulled::Downloaded {
                resumed_from: 3_000_000,
                ..
            }
        ),
        "{got:?}"
    );
    assert_eq!(m.requests.load(Ordering::SeqCst), 1);
    assert_eq!(
        std::fs::read(out.path().join("model.gguf")).unwrap(),
        m.bytes
    );
    assert!(!out.path().join("model.gguf.part").exists());
}

#[test]
fn a_server_that_always_answers_416_does_not_loop() {
    let (srv, asked) = raw_server(|_| {
        Some(response(
            "416 Range Not Satisfiable",
            &[("Content-Range", "bytes */5".to_string())],
            b"",
        ))
    });
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("model.gguf.part"), b"0123456789").unwrap();
    let err = pull(
        &entry(Some("ab".repeat(32))),
        out.path(),
        Some(&format!("http://{srv}")),
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("416"), "{err}");
    let asked = asked.lock().unwrap();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0].range.as_deref(), Some("bytes=10-"));
    assert_eq!(asked[1].range, None);
    assert!(!out.path().join("model.gguf").exists());
}

#[test]
fn a_server_that_never_answers_times_out_naming_the_host() {
    let (srv, _) = raw_server(|_| None);
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = pull_with(
        &entry(Some("ab".repeat(32))),
        out.path(),
        &PullOptions {
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(1),
            ..opts(format!("http://{srv}"))
        },
    )
    .unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    match &err {
        ModelError::Timeout { host, .. } => assert_eq!(host, &srv.to_string()),
        other => panic!("expected a timeout, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&srv.to_string()) && msg.contains("read timeout") && msg.contains("1 s"),
        "{msg}"
    );
    assert!(!out.path().join("model.gguf").exists());
}

#[test]
fn a_server_that_stalls_mid_body_times_out_and_keeps_the_part_for_resuming() {
    let bytes = model_bytes();
    let sha = sha_of(&bytes);
    let len = bytes.len();
    // Announces the whole file, sends 100 kB, then goes silent with the connection open.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let first = bytes[..100_000].to_vec();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let first = first.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").as_bytes(),
                );
                let _ = stream.write_all(&first);
                std::thread::sleep(Duration::from_secs(60));
            });
        }
    });
    let out = tempfile::tempdir().unwrap();
    let err = pull_with(
        &entry(Some(sha)),
        out.path(),
        &PullOptions {
            read_timeout: Duration::from_secs(1),
            ..opts(format!("http://{addr}"))
        },
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(!out.path().join("model.gguf").exists());
    assert_eq!(
        std::fs::read(out.path().join("model.gguf.part")).unwrap(),
        &bytes[..100_000]
    );
}

#[test]
fn redirects_are_bounded_and_plain_http_is_refused_off_this_machine() {
    // Redirects to itself forever.
    let (srv, asked) = raw_server(|_| {
        Some(response(
            "302 Found",
            &[("Location", "/again".to_string())],
            b"",
        ))
    });
    let out = tempfile::tempdir().unwrap();
    let err = pull(
        &entry(Some("ab".repeat(32))),
        out.path(),
        Some(&format!("http://{srv}")),
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("redirects"), "{err}");
    assert_eq!(
        asked.lock().unwrap().len(),
        mac_status::models::MAX_REDIRECTS + 1
    );

    // A redirect from loopback to plain http elsewhere is not followed.
    let (srv, _) = raw_server(|_| {
        Some(response(
            "302 Found",
            &[("Location", "http://example.invalid/model.gguf".to_string())],
            b"",
        ))
    });
    let err = pull(
        &entry(Some("ab".repeat(32))),
        out.path(),
        Some(&format!("http://{srv}")),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, ModelError::Insecure { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("http://example.invalid/model.gguf"),
        "{err}"
    );
}
