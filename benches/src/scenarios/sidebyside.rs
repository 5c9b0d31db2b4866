//! Issue 9, part 4: our host beside the floor and the prototype's stack, in the same run, on
//! the same model file, the same rendered prompt, threads and token cap.
//!
//! Contenders, all loaded at once and asked in turn (so a slow spell of the machine hits all):
//! - **ours**: the release host over HTTP, `POST /api/v1/chat` with `"cache": "bypass"`, as
//!   a user runs it (prefix reuse on);
//! - **ours, prefix reuse off**: a second host with the hidden `--no-prefix-reuse`, asked the
//!   same conversation (the reference of the follow-up goal);
//! - **bare**: a bare `llama-cpp-2` loop in this process (`bare.rs`), KV cache cleared before
//!   each prompt: the floor;
//! - **llama-cpp-python**: `benches/python/prototype.py` in the bench venv, one `Llama` kept
//!   loaded, `create_completion(prompt, stream=True, max_tokens, temperature)` as the
//!   prototype called it (its own prefix reuse on, as shipped).
//!
//! **Same prompt**: the host builds its prompt from the findings it streams in its `diagnosis`
//! event. For each answer the bench rebuilds that prompt in-process from those findings with
//! the host's own code (`mac_status::chat::{intent, plan, prompt}` and `Engine::render_prompt` on
//! the same GGUF), and gives the rendered text to the bare loop and to llama-cpp-python; it
//! checks the token count against the host's `done.timings.prompt_tokens` (the `same prompt`
//! column). **Same cap and temperature**: the host's plan for the question (`plan::plan`).
//! **Same threads**: each bare and Python answer runs with the threads the host used for the
//! answer it mirrors (`done.timings.threads`). **Same start**: every timed answer, of every
//! contender, begins after the same pause ([`SETTLE`]), long enough for the host's per-request
//! thread choice to see the cores idle, as a user's idle Mac would show them.
//!
//! Per English scenario and round: a first question to each contender, then a follow-up in the
//! same conversation (the next scenario's question, with the first answer as history) to both
//! hosts and to llama-cpp-python. English only: the default model writes English, and a
//! Japanese question is answered by the computed diagnosis alone.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use app::chat::{CacheMode, ChatEvent, ChatRequest, Finding, Strategy, Timings, Turn};
use mac_status::chat::{intent, plan, prompt};
use mac_status::engine::{Engine, EngineConfig};
use serde::Serialize;

use super::client::read_answer;
use super::python::{Prototype, VenvInfo};
use super::report::{fmt_ms, Scenario};
use super::stats::Summary;
use crate::bare::{Bare, BareRun};
use crate::common::{Host, HostSpec};

// The section's Markdown (`SideBySide::markdown`).
#[path = "sidebyside/markdown.rs"]
mod markdown;

/// The pause before every timed answer: two of the host's metric samples (1 s apart) with
/// every contender idle, so its per-request thread choice sees the cores as free.
pub const SETTLE: Duration = Duration::from_millis(2100);

/// One answer of one contender, as the report keeps it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    pub ttft_ms: f64,
    pub tokens_per_s: Option<f64>,
    pub total_ms: f64,
    pub tokens: u32,
    pub prompt_tokens: u32,
    /// Prompt tokens taken from the previous prompt's KV cache.
    pub reused_tokens: u32,
    pub threads: u32,
    /// The host's own time to first token (`done.timings`), without HTTP and the pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_ttft_ms: Option<f64>,
}

/// Every answer of one contender in one row, and their summaries.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Contender {
    pub ttft_ms: Summary,
    pub tokens_per_s: Summary,
    pub total_ms: Summary,
    pub tokens: Summary,
    pub reused_tokens: Summary,
    pub errors: Vec<String>,
    pub samples: Vec<Sample>,
}

impl Contender {
    fn push(&mut self, r: Result<Sample>) {
        match r {
            Ok(s) => self.samples.push(s),
            Err(e) => {
                eprintln!("[side by side] {e:#}");
                self.errors.push(format!("{e:#}"));
            }
        }
    }

    fn summarize(&mut self) {
        let s = &self.samples;
        self.ttft_ms = Summary::of(s.iter().map(|x| x.ttft_ms));
        self.tokens_per_s = Summary::of(s.iter().filter_map(|x| x.tokens_per_s));
        self.total_ms = Summary::of(s.iter().map(|x| x.total_ms));
        self.tokens = Summary::of(s.iter().map(|x| f64::from(x.tokens)));
        self.reused_tokens = Summary::of(s.iter().map(|x| f64::from(x.reused_tokens)));
    }
}

/// One English scenario: its first question and a follow-up, to every contender.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub scenario: Scenario,
    pub follow_up: String,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Answers whose rebuilt prompt had exactly the host's token count (of all rebuilt).
    pub same_prompt: usize,
    pub rebuilt: usize,
    pub ours: Contender,
    pub ours_no_reuse: Contender,
    pub bare: Contender,
    pub python: Contender,
    pub follow_ours: Contender,
    pub follow_ours_no_reuse: Contender,
    pub follow_python: Contender,
}

impl Row {
    /// No answers yet; the cap and temperature of the host's plan for the question.
    fn new(scenario: Scenario, follow_up: &str, strategy: Strategy) -> Row {
        let plan = plan::plan(strategy, &intent::detect(scenario.question.trim()));
        Row {
            scenario,
            follow_up: follow_up.to_owned(),
            max_tokens: plan.max_tokens,
            temperature: plan.temperature,
            same_prompt: 0,
            rebuilt: 0,
            ours: Contender::default(),
            ours_no_reuse: Contender::default(),
            bare: Contender::default(),
            python: Contender::default(),
            follow_ours: Contender::default(),
            follow_ours_no_reuse: Contender::default(),
            follow_python: Contender::default(),
        }
    }

    /// Every contender's summaries from its samples.
    fn summarize(&mut self) {
        for c in [
            &mut self.ours,
            &mut self.ours_no_reuse,
            &mut self.bare,
            &mut self.python,
            &mut self.follow_ours,
            &mut self.follow_ours_no_reuse,
            &mut self.follow_python,
        ] {
            c.summarize();
        }
    }
}

/// The comparison, and what it says about the three goals.
#[derive(Clone, Debug, Serialize)]
pub struct SideBySide {
    pub strategy: Strategy,
    pub rounds: usize,
    /// The host's profile: the threads every contender starts with, context and batch.
    pub threads: u32,
    pub n_ctx: u32,
    pub n_batch: u32,
    pub venv: VenvInfo,
    /// llama.cpp as llama-cpp-python built it (`llama_print_system_info`).
    pub python_system_info: String,
    pub python_load_ms: f64,
    pub llama_cpp_2: &'static str,
    pub rows: Vec<Row>,
    pub goals: Goals,
}

/// The goals, each as a ratio of p50s per scenario.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Goals {
    /// ours / bare decode tokens/s per scenario (goal ≥ 0.95).
    pub tps_over_bare: Vec<Option<f64>>,
    /// ours / llama-cpp-python time to first token per scenario (goal ≤ 1).
    pub ttft_over_python: Vec<Option<f64>>,
    /// Follow-up time to first token, ours / ours without prefix reuse (goal ≤ 0.5).
    pub follow_up_over_no_reuse: Vec<Option<f64>>,
}

/// A ratio of two p50s, when both exist.
fn ratio(a: &Summary, b: &Summary) -> Option<f64> {
    Some(a.p50? / b.p50?).filter(|r| r.is_finite())
}

/// A host's answer with what the prompt is rebuilt from.
struct HostAnswer {
    sample: Sample,
    findings: Vec<Finding>,
    answer: String,
}

/// One question to a host, read to its end; fails unless the model answered.
fn ask_host(port: u16, question: &str, history: &[Turn], strategy: Strategy) -> Result<HostAnswer> {
    let body = serde_json::to_string(&ChatRequest {
        question: question.to_owned(),
        strategy: Some(strategy),
        history: history.to_vec(),
        cache: CacheMode::Bypass,
    })?;
    thread::sleep(SETTLE);
    let t0 = Instant::now();
    let resp = ureq::post(&format!("http://127.0.0.1:{port}/api/v1/chat"))
        .header("content-type", "application/json")
        .send(&body)
        .with_context(|| format!("asking {question:?}"))?;
    let (mut first, mut findings) = (None, Vec::new());
    read_answer(resp.into_body().into_reader(), t0, question, |at, ev| {
        match ev {
            ChatEvent::Diagnosis { findings: f, .. } => findings = f,
            ChatEvent::Token { .. } => {
                first.get_or_insert(at);
            }
            ChatEvent::Done {
                answer, timings, ..
            } => {
                let Some(ttft_ms) = first else {
                    bail!("the model did not answer {question:?} (diagnosis only)");
                };
                return Ok(Some(HostAnswer {
                    sample: host_sample(ttft_ms, at, &timings),
                    findings: std::mem::take(&mut findings),
                    answer,
                }));
            }
            ChatEvent::Error { message, .. } => bail!("{question:?}: {message}"),
            ChatEvent::Start { .. } => {}
        }
        Ok(None)
    })
}

fn host_sample(ttft_ms: f64, total_ms: f64, t: &Timings) -> Sample {
    Sample {
        ttft_ms,
        tokens_per_s: (t.generated_tokens > 1).then_some(t.tokens_per_second),
        total_ms,
        tokens: t.generated_tokens,
        prompt_tokens: t.prompt_tokens,
        reused_tokens: t.cached_tokens,
        threads: t.threads,
        engine_ttft_ms: Some(t.time_to_first_token_ms as f64),
    }
}

/// The host's prompt, rebuilt in-process with its own code from the findings it streamed.
struct Renderer {
    engine: Engine,
}

impl Renderer {
    fn prompt(
        &self,
        question: &str,
        history: &[Turn],
        findings: &[Finding],
        strategy: Strategy,
    ) -> Result<(String, plan::Plan)> {
        // As `Assistant::ask` does it, step by step.
        let question = question.trim();
        let intents = intent::detect(question);
        let lang = intent::detect_language(question);
        let plan = plan::plan(strategy, &intents);
        let messages = prompt::build(question, plan.urgent, findings, history, lang);
        let budget = (self.engine.n_ctx() as usize).saturating_sub(plan.max_tokens as usize);
        let messages = prompt::trim_to_budget(messages, budget, |s| {
            self.engine.count_tokens(s).unwrap_or(s.len() / 3 + 1)
        });
        Ok((self.engine.render_prompt(&messages)?, plan))
    }
}

fn bare_sample(r: BareRun, threads: u32) -> Sample {
    Sample {
        ttft_ms: r.ttft_ms,
        tokens_per_s: (r.generated > 1).then_some(r.decode_tps),
        total_ms: r.total_ms,
        tokens: r.generated,
        prompt_tokens: r.prompt_tokens,
        reused_tokens: 0,
        threads,
        engine_ttft_ms: None,
    }
}

/// Settings of the comparison.
pub struct Setup<'a> {
    pub spec: &'a HostSpec,
    pub model: &'a Path,
    pub venv: &'a Path,
    /// `None`: no bench venv (e.g. the GPU machine): llama-cpp-python is left out, the bare
    /// loop and both hosts still run.
    pub venv_info: Option<VenvInfo>,
    pub scenarios: &'a [Scenario],
    pub strategy: Strategy,
    pub rounds: usize,
}

/// Runs the comparison; see the module docs.
pub fn run(s: &Setup) -> Result<SideBySide> {
    let english: Vec<&Scenario> = s.scenarios.iter().filter(|x| x.lang == "en").collect();
    if english.is_empty() {
        bail!("no English scenario to compare on");
    }
    let ours = Host::start(s.spec, |_, _| {})?;
    let mut off_spec = s.spec.clone();
    off_spec.extra.push("--no-prefix-reuse".into());
    let off = Host::start(&off_spec, |_, _| {})?;
    let profile: app::profile::ProfileReport =
        serde_json::from_str(&crate::common::get(ours.port, "/api/v1/profile")?)
            .context("the host's profile")?;
    let p = &profile.profile;
    let (threads, n_ctx, n_batch) = (p.threads.max(1), p.n_ctx, p.n_batch);
    eprintln!(
        "[side by side] {threads} threads, n_ctx {n_ctx}, n_batch {n_batch}, {} GPU layers; loading the bare loop{}",
        p.gpu_layers_label(),
        if s.venv_info.is_some() { " and llama-cpp-python" } else { " (no bench venv: no llama-cpp-python)" }
    );
    let renderer = Renderer {
        engine: Engine::load(EngineConfig {
            n_ctx,
            n_batch,
            n_threads: 1,
            n_gpu_layers: 0,
            ..EngineConfig::new(s.model)
        })
        .map_err(|e| anyhow!("the in-process prompt renderer: {e}"))?,
    };
    // The same layers on the same device as the host's profile chose.
    let mut bare = Bare::new(s.model, n_ctx, n_batch, threads, p.gpu_layers)?;
    let mut py = match &s.venv_info {
        Some(_) => Some(Prototype::start(s.venv, s.model, n_ctx, n_batch, threads)?),
        None => None,
    };

    let mut rows: Vec<Row> = english
        .iter()
        .enumerate()
        .map(|(i, sc)| {
            let follow_up = &english[(i + 1) % english.len()].question;
            Row::new((*sc).clone(), follow_up, s.strategy)
        })
        .collect();

    // Untimed: each contender's first answer pays for page faults and buffers.
    {
        let w = ask_host(ours.port, &english[0].question, &[], s.strategy)?;
        ask_host(off.port, &english[0].question, &[], s.strategy)?;
        let (prompt, plan) = renderer.prompt(&english[0].question, &[], &w.findings, s.strategy)?;
        bare.run(&prompt, plan.max_tokens, plan.temperature, 0)?;
        if let Some(py) = py.as_mut() {
            py.ask(&prompt, plan.max_tokens, plan.temperature, threads)?;
        }
    }

    let total = s.rounds * rows.len();
    for round in 0..s.rounds {
        for (i, row) in rows.iter_mut().enumerate() {
            eprintln!(
                "[side by side {}/{total}] {}",
                round * english.len() + i + 1,
                row.scenario.label()
            );
            one(
                s,
                row,
                round,
                &ours,
                &off,
                &renderer,
                &mut bare,
                py.as_mut(),
            );
            let last = |c: &Contender| c.samples.last().map(|x| x.ttft_ms);
            eprintln!(
                "    first token: ours {}, reuse off {}, bare {}, python {}; follow-up ours {}, reuse off {}",
                fmt_ms(last(&row.ours)),
                fmt_ms(last(&row.ours_no_reuse)),
                fmt_ms(last(&row.bare)),
                fmt_ms(last(&row.python)),
                fmt_ms(last(&row.follow_ours)),
                fmt_ms(last(&row.follow_ours_no_reuse)),
            );
        }
    }
    ours.stop();
    off.stop();

    let mut goals = Goals::default();
    for row in &mut rows {
        row.summarize();
        goals
            .tps_over_bare
            .push(ratio(&row.ours.tokens_per_s, &row.bare.tokens_per_s));
        goals
            .ttft_over_python
            .push(ratio(&row.ours.ttft_ms, &row.python.ttft_ms));
        goals.follow_up_over_no_reuse.push(ratio(
            &row.follow_ours.ttft_ms,
            &row.follow_ours_no_reuse.ttft_ms,
        ));
    }
    Ok(SideBySide {
        strategy: s.strategy,
        rounds: s.rounds,
        threads,
        n_ctx,
        n_batch,
        venv: s.venv_info.clone().unwrap_or_else(|| VenvInfo {
            python: "—".into(),
            llama_cpp_python: "— (not run: no bench venv)".into(),
            glances: "—".into(),
            cmake_args: "—".into(),
            packages: Vec::new(),
        }),
        python_system_info: py
            .as_ref()
            .map_or_else(|| "—".into(), |p| p.system_info.clone()),
        python_load_ms: py.as_ref().map_or(0.0, |p| p.load_ms),
        llama_cpp_2: "0.1.160",
        rows,
        goals,
    })
}

/// One round of one scenario: the first question to all four, the follow-up to three. The
/// order after our host (which must go first: its findings make the prompt) alternates by
/// round, so drift of the machine does not always favour the same contender.
#[allow(clippy::too_many_arguments)]
fn one(
    s: &Setup,
    row: &mut Row,
    round: usize,
    ours: &Host,
    off: &Host,
    renderer: &Renderer,
    bare: &mut Bare,
    mut py: Option<&mut Prototype>,
) {
    let q = row.scenario.question.clone();
    let first = match ask_host(ours.port, &q, &[], s.strategy) {
        Ok(a) => a,
        Err(e) => return row.ours.push(Err(e)),
    };
    let threads = first.sample.threads.max(1);
    row.ours.push(Ok(first.sample.clone()));
    let mut others = |row: &mut Row, k: usize| -> Option<String> {
        match k {
            0 => {
                let a = ask_host(off.port, &q, &[], s.strategy);
                let answer = a.as_ref().ok().map(|a| a.answer.clone());
                row.ours_no_reuse.push(a.map(|a| a.sample));
                answer
            }
            1 => {
                let r = renderer
                    .prompt(&q, &[], &first.findings, s.strategy)
                    .and_then(|(prompt, plan)| {
                        bare.set_threads(threads)?;
                        thread::sleep(SETTLE);
                        let run = bare.run(&prompt, plan.max_tokens, plan.temperature, 0)?;
                        Ok(bare_sample(run, threads))
                    });
                if let Ok(b) = &r {
                    row.rebuilt += 1;
                    row.same_prompt += usize::from(b.prompt_tokens == first.sample.prompt_tokens);
                }
                row.bare.push(r);
                None
            }
            _ => {
                if let Some(py) = py.as_deref_mut() {
                    let r = renderer
                        .prompt(&q, &[], &first.findings, s.strategy)
                        .and_then(|(prompt, plan)| {
                            thread::sleep(SETTLE);
                            py.ask(&prompt, plan.max_tokens, plan.temperature, threads)
                        });
                    row.python.push(r);
                }
                None
            }
        }
    };
    let order: [usize; 3] = if round.is_multiple_of(2) {
        [0, 1, 2]
    } else {
        [2, 1, 0]
    };
    let mut off_answer = None;
    for k in order {
        if let Some(a) = others(row, k) {
            off_answer = Some(a);
        }
    }

    // The follow-up: each host continues its own conversation; llama-cpp-python gets our
    // host's follow-up prompt, after its own answer to the first one (as our host had).
    let follow = row.follow_up.clone();
    // The history goes back as the browser sends it: question, answer and the findings given.
    let history = [Turn {
        question: q.clone(),
        answer: first.answer.clone(),
        findings: first.findings.clone(),
    }];
    match ask_host(ours.port, &follow, &history, s.strategy) {
        Ok(a) => {
            let threads = a.sample.threads.max(1);
            if let Some(py) = py {
                let r = renderer
                    .prompt(&follow, &history, &a.findings, s.strategy)
                    .and_then(|(prompt, plan)| {
                        thread::sleep(SETTLE);
                        py.ask(&prompt, plan.max_tokens, plan.temperature, threads)
                    });
                row.follow_python.push(r);
            }
            row.follow_ours.push(Ok(a.sample));
        }
        Err(e) => row.follow_ours.push(Err(e)),
    }
    if let Some(answer) = off_answer {
        // Same layout as ours (the findings of the same moment), so only the reuse differs.
        let history = [Turn {
            question: q,
            answer,
            findings: first.findings.clone(),
        }];
        row.follow_ours_no_reuse
            .push(ask_host(off.port, &follow, &history, s.strategy).map(|a| a.sample));
    }
}
