//! What the benchmark found, as one [`Report`]: written as JSON for machines and rendered as
//! Markdown for people. Sections a run skipped are `None`; the side-by-side comparisons of
//! issue 9 (parts 4 and 5) are measured and rendered by `sidebyside.rs` and `monitor.rs`.

use std::fmt::Write as _;

use app::chat::Strategy;
use serde::Serialize;

use super::client::Run;
use super::monitor::MonitorOverhead;
use super::sidebyside::SideBySide;
use super::stats::Summary;
use crate::common::Machine;

/// One question of `benches/scenarios.tsv`.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    pub intent: String,
    pub question: String,
    pub target_s: f64,
    /// `ja` for a question with any non-ASCII character, else `en` (the table is bilingual).
    pub lang: &'static str,
}

impl Scenario {
    pub fn label(&self) -> String {
        format!("{} ({})", self.intent, self.lang)
    }
}

/// `intent<TAB>question<TAB>target_s` lines; `#` comments and blank lines skipped.
pub fn parse_scenarios(tsv: &str) -> anyhow::Result<Vec<Scenario>> {
    let mut out = Vec::new();
    for (i, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [intent, question, target] = cols[..] else {
            anyhow::bail!("line {}: expected intent<TAB>question<TAB>target_s", i + 1);
        };
        out.push(Scenario {
            intent: intent.trim().to_owned(),
            question: question.trim().to_owned(),
            target_s: target
                .trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("line {}: target {target:?}: {e}", i + 1))?,
            lang: if question.is_ascii() { "en" } else { "ja" },
        });
    }
    Ok(out)
}

/// Every run of one scenario with one strategy, and their summaries.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub scenario: Scenario,
    pub strategy: Strategy,
    pub first_content_ms: Summary,
    pub first_token_ms: Summary,
    pub total_ms: Summary,
    pub tokens_per_s: Summary,
    /// Runs the model explained (the others were the computed diagnosis alone).
    pub explained: usize,
    pub model_numbers: usize,
    pub model_numbers_matching: usize,
    pub within_target: usize,
    pub errors: usize,
    pub runs: Vec<Run>,
}

impl Cell {
    pub fn new(scenario: Scenario, strategy: Strategy, runs: Vec<Run>) -> Cell {
        let ok = || runs.iter().filter(|r| r.error.is_none());
        Cell {
            first_content_ms: Summary::of(ok().filter_map(|r| r.first_content_ms)),
            first_token_ms: Summary::of(ok().filter_map(|r| r.first_token_ms)),
            total_ms: Summary::of(ok().map(|r| r.total_ms)),
            tokens_per_s: Summary::of(ok().filter_map(|r| r.tokens_per_s)),
            explained: ok().filter(|r| r.explained()).count(),
            model_numbers: runs.iter().map(|r| r.model_numbers).sum(),
            model_numbers_matching: runs.iter().map(|r| r.model_numbers_matching).sum(),
            within_target: runs.iter().filter(|r| r.within(scenario.target_s)).count(),
            errors: runs.iter().filter(|r| r.error.is_some()).count(),
            scenario,
            strategy,
            runs,
        }
    }

    /// Who wrote the answer, as the table says it (the most common case over the runs).
    pub fn answered_by(&self) -> String {
        let mut kinds: Vec<(String, usize)> = Vec::new();
        for r in &self.runs {
            let k = answered_by(r);
            match kinds.iter_mut().find(|(name, _)| *name == k) {
                Some((_, n)) => *n += 1,
                None => kinds.push((k, 1)),
            }
        }
        kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
        match &kinds[..] {
            [] => "—".into(),
            [(k, _)] => k.clone(),
            [(k, n), ..] => format!("{k} ({n}/{})", self.runs.len()),
        }
    }
}

fn answered_by(r: &Run) -> String {
    if let Some(e) = &r.error {
        return format!("error: {e}");
    }
    match r.explanation.as_str() {
        "model" if r.cache_hit => "model (cached)".into(),
        "model" => "model".into(),
        "language_not_supported" => "diagnosis only (model writes no ja)".into(),
        "busy" => "diagnosis only (queue full)".into(),
        "model_unavailable" => "diagnosis only (no model)".into(),
        "not_measured" => "diagnosis only (not measured)".into(),
        other => format!("diagnosis only ({other})"),
    }
}

/// The scenarios under one condition of the machine.
#[derive(Clone, Debug, Serialize)]
pub struct Condition {
    /// `idle`, or `busy` with `burners` cores kept spinning by the bench.
    pub name: String,
    pub burners: usize,
    pub cells: Vec<Cell>,
}

/// The realistic mix: the questions repeated in a seeded shuffle, the answer cache on.
#[derive(Clone, Debug, Serialize)]
pub struct Mix {
    pub seed: u64,
    pub repeat: usize,
    pub strategy: Strategy,
    pub answers: usize,
    /// Answers the model explained (the only ones the cache keeps).
    pub explained: usize,
    pub cache_hits: usize,
    /// `cache_hits / explained`.
    pub hit_rate: Option<f64>,
    pub hit_total_ms: Summary,
    pub miss_total_ms: Summary,
    pub diagnosis_only_total_ms: Summary,
    /// `(scenario index, run)` in the order asked.
    pub runs: Vec<(usize, Run)>,
}

/// Resident memory of the host (KiB).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Memory {
    /// The host started with `--no-model`, right after `/healthz` answered. (The host loads
    /// its model before it listens, so this is the "after start, before the model" figure.)
    pub started_no_model_kib: Option<u64>,
    /// `(ms since spawn, KiB)` from spawn to `/healthz`, the model loading in between.
    pub start_timeline: Vec<(f64, u64)>,
    pub start_to_healthz_ms: f64,
    /// Right after `/healthz` with the model loaded.
    pub model_loaded_kib: Option<u64>,
    /// After one untimed warm-up answer.
    pub after_first_answer_kib: Option<u64>,
    /// After each section, in order.
    pub after_section_kib: Vec<(String, u64)>,
    pub answers: Option<Growth>,
    pub concurrent: Option<Concurrent>,
}

/// RSS over many answers: a leak shows as a steady slope.
#[derive(Clone, Debug, Serialize)]
pub struct Growth {
    pub answers: usize,
    pub strategy: Strategy,
    pub start_kib: u64,
    pub end_kib: u64,
    /// `(answers so far, KiB)`.
    pub samples: Vec<(usize, u64)>,
    /// Least-squares slope over the samples after the first tenth (warm-up), KiB per answer.
    pub growth_kib_per_answer: Option<f64>,
    pub explained: usize,
    pub errors: usize,
}

/// Clients asking at once while dashboards stream.
#[derive(Clone, Debug, Serialize)]
pub struct Concurrent {
    pub clients: usize,
    pub questions_per_client: usize,
    pub streams: usize,
    pub before_kib: u64,
    pub peak_kib: u64,
    pub end_kib: u64,
    pub stream_events: u64,
    pub answers: usize,
    /// Answers that found the model's queue full (the diagnosis alone came back).
    pub queue_full: usize,
    pub errors: usize,
    pub total_ms: Summary,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelFile {
    pub path: String,
    pub mb: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub quick: bool,
    pub runs: usize,
    pub strategies: Vec<Strategy>,
    pub burners: usize,
    pub answers: usize,
    pub mix_repeat: usize,
    pub seed: u64,
    pub host_args: Vec<String>,
}

/// Everything one run of the bench measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub command: String,
    pub unix_time: u64,
    pub machine: Machine,
    pub commit: Option<String>,
    pub model: ModelFile,
    /// The host's `/api/v1/profile`: threads, context, GPU layers it chose, and why.
    pub host_profile: Option<serde_json::Value>,
    pub settings: Settings,
    pub idle: Condition,
    pub busy: Option<Condition>,
    pub mix: Option<Mix>,
    pub memory: Memory,
    /// Issue 9 part 4: our host beside a bare llama-cpp-2 loop and llama-cpp-python (same
    /// model, prompt, threads, token cap).
    pub side_by_side: Option<SideBySide>,
    /// Issue 9 part 5: the monitor's CPU, memory and status latency beside Glances.
    pub monitor_overhead: Option<MonitorOverhead>,
}

/// "busy (1 core)": the condition's name in tables and the chart.
pub fn busy_label(burners: usize) -> String {
    let s = if burners == 1 { "" } else { "s" };
    format!("busy ({burners} core{s})")
}

/// `12 ms` under a second, `1.23 s` above, `—` when absent.
pub fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) if ms < 10.0 => format!("{ms:.1} ms"),
        Some(ms) if ms < 1000.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{:.2} s", ms / 1000.0),
    }
}

fn fmt_p50_p95(s: &Summary) -> String {
    match (s.p50, s.p95, s.n) {
        (None, ..) => "—".into(),
        (p50, _, 1) => fmt_ms(p50),
        (p50, p95, _) => format!("{} / {}", fmt_ms(p50), fmt_ms(p95)),
    }
}

fn fmt_share(k: usize, n: usize) -> String {
    if n == 0 {
        "—".into()
    } else {
        format!("{k}/{n}")
    }
}

fn fmt_mib(kib: Option<u64>) -> String {
    kib.map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// A table cell: no pipes or line breaks from a question.
fn cell_text(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Report {
    /// The whole report as Markdown, section by section.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "### Scenarios: the whole path, question to last token\n"
        );
        let _ = writeln!(
            md,
            "Machine: {}. Model: `{}`{}. Commit: `{}`. Command: `{}`.\n",
            self.machine.line(),
            self.model.path,
            self.model
                .mb
                .map_or(String::new(), |mb| format!(" ({mb:.0} MB)")),
            self.commit.as_deref().unwrap_or("unknown"),
            self.command
        );
        if self.settings.quick {
            md.push_str(&quick_table(&self.idle.cells));
        } else {
            for &s in &self.settings.strategies {
                md.push_str(&strategy_table(s, &self.idle, self.busy.as_ref()));
            }
        }
        if let Some(mix) = &self.mix {
            md.push_str(&mix_table(mix));
        }
        md.push_str(&memory_table(&self.memory));
        if let Some(s) = &self.side_by_side {
            md.push_str(&s.markdown());
        }
        if let Some(m) = &self.monitor_overhead {
            md.push_str(&m.markdown());
        }
        md
    }
}

/// One row per scenario, one run each: what `--quick` prints.
pub fn quick_table(cells: &[Cell]) -> String {
    let mut md = String::from(
        "| scenario | question | target | first content | first token | total | within target | answered by |\n\
         |---|---|---:|---:|---:|---:|:-:|---|\n",
    );
    for c in cells {
        let within = if c.runs.len() == 1 {
            if c.within_target == 1 {
                "yes"
            } else {
                "**no**"
            }
            .to_owned()
        } else {
            fmt_share(c.within_target, c.runs.len())
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} s | {} | {} | {} | {within} | {} |",
            c.scenario.label(),
            cell_text(&c.scenario.question),
            c.scenario.target_s,
            fmt_ms(c.first_content_ms.p50),
            fmt_ms(c.first_token_ms.p50),
            fmt_ms(c.total_ms.p50),
            c.answered_by(),
        );
    }
    md.push('\n');
    md
}

/// Idle and busy side by side for one strategy; times are p50 / p95 over the runs.
pub fn strategy_table(strategy: Strategy, idle: &Condition, busy: Option<&Condition>) -> String {
    let runs = idle.cells.first().map_or(0, |c| c.runs.len());
    let mut md = format!(
        "#### Strategy `{}`: answer cache bypassed, p50 / p95 over {runs} run{} per scenario\n\n",
        app::wire::name(&strategy),
        if runs == 1 { "" } else { "s" }
    );
    md.push_str("| scenario | target | first content | first token | total | tok/s | model numbers matching | within target |");
    let busy_label = busy.map(|b| busy_label(b.burners));
    if let Some(b) = &busy_label {
        let _ = write!(md, " {b}: first token | {b}: total | {b}: within target |");
    }
    md.push_str("\n|---|---:|---:|---:|---:|---:|---:|:-:|");
    if busy.is_some() {
        md.push_str("---:|---:|:-:|");
    }
    md.push('\n');
    for c in idle.cells.iter().filter(|c| c.strategy == strategy) {
        let _ = write!(
            md,
            "| {} | {} s | {} | {} | {} | {} | {} | {} |",
            c.scenario.label(),
            c.scenario.target_s,
            fmt_p50_p95(&c.first_content_ms),
            fmt_p50_p95(&c.first_token_ms),
            fmt_p50_p95(&c.total_ms),
            c.tokens_per_s.p50.map_or("—".into(), |t| format!("{t:.1}")),
            fmt_share(c.model_numbers_matching, c.model_numbers),
            fmt_share(c.within_target, c.runs.len()),
        );
        let twin = busy.and_then(|b| {
            b.cells
                .iter()
                .find(|d| d.strategy == strategy && d.scenario.question == c.scenario.question)
        });
        if let Some(d) = twin {
            let _ = write!(
                md,
                " {} | {} | {} |",
                fmt_p50_p95(&d.first_token_ms),
                fmt_p50_p95(&d.total_ms),
                fmt_share(d.within_target, d.runs.len()),
            );
        } else if busy.is_some() {
            md.push_str(" — | — | — |");
        }
        md.push('\n');
    }
    md.push('\n');
    md
}

pub fn mix_table(mix: &Mix) -> String {
    let mut md = format!(
        "#### Realistic mix: {} questions ({}× the set, shuffled with seed {}), strategy `{}`, answer cache on\n\n",
        mix.answers,
        mix.repeat,
        mix.seed,
        app::wire::name(&mix.strategy)
    );
    md.push_str("| answers | n | total p50 | total p95 |\n|---|---:|---:|---:|\n");
    for (name, s) in [
        ("model, cache hit", &mix.hit_total_ms),
        ("model, cache miss", &mix.miss_total_ms),
        (
            "diagnosis only (never cached)",
            &mix.diagnosis_only_total_ms,
        ),
    ] {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} |",
            s.n,
            fmt_ms(s.p50),
            fmt_ms(s.p95)
        );
    }
    let _ = writeln!(
        md,
        "\nCache hit rate: {} of the {} answers the model explained{}.\n",
        mix.cache_hits,
        mix.explained,
        mix.hit_rate
            .map_or(String::new(), |r| format!(" ({:.0} %)", r * 100.0))
    );
    md
}

pub fn memory_table(m: &Memory) -> String {
    let mut md = String::from("#### Resident memory of the host\n\n| moment | RSS |\n|---|---:|\n");
    let mut row = |name: String, kib: Option<u64>| {
        let _ = writeln!(md, "| {name} | {} |", fmt_mib(kib));
    };
    row(
        "started, no model (`--no-model`), at `/healthz`".into(),
        m.started_no_model_kib,
    );
    row(
        format!(
            "model loaded, at `/healthz` ({} after spawn)",
            fmt_ms(Some(m.start_to_healthz_ms))
        ),
        m.model_loaded_kib,
    );
    row("after the first answer".into(), m.after_first_answer_kib);
    for (name, kib) in &m.after_section_kib {
        row(format!("after {name}"), Some(*kib));
    }
    if let Some(g) = &m.answers {
        row(
            format!(
                "after {} more answers (`{}`, cache bypassed)",
                g.answers,
                app::wire::name(&g.strategy)
            ),
            Some(g.end_kib),
        );
    }
    if let Some(c) = &m.concurrent {
        row(
            format!(
                "peak: {} clients asking at once + {} live dashboard streams, {:.0} s",
                c.clients, c.streams, c.seconds
            ),
            Some(c.peak_kib),
        );
    }
    md.push('\n');
    if let Some(g) = &m.answers {
        let _ = writeln!(
            md,
            "Growth over the answers: {} per answer (least squares after the warm-up tenth; {} → {}).\n",
            g.growth_kib_per_answer
                .map_or("—".into(), |k| format!("{k:.2} KiB")),
            fmt_mib(Some(g.start_kib)),
            fmt_mib(Some(g.end_kib)),
        );
    }
    if let Some(c) = &m.concurrent {
        let _ = writeln!(
            md,
            "Concurrency: {} answers (p50 {} / p95 {}), {} found the queue full, {} errors; {} dashboard events received.\n",
            c.answers,
            fmt_ms(c.total_ms.p50),
            fmt_ms(c.total_ms.p95),
            c.queue_full,
            c.errors,
            c.stream_events
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(q: &str) -> Scenario {
        parse_scenarios(&format!("# c\n\nstatus\t{q}\t3\n")).unwrap()[0].clone()
    }

    fn run(first_token: Option<f64>, total: f64, explanation: &str) -> Run {
        Run {
            first_content_ms: Some(12.0),
            first_token_ms: first_token,
            total_ms: total,
            explanation: explanation.into(),
            ..Default::default()
        }
    }

    #[test]
    fn scenarios_parse_with_language_and_target() {
        let s = parse_scenarios("# x\nurgent\t緊急：システムに問題はありませんか？\t2\nmemory\tHow is my memory usage?\t3.5\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].lang, s[0].target_s), ("ja", 2.0));
        assert_eq!((s[1].lang, s[1].target_s), ("en", 3.5));
        assert_eq!(s[1].label(), "memory (en)");
        assert!(parse_scenarios("status\tno target\n").is_err());
        let shipped = parse_scenarios(include_str!("../../scenarios.tsv")).unwrap();
        assert_eq!(shipped.len(), 16);
        assert_eq!(shipped.iter().filter(|s| s.lang == "ja").count(), 8);
    }

    #[test]
    fn the_quick_table_has_a_row_per_scenario() {
        let cells = vec![
            Cell::new(
                scenario("システムの状態を教えて"),
                Strategy::Balanced,
                vec![run(None, 40.0, "language_not_supported")],
            ),
            Cell::new(
                scenario("How | is it?"),
                Strategy::Balanced,
                vec![run(Some(450.0), 3200.0, "model")],
            ),
        ];
        let md = quick_table(&cells);
        let lines: Vec<&str> = md.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 4, "{md}");
        assert!(lines[0].starts_with("| scenario | question | target | first content | first token | total | within target |"));
        assert_eq!(
            lines[2],
            "| status (ja) | システムの状態を教えて | 3 s | 12 ms | — | 40 ms | yes | diagnosis only (model writes no ja) |"
        );
        assert_eq!(
            lines[3],
            "| status (en) | How \\| is it? | 3 s | 12 ms | 450 ms | 3.20 s | **no** | model |"
        );
    }

    #[test]
    fn strategy_tables_put_busy_beside_idle() {
        let s = scenario("How is my system doing?");
        let idle = Condition {
            name: "idle".into(),
            burners: 0,
            cells: vec![Cell::new(
                s.clone(),
                Strategy::Speed,
                vec![
                    run(Some(300.0), 1000.0, "model"),
                    run(Some(500.0), 2000.0, "model"),
                ],
            )],
        };
        let busy = Condition {
            name: "busy".into(),
            burners: 1,
            cells: vec![Cell::new(
                s,
                Strategy::Speed,
                vec![
                    run(Some(900.0), 4000.0, "model"),
                    run(Some(900.0), 2500.0, "model"),
                ],
            )],
        };
        let md = strategy_table(Strategy::Speed, &idle, Some(&busy));
        let row = md.lines().find(|l| l.starts_with("| status")).unwrap();
        assert_eq!(
            row,
            "| status (en) | 3 s | 12 ms / 12 ms | 400 ms / 490 ms | 1.50 s / 1.95 s | — | — | 2/2 | 900 ms / 900 ms | 3.25 s / 3.92 s | 1/2 |"
        );
        assert!(md.contains("| busy (1 core): total |"), "{md}");
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(fmt_ms(Some(0.42)), "0.4 ms");
        assert_eq!(fmt_ms(Some(17.4)), "17 ms");
        assert_eq!(fmt_ms(Some(1234.0)), "1.23 s");
        assert_eq!(fmt_ms(None), "—");
    }
}
