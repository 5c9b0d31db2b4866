//! Time to the diagnosis, and what the model adds to it, on the path a user takes: the real
//! release host (`target/release/mac-status`, default model), `POST /api/v1/chat` over HTTP as
//! the browser sends it, events read as they arrive.
//!
//! 1. **Time to diagnosis**, idle: request sent → `diagnosis` event received, over the sixteen
//!    scenario questions (`benches/scenarios.tsv`), repeated.
//! 2. The same **with the machine busy and the model queue full**: one `yes` per core started
//!    and stopped by this benchmark, and five long answers held open (one running, four
//!    waiting: the engine's whole queue).
//! 3. **Sixteen full answers**: the share of the model's numbers that match a measured fact
//!    (the host's own check, `done.unverified`), and whether each answer is in the question's
//!    language.
//!
//!     cargo run --release -p benches --bin diagnosis -- --rounds 5

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use app::chat::{ChatEvent, Explanation};
use clap::Parser;
use common::{Host, HostArgs};
use mac_status::chat::{check, intent::japanese_share};

#[derive(Parser)]
struct Args {
    /// Times each of the sixteen questions is asked in each latency phase.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    #[command(flatten)]
    host: HostArgs,
    #[arg(long, default_value = "models/SmolLM2-135M-Instruct-Q4_1.gguf")]
    model: PathBuf,
    #[arg(long, default_value = "benches/scenarios.tsv")]
    scenarios: PathBuf,
    #[arg(long, default_value = "benches/results/diagnosis.json")]
    out: PathBuf,
}

struct Load(Vec<Child>);

impl Drop for Load {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Opens an answer stream; yields events as they arrive.
fn ask(host: &Host, question: &str, strategy: &str) -> Result<impl Iterator<Item = ChatEvent>> {
    let body = serde_json::json!({ "question": question, "strategy": strategy }).to_string();
    let resp = ureq::post(&host.url("/api/v1/chat"))
        .header("content-type", "application/json")
        .send(&body)
        .context("chat request")?;
    let reader = BufReader::new(resp.into_body().into_reader());
    Ok(reader.lines().map_while(Result::ok).filter_map(|line| {
        line.strip_prefix("data: ")
            .and_then(|d| serde_json::from_str::<ChatEvent>(d).ok())
    }))
}

/// Milliseconds from sending the question to the `diagnosis` event; the stream is then
/// closed (which stops the model).
fn time_to_diagnosis(host: &Host, question: &str) -> Result<f64> {
    let t0 = Instant::now();
    for ev in ask(host, question, "speed")? {
        if let ChatEvent::Diagnosis { .. } = ev {
            return Ok(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    bail!("no diagnosis event for {question:?}")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (
        percentile(&v, 50.0),
        percentile(&v, 95.0),
        *v.last().unwrap_or(&f64::NAN),
    )
}

fn main() -> Result<()> {
    let args = Args::parse();
    let table = std::fs::read_to_string(&args.scenarios)
        .with_context(|| format!("reading {}", args.scenarios.display()))?;
    let questions: Vec<(String, String)> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?.to_owned(), cols.next()?.to_owned()))
        })
        .collect();

    let host = Host::start(&args.host.spec(Some(args.model.clone()), false), |_, _| {})?;
    // A minute of history, so the rules judge "sustained" as they do for a user.
    eprintln!("host up; waiting 30 s for history…");
    thread::sleep(Duration::from_secs(30));

    let phase = |label: &str| -> Result<Vec<f64>> {
        let mut ms = Vec::new();
        for round in 0..args.rounds {
            for (_, q) in &questions {
                // A distinct question each time: the answer cache must not help.
                let q = format!("{q} ({round})");
                ms.push(time_to_diagnosis(&host, &q)?);
            }
        }
        eprintln!("{label}: {} questions", ms.len());
        Ok(ms)
    };
    let idle = phase("idle")?;

    // Busy: every core kept busy, and the model's queue full of long answers held open.
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let load = Load(
        (0..cores)
            .map(|_| {
                Command::new("yes")
                    .stdout(Stdio::null())
                    .spawn()
                    .context("starting yes")
            })
            .collect::<Result<_>>()?,
    );
    // Five long answers: one running, four waiting. Reopened every round, because each ends
    // at its 5-second deadline and would free its place.
    let fill_queue = |round: usize| -> Result<Vec<_>> {
        (0..5)
            .map(|i| {
                let q = format!(
                    "Explain in detail everything about my CPU, memory, disks and network ({round}.{i})"
                );
                let mut s = ask(&host, &q, "quality")?;
                s.next(); // `start`
                Ok(s)
            })
            .collect()
    };
    let mut busy_explanations = Vec::new();
    let busy = {
        let mut ms = Vec::new();
        for round in 0..args.rounds {
            let held = fill_queue(round)?;
            for (_, q) in &questions {
                let q = format!("{q} (busy {round})");
                let t = Instant::now();
                for ev in ask(&host, &q, "speed")? {
                    if let ChatEvent::Diagnosis { explanation, .. } = ev {
                        ms.push(t.elapsed().as_secs_f64() * 1000.0);
                        busy_explanations.push(explanation);
                        break;
                    }
                }
            }
            drop(held);
        }
        ms
    };
    drop(load);
    let queue_full = busy_explanations
        .iter()
        .filter(|e| matches!(e, Explanation::Busy))
        .count();
    // Questions the model would explain (the others never reach its queue).
    let for_model = busy_explanations
        .iter()
        .filter(|e| !matches!(e, Explanation::LanguageNotSupported { .. }))
        .count();

    // Sixteen full answers: the model's numbers and the language.
    thread::sleep(Duration::from_secs(6)); // let the held answers' deadlines pass
    let mut rows = Vec::new();
    let (mut nums, mut nums_ok, mut lang_ok) = (0usize, 0usize, 0usize);
    for (intent, q) in &questions {
        let t = Instant::now();
        let mut answer = String::new();
        let mut flagged = Vec::new();
        let mut explained = false;
        for ev in ask(&host, &format!("{q} "), "balanced")? {
            match ev {
                ChatEvent::Diagnosis { explanation, .. } => explained = explanation.follows(),
                ChatEvent::Done {
                    answer: a,
                    unverified,
                    ..
                } => {
                    answer = a;
                    flagged = unverified;
                    break;
                }
                ChatEvent::Error { message, .. } => bail!("{q}: {message}"),
                _ => {}
            }
        }
        let total_s = t.elapsed().as_secs_f64();
        let ja_q = !q.is_ascii();
        let ja_a = japanese_share(&answer) > 0.2;
        lang_ok += usize::from(ja_q == ja_a);
        let (n, bad) = if explained {
            let written = check::numbers(&answer);
            let bad = written.iter().filter(|w| flagged.contains(w)).count();
            (written.len(), bad)
        } else {
            (0, 0)
        };
        nums += n;
        nums_ok += n - bad;
        println!(
            "{intent:<8} {:<3} {total_s:5.2} s  model numbers {}/{}  {}",
            if ja_q { "ja" } else { "en" },
            n - bad,
            n,
            answer
                .replace('\n', " ")
                .chars()
                .take(110)
                .collect::<String>()
        );
        rows.push(serde_json::json!({
            "intent": intent, "question": q, "total_s": total_s, "explained_by_model": explained,
            "model_numbers": n, "model_numbers_matching": n - bad, "unverified": flagged,
            "language_ok": ja_q == ja_a, "answer": answer,
        }));
    }

    let (i50, i95, imax) = summary(idle.clone());
    let (b50, b95, bmax) = summary(busy.clone());
    println!(
        "\nTime to the diagnosis event (ms), {} questions per phase:\n",
        idle.len()
    );
    println!("| phase | p50 | p95 | max |");
    println!("|---|---:|---:|---:|");
    println!("| idle | {i50:.1} | {i95:.1} | {imax:.1} |");
    println!(
        "| busy: {cores} cores kept busy, model queue full ({queue_full} of the {for_model} questions for the model found it full) | {b50:.1} | {b95:.1} | {bmax:.1} |"
    );
    println!(
        "\nModel numbers matching a measured fact: {nums_ok}/{nums}; answers in the question's language: {lang_ok}/{}",
        questions.len()
    );
    let json = serde_json::json!({
        "idle_ms": {"p50": i50, "p95": i95, "max": imax, "n": idle.len()},
        "busy_ms": {"p50": b50, "p95": b95, "max": bmax, "n": busy.len(), "queue_full_answers": queue_full, "questions_for_model": for_model},
        "model_numbers": nums, "model_numbers_matching": nums_ok,
        "language_ok": lang_ok, "answers": rows,
    });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    println!("written to {}", args.out.display());
    Ok(())
}
