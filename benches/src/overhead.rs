//! Host overhead: CPU time and resident memory of the real `mac-status` binary over a window,
//! in four runs of one command: idle with no client (the baseline), the same with
//! `--no-history` (what the history writer costs), idle with one dashboard connected (a page
//! load, its server function call, then the live SSE stream held open) — all as a
//! dashboard-only host (`--no-model`) — and the same dashboard with the default model loaded
//! and resident. The hosts keep their history in a scratch file, not the user's data folder.
//!
//! Then the history write path alone, in this process, through the host's own code: a day of
//! minutes of a real snapshot folded sample by sample, and written one transaction per minute
//! (with the hour roll-up and the retention deletes), timed in CPU seconds — a figure the
//! 10 ms CPU clock of a 60 s host run cannot resolve.
//!
//! Linux reads `/proc/<pid>/stat` and `/proc/<pid>/status`; macOS uses `ps`.
//!
//!     cargo run --release -p benches --bin overhead -- --seconds 60

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
#[cfg(not(target_os = "linux"))]
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use anyhow::Result;
use clap::Parser;
use common::{Host, HostArgs};
use mac_status::metrics::{MetricsConfig, MetricsHub};
use mac_status::store::{aggregate::Accumulator, Layout, Store};

#[derive(Parser)]
struct Args {
    /// Seconds measured in each scenario.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    #[command(flatten)]
    host: HostArgs,
    /// Minutes of history written by the in-process write-path measurement.
    #[arg(long, default_value_t = 1440)]
    history_minutes: u64,
    /// Write the results as JSON here.
    #[arg(long, default_value = "benches/results/overhead.json")]
    out: PathBuf,
}

struct Usage {
    cpu_pct_of_core: f64,
    rss_mb_end: f64,
    rss_mb_max: f64,
    events: u64,
}

/// Where a host keeps its history during the bench.
#[derive(Clone, Copy)]
enum History<'a> {
    In(&'a Path),
    Off,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let scratch = std::env::temp_dir().join(format!("mac-status-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let result = run(&args, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run(args: &Args, scratch: &Path) -> Result<()> {
    let db = scratch.join("history.db");
    let idle = scenario(args, false, true, History::In(&db))?;
    let idle_off = scenario(args, false, true, History::Off)?;
    let dash = scenario(args, true, true, History::In(&db))?;
    let with_model = scenario(args, true, false, History::In(&db))?;
    let write = write_path(scratch, args.history_minutes)?;
    println!(
        "\nHost overhead over {} s (one process, this machine):\n",
        args.seconds
    );
    println!("| scenario | CPU (% of one core) | RSS at end (MB) | RSS max (MB) | SSE events |");
    println!("|---|---|---|---|---|");
    for (name, u) in [
        ("dashboard-only host, no client (baseline)", &idle),
        ("the same, `--no-history`", &idle_off),
        ("dashboard-only host, one dashboard connected", &dash),
        ("model loaded, one dashboard connected", &with_model),
    ] {
        println!(
            "| {name} | {:.2} | {:.1} | {:.1} | {} |",
            u.cpu_pct_of_core, u.rss_mb_end, u.rss_mb_max, u.events
        );
    }
    let ratio = if idle.cpu_pct_of_core > 0.0 {
        dash.cpu_pct_of_core / idle.cpu_pct_of_core
    } else {
        f64::NAN
    };
    println!("\nCPU with a dashboard / baseline: {ratio:.2}x. Budget: < 1 % of one core, < 50 MB.");
    println!(
        "History on − off, whole host: {:+.2} % of one core (one write a minute: below what a \
         {} s run of the 10 ms CPU clock resolves).",
        idle.cpu_pct_of_core - idle_off.cpu_pct_of_core,
        args.seconds
    );
    println!(
        "History write path, in process, {} minutes: folding {:.1} µs a snapshot, writing {:.2} ms \
         CPU a minute ({:.1} ms wall with the fsync) → {:.4} % of one core at one snapshot a \
         second. Budget: < 0.1 %.",
        write.minutes,
        write.fold_us_per_snapshot,
        write.write_ms_per_minute,
        write.wall_ms_per_minute,
        write.pct_of_core
    );
    let json = serde_json::json!({
        "seconds": args.seconds,
        "idle": {"cpu_pct": idle.cpu_pct_of_core, "rss_mb_end": idle.rss_mb_end, "rss_mb_max": idle.rss_mb_max},
        "idle_no_history": {"cpu_pct": idle_off.cpu_pct_of_core, "rss_mb_end": idle_off.rss_mb_end, "rss_mb_max": idle_off.rss_mb_max},
        "history_write_path": {
            "minutes": write.minutes,
            "fold_us_per_snapshot": write.fold_us_per_snapshot,
            "write_cpu_ms_per_minute": write.write_ms_per_minute,
            "write_wall_ms_per_minute": write.wall_ms_per_minute,
            "pct_of_core": write.pct_of_core,
        },
        "dashboard": {"cpu_pct": dash.cpu_pct_of_core, "rss_mb_end": dash.rss_mb_end, "rss_mb_max": dash.rss_mb_max, "events": dash.events},
        "dashboard_with_model": {"cpu_pct": with_model.cpu_pct_of_core, "rss_mb_end": with_model.rss_mb_end, "rss_mb_max": with_model.rss_mb_max, "events": with_model.events},
        "ratio": ratio,
    });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    if dash.cpu_pct_of_core >= 1.0 || dash.rss_mb_max >= 50.0 {
        eprintln!("over budget");
    }
    if write.pct_of_core >= 0.1 {
        eprintln!("history writer over budget");
    }
    Ok(())
}

struct WritePath {
    minutes: u64,
    fold_us_per_snapshot: f64,
    write_ms_per_minute: f64,
    wall_ms_per_minute: f64,
    pct_of_core: f64,
}

/// The history writer's work for `minutes` minutes of one snapshot a second, in this process
/// (nothing else runs in it meanwhile): CPU seconds of the folding, then of the writes.
fn write_path(scratch: &Path, minutes: u64) -> Result<WritePath> {
    // A real snapshot of this machine: its disks, interfaces and process lists.
    let hub = MetricsHub::start(MetricsConfig::default());
    thread::sleep(Duration::from_millis(1_500));
    let mut snap = (*hub.latest()).clone();
    drop(hub);
    thread::sleep(Duration::from_millis(200));

    let layout = Layout::default();
    let now = mac_status::store::now_ms();
    let start = (now - minutes * 60_000) / 60_000 * 60_000;
    let me = std::process::id();
    let cpu0 = common::cpu_seconds(me)?;
    let mut acc = Accumulator::new(layout.minute_ms);
    let mut buckets = Vec::with_capacity(minutes as usize + 1);
    for i in 0..minutes * 60 {
        snap.taken_at_ms = start + i * 1_000;
        snap.cpu.total_pct = (i % 100) as f32;
        buckets.extend(acc.push(&snap));
    }
    buckets.extend(acc.take());
    let fold = common::cpu_seconds(me)? - cpu0;

    let (mut store, _) = Store::open(&scratch.join("write-path.db"), layout)?;
    let cpu1 = common::cpu_seconds(me)?;
    let t0 = Instant::now();
    for b in &buckets {
        store.write(std::slice::from_ref(b), now)?;
    }
    let wall = t0.elapsed().as_secs_f64();
    let write = common::cpu_seconds(me)? - cpu1;
    let m = minutes as f64;
    Ok(WritePath {
        minutes,
        fold_us_per_snapshot: fold / (m * 60.0) * 1e6,
        write_ms_per_minute: write / m * 1e3,
        wall_ms_per_minute: wall / m * 1e3,
        pct_of_core: (fold + write) / m / 60.0 * 100.0,
    })
}

fn scenario(args: &Args, with_dashboard: bool, no_model: bool, history: History) -> Result<Usage> {
    let mut spec = args.host.spec(None, no_model);
    match history {
        History::In(db) => spec
            .extra
            .extend(["--history-db".to_string(), db.display().to_string()]),
        History::Off => spec.extra.push("--no-history".into()),
    }
    let host = Host::start(&spec, |_, _| {})?;
    // Let start-up (model warm-up, first samples) finish before measuring.
    thread::sleep(Duration::from_secs(3));
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let client = with_dashboard.then(|| {
        let (stop, events, port) = (stop.clone(), events.clone(), host.port);
        // What the page does: the document, the first-paint server function, then the stream.
        let _ = http(port, "GET", "/", "");
        let _ = http(port, "POST", "/api/fn/dashboard", "");
        thread::spawn(move || stream(port, &stop, &events))
    });
    let cpu0 = common::cpu_seconds(host.pid())?;
    let t0 = Instant::now();
    let mut rss_max: f64 = 0.0;
    while t0.elapsed() < Duration::from_secs(args.seconds) {
        thread::sleep(Duration::from_millis(500));
        rss_max = rss_max.max(rss_mb(host.pid())?);
    }
    let cpu1 = common::cpu_seconds(host.pid())?;
    let wall = t0.elapsed().as_secs_f64();
    let rss_end = rss_mb(host.pid())?;
    stop.store(true, Ordering::Relaxed);
    host.stop();
    if let Some(c) = client {
        let _ = c.join();
    }
    Ok(Usage {
        cpu_pct_of_core: (cpu1 - cpu0) / wall * 100.0,
        rss_mb_end: rss_end,
        rss_mb_max: rss_max.max(rss_end),
        events: events.load(Ordering::Relaxed),
    })
}

fn http(port: u16, method: &str, path: &str, body: &str) -> Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn stream(port: u16, stop: &AtomicBool, events: &AtomicU64) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = write!(s, "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n");
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) if line.starts_with("data:") => {
                events.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// Resident memory in MB.
fn rss_mb(pid: u32) -> Result<f64> {
    Ok(common::rss_kib(pid)? as f64 / 1024.0)
}

#[cfg(not(target_os = "linux"))]
fn ps(pid: u32, field: &str) -> Result<String> {
    let out = Command::new("ps")
        .args(["-o", &format!("{field}="), "-p", &pid.to_string()])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
