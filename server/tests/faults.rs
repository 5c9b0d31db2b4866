//! Faults, tried on the real binary with the real model (a copy in a temporary folder per test,
//! so the original is never harmed): the model file deleted, replaced, truncated or corrupt;
//! a full disk under `service install`; SIGTERM and `kill -9` in the middle of an answer.
//!
//! `cargo test --release -p server --test faults -- --nocapture` (the disk-full test needs root
//! for a small tmpfs; without it, it says so on stderr and skips).
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::chat::{ChatEvent, Explanation, StopReason};
use app::error::ErrorCode;

mod common;

/// One host at a time: two models decoding at once on a small machine would measure contention,
/// and the answers must be long enough to be interrupted.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Long enough to be cut mid-answer: up to 512 tokens.
const LONG: &str = r#"{"question": "Explain in detail everything about my CPU, memory, disks and network.", "strategy": "quality", "cache": "bypass"}"#;
const SHORT: &str =
    r#"{"question": "Why is my Mac slow?", "strategy": "speed", "cache": "bypass"}"#;

fn free_addr() -> String {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().to_string()
}

/// The default model, copied into `dir` (the faults are done to the copy).
fn model_copy(dir: &Path) -> PathBuf {
    let path = dir.join("model.gguf");
    std::fs::copy(common::model_path(), &path).unwrap();
    path
}

/// The real host on `addr`, its log lines collected; killed when dropped.
struct Host {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Host {
    fn start(addr: &str, model: &Path, extra: &[&str]) -> Host {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mac-status"))
            .args(["--addr", addr, "--no-history", "--model"])
            .arg(model)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the host starts");
        let out = child.stdout.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut host = Host {
            child,
            addr: addr.to_string(),
            log,
        };
        let t0 = Instant::now();
        while host.get("/healthz").0 != 200 {
            assert!(
                host.alive(),
                "the host exited while starting: {:#?}",
                host.log()
            );
            assert!(
                t0.elapsed() < Duration::from_secs(120),
                "the host did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        host
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Status and body; status 0 when nothing answered.
    fn get(&self, path: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        match agent.get(&format!("http://{}{path}", self.addr)).call() {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.into_body().read_to_string().unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        }
    }

    /// The host is up and the dashboard's data answers.
    fn assert_serving(&mut self) {
        assert!(self.alive(), "the host died: {:#?}", self.log());
        let (status, body) = self.get("/api/v1/status");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"cpu\""), "{body}");
    }

    fn ask(&self, body: &str) -> Answer {
        Answer::open(&self.addr, body)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                t0.elapsed() < within,
                "the host did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer's event stream, read as it arrives.
struct Answer {
    lines: Box<dyn Iterator<Item = String>>,
    events: Vec<ChatEvent>,
}

impl Answer {
    fn open(addr: &str, body: &str) -> Answer {
        let resp = ureq::post(&format!("http://{addr}/api/v1/chat"))
            .header("content-type", "application/json")
            .send(body)
            .expect("chat answers 200");
        let reader = BufReader::new(resp.into_body().into_reader());
        Answer {
            lines: Box::new(reader.lines().map_while(Result::ok)),
            events: Vec::new(),
        }
    }

    /// The next event; `None` when the stream ended (or broke).
    fn next(&mut self) -> Option<ChatEvent> {
        for line in self.lines.by_ref() {
            if let Some(data) = line.strip_prefix("data: ") {
                let ev: ChatEvent = serde_json::from_str(data).expect("a valid event");
                self.events.push(ev.clone());
                return Some(ev);
            }
        }
        None
    }

    /// Reads until the model's first token.
    fn until_first_token(&mut self) {
        loop {
            match self.next() {
                Some(ChatEvent::Token { .. }) => return,
                Some(ChatEvent::Start { .. } | ChatEvent::Diagnosis { .. }) => {}
                other => panic!("expected model tokens, got {other:?}"),
            }
        }
    }

    /// Everything to the end of the stream.
    fn finish(mut self) -> Vec<ChatEvent> {
        while self.next().is_some() {}
        self.events
    }
}

fn explanation(events: &[ChatEvent]) -> &Explanation {
    events
        .iter()
        .find_map(|e| match e {
            ChatEvent::Diagnosis { explanation, .. } => Some(explanation),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no diagnosis: {events:?}"))
}

/// An answer the model explained, to its `done`.
fn assert_explained(events: &[ChatEvent]) {
    assert!(explanation(events).follows(), "{:?}", explanation(events));
    match events.last() {
        Some(ChatEvent::Done { stop, answer, .. }) => {
            assert_ne!(*stop, StopReason::DiagnosisOnly);
            assert!(!answer.trim().is_empty());
        }
        other => panic!("the answer must end with done, got {other:?}"),
    }
}

fn profile_mmap(host: &Host) -> bool {
    let (status, body) = host.get("/api/v1/profile");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["profile"]["use_mmap"].as_bool().expect("use_mmap")
}

/// The two ways the host can hold the model: its own copy (the rule for a model this small)
/// and a memory map (the rule for a model that is a large share of memory; forced here).
const MODES: [(&str, &[&str]); 2] = [("own copy", &[]), ("mapped", &["--mmap", "true"])];

#[test]
fn a_model_file_deleted_while_running_keeps_answering() {
    let _turn = one_at_a_time();
    for (mode, flags) in MODES {
        let dir = tempfile::tempdir().unwrap();
        let model = model_copy(dir.path());
        let mut host = Host::start(&free_addr(), &model, flags);
        assert_eq!(profile_mmap(&host), mode == "mapped", "{mode}");
        assert_explained(&host.ask(SHORT).finish());
        std::fs::remove_file(&model).unwrap();
        // Held by the host (its copy, or the mapping's inode): answers go on.
        assert_explained(&host.ask(LONG).finish());
        assert_explained(&host.ask(SHORT).finish());
        host.assert_serving();
    }
}

#[test]
fn a_model_file_replaced_by_a_rename_keeps_answering() {
    let _turn = one_at_a_time();
    for (_mode, flags) in MODES {
        let dir = tempfile::tempdir().unwrap();
        let model = model_copy(dir.path());
        let mut host = Host::start(&free_addr(), &model, flags);
        assert_explained(&host.ask(SHORT).finish());
        // Another file (not even a model) moved over it, as `model pull` installs a download.
        let other = dir.path().join("other.part");
        std::fs::write(&other, vec![0x5a; 1 << 20]).unwrap();
        std::fs::rename(&other, &model).unwrap();
        assert_explained(&host.ask(LONG).finish());
        host.assert_serving();
        // The next start loads what is there now, and says it is not a model.
        drop(host);
        let mut host = Host::start(&free_addr(), &model, flags);
        let events = host.ask(SHORT).finish();
        assert!(
            matches!(
                explanation(&events),
                Explanation::ModelUnavailable {
                    code: ErrorCode::ModelCorrupt,
                    ..
                }
            ),
            "{:?}",
            explanation(&events)
        );
        host.assert_serving();
    }
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Mapped, this killed the host with SIGBUS at the next token (measured: exit by signal 7,
/// the stream cut after its first token, no last event). Small models are therefore read
/// into the host's own memory, and the file can be truncated under a running answer.
#[test]
fn a_model_file_truncated_mid_answer_does_not_take_the_host_down() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let mut host = Host::start(&free_addr(), &model, &[]);
    assert!(!profile_mmap(&host), "a 98 MB model is not mapped");
    let mut answer = host.ask(LONG);
    answer.until_first_token();
    truncate(&model, 1 << 20);
    let events = answer.finish();
    assert_explained(&events);
    host.assert_serving();
    assert_explained(&host.ask(SHORT).finish());
    // Rewritten in place as `cp other.gguf model.gguf` does: still the loaded model.
    std::fs::write(&model, vec![0u8; 4 << 20]).unwrap();
    assert_explained(&host.ask(SHORT).finish());
    host.assert_serving();
}

/// With the map (a large model, or `--mmap true`), the engine checks the file before each
/// answer: a file changed in place is refused with `model_corrupt` and a message that says
/// what happened and what to do, before any mapped page is touched; the host stays up.
#[test]
fn a_mapped_model_changed_in_place_is_refused_before_the_next_answer() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let mut host = Host::start(&free_addr(), &model, &["--mmap", "true"]);
    assert!(profile_mmap(&host));
    assert_explained(&host.ask(SHORT).finish());
    truncate(&model, 1 << 20);
    for _ in 0..2 {
        let events = host.ask(LONG).finish();
        match explanation(&events) {
            Explanation::ModelUnavailable { code, message } => {
                assert_eq!(*code, ErrorCode::ModelCorrupt);
                assert!(message.contains("changed on disk"), "{message}");
                assert!(message.contains("restart"), "{message}");
            }
            other => panic!("expected the diagnosis without the model, got {other:?}"),
        }
        assert!(matches!(
            events.last(),
            Some(ChatEvent::Done {
                stop: StopReason::DiagnosisOnly,
                ..
            })
        ));
        host.assert_serving();
    }
}

/// Extends `engine.rs` (the loader refuses bad files) and `routes.rs` (a missing model, in
/// process): the real binary started on a truncated or non-GGUF file serves the dashboard and
/// answers with the diagnosis and a `model_corrupt` explanation.
#[test]
fn a_corrupt_model_at_start_leaves_the_dashboard_and_the_diagnosis() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let truncated = model_copy(dir.path());
    truncate(&truncated, 50 << 20);
    let garbage = dir.path().join("garbage.gguf");
    std::fs::write(&garbage, vec![0xab; 1 << 20]).unwrap();
    for model in [&truncated, &garbage] {
        let mut host = Host::start(&free_addr(), model, &[]);
        host.assert_serving();
        let (status, page) = host.get("/");
        assert_eq!(status, 200);
        assert!(page.contains("<html"), "the dashboard page renders");
        let events = host.ask(SHORT).finish();
        match explanation(&events) {
            Explanation::ModelUnavailable { code, message } => {
                assert_eq!(*code, ErrorCode::ModelCorrupt);
                assert!(message.contains("model.gguf") || message.contains("garbage.gguf"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            events.last(),
            Some(ChatEvent::Done {
                stop: StopReason::DiagnosisOnly,
                ..
            })
        ));
        assert!(
            host.log().iter().any(|l| l.contains("model not loaded")),
            "the log says why: {:#?}",
            host.log()
        );
    }
}

/// SIGTERM while the model is writing: the answer's last event says the host is shutting down
/// (not a cut connection), the host exits 0 within seconds, and its config file is untouched.
#[test]
fn sigterm_mid_answer_ends_the_stream_with_shutting_down_and_exits_cleanly() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let config = dir.path().join("mac-status.toml");
    let settings = "strategy = \"balanced\"\ninterval_ms = 1000\n";
    std::fs::write(&config, settings).unwrap();
    let config_arg = config.to_string_lossy().into_owned();
    let mut host = Host::start(&free_addr(), &model, &["--config", &config_arg]);
    let mut answer = host.ask(LONG);
    answer.until_first_token();
    let t0 = Instant::now();
    host.signal("-TERM");
    let events = answer.finish();
    match events.last() {
        Some(ChatEvent::Error { code, message }) => {
            assert_eq!(*code, ErrorCode::ShuttingDown);
            assert!(message.contains("shutting down"), "{message}");
        }
        other => panic!("the stream must end with a shutting_down error, got {other:?}"),
    }
    let status = host.wait_exit(Duration::from_secs(5));
    eprintln!(
        "SIGTERM mid-answer: the shutting_down event, then {status}, {:?} after the signal",
        t0.elapsed()
    );
    assert_eq!(status.code(), Some(0), "{:#?}", host.log());
    assert!(host.log().iter().any(|l| l.contains("stopped")));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), settings);
}

/// `kill -9` while the model is writing (no handler runs), then a restart on the same port:
/// it binds at once, loads the untouched model and answers.
#[test]
fn kill_9_mid_answer_then_a_restart_on_the_same_port_answers() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let addr = free_addr();
    let mut host = Host::start(&addr, &model, &[]);
    let mut answer = host.ask(LONG);
    answer.until_first_token();
    host.signal("-KILL");
    let status = host.wait_exit(Duration::from_secs(5));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let events = answer.finish();
    assert!(
        !matches!(events.last(), Some(ChatEvent::Done { .. })),
        "cut: {:?}",
        events.last()
    );
    drop(host);
    let t0 = Instant::now();
    let mut again = Host::start(&addr, &model, &[]);
    eprintln!("restart after kill -9: serving in {:?}", t0.elapsed());
    assert!(
        !again.log().iter().any(|l| l.contains("already in use")),
        "{:#?}",
        again.log()
    );
    assert_explained(&again.ask(SHORT).finish());
    again.assert_serving();
    // Nothing it holds was written: the model is byte for byte the original.
    assert!(
        std::fs::read(&model).unwrap() == std::fs::read(common::model_path()).unwrap(),
        "the model file changed"
    );
}

/// A small tmpfs the test mounts (and unmounts when dropped).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `Err` with the reason when this machine does not let us mount one (not root, not Linux).
    fn mount(size: &str) -> Result<Tmpfs, String> {
        if !cfg!(target_os = "linux") {
            return Err("tmpfs mounts are a Linux test".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the file system says it is full.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0u8; 4096];
        loop {
            if let Err(e) = f.write_all(&block) {
                assert_eq!(e.raw_os_error(), Some(28), "ENOSPC, got {e}");
                return;
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Says on the real stderr (not captured by the test harness) that a test did not run.
fn skipped(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// `service install` onto a full disk: a clear "no space" error, the unit that was there left
/// whole (written to a temporary file, synced and renamed: never truncated first), no temporary
/// file left behind — and with no unit before, no empty one after.
#[test]
fn service_install_on_a_full_disk_fails_clearly_and_keeps_the_old_unit() {
    let fs = match Tmpfs::mount("512k") {
        Ok(fs) => fs,
        Err(why) => return skipped("service_install_on_a_full_disk", &why),
    };
    let home = fs.path();
    let unit = home.join(".config/systemd/user/mac-status.service");
    let units = unit.parent().unwrap();
    std::fs::create_dir_all(units).unwrap();
    std::fs::create_dir_all(home.join(".local/state/mac-status")).unwrap();
    let old = "[Unit]\nDescription=the unit installed before\n";
    std::fs::write(&unit, old).unwrap();
    fs.fill();
    let cwd = tempfile::tempdir().unwrap();
    let install = || {
        Command::new(env!("CARGO_BIN_EXE_mac-status"))
            .args([
                "service",
                "install",
                "--no-model",
                "--addr",
                "127.0.0.1:3999",
            ])
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .current_dir(cwd.path())
            .output()
            .unwrap()
    };
    let out = install();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("mac-status.service"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&unit).unwrap(), old);
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(units), ["mac-status.service"]);
    eprintln!("service install on a full disk: {}", stderr.trim());

    std::fs::remove_file(&unit).unwrap();
    fs.fill(); // the page the old unit freed
    let out = install();
    assert!(!out.status.success());
    assert!(
        names(units).is_empty(),
        "no half-written unit: {:?}",
        names(units)
    );
}

/// A mirror on loopback that answers every GET with `body` (200, its length, no checksum
/// header: the catalogue's pin is what `pull` checks against).
fn mirror(body: Vec<u8>) -> String {
    use std::io::Read;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            });
        }
    });
    format!("http://{addr}")
}

/// `model pull` into a models folder on a full disk (the CLI, against a local mirror): a clear
/// "no space" error, and the file already installed under that name left whole — the download
/// goes to `<file>.part`, renamed into place only once verified.
#[test]
fn model_pull_onto_a_full_disk_fails_clearly_and_leaves_the_installed_file() {
    let fs = match Tmpfs::mount("4m") {
        Ok(fs) => fs,
        Err(why) => return skipped("model_pull_onto_a_full_disk", &why),
    };
    let models = fs.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let file = "Llama-3-ELYZA-JP-8B-q4_k_m.gguf";
    let installed = models.join(file);
    let previous = vec![0x11u8; 64 * 1024];
    std::fs::write(&installed, &previous).unwrap();
    let base = mirror(vec![0x22u8; 16 << 20]);
    let out = Command::new(env!("CARGO_BIN_EXE_mac-status"))
        .args([
            "model",
            "pull",
            "llama3-elyza-8b",
            "--base-url",
            &base,
            "--dir",
        ])
        .arg(&models)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        previous,
        "the installed file is untouched"
    );
    let part = models.join(format!("{file}.part"));
    let part_len = std::fs::metadata(&part).map(|m| m.len()).ok();
    eprintln!(
        "model pull on a full disk: {}; {file}.part left: {part_len:?} bytes",
        stderr.lines().next().unwrap_or("")
    );
}
