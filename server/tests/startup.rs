//! The real binary's start-up: the port is bound before anything costly, so a second copy on
//! a taken port leaves at once, without loading the model, with the status the service files
//! say not to restart on.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mac_status::service::EXIT_NO_RESTART;

mod common;

/// Runs the host on `addr` with the default model; returns its log lines (stdout, where
/// `tracing` writes) through a channel that closes when the host exits.
fn start(addr: &str) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mac-status"))
        .args(["--addr", addr, "--no-history", "--model"])
        .arg(common::model_path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the host starts");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// A loopback address nobody listens on (the probe is closed before the host binds it).
fn free_addr() -> String {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().to_string()
}

/// Waits (at most 30 s) until the host at `addr` answers `/healthz`.
fn wait_until_serving(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("http://{addr}/healthz")).call().is_err() {
        assert!(Instant::now() < deadline, "the host did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_taken_port_exits_at_once_without_loading_the_model() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    let t0 = Instant::now();
    let (mut child, lines) = start(&addr);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t0.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("the host kept running on a taken port");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("exited after {:?}", t0.elapsed());
    // Everything it wrote: the channel closes at the end of its output.
    let log: Vec<String> = lines.iter().collect();
    assert_eq!(status.code(), Some(i32::from(EXIT_NO_RESTART)), "{log:#?}");
    assert!(log.iter().any(|l| l.contains("already in use")), "{log:#?}");
    assert!(!log.iter().any(|l| l.contains("model loaded")), "{log:#?}");
    drop(held);
}

/// The control: on a free port the same command does load the model (so the log line the test
/// above looks for is real) and serves.
#[test]
fn a_free_port_loads_the_model_and_serves() {
    let addr = free_addr();
    let (mut child, lines) = start(&addr);
    let mut loaded = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    let serving = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                loaded |= line.contains("model loaded");
                if line.contains("is running at") {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    child.kill().unwrap();
    let _ = child.wait();
    assert!(serving, "the host did not start serving");
    assert!(loaded, "the model is loaded before serving");
}

/// A web page can loop `fetch("http://127.0.0.1:3000/" + "A".repeat(8000), {mode: "no-cors"})`:
/// every request is refused (cross-site), and the log must not grow with them.
#[test]
fn a_flood_of_refused_requests_barely_grows_the_log() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("host.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mac-status"))
        .args(["--addr", &addr, "--no-model", "--no-history"])
        .env("RUST_LOG", "info")
        .stdout(std::fs::File::create(&log_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("the host starts");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("http://{addr}/{}", "A".repeat(8000));
    wait_until_serving(&addr);
    let before = std::fs::metadata(&log_path).unwrap().len();
    for _ in 0..20_000 {
        let res = agent
            .get(&url)
            .header("sec-fetch-site", "cross-site")
            .call()
            .expect("an answer");
        assert_eq!(res.status(), 403);
    }
    std::thread::sleep(Duration::from_millis(200));
    let grown = std::fs::metadata(&log_path).unwrap().len() - before;
    child.kill().unwrap();
    let _ = child.wait();
    eprintln!("20,000 refused requests grew the log by {grown} bytes");
    assert!(grown < 100_000, "the log grew by {grown} bytes");
    assert!(grown > 0, "the first refusal is still logged");
}

/// `--log-file` (what the LaunchAgent uses): the log goes to today's dated file, not to
/// standard output, and dated files beyond the kept days are removed at start-up — launchd
/// never rotates a file, and a laptop's host restarts daily rather than running past midnight.
#[test]
fn the_log_file_is_dated_and_old_days_are_removed() {
    let addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    for day in 10..=29 {
        std::fs::write(
            dir.path().join(format!("mac-status.2020-01-{day}.log")),
            "old\n",
        )
        .unwrap();
    }
    let child = Command::new(env!("CARGO_BIN_EXE_mac-status"))
        .args(["--addr", &addr, "--no-model", "--no-history"])
        .arg("--log-file")
        .arg(dir.path().join("mac-status.log"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the host starts");
    wait_until_serving(&addr);
    let mut child = child;
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("is running at"),
        "the log went to standard output"
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), mac_status::logging::KEEP_DAYS + 1, "{names:?}");
    let today = names.last().unwrap();
    assert!(!today.starts_with("mac-status.2020-"), "{names:?}");
    let text = std::fs::read_to_string(dir.path().join(today)).unwrap();
    assert!(text.contains("is running at"), "{text}");
    assert!(!text.contains("\u{1b}["), "no terminal colours in a file");
    // The oldest days went; the newest old ones stayed.
    assert_eq!(names[0], "mac-status.2020-01-23.log", "{names:?}");
}

#[test]
fn version_names_the_commit_and_llama_cpp_and_completions_cover_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_mac-status"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("mac-status {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let lock =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
    let sys = lock
        .split("name = \"llama-cpp-sys-2\"\nversion = \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    assert!(text.contains(&format!("llama-cpp-sys-2 {sys}")), "{text}");
    // In a checkout, the commit built (HEAD at build time; tests build from the tree they test).
    if let Ok(head) = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
    {
        let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
        if !head.is_empty() {
            assert!(
                text.contains(&format!("(git {head})")),
                "{text} vs HEAD {head}"
            );
        }
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_mac-status"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for word in [
            "mac-status",
            "model",
            "service",
            "token",
            "completions",
            "no-model",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_mac-status"))
        .args(["completions", "cmd.exe"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));
}
