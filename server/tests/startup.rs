//! The real binary's start-up: the port is bound before anything costly, so a second copy on
//! a taken port leaves at once, without loading the model, with the status the service files
//! say not to restart on.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use server::service::EXIT_NO_RESTART;

mod common;

/// Runs the host on `addr` with the default model; returns its log lines (stdout, where
/// `tracing` writes) through a channel that closes when the host exits.
fn start(addr: &str) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mac-status"))
        .args(["--addr", addr, "--site-root", "target/site", "--model"])
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
    let addr = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
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
