//! Soak: the real release host (default model) on a loopback port, under everything at once for
//! a bounded time — chat clients that sometimes hang up mid-answer, a hundred live dashboard
//! streams, slow readers that take a byte every few hundred milliseconds, and a poller timing
//! `/api/v1/status` — then its resident memory at start and end, every 5xx, every answer lost
//! and the status latency. Stops by itself after `--chats` answers or `--minutes`, whichever
//! comes first; the clients pace themselves so the chats spread over the whole run.
//!
//! ```sh
//! cargo leptos build --release --precompress
//! cargo run --release -p benches --bin soak -- --quick                       # ~1 minute
//! cargo run --release -p benches --bin soak -- --out benches/results/soak.json  # 10 minutes
//! ```

#[allow(dead_code)]
#[path = "scenarios/client.rs"]
mod client;
#[path = "common.rs"]
mod common;
#[allow(dead_code)]
#[path = "scenarios/stats.rs"]
mod stats;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use app::chat::{CacheMode, ChatEvent, ChatRequest, Explanation, Strategy};
use clap::Parser;
use serde::Serialize;

use client::SseFrames;
use common::{Host, HostArgs, Machine};
use stats::{percentile, XorShift};

#[derive(Parser, Debug)]
#[command(about = "Soak: chats with disconnects, live streams, slow readers, for minutes")]
struct Args {
    /// Stop after this many minutes (or after `--chats` answers, whichever comes first).
    #[arg(long)]
    minutes: Option<f64>,
    /// Chat requests in all (warm-up included).
    #[arg(long)]
    chats: Option<usize>,
    /// Chat clients asking one question after another.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Live metric streams (`/api/v1/stream`) held open.
    #[arg(long)]
    streams: Option<usize>,
    /// Slow readers (a byte every few hundred ms, of a stream or the WASM file).
    #[arg(long)]
    slow_readers: Option<usize>,
    /// One chat in this many hangs up at a random point of its answer.
    #[arg(long, default_value_t = 5)]
    disconnect_every: u64,
    /// Chats answered before the starting memory is read.
    #[arg(long)]
    warmup_chats: Option<usize>,
    /// A smoke run: 1 minute, 40 chats, 10 streams, 4 slow readers.
    #[arg(long)]
    quick: bool,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Questions: intent<TAB>question rows (the prototype's, if readable), plus everyday ones.
    #[arg(long, default_value = "../shared/scenarios.tsv")]
    scenarios: PathBuf,
    /// JSON report.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    host: HostArgs,
}

/// The run's sizes, after `--quick` and the defaults.
#[derive(Clone, Debug, Serialize)]
struct Plan {
    minutes: f64,
    chats: usize,
    clients: usize,
    streams: usize,
    slow_readers: usize,
    disconnect_every: u64,
    warmup_chats: usize,
}

impl Args {
    fn plan(&self) -> Plan {
        let q = self.quick;
        Plan {
            minutes: self.minutes.unwrap_or(if q { 1.0 } else { 10.0 }),
            chats: self.chats.unwrap_or(if q { 40 } else { 500 }).max(1),
            clients: self.clients.max(1),
            streams: self.streams.unwrap_or(if q { 10 } else { 100 }),
            slow_readers: self.slow_readers.unwrap_or(if q { 4 } else { 20 }),
            disconnect_every: self.disconnect_every.max(1),
            warmup_chats: self.warmup_chats.unwrap_or(if q { 4 } else { 20 }),
        }
    }
}

/// Everyday questions beside the scenarios, in both languages.
const EVERYDAY: &[&str] = &[
    "Why is my Mac slow?",
    "Is my disk full?",
    "Which app uses the most memory?",
    "How much memory is free?",
    "Am I uploading anything big right now?",
    "What is using my CPU?",
    "Is my Mac healthy?",
    "Quick check: is anything wrong?",
    "Should I close some apps?",
    "Why is the fan loud?",
    "Macが遅いのはなぜ？",
    "ディスクの空きはどれくらい？",
    "メモリを一番使っているアプリは？",
    "ネットワークは混んでいますか？",
];

fn questions(path: &PathBuf) -> (Vec<String>, bool) {
    let mut out: Vec<String> = EVERYDAY.iter().map(|s| s.to_string()).collect();
    let Ok(text) = std::fs::read_to_string(path) else {
        return (out, false);
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(q) = line.split('\t').nth(1).filter(|q| !q.trim().is_empty()) {
            out.push(q.to_string());
        }
    }
    (out, true)
}

/// What every load thread adds to.
#[derive(Default)]
struct Tally {
    http_5xx: AtomicU64,
    http_other_errors: AtomicU64,
    /// Chats sent, answered to `done`, hung up on purpose, lost (neither).
    chats_sent: AtomicUsize,
    chats_done: AtomicUsize,
    chats_disconnected: AtomicUsize,
    chats_lost: AtomicUsize,
    /// `done` after the diagnosis alone because the model's queue was full.
    chats_busy: AtomicUsize,
    chats_cached: AtomicUsize,
    chats_model: AtomicUsize,
    lost_detail: Mutex<Vec<String>>,
    answer_ms: Mutex<Vec<f64>>,
    stream_events: AtomicU64,
    /// Metric streams that ended (or failed) while the soak still ran.
    streams_dropped: AtomicU64,
    slow_bytes: AtomicU64,
    slow_errors: AtomicU64,
    status_ms: Mutex<Vec<f64>>,
}

fn lost(t: &Tally, why: String) {
    t.chats_lost.fetch_add(1, Ordering::Relaxed);
    let mut d = t.lost_detail.lock().unwrap();
    if d.len() < 20 {
        d.push(why);
    }
}

/// Where a chat that hangs up does so: after its `start` event, after its diagnosis (when no
/// model explains: the next event would be `done`), or after `n` of the model's tokens.
#[derive(Clone, Copy, Debug)]
struct Cut {
    after_start: bool,
    tokens: u64,
}

impl Cut {
    fn random(rng: &mut XorShift) -> Cut {
        Cut {
            after_start: rng.below(4) == 0,
            tokens: 1 + rng.next_u64() % 40,
        }
    }
}

/// One chat, read to its `done`; with `cut`, it hangs up at that point of the answer instead
/// (when the answer is not over by then).
fn chat(
    port: u16,
    question: &str,
    strategy: Strategy,
    cache: CacheMode,
    cut: Option<Cut>,
    t: &Tally,
) {
    let body = serde_json::to_string(&ChatRequest {
        question: question.to_string(),
        strategy: Some(strategy),
        history: Vec::new(),
        cache,
    })
    .expect("a request serializes");
    // A fresh connection per chat: a hang-up closes it for real.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let t0 = Instant::now();
    t.chats_sent.fetch_add(1, Ordering::Relaxed);
    let resp = match agent
        .post(&format!("http://127.0.0.1:{port}/api/v1/chat"))
        .header("content-type", "application/json")
        .send(&body)
    {
        Ok(r) => r,
        Err(e) => {
            t.http_other_errors.fetch_add(1, Ordering::Relaxed);
            return lost(t, format!("{question:?}: request failed: {e}"));
        }
    };
    let status = resp.status().as_u16();
    if status >= 500 {
        t.http_5xx.fetch_add(1, Ordering::Relaxed);
    }
    if status != 200 {
        return lost(t, format!("{question:?}: HTTP {status}"));
    }
    let mut reader = BufReader::new(resp.into_body().into_reader());
    let (mut frames, mut line) = (SseFrames::default(), String::new());
    let mut explanation = None;
    let mut tokens = 0;
    let mut hang_up = false;
    loop {
        if hang_up {
            t.chats_disconnected.fetch_add(1, Ordering::Relaxed);
            return; // dropping the reader closes the connection mid-answer
        }
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => {
                return lost(t, format!("{question:?}: the stream ended without done"));
            }
            Ok(_) => {}
        }
        let Some(data) = frames.push_line(&line) else {
            continue;
        };
        match serde_json::from_str::<ChatEvent>(&data) {
            Ok(ChatEvent::Start { .. }) => hang_up = cut.is_some_and(|c| c.after_start),
            Ok(ChatEvent::Diagnosis { explanation: e, .. }) => {
                hang_up = cut.is_some() && !e.follows();
                explanation = Some(e);
            }
            Ok(ChatEvent::Token { .. }) => {
                tokens += 1;
                hang_up = cut.is_some_and(|c| tokens >= c.tokens);
            }
            Ok(ChatEvent::Done { stop, .. }) => {
                t.chats_done.fetch_add(1, Ordering::Relaxed);
                match explanation {
                    Some(Explanation::Busy) => {
                        t.chats_busy.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Explanation::Model { .. }) => {
                        t.chats_model.fetch_add(1, Ordering::Relaxed);
                        t.answer_ms
                            .lock()
                            .unwrap()
                            .push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => {}
                }
                if stop == app::chat::StopReason::Cached {
                    t.chats_cached.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            Ok(ChatEvent::Error { code, message }) => {
                return lost(t, format!("{question:?}: error {code:?}: {message}"));
            }
            Err(e) => return lost(t, format!("{question:?}: bad event {data:?}: {e}")),
        }
    }
}

/// `GET path` on a raw connection, for streams: the status line is read, then the body is
/// handed to `body` until it returns.
fn raw_get(port: u16, path: &str) -> Result<(u16, TcpStream)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream, */*\r\n\r\n"
    )?;
    // The status line, a byte at a time (slow readers must not read ahead).
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        if s.read(&mut b)? == 0 {
            anyhow::bail!("closed before the status line");
        }
        head.push(b[0]);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("bad status line {line:?}"))?;
    Ok((status, s))
}

/// A live dashboard: one metric stream held open, its events counted.
fn metric_stream(port: u16, stop: &AtomicBool, t: &Tally) {
    let (status, s) = match raw_get(port, "/api/v1/stream") {
        Ok(x) => x,
        Err(_) => {
            t.http_other_errors.fetch_add(1, Ordering::Relaxed);
            t.streams_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    if status >= 500 {
        t.http_5xx.fetch_add(1, Ordering::Relaxed);
    }
    let _ = s.set_read_timeout(Some(Duration::from_millis(250)));
    let mut reader = BufReader::new(s);
    let (mut frames, mut line) = (SseFrames::default(), String::new());
    while !stop.load(Ordering::Relaxed) {
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                if frames.push_line(&line).is_some() {
                    t.stream_events.fetch_add(1, Ordering::Relaxed);
                }
                line.clear();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    if !stop.load(Ordering::Relaxed) {
        t.streams_dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads one byte every `every` of a metric stream or the WASM file, until `stop`.
fn slow_reader(port: u16, path: &str, every: Duration, stop: &AtomicBool, t: &Tally) {
    let (status, mut s) = match raw_get(port, path) {
        Ok(x) => x,
        Err(_) => {
            t.slow_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    if status >= 500 {
        t.http_5xx.fetch_add(1, Ordering::Relaxed);
    }
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut b = [0u8; 1];
    while !stop.load(Ordering::Relaxed) {
        match s.read(&mut b) {
            Ok(0) => break, // the whole file was read (never, at this pace)
            Ok(_) => {
                t.slow_bytes.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                t.slow_errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        thread::sleep(every);
    }
}

/// `/api/v1/status` every 100 ms on a keep-alive connection, each answer timed.
fn status_poller(port: u16, stop: &AtomicBool, t: &Tally) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}/api/v1/status");
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        match agent.get(&url).call() {
            Ok(r) => {
                let status = r.status().as_u16();
                let ok = r.into_body().read_to_vec().is_ok();
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                if status >= 500 {
                    t.http_5xx.fetch_add(1, Ordering::Relaxed);
                } else if status != 200 || !ok {
                    t.http_other_errors.fetch_add(1, Ordering::Relaxed);
                } else {
                    t.status_ms.lock().unwrap().push(ms);
                }
            }
            Err(_) => {
                t.http_other_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[derive(Serialize)]
struct Report {
    machine: Machine,
    commit: Option<String>,
    plan: Plan,
    /// `/proc/loadavg` before and after (other work on the machine skews every figure).
    load_before: String,
    load_after: String,
    seconds: f64,
    stopped_by: &'static str,
    questions: usize,
    prototype_scenarios_read: bool,
    rss_start_kib: u64,
    rss_end_kib: u64,
    rss_growth_pct: f64,
    rss_max_kib: u64,
    /// (seconds since the start sample, KiB) every 5 s.
    rss_series: Vec<(f64, u64)>,
    rss_after_load_kib: Option<u64>,
    http_5xx: u64,
    http_other_errors: u64,
    chats_sent: usize,
    chats_done: usize,
    chats_disconnected: usize,
    answers_lost: usize,
    lost_detail: Vec<String>,
    chats_busy: usize,
    chats_cached: usize,
    chats_explained_by_model: usize,
    answer_p50_ms: Option<f64>,
    answer_p95_ms: Option<f64>,
    status_polls: usize,
    status_p50_ms: Option<f64>,
    status_p99_ms: Option<f64>,
    status_max_ms: Option<f64>,
    stream_events: u64,
    streams_dropped: u64,
    slow_reader_bytes: u64,
    slow_reader_errors: u64,
    host_alive_at_end: bool,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let plan = args.plan();
    let (questions, prototype) = questions(&args.scenarios);
    let load_before = loadavg();
    eprintln!(
        "soak: {} min or {} chats ({} clients, 1 in {} hung up), {} streams, {} slow readers; load {load_before}",
        plan.minutes, plan.chats, plan.clients, plan.disconnect_every, plan.streams, plan.slow_readers
    );
    let host = Host::start(&args.host.spec(None, false), |_, _| {})?;
    let port = host.port;
    let pid = host.pid();
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let chats_left = Arc::new(AtomicUsize::new(plan.chats));
    let mut handles = Vec::new();

    for _ in 0..plan.streams {
        let (t, stop) = (tally.clone(), stop.clone());
        handles.push(thread::spawn(move || metric_stream(port, &stop, &t)));
    }
    for i in 0..plan.slow_readers {
        let (t, stop) = (tally.clone(), stop.clone());
        let path = if i % 2 == 0 {
            "/api/v1/stream"
        } else {
            "/pkg/mac-status.wasm"
        };
        let every = Duration::from_millis(200 + (i as u64 * 37) % 300);
        handles.push(thread::spawn(move || {
            slow_reader(port, path, every, &stop, &t)
        }));
    }
    {
        let (t, stop) = (tally.clone(), stop.clone());
        handles.push(thread::spawn(move || status_poller(port, &stop, &t)));
    }
    let mut clients = Vec::new();
    for c in 0..plan.clients {
        let (t, stop, left, qs) = (
            tally.clone(),
            stop.clone(),
            chats_left.clone(),
            questions.clone(),
        );
        let seed = args.seed.wrapping_add(c as u64 * 7919);
        let every = plan.disconnect_every;
        // Paced so the chats spread over the whole run (a client starts its next question
        // this long after the last one, or at once when that one took longer).
        let pace =
            Duration::from_secs_f64(plan.minutes * 60.0 * plan.clients as f64 / plan.chats as f64);
        clients.push(thread::spawn(move || {
            let mut rng = XorShift::new(seed);
            while !stop.load(Ordering::Relaxed) {
                // Take a ticket; none left: this client is done.
                if left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_err()
                {
                    break;
                }
                let q = &qs[rng.below(qs.len())];
                let strategy = [Strategy::Speed, Strategy::Balanced][rng.below(2)];
                // One in four may be served from the answer cache, as a user's would.
                let cache = if rng.below(4) == 0 {
                    CacheMode::Use
                } else {
                    CacheMode::Bypass
                };
                let cut = rng
                    .next_u64()
                    .is_multiple_of(every)
                    .then(|| Cut::random(&mut rng));
                let started = Instant::now();
                chat(port, q, strategy, cache, cut, &t);
                while started.elapsed() < pace && !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }));
    }

    // Warm-up: the first answers (the engine's buffers, the allocator's arenas, the cache).
    let deadline = Instant::now() + Duration::from_secs_f64(plan.minutes * 60.0);
    while tally.chats_done.load(Ordering::Relaxed)
        + tally.chats_disconnected.load(Ordering::Relaxed)
        < plan.warmup_chats
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(100));
    }
    let rss_start = common::rss_kib(pid)?;
    let t_start = Instant::now();
    eprintln!(
        "warm: RSS {:.1} MiB after {} chats",
        rss_start as f64 / 1024.0,
        tally.chats_sent.load(Ordering::Relaxed)
    );
    let mut series = vec![(0.0, rss_start)];
    let mut next_sample = Instant::now() + Duration::from_secs(5);
    let stopped_by = loop {
        if clients.iter().all(|c| c.is_finished()) {
            break "chats";
        }
        if Instant::now() >= deadline {
            break "minutes";
        }
        if Instant::now() >= next_sample {
            if let Ok(kib) = common::rss_kib(pid) {
                series.push((t_start.elapsed().as_secs_f64(), kib));
            }
            next_sample += Duration::from_secs(5);
            let done = tally.chats_sent.load(Ordering::Relaxed);
            if series.len() % 6 == 0 {
                eprintln!(
                    "  {:>4.0} s: {done} chats, RSS {:.1} MiB",
                    t_start.elapsed().as_secs_f64(),
                    series.last().unwrap().1 as f64 / 1024.0
                );
            }
        }
        thread::sleep(Duration::from_millis(100));
    };
    // The end sample under the same load as the start one, then everything stops.
    stop.store(true, Ordering::Relaxed);
    let rss_end = common::rss_kib(pid)?;
    series.push((t_start.elapsed().as_secs_f64(), rss_end));
    for c in clients {
        let _ = c.join();
    }
    for h in handles {
        let _ = h.join();
    }
    let seconds = t_start.elapsed().as_secs_f64();
    thread::sleep(Duration::from_secs(2));
    let rss_after_load = common::rss_kib(pid).ok();
    let alive = common::get(port, "/healthz").is_ok();
    let load_after = loadavg();
    host.stop();

    let t = &tally;
    let mut status_ms = t.status_ms.lock().unwrap().clone();
    status_ms.sort_by(f64::total_cmp);
    let mut answer_ms = t.answer_ms.lock().unwrap().clone();
    answer_ms.sort_by(f64::total_cmp);
    let report = Report {
        machine: Machine::detect(),
        commit: common::git_commit(),
        plan: plan.clone(),
        load_before,
        load_after,
        seconds,
        stopped_by,
        questions: questions.len(),
        prototype_scenarios_read: prototype,
        rss_start_kib: rss_start,
        rss_end_kib: rss_end,
        rss_growth_pct: (rss_end as f64 - rss_start as f64) / rss_start as f64 * 100.0,
        rss_max_kib: series.iter().map(|s| s.1).max().unwrap_or(rss_end),
        rss_series: series,
        rss_after_load_kib: rss_after_load,
        http_5xx: t.http_5xx.load(Ordering::Relaxed),
        http_other_errors: t.http_other_errors.load(Ordering::Relaxed),
        chats_sent: t.chats_sent.load(Ordering::Relaxed),
        chats_done: t.chats_done.load(Ordering::Relaxed),
        chats_disconnected: t.chats_disconnected.load(Ordering::Relaxed),
        answers_lost: t.chats_lost.load(Ordering::Relaxed),
        lost_detail: t.lost_detail.lock().unwrap().clone(),
        chats_busy: t.chats_busy.load(Ordering::Relaxed),
        chats_cached: t.chats_cached.load(Ordering::Relaxed),
        chats_explained_by_model: t.chats_model.load(Ordering::Relaxed),
        answer_p50_ms: percentile(&answer_ms, 50.0),
        answer_p95_ms: percentile(&answer_ms, 95.0),
        status_polls: status_ms.len(),
        status_p50_ms: percentile(&status_ms, 50.0),
        status_p99_ms: percentile(&status_ms, 99.0),
        status_max_ms: status_ms.last().copied(),
        stream_events: t.stream_events.load(Ordering::Relaxed),
        streams_dropped: t.streams_dropped.load(Ordering::Relaxed),
        slow_reader_bytes: t.slow_bytes.load(Ordering::Relaxed),
        slow_reader_errors: t.slow_errors.load(Ordering::Relaxed),
        host_alive_at_end: alive,
    };
    print!("{}", markdown(&report));
    if let Some(out) = &args.out {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(out, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("wrote {}", out.display());
    }
    let goals_met = report.http_5xx == 0
        && report.answers_lost == 0
        && report.rss_growth_pct < 10.0
        && report.streams_dropped == 0
        && report.host_alive_at_end;
    if !goals_met {
        eprintln!("soak: a goal was missed (see the table)");
        std::process::exit(1);
    }
    Ok(())
}

fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.1} ms"))
}

fn markdown(r: &Report) -> String {
    let mib = |k: u64| k as f64 / 1024.0;
    let p = &r.plan;
    let mut s = format!(
        "\n{} · commit {} · load {} → {}\n{:.0} s after warm-up (stopped by {}), {} clients, {} metric streams, {} slow readers, 1 chat in {} hung up\n\n",
        r.machine.line(),
        r.commit.as_deref().unwrap_or("?"),
        r.load_before,
        r.load_after,
        r.seconds,
        r.stopped_by,
        p.clients,
        p.streams,
        p.slow_readers,
        p.disconnect_every,
    );
    s += "| what | result | goal |\n|---|---:|---:|\n";
    s += &format!(
        "| resident memory, start (after {} warm-up chats) → end | {:.1} → {:.1} MiB ({:+.1} %; max {:.1}) | < 10 % growth |\n",
        p.warmup_chats,
        mib(r.rss_start_kib),
        mib(r.rss_end_kib),
        r.rss_growth_pct,
        mib(r.rss_max_kib)
    );
    s += &format!("| HTTP 5xx | {} | 0 |\n", r.http_5xx);
    s += &format!(
        "| answers lost (not hung up on, no `done`) | {} of {} | 0 |\n",
        r.answers_lost,
        r.chats_sent - r.chats_disconnected
    );
    s += &format!(
        "| `/api/v1/status` p50 / p99 / max ({} polls) | {} / {} / {} | |\n",
        r.status_polls,
        ms(r.status_p50_ms),
        ms(r.status_p99_ms),
        ms(r.status_max_ms)
    );
    s += &format!(
        "| chats: sent / done / hung up / model explained / queue full / cached | {} / {} / {} / {} / {} / {} | |\n",
        r.chats_sent, r.chats_done, r.chats_disconnected, r.chats_explained_by_model, r.chats_busy, r.chats_cached
    );
    s += &format!(
        "| model answers, p50 / p95 | {} / {} | |\n",
        ms(r.answer_p50_ms),
        ms(r.answer_p95_ms)
    );
    s += &format!(
        "| metric stream events / streams dropped | {} / {} | — / 0 |\n",
        r.stream_events, r.streams_dropped
    );
    s += &format!(
        "| slow readers: bytes read / errors | {} / {} | |\n",
        r.slow_reader_bytes, r.slow_reader_errors
    );
    s += &format!("| other HTTP errors | {} | |\n", r.http_other_errors);
    for d in &r.lost_detail {
        s += &format!("\nlost: {d}");
    }
    s + "\n"
}
