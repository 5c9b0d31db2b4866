//! Chat latency: our `Engine` against a bare llama-cpp-2 decode loop on the same model.
//!
//! (a) `Engine`, cold prompt (KV cache cleared first) and (b) a bare loop (model loaded once,
//! greedy, the same rendered prompt, n_ctx, n_batch and threads) run alternately for N rounds;
//! (c) `Engine` answering a second question that shares the system prompt shows what prefix
//! reuse saves; (d) the same after the request asks for one thread fewer, which makes the
//! engine move its KV cache to a new context (the optimizer lowers threads when the Mac is
//! busy). Reports median time-to-first-token and decode tokens/s, the ratio ours/bare,
//! prints a Markdown table and writes JSON.
//!
//!     cargo run --release -p benches --bin llm -- --rounds 5 --threads 2

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use mac_status::engine::{ChatMessage, Engine, EngineConfig, GenerateRequest, TokenEvent};

#[path = "bare.rs"]
mod bare;
use bare::Bare;

const N_CTX: u32 = 2048;
const N_BATCH: u32 = 512;

/// A short status summary like the one the prompt builder produces, ~100 tokens rendered.
const SYSTEM: &str = "You are Mac Status. Answer in one or two sentences using only these facts.\n\
CPU: 37% busy (8 cores), top: Xcode 180%\n\
Memory: 11.2 of 16 GB used, pressure normal\n\
Disk: 212 GB free of 494 GB\n\
Battery: 84%, charging\n\
Network: 1.2 MB/s down, 0.1 MB/s up";
const QUESTION: &str = "Why is my Mac slow right now?";
const FOLLOW_UP: &str = "Is the battery charging?";
const FOLLOW_UP_2: &str = "How much disk space is free?";

#[derive(Parser)]
struct Args {
    /// Measured rounds per variant (after one untimed warm-up each).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// CPU threads for both loops (default: all logical cores).
    #[arg(long)]
    threads: Option<u32>,
    #[arg(long, default_value = "models/SmolLM2-135M-Instruct-Q4_1.gguf")]
    model: PathBuf,
    /// Tokens generated per answer.
    #[arg(long, default_value_t = 64)]
    tokens: u32,
    /// Free-form note stored in the JSON (e.g. "openmp, one core loaded").
    #[arg(long, default_value = "")]
    label: String,
    /// Skip the bare loop: only our engine runs in the process. With the `openmp` feature each
    /// decoding thread gets its own OpenMP team, and two teams on few cores make libgomp
    /// throttle its spinning, which slows both; this isolates the engine.
    #[arg(long)]
    engine_only: bool,
    #[arg(long, default_value = "benches/results/llm.json")]
    out: PathBuf,
}

/// One measured answer.
#[derive(Clone, Copy, Debug)]
struct Sample {
    ttft_ms: f64,
    decode_tps: f64,
    prompt_tokens: u32,
    cached_tokens: u32,
    generated: u32,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !args.model.is_file() {
        bail!(
            "model not found at {} (run scripts/fetch-model.sh)",
            args.model.display()
        );
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get() as u32));

    let mut cfg = EngineConfig::new(&args.model);
    cfg.n_ctx = N_CTX;
    cfg.n_batch = N_BATCH;
    cfg.n_threads = threads;
    cfg.n_gpu_layers = 0;
    let engine = Engine::load(cfg).context("loading the engine")?;
    let messages = vec![ChatMessage::system(SYSTEM), ChatMessage::user(QUESTION)];
    let prompt = engine.render_prompt(&messages)?;

    let mut bare = if args.engine_only {
        None
    } else {
        Some(Bare::new(&args.model, N_CTX, N_BATCH, threads, 0)?)
    };

    // Untimed warm-up of both paths (page cache, compute buffers, CPU clocks).
    if let Some(bare) = bare.as_mut() {
        bare.run(&prompt, args.tokens, 0.0, 0)?;
    }
    ours(&engine, &messages, args.tokens, true, None)?;

    let mut a = Vec::new(); // ours, cold
    let mut b = Vec::new(); // bare
    let mut c = Vec::new(); // ours, follow-up sharing the system prompt
    let mut d = Vec::new(); // ours, follow-up right after a thread-count switch
    let follow = vec![ChatMessage::system(SYSTEM), ChatMessage::user(FOLLOW_UP)];
    let follow_2 = vec![ChatMessage::system(SYSTEM), ChatMessage::user(FOLLOW_UP_2)];
    let fewer = (threads > 1).then(|| threads - 1);
    for round in 0..args.rounds {
        // Alternate who goes first so drift (thermal, background load) hits both alike.
        match bare.as_mut() {
            Some(bare) if round % 2 == 0 => {
                b.push(greedy(bare, &prompt, args.tokens)?);
                a.push(ours(&engine, &messages, args.tokens, true, None)?);
            }
            Some(bare) => {
                a.push(ours(&engine, &messages, args.tokens, true, None)?);
                b.push(greedy(bare, &prompt, args.tokens)?);
            }
            None => a.push(ours(&engine, &messages, args.tokens, true, None)?),
        }
        // The cache now holds the first question: the follow-up reuses the system prompt.
        c.push(ours(&engine, &follow, args.tokens, false, None)?);
        if let Some(fewer) = fewer {
            d.push(ours(&engine, &follow_2, args.tokens, false, Some(fewer))?);
            // Back to the configured count, untimed, so (a) never pays for a switch.
            ours(&engine, &follow_2, 1, false, None)?;
        }
        eprintln!(
            "round {}: ours {:.0} ms / {:.1} tok/s, bare {:.0} ms / {:.1} tok/s, follow-up {:.0} ms ({} cached){}",
            round + 1,
            a[round].ttft_ms,
            a[round].decode_tps,
            b.get(round).map_or(f64::NAN, |s| s.ttft_ms),
            b.get(round).map_or(f64::NAN, |s| s.decode_tps),
            c[round].ttft_ms,
            c[round].cached_tokens,
            d.get(round)
                .map_or(String::new(), |s| format!(", after a thread switch {:.0} ms", s.ttft_ms)),
        );
    }

    // As the engine tokenized it (special tokens parsed), the same as the bare loop.
    let prompt_tokens = a.first().map_or(0, |s| s.prompt_tokens);
    let med = |v: &[Sample], f: fn(&Sample) -> f64| median(v.iter().map(f).collect());
    let ttft = |s: &Sample| s.ttft_ms;
    let tps = |s: &Sample| s.decode_tps;
    let (a_ttft, a_tps) = (med(&a, ttft), med(&a, tps));
    let (b_ttft, b_tps) = (med(&b, ttft), med(&b, tps));
    let (c_ttft, c_tps) = (med(&c, ttft), med(&c, tps));
    let (d_ttft, d_tps) = (med(&d, ttft), med(&d, tps));
    let c_cached = median(c.iter().map(|s| f64::from(s.cached_tokens)).collect());
    let c_prompt = median(c.iter().map(|s| f64::from(s.prompt_tokens)).collect());

    println!(
        "\nLLM latency: {} · {threads} threads · n_ctx {N_CTX} · n_batch {N_BATCH} · greedy · \
         {} tokens · prompt {prompt_tokens} tokens · median of {} rounds{}\n",
        engine.model_name(),
        args.tokens,
        args.rounds,
        if args.label.is_empty() {
            String::new()
        } else {
            format!(" · {}", args.label)
        }
    );
    println!("| variant | TTFT (ms) | decode (tok/s) | prompt tokens evaluated |");
    println!("|---|---:|---:|---:|");
    if bare.is_some() {
        println!("| (b) bare llama-cpp-2 loop | {b_ttft:.1} | {b_tps:.1} | {prompt_tokens} |");
    }
    println!("| (a) Engine, cold prompt | {a_ttft:.1} | {a_tps:.1} | {prompt_tokens} |");
    println!(
        "| (c) Engine, follow-up sharing the system prompt | {c_ttft:.1} | {c_tps:.1} | {:.0} of {:.0} |",
        c_prompt - c_cached,
        c_prompt
    );
    if let Some(fewer) = fewer {
        println!(
            "| (d) Engine, follow-up after switching to {fewer} thread(s) | {d_ttft:.1} | {d_tps:.1} | {:.0} of {:.0} |",
            median(d.iter().map(|s| f64::from(s.prompt_tokens - s.cached_tokens)).collect()),
            median(d.iter().map(|s| f64::from(s.prompt_tokens)).collect()),
        );
    }
    if bare.is_some() {
        println!(
            "| ratio (a)/(b), ours/bare | {:.2}x | {:.2}x | |",
            a_ttft / b_ttft,
            a_tps / b_tps
        );
    }
    println!(
        "| ratio (c)/(a), prefix reuse | {:.2}x | | |",
        c_ttft / a_ttft
    );

    let samples = |v: &[Sample]| {
        v.iter()
            .map(|s| {
                serde_json::json!({
                    "ttft_ms": s.ttft_ms, "decode_tps": s.decode_tps,
                    "prompt_tokens": s.prompt_tokens, "cached_tokens": s.cached_tokens,
                    "generated": s.generated,
                })
            })
            .collect::<Vec<_>>()
    };
    let json = serde_json::json!({
        "model": engine.model_name(),
        "label": args.label,
        "engine_only": args.engine_only,
        "threads": threads,
        "logical_cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "loadavg_at_end": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string()),
        "n_ctx": N_CTX, "n_batch": N_BATCH, "tokens": args.tokens, "rounds": args.rounds,
        "prompt_tokens": prompt_tokens,
        "bare": {"ttft_ms_median": b_ttft, "decode_tps_median": b_tps, "samples": samples(&b)},
        "engine_cold": {"ttft_ms_median": a_ttft, "decode_tps_median": a_tps, "samples": samples(&a)},
        "engine_follow_up": {"ttft_ms_median": c_ttft, "decode_tps_median": c_tps,
            "cached_tokens_median": c_cached, "samples": samples(&c)},
        "ratio_engine_over_bare": {"ttft": a_ttft / b_ttft, "decode_tps": a_tps / b_tps},
        "engine_follow_up_after_thread_switch": {"threads": fewer, "ttft_ms_median": d_ttft,
            "decode_tps_median": d_tps, "samples": samples(&d)},
        "ratio_follow_up_over_cold_ttft": c_ttft / a_ttft,
    });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = args.out.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&json)? + "\n")?;
    std::fs::rename(&tmp, &args.out)?;
    println!("\nwrote {}", args.out.display());
    Ok(())
}

/// One answer from the engine, timed from the caller's side: TTFT from `generate` to the first
/// `Token` event (so queueing, templating and tokenizing count); decode tok/s as the engine
/// measures it, (generated − 1) / (last token − first token), the same definition as `Bare`.
fn ours(
    engine: &Engine,
    messages: &[ChatMessage],
    tokens: u32,
    cold: bool,
    threads: Option<u32>,
) -> Result<Sample> {
    while !engine.is_idle() {
        std::thread::sleep(Duration::from_millis(1));
    }
    if cold {
        engine.clear_kv_cache();
    }
    let req = GenerateRequest {
        messages: messages.to_vec(),
        max_tokens: tokens,
        temperature: 0.0,
        deadline: Instant::now() + Duration::from_secs(600),
        threads,
        seed: 0,
    };
    let t0 = Instant::now();
    let mut rx = engine.generate(req)?;
    let mut first = None;
    loop {
        match rx.blocking_recv() {
            Some(TokenEvent::Token(_)) => {
                first.get_or_insert_with(|| t0.elapsed());
            }
            Some(TokenEvent::Done(r)) => {
                let ttft = first.unwrap_or_else(|| t0.elapsed());
                return Ok(Sample {
                    ttft_ms: ttft.as_secs_f64() * 1e3,
                    decode_tps: r.timings.tokens_per_second,
                    prompt_tokens: r.timings.prompt_tokens,
                    cached_tokens: r.timings.cached_tokens,
                    generated: r.timings.generated_tokens,
                });
            }
            Some(TokenEvent::Error(e)) => return Err(e.into()),
            None => bail!("engine stream ended without Done"),
        }
    }
}

/// The bare loop, greedy (the engine's answers here are greedy too).
fn greedy(bare: &mut Bare, prompt: &str, tokens: u32) -> Result<Sample> {
    let r = bare.run(prompt, tokens, 0.0, 0)?;
    Ok(Sample {
        ttft_ms: r.ttft_ms,
        decode_tps: r.decode_tps,
        prompt_tokens: r.prompt_tokens,
        cached_tokens: 0,
        generated: r.generated,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}
