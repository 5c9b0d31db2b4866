//! The prototype's eight scenarios and their English twins (`benches/scenarios.tsv`), measured
//! end to end on the path a user takes: the real release host (`target/release/mac-status`,
//! default model or `--model`), `POST /api/v1/chat` with the body the browser sends, the
//! Server-Sent Events read as they arrive.
//!
//!     cargo leptos build --release        # the host binary and target/site
//!     cargo run --release -p benches --bin scenarios -- --quick
//!     cargo run --release -p benches --bin scenarios        # the full run (long)
//!
//! Sections, in order:
//! 1. **Scenarios, idle**: per scenario and strategy (`--strategies`, default all three),
//!    `--runs` times with the answer cache bypassed (`"cache": "bypass"`, a flag only
//!    benchmarks send): time to the first visible content (the `diagnosis` event), to the first
//!    model token, total time (`done`), decode tokens/s (`done.timings`), the share of the
//!    model's numbers that match a measured fact (`done.unverified`), p50/p95 and the share
//!    within the scenario's target.
//! 2. **Busy**: the same while `--burners` cores (default one) spin in children this bench
//!    starts and stops (see `scenarios/load.rs`).
//! 3. **Realistic mix**: the questions `--mix-repeat` times in a seeded shuffle, cache on: hit
//!    rate, and the latency of hits and misses.
//! 4. **Memory** (RSS): the host without a model after start, with the model loaded, after
//!    the first answer and each section, over `--answers` more answers (KiB per answer), and at
//!    the peak of `--clients` clients asking at once beside `--streams` live dashboards.
//!
//! 5. **Side by side** (`scenarios/sidebyside.rs`): the English scenarios on our host, a bare
//!    llama-cpp-2 loop and llama-cpp-python (the prototype's stack), same model, rendered
//!    prompt, threads and token cap; a follow-up question against our host with prefix reuse
//!    off.
//! 6. **Monitor overhead** (`scenarios/monitor.rs`): CPU and memory of our host and of Glances
//!    over `--monitor-seconds` of polling, and their status endpoints under bounded load.
//!
//! 5 and 6 need the bench venv (`bash benches/python/setup.sh`: llama-cpp-python and Glances,
//! pinned, under `~/.cache/mac-status/bench-venv`). A full run does them when it exists and
//! otherwise prints that command and skips them; `--no-side-by-side`, `--no-monitor` skip
//! them, `--side-by-side`, `--monitor` ask for them (also with `--quick`).
//!
//! `--quick` (< 2 min on 2 cores): the Japanese scenarios once, the host's default strategy
//! (`balanced`) unless `--strategies` is given, start and loaded RSS only.
//!
//! Writes `benches/results/scenarios.json` (every run, the machine, the model, the commit) and
//! `benches/results/scenarios.svg` (`scenarios.quick.*` with `--quick`), and prints Markdown.

#[path = "bare.rs"]
mod bare;
#[path = "scenarios/chart.rs"]
mod chart;
#[path = "scenarios/client.rs"]
mod client;
#[path = "common.rs"]
mod common;
#[path = "scenarios/load.rs"]
mod load;
#[path = "scenarios/memory.rs"]
mod memory;
#[path = "scenarios/monitor.rs"]
mod monitor;
#[path = "scenarios/python.rs"]
mod python;
#[path = "scenarios/report.rs"]
mod report;
#[path = "scenarios/sidebyside.rs"]
mod sidebyside;
#[path = "scenarios/stats.rs"]
mod stats;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use app::chat::Strategy;
use clap::Parser;

use client::Run;
use common::{Host, HostArgs, Machine};
use report::{Cell, Condition, Memory, Mix, ModelFile, Report, Scenario, Settings};
use stats::{Summary, XorShift};

#[derive(Parser, Debug)]
#[command(about = "The eight scenarios (and English twins) end to end against the real host")]
struct Args {
    /// Japanese scenarios once, the host's default strategy, no busy run, mix or memory run.
    #[arg(long)]
    quick: bool,
    /// Only the scenarios in this language (`ja`, `en`) [default: all; `ja` with --quick]. The
    /// English ones are the ones the model answers (SmolLM2 writes no Japanese).
    #[arg(long)]
    lang: Option<String>,
    /// Runs per scenario and strategy (cache bypassed).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Comma-separated: speed, balanced, quality [default: all; `balanced` with --quick].
    #[arg(long, value_delimiter = ',')]
    strategies: Option<Vec<Strategy>>,
    /// The GGUF model the host loads.
    #[arg(long, default_value = mac_status::cli::DEFAULT_MODEL)]
    model: PathBuf,
    #[command(flatten)]
    host: HostArgs,
    #[arg(long, default_value = "benches/scenarios.tsv")]
    scenarios: PathBuf,
    /// Cores kept busy in the busy section (0 skips it).
    #[arg(long, default_value_t = 1)]
    burners: usize,
    /// Times the question set is repeated in the mix (0 skips it).
    #[arg(long, default_value_t = 3)]
    mix_repeat: usize,
    /// Seed of the mix's shuffle.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Answers of the memory-growth run (0 skips it).
    #[arg(long, default_value_t = 200)]
    answers: usize,
    /// Clients asking at once in the memory peak run (0 skips it).
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Questions each of those clients asks.
    #[arg(long, default_value_t = 4)]
    client_questions: usize,
    /// Live dashboard streams held open meanwhile.
    #[arg(long, default_value_t = 20)]
    streams: usize,
    /// Seconds to wait after start-up, so rates have two samples behind them.
    #[arg(long, default_value_t = 2)]
    settle: u64,
    /// JSON output [default: benches/results/scenarios.json, scenarios.quick.json with --quick].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Compare with a bare llama-cpp-2 loop and llama-cpp-python [default: on in a full run
    /// when the bench venv exists].
    #[arg(long, overrides_with = "no_side_by_side")]
    side_by_side: bool,
    #[arg(long)]
    no_side_by_side: bool,
    /// Rounds of the side-by-side (each asks every English scenario and a follow-up).
    #[arg(long, default_value_t = 3)]
    side_by_side_runs: usize,
    /// The strategy whose token cap and temperature the side-by-side uses.
    #[arg(long, default_value = "speed")]
    side_by_side_strategy: Strategy,
    /// Measure the monitor's overhead beside Glances [default: on in a full run when the bench
    /// venv exists].
    #[arg(long, overrides_with = "no_monitor")]
    monitor: bool,
    #[arg(long)]
    no_monitor: bool,
    /// Seconds the monitors are polled.
    #[arg(long, default_value_t = 60)]
    monitor_seconds: u64,
    /// Seconds between two polls of each monitor's full status.
    #[arg(long, default_value_t = 2.0)]
    monitor_poll_s: f64,
    /// Loopback connections of the status endpoints' load test.
    #[arg(long, default_value_t = 8)]
    load_connections: usize,
    /// Seconds of that load test.
    #[arg(long, default_value_t = 10)]
    load_seconds: u64,
    /// The bench venv [default: $MAC_STATUS_BENCH_VENV, else ~/.cache/mac-status/bench-venv].
    #[arg(long)]
    venv: Option<PathBuf>,
    /// The child's side of the busy section: spin until the parent is gone.
    #[arg(long, hide = true)]
    burn: bool,
}

impl Args {
    fn strategies(&self) -> Vec<Strategy> {
        match &self.strategies {
            Some(s) if !s.is_empty() => s.clone(),
            _ if self.quick => vec![Strategy::default()],
            _ => Strategy::ALL.to_vec(),
        }
    }

    fn runs(&self) -> usize {
        if self.quick {
            1
        } else {
            self.runs.max(1)
        }
    }

    /// Whether a section that needs the venv runs: asked for, or a full run not told otherwise.
    fn wants(&self, on: bool, off: bool) -> bool {
        !off && (on || !self.quick)
    }

    fn out(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let name = if self.quick {
                "scenarios.quick.json"
            } else {
                "scenarios.json"
            };
            Path::new("benches/results").join(name)
        })
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.burn {
        load::burn();
    }
    let t_bench = Instant::now();
    let tsv = std::fs::read_to_string(&args.scenarios)
        .with_context(|| format!("reading {}", args.scenarios.display()))?;
    let all_scenarios = report::parse_scenarios(&tsv)?;
    let mut scenarios = all_scenarios.clone();
    match (args.lang.as_deref(), args.quick) {
        (Some(lang), _) => scenarios.retain(|s| s.lang == lang),
        (None, true) => scenarios.retain(|s| s.lang == "ja"),
        (None, false) => {}
    }
    if scenarios.is_empty() {
        bail!("no scenarios in {}", args.scenarios.display());
    }
    if !args.model.is_file() {
        bail!(
            "model not found at {} (run scripts/fetch-model.sh, or pass --model)",
            args.model.display()
        );
    }
    let strategies = args.strategies();
    let spec = args.host.spec(Some(args.model.clone()), false);
    let mut memory = Memory::default();

    // The host alone: it loads its model before it listens, so "after start, before the
    // model" is measured on a dashboard-only host.
    {
        let bare = Host::start(&spec.dashboard_only(), |_, _| {})?;
        thread::sleep(Duration::from_millis(500));
        memory.started_no_model_kib = bare.rss_kib().ok();
        bare.stop();
    }

    let mut timeline = Vec::new();
    let host = Host::start(&spec, |pid, t| {
        if let Ok(kib) = common::rss_kib(pid) {
            timeline.push((t.as_secs_f64() * 1000.0, kib));
        }
    })?;
    memory.start_timeline = timeline;
    memory.start_to_healthz_ms = host.started_in.as_secs_f64() * 1000.0;
    memory.model_loaded_kib = host.rss_kib().ok();
    let host_profile = common::get(host.port, "/api/v1/profile")
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    eprintln!(
        "host up in {:.1} s on port {}; settling {} s",
        host.started_in.as_secs_f64(),
        host.port,
        args.settle
    );
    thread::sleep(Duration::from_secs(args.settle));

    // One untimed answer: the first pays for page faults and buffers.
    let warm_up = scenarios
        .iter()
        .find(|s| s.lang == "en")
        .unwrap_or(&scenarios[0]);
    client::ask(host.port, &warm_up.question, Some(strategies[0]), true)?;
    memory.after_first_answer_kib = host.rss_kib().ok();

    let runs = args.runs();
    let idle = condition(&host, "idle", 0, &scenarios, &strategies, runs)?;
    memory
        .after_section_kib
        .push(("the idle runs".into(), host.rss_kib()?));

    let busy = if args.quick || args.burners == 0 {
        None
    } else {
        let burners = load::Burners::start(args.burners)?;
        let c = condition(&host, "busy", burners.len(), &scenarios, &strategies, runs)?;
        drop(burners);
        memory
            .after_section_kib
            .push(("the busy runs".into(), host.rss_kib()?));
        Some(c)
    };

    let mix = if args.quick || args.mix_repeat == 0 {
        None
    } else {
        let m = mix(&host, &scenarios, strategies[0], args.mix_repeat, args.seed)?;
        memory
            .after_section_kib
            .push(("the mix".into(), host.rss_kib()?));
        Some(m)
    };

    if !args.quick && args.answers > 0 {
        memory.answers = Some(memory::growth(
            &host,
            &scenarios,
            args.answers,
            Strategy::Speed,
        )?);
    }
    if !args.quick && args.clients > 0 {
        eprintln!(
            "[memory] {} clients at once, {} dashboard streams",
            args.clients, args.streams
        );
        memory.concurrent = Some(memory::concurrent(
            &host,
            &scenarios,
            args.clients,
            args.client_questions,
            args.streams,
            strategies[0],
        )?);
    }
    host.stop();

    let venv = python::venv_dir(args.venv.as_deref());
    let wants_sbs = args.wants(args.side_by_side, args.no_side_by_side);
    let wants_monitor = args.wants(args.monitor, args.no_monitor);
    let venv_info = if wants_sbs || wants_monitor {
        let info = python::venv_info(&venv);
        if info.is_none() {
            eprintln!(
                "no bench venv at {}: skipping llama-cpp-python (the side-by-side runs without it only with --side-by-side) and the monitor comparison; set it up with\n\n    {}\n",
                venv.display(),
                python::SETUP_COMMAND
            );
        }
        info
    } else {
        None
    };
    // Asked for explicitly, it runs without the venv too (the bare loop and both hosts).
    let sbs_venv = match &venv_info {
        Some(info) if wants_sbs => Some(Some(info.clone())),
        None if args.side_by_side => Some(None),
        _ => None,
    };
    let side_by_side = match sbs_venv {
        Some(venv_info) => Some(sidebyside::run(&sidebyside::Setup {
            spec: &spec,
            model: &args.model,
            venv: &venv,
            venv_info,
            // The English ones, also with `--quick` (which keeps the Japanese for the rest).
            scenarios: &all_scenarios,
            strategy: args.side_by_side_strategy,
            rounds: args.side_by_side_runs.max(1),
        }))
        .transpose()
        .unwrap_or_else(|e| skipped("the side-by-side", e)),
        _ => None,
    };
    let monitor_overhead = match &venv_info {
        Some(info) if wants_monitor => Some(monitor::run(
            &spec,
            &venv,
            &info.glances,
            &monitor::Plan {
                seconds: args.monitor_seconds.max(1),
                poll_every: Duration::from_secs_f64(args.monitor_poll_s.max(0.1)),
                connections: args.load_connections.max(1),
                load_seconds: args.load_seconds.max(1),
            },
        ))
        .transpose()
        .unwrap_or_else(|e| skipped("the monitor comparison", e)),
        _ => None,
    };

    let report = Report {
        command: std::iter::once("cargo run --release -p benches --bin scenarios --".into())
            .chain(std::env::args().skip(1))
            .collect::<Vec<String>>()
            .join(" "),
        unix_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        machine: Machine::detect(),
        commit: common::git_commit(),
        model: ModelFile {
            path: args.model.display().to_string(),
            mb: common::file_mb(&args.model),
        },
        host_profile,
        settings: Settings {
            quick: args.quick,
            runs,
            strategies: strategies.clone(),
            burners: busy.as_ref().map_or(0, |b| b.burners),
            answers: memory.answers.as_ref().map_or(0, |g| g.answers),
            mix_repeat: mix.as_ref().map_or(0, |m| m.repeat),
            seed: args.seed,
            host_args: args.host.host_arg.clone(),
        },
        idle,
        busy,
        mix,
        memory,
        side_by_side,
        monitor_overhead,
    };
    let out = args.out();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", out.display()))?;
    let svg = out.with_extension("svg");
    draw_chart(&report, &svg)?;
    println!("{}", report.markdown());
    println!(
        "Written to {} and {} in {:.0} s.",
        out.display(),
        svg.display(),
        t_bench.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A comparison that failed (a broken venv, a child that died): said, and left out of the
/// report rather than losing the sections already measured.
fn skipped<T>(what: &str, e: anyhow::Error) -> Option<T> {
    eprintln!(
        "{what} failed and is left out: {e:#}\n(re-run `{}` if the venv is broken)",
        python::SETUP_COMMAND
    );
    None
}

/// Asks, and turns a failed request into a failed run (so one glitch does not waste a long
/// benchmark); three failures in a row end it, since the host is then likely gone.
fn ask_counted(
    host: &Host,
    question: &str,
    strategy: Strategy,
    bypass: bool,
    failures_in_a_row: &mut usize,
) -> Result<Run> {
    let t0 = Instant::now();
    match client::ask(host.port, question, Some(strategy), bypass) {
        Ok(run) => {
            *failures_in_a_row = 0;
            Ok(run)
        }
        Err(e) => {
            *failures_in_a_row += 1;
            if *failures_in_a_row >= 3 {
                return Err(e.context("three requests in a row failed"));
            }
            eprintln!("request failed: {e:#}");
            Ok(Run {
                total_ms: t0.elapsed().as_secs_f64() * 1000.0,
                error: Some(format!("{e:#}")),
                ..Default::default()
            })
        }
    }
}

/// Every scenario with every strategy, `runs` rounds (a round asks each once, so a slow
/// spell of the machine spreads over all of them rather than hitting one).
fn condition(
    host: &Host,
    name: &str,
    burners: usize,
    scenarios: &[Scenario],
    strategies: &[Strategy],
    runs: usize,
) -> Result<Condition> {
    let m = strategies.len();
    let mut by_cell: Vec<Vec<Run>> = vec![Vec::with_capacity(runs); scenarios.len() * m];
    let total = runs * by_cell.len();
    let mut failures = 0;
    for round in 0..runs {
        for (i, s) in scenarios.iter().enumerate() {
            for (j, &strategy) in strategies.iter().enumerate() {
                let run = ask_counted(host, &s.question, strategy, true, &mut failures)?;
                let done = round * by_cell.len() + i * m + j + 1;
                eprintln!(
                    "[{name} {done}/{total}] {} {}: first token {}, total {}",
                    s.label(),
                    app::wire::name(&strategy),
                    report::fmt_ms(run.first_token_ms),
                    report::fmt_ms(Some(run.total_ms)),
                );
                by_cell[i * m + j].push(run);
            }
        }
    }
    let mut runs_iter = by_cell.into_iter();
    let mut cells = Vec::new();
    for s in scenarios {
        for &strategy in strategies {
            cells.push(Cell::new(
                s.clone(),
                strategy,
                runs_iter.next().unwrap_or_default(),
            ));
        }
    }
    Ok(Condition {
        name: name.into(),
        burners,
        cells,
    })
}

/// The questions `repeat` times in a seeded shuffle, the answer cache on.
fn mix(
    host: &Host,
    scenarios: &[Scenario],
    strategy: Strategy,
    repeat: usize,
    seed: u64,
) -> Result<Mix> {
    let mut order: Vec<usize> = (0..repeat).flat_map(|_| 0..scenarios.len()).collect();
    XorShift::new(seed).shuffle(&mut order);
    let mut runs = Vec::with_capacity(order.len());
    let mut failures = 0;
    for (k, &i) in order.iter().enumerate() {
        let run = ask_counted(host, &scenarios[i].question, strategy, false, &mut failures)?;
        eprintln!(
            "[mix {}/{}] {}: {}{}",
            k + 1,
            order.len(),
            scenarios[i].label(),
            report::fmt_ms(Some(run.total_ms)),
            if run.cache_hit { " (cached)" } else { "" }
        );
        runs.push((i, run));
    }
    let ok = || runs.iter().map(|(_, r)| r).filter(|r| r.error.is_none());
    let explained = ok().filter(|r| r.explained()).count();
    let cache_hits = ok().filter(|r| r.explained() && r.cache_hit).count();
    Ok(Mix {
        seed,
        repeat,
        strategy,
        answers: runs.len(),
        explained,
        cache_hits,
        hit_rate: (explained > 0).then(|| cache_hits as f64 / explained as f64),
        hit_total_ms: Summary::of(
            ok().filter(|r| r.explained() && r.cache_hit)
                .map(|r| r.total_ms),
        ),
        miss_total_ms: Summary::of(
            ok().filter(|r| r.explained() && !r.cache_hit)
                .map(|r| r.total_ms),
        ),
        diagnosis_only_total_ms: Summary::of(ok().filter(|r| !r.explained()).map(|r| r.total_ms)),
        runs,
    })
}

/// Total latency per scenario: a bar per strategy (and per strategy when busy).
fn draw_chart(report: &Report, path: &Path) -> Result<()> {
    let mut conditions = vec![&report.idle];
    conditions.extend(report.busy.as_ref());
    let mut series = Vec::new();
    for c in &conditions {
        for s in &report.settings.strategies {
            series.push(match c.burners {
                0 => app::wire::name(s),
                n => format!("{}, {}", app::wire::name(s), report::busy_label(n)),
            });
        }
    }
    let scenarios: Vec<&Scenario> =
        report
            .idle
            .cells
            .iter()
            .map(|c| &c.scenario)
            .fold(Vec::new(), |mut v, s| {
                if !v.iter().any(|t: &&Scenario| t.question == s.question) {
                    v.push(s);
                }
                v
            });
    let groups = scenarios
        .iter()
        .map(|s| chart::Group {
            label: (s.intent.clone(), s.lang.to_owned()),
            target_s: s.target_s,
            bars: conditions
                .iter()
                .flat_map(|c| {
                    report.settings.strategies.iter().map(move |&st| {
                        let cell = c
                            .cells
                            .iter()
                            .find(|x| x.strategy == st && x.scenario.question == s.question)?;
                        Some(chart::Bar {
                            p50_s: cell.total_ms.p50? / 1000.0,
                            p95_s: cell.total_ms.p95? / 1000.0,
                        })
                    })
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let title = format!(
        "Total time per scenario vs target ({}, p50 bar, p95 whisker, {} run(s) each)",
        report
            .model
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&report.model.path),
        report.settings.runs
    );
    chart::draw(path, &title, &series, &groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(flags: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("scenarios").chain(flags.iter().copied())).unwrap()
    }

    #[test]
    fn comparisons_run_in_a_full_run_unless_told_otherwise() {
        let wants = |a: &Args| {
            (
                a.wants(a.side_by_side, a.no_side_by_side),
                a.wants(a.monitor, a.no_monitor),
            )
        };
        assert_eq!(wants(&args(&[])), (true, true));
        assert_eq!(wants(&args(&["--quick"])), (false, false));
        assert_eq!(
            wants(&args(&["--quick", "--side-by-side", "--monitor"])),
            (true, true)
        );
        assert_eq!(
            wants(&args(&["--no-side-by-side", "--no-monitor"])),
            (false, false)
        );
        let a = args(&[
            "--monitor-seconds",
            "10",
            "--side-by-side-strategy",
            "balanced",
        ]);
        assert_eq!(
            (a.monitor_seconds, a.side_by_side_strategy),
            (10, Strategy::Balanced)
        );
        assert_eq!(args(&[]).side_by_side_strategy, Strategy::Speed);
    }
}
