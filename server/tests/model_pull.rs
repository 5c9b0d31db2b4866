//! `model pull` against a real local HTTP server (Hugging Face is unreachable here): a full
//! download, a resumed one, a corrupted one, and the server-stated checksum.
#![cfg(feature = "pull")]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::{extract::Request, http::HeaderValue, middleware, middleware::Next, Router};
use server::models::{pull, sha256_file, CatalogEntry, ModelError, Pulled, Source};
use tower_http::services::ServeDir;

struct Mirror {
    addr: SocketAddr,
    ranges: Arc<Mutex<Vec<String>>>,
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
    let (seen, etag) = (ranges.clone(), sha.clone());
    let app = Router::new()
        .fallback_service(ServeDir::new(root))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let seen = seen.clone();
            let etag = etag.clone();
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
        sha,
        bytes,
    }
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
