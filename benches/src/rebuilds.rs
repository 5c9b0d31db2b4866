//! Context rebuilds over a run of questions on an idle machine, on the path a user takes: the
//! real release host with the default model, English questions (the default model explains
//! English) over HTTP, some back to back and some a few seconds apart as a reader asks them.
//!
//! Each change of the engine's thread count rebuilds its llama.cpp context (and drops the KV
//! cache's reuse); the host reports them in `/metrics` (`mac_status_chat_context_rebuilds_total`).
//! Beside it, in the same run, the rule the host used before (threads = cores under 50 % busy in
//! the latest reading, the engine's own load included) is evaluated on the reading taken just
//! before each question: the rebuilds it would have caused.
//!
//!     cargo run --release -p benches --bin rebuilds -- --questions 20

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use app::chat::ChatEvent;
use app::model::Snapshot;
use clap::Parser;
use common::{Host, HostArgs};
use mac_status::chat::intent::japanese_share;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 20)]
    questions: usize,
    /// Pause after every other answer (a reader reading), in seconds.
    #[arg(long, default_value_t = 3)]
    pause_s: u64,
    #[command(flatten)]
    host: HostArgs,
    #[arg(long, default_value = "models/SmolLM2-135M-Instruct-Q4_1.gguf")]
    model: PathBuf,
    #[arg(long, default_value = "benches/scenarios.tsv")]
    scenarios: PathBuf,
    #[arg(long, default_value = "benches/results/rebuilds.json")]
    out: PathBuf,
}

/// Questions a user asks besides the scenarios.
const EVERYDAY: &[&str] = &[
    "Why is my Mac slow?",
    "Is my memory OK?",
    "Which app uses the most CPU?",
    "Is my disk getting full?",
    "How is my network doing?",
];

/// The rule before hysteresis: cores under 50 % busy, at most the profile, at least 1.
fn old_rule(profile: u32, per_core: &[f32]) -> u32 {
    if per_core.is_empty() {
        return profile.max(1);
    }
    let idle = per_core.iter().filter(|&&p| p < 50.0).count() as u32;
    profile.max(1).min(idle).max(1)
}

/// Threads the engine used and the answer's total time, from the `done` event.
fn ask(host: &Host, question: &str) -> Result<(u32, f64)> {
    let body = serde_json::json!({ "question": question, "cache": "bypass" }).to_string();
    let t0 = Instant::now();
    let resp = ureq::post(&host.url("/api/v1/chat"))
        .header("content-type", "application/json")
        .send(&body)
        .context("chat request")?;
    for line in BufReader::new(resp.into_body().into_reader()).lines() {
        let line = line?;
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        match serde_json::from_str::<ChatEvent>(data)? {
            ChatEvent::Done { timings, .. } => {
                return Ok((timings.threads, t0.elapsed().as_secs_f64() * 1000.0))
            }
            ChatEvent::Error { message, .. } => bail!("{question:?}: {message}"),
            _ => {}
        }
    }
    bail!("{question:?}: the stream ended without done")
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let table = std::fs::read_to_string(&args.scenarios)
        .with_context(|| format!("reading {}", args.scenarios.display()))?;
    let mut pool: Vec<String> = table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').nth(1).map(str::to_owned))
        .filter(|q| japanese_share(q) == 0.0)
        .collect();
    pool.extend(EVERYDAY.iter().map(|s| s.to_string()));
    let questions: Vec<String> = pool.iter().cycle().take(args.questions).cloned().collect();

    let host = Host::start(&args.host.spec(Some(args.model.clone()), false), |_, _| {})?;
    let profile: serde_json::Value =
        serde_json::from_str(&common::get(host.port, "/api/v1/profile")?)?;
    let profile_threads = profile["profile"]["threads"]
        .as_u64()
        .context("profile.threads")? as u32;
    eprintln!("host up (profile: {profile_threads} threads); letting the machine settle 5 s…");
    thread::sleep(Duration::from_secs(5));

    let mut used = Vec::new();
    let mut old = Vec::new();
    let mut total_ms = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        let snap: Snapshot = serde_json::from_str(&common::get(host.port, "/api/v1/status")?)?;
        old.push(old_rule(profile_threads, &snap.cpu.per_core_pct));
        let (threads, ms) = ask(&host, q)?;
        eprintln!("{:>2}. {threads} threads, {ms:>6.0} ms  {q}", i + 1);
        used.push(threads);
        total_ms.push(ms);
        if i % 2 == 1 {
            thread::sleep(Duration::from_secs(args.pause_s));
        }
    }
    let metrics = common::get(host.port, "/metrics")?;
    let rebuilds = metric(&metrics, "mac_status_chat_context_rebuilds_total")
        .context("context_rebuilds in /metrics")? as u64;
    host.stop();

    let changes = |v: &[u32]| {
        let mut prev = profile_threads;
        v.iter()
            .filter(|&&t| std::mem::replace(&mut prev, t) != t)
            .count()
    };
    let (ours, before) = (changes(&used), changes(&old));
    total_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| total_ms[((p / 100.0) * (total_ms.len() - 1) as f64).round() as usize];
    println!(
        "| | rebuilds over {} questions | thread counts |",
        questions.len()
    );
    println!("|---|---|---|");
    println!("| host (`/metrics`) | **{rebuilds}** | {used:?} |");
    println!("| the rule before (same readings) | {before} | {old:?} |");
    println!(
        "\nanswer time: median {:.0} ms, p95 {:.0} ms · {}",
        pct(50.0),
        pct(95.0),
        common::Machine::detect().line()
    );
    if ours as u64 != rebuilds {
        eprintln!("note: {ours} thread changes seen in answers, {rebuilds} rebuilds counted");
    }
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        &args.out,
        serde_json::to_string_pretty(&serde_json::json!({
            "questions": questions.len(),
            "rebuilds": rebuilds,
            "threads": used,
            "rule_before_threads": old,
            "rule_before_rebuilds": before,
            "answer_ms_median": pct(50.0),
            "answer_ms_p95": pct(95.0),
        }))?,
    )?;
    if rebuilds > 2 {
        bail!(
            "{rebuilds} context rebuilds over {} questions (goal: ≤ 2)",
            questions.len()
        );
    }
    Ok(())
}
