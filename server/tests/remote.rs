//! The remote listener of the real binary over real HTTP: the token is required and checked,
//! only `/metrics` (and the read API when chosen) exists there, web pages are refused, a client
//! that keeps failing is blocked, a rotated token takes effect at once, and an address that
//! is not this machine's stops the start.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mac_status::service::EXIT_NO_RESTART;

const BIN: &str = env!("CARGO_BIN_EXE_mac-status");

fn free_addr() -> String {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().to_string()
}

/// A dashboard-only host with a remote listener; killed when dropped.
struct Host {
    child: Child,
    addr: String,
    remote: String,
    token_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Host {
    fn start(extra: &[&str]) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        let (addr, remote) = (free_addr(), free_addr());
        let child = Command::new(BIN)
            .args(["--addr", &addr, "--remote-listen", &remote, "--token-file"])
            .arg(&token_file)
            .args(["--no-model", "--no-history"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the host starts");
        let host = Host {
            child,
            addr,
            remote,
            token_file,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("http://{}/healthz", host.addr))
            .call()
            .is_err()
        {
            assert!(Instant::now() < deadline, "the host did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        host
    }

    fn token(&self) -> String {
        std::fs::read_to_string(&self.token_file)
            .unwrap()
            .trim()
            .to_owned()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET `url` with these headers: status and body.
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut res = req.call().expect("an answer");
    let status = res.status().as_u16();
    (status, res.body_mut().read_to_string().unwrap_or_default())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn remote_metrics_need_the_right_token_and_nothing_else_is_there() {
    let host = Host::start(&[]);
    let token = host.token();
    assert_eq!(token.len(), 64, "{token}");
    let metrics = format!("http://{}/metrics", host.remote);

    let (status, body) = get(&metrics, &[]);
    assert_eq!((status, body.as_str()), (401, ""), "no token");
    let res = agent().get(&metrics).call().unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let wrong = format!("{}0", &token[1..]);
    assert_eq!(
        get(&metrics, &[("authorization", &bearer(&wrong))]),
        (401, String::new())
    );
    assert_eq!(
        get(&metrics, &[("authorization", &format!("Basic {token}"))]).0,
        401,
        "another scheme"
    );

    let auth = bearer(&token);
    let (status, body) = get(&metrics, &[("authorization", &auth)]);
    assert_eq!(status, 200, "{body}");
    for name in [
        "\nmac_status_cpu_usage_ratio ",
        "\nmac_status_cpu_core_usage_ratio{cpu=\"0\"} ",
        "\nnode_memory_total_bytes ",
        "\nnode_load1 ",
        "\nnode_network_receive_bytes_total{device=",
        "# TYPE mac_status_chat_cache_hits counter",
    ] {
        assert!(body.contains(name), "{name:?} missing in\n{body}");
    }
    assert!(body.ends_with("# EOF\n"));

    // Only /metrics: chat, the app, the API and health are loopback-only.
    for path in [
        "/api/v1/status",
        "/api/v1/history",
        "/api/v1/stream",
        "/",
        "/healthz",
    ] {
        let (status, body) = get(
            &format!("http://{}{path}", host.remote),
            &[("authorization", &auth)],
        );
        assert_eq!((status, body.as_str()), (404, ""), "{path}");
    }
    let res = agent()
        .post(&format!("http://{}/api/v1/chat", host.remote))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .send(r#"{"question":"how is my CPU?"}"#)
        .unwrap();
    assert_eq!(res.status(), 404, "no chat on the remote listener");
    let res = agent()
        .post(&format!("http://{}/mcp", host.remote))
        .header("authorization", &auth)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .unwrap();
    assert_eq!(res.status(), 404, "no MCP on the remote listener");

    // A web page's request is refused even with the token.
    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        assert_eq!(
            get(&metrics, &[("authorization", &auth), header]),
            (403, String::new()),
            "{header:?}"
        );
    }

    // The loopback listener is unchanged: no token, its Host guard, the machine's readings too.
    let (status, body) = get(&format!("http://{}/metrics", host.addr), &[]);
    assert_eq!(status, 200);
    assert!(body.contains("\nmac_status_cpu_usage_ratio "));
    assert_eq!(
        get(
            &format!("http://{}/metrics", host.addr),
            &[("host", "evil.example")]
        )
        .0,
        421
    );
}

#[test]
fn the_read_api_is_served_only_when_chosen() {
    let host = Host::start(&["--remote-read-api"]);
    let auth = bearer(&host.token());
    let (status, body) = get(
        &format!("http://{}/api/v1/status", host.remote),
        &[("authorization", &auth)],
    );
    assert_eq!(status, 200);
    let snapshot: app::model::Snapshot = serde_json::from_str(&body).unwrap();
    assert!(snapshot.memory.total_bytes > 0);
    let (status, body) = get(
        &format!("http://{}/api/v1/history?minutes=1", host.remote),
        &[("authorization", &auth)],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"points\""));
    assert_eq!(
        get(&format!("http://{}/api/v1/status", host.remote), &[]).0,
        401
    );
    assert_eq!(
        get(
            &format!("http://{}/api/v1/alerts", host.remote),
            &[("authorization", &auth)]
        )
        .0,
        404
    );
}

#[test]
fn a_client_that_keeps_failing_is_blocked_for_the_minute() {
    let host = Host::start(&[]);
    let metrics = format!("http://{}/metrics", host.remote);
    for i in 0..10 {
        assert_eq!(
            get(&metrics, &[("authorization", "Bearer guess")]).0,
            401,
            "try {i}"
        );
    }
    let res = agent()
        .get(&metrics)
        .header("authorization", &bearer(&host.token()))
        .call()
        .unwrap();
    assert_eq!(res.status(), 429, "even the right token waits");
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The loopback listener is not affected.
    assert_eq!(get(&format!("http://{}/metrics", host.addr), &[]).0, 200);
}

fn token_cmd(action: &str, file: &Path) -> String {
    let out = Command::new(BIN)
        .args(["token", action, "--token-file"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn token_show_and_rotate_and_a_running_host_follows() {
    let host = Host::start(&[]);
    let metrics = format!("http://{}/metrics", host.remote);
    let old = token_cmd("show", &host.token_file);
    assert_eq!(old, host.token());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&host.token_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(get(&metrics, &[("authorization", &bearer(&old))]).0, 200);
    let new = token_cmd("rotate", &host.token_file);
    assert_ne!(new, old);
    assert_eq!(get(&metrics, &[("authorization", &bearer(&old))]).0, 401);
    assert_eq!(get(&metrics, &[("authorization", &bearer(&new))]).0, 200);

    // `show` creates the token on first use.
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("new/token");
    let shown = token_cmd("show", &fresh);
    assert_eq!(shown.len(), 64);
    assert_eq!(std::fs::read_to_string(&fresh).unwrap(), shown);
}

/// Runs the host to its exit (at most 30 s): status and everything it logged.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(out).lines().map_while(Result::ok).collect();
        let _ = tx.send(lines.join("\n"));
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("the host kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), rx.recv().unwrap_or_default())
}

#[test]
fn an_address_that_is_not_this_machines_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let addr = free_addr();
    // 203.0.113.0/24 is for documentation: never an address of this machine.
    let (code, log) = run_to_exit(&[
        "--addr",
        &addr,
        "--remote-listen",
        "203.0.113.7:9101",
        "--token-file",
        token.to_str().unwrap(),
        "--no-model",
        "--no-history",
    ]);
    assert_eq!(code, Some(i32::from(EXIT_NO_RESTART)), "{log}");
    assert!(
        log.contains("203.0.113.7 is not an address of this machine"),
        "{log}"
    );
    assert!(!log.contains("is running at"), "{log}");
    assert!(
        !token.exists(),
        "no token is made for a listener that never starts"
    );
}

#[test]
fn a_token_file_others_can_read_stops_the_start() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "a".repeat(64)).unwrap();
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, log) = run_to_exit(&[
            "--addr",
            &free_addr(),
            "--remote-listen",
            &free_addr(),
            "--token-file",
            token.to_str().unwrap(),
            "--no-model",
            "--no-history",
        ]);
        assert_eq!(code, Some(i32::from(EXIT_NO_RESTART)), "{log}");
        assert!(log.contains("can be read by other users"), "{log}");
    }
}
