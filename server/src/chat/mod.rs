//! The chat pipeline, one question at a time: question → intent → facts → diagnosis →
//! prompt → engine → tokens → number check. [`Assistant`] is its one entry point; the host
//! stays stateless (recent turns come back from the client with each question).
//!
//! What the user reads first is computed, not generated: the diagnosis is streamed before any
//! model token, and it is the whole answer when no model can add to it (none loaded, queue
//! full, or a model that cannot write the question's language). The model only explains, and
//! every number it writes is checked against the facts.

pub mod cache;
pub mod check;
pub mod diagnosis;
pub mod facts;
pub mod intent;
pub mod plan;
pub mod prompt;
pub mod topics;
pub mod wire;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use app::chat::{
    AssistantStatus, CacheMode, ChatEvent, ChatRequest, Explanation, Finding, StopReason, Strategy,
    Timings,
};
use app::error::ErrorCode;
use app::i18n::Lang;
use app::profile::ProfileReport;
use futures::{stream, Stream, StreamExt};
use thiserror::Error;
use tokio_stream::wrappers::ReceiverStream;

use crate::engine::{Engine, EngineError, GenerateRequest, TokenEvent};
use crate::hardware;
use crate::metrics::MetricsHub;
use crate::models;
use crate::telemetry::ChatTelemetry;
use cache::{AnswerCache, CachedAnswer};
use topics::Context;

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 1000;

/// Why a question was refused before anything was streamed.
#[derive(Debug, Error)]
pub enum AskError {
    #[error("the question is empty")]
    Empty,
    #[error("the question is longer than {MAX_QUESTION_CHARS} characters")]
    TooLong,
}

impl AskError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AskError::Empty => ErrorCode::EmptyQuestion,
            AskError::TooLong => ErrorCode::QuestionTooLong,
        }
    }
}

#[derive(Clone)]
pub struct Assistant {
    engine: Result<Engine, EngineError>,
    /// What the loaded model writes well (from the catalogue).
    languages: Arc<Vec<Lang>>,
    /// The command installing the catalogue's suggested model, per language: read once here,
    /// not from the catalogue on every question.
    pull_commands: Arc<Vec<(Lang, String)>>,
    metrics: MetricsHub,
    profile: Arc<ProfileReport>,
    cache: AnswerCache,
    telemetry: ChatTelemetry,
    default_strategy: Strategy,
    /// The thread count of the engine's context, which `hardware::threads_for_now` moves only
    /// on clear evidence (each change rebuilds the context and its KV cache).
    threads: Arc<AtomicU32>,
}

impl Assistant {
    /// `engine` is the result of loading the model: a failure is kept and reported on every
    /// question (and in the UI), while the dashboard goes on working.
    pub fn new(
        engine: Result<Engine, EngineError>,
        metrics: MetricsHub,
        profile: ProfileReport,
        cache: AnswerCache,
        default_strategy: Strategy,
    ) -> Self {
        let languages = engine.as_ref().map_or_else(
            |_| Vec::new(),
            |e| models::languages_for_path(&e.config().model_path),
        );
        let threads = engine
            .as_ref()
            .map_or(profile.profile.threads, |e| e.config().n_threads);
        let telemetry = ChatTelemetry::new();
        telemetry.set_threads(threads);
        Self {
            engine,
            languages: Arc::new(languages),
            pull_commands: Arc::new(
                [Lang::En, Lang::Ja]
                    .into_iter()
                    .filter_map(|l| Some((l, models::pull_command(l)?)))
                    .collect(),
            ),
            metrics,
            profile: Arc::new(profile),
            cache,
            telemetry,
            default_strategy,
            threads: Arc::new(AtomicU32::new(threads)),
        }
    }

    pub fn profile(&self) -> &ProfileReport {
        &self.profile
    }

    pub fn telemetry(&self) -> &ChatTelemetry {
        &self.telemetry
    }

    /// Overrides the catalogue's word on the languages the model writes (`--model-languages`,
    /// for a model file the catalogue does not know).
    pub fn with_languages(mut self, languages: Vec<Lang>) -> Self {
        self.languages = Arc::new(languages);
        self
    }

    fn pull_command(&self, lang: Lang) -> String {
        let found = self.pull_commands.iter().find(|(l, _)| *l == lang);
        found.map(|(_, c)| c.clone()).unwrap_or_default()
    }

    /// The languages the loaded model explains in (empty without a model).
    pub fn languages(&self) -> &[Lang] {
        &self.languages
    }

    /// True when a model was loaded and its inference thread has since died.
    pub fn engine_stopped(&self) -> bool {
        self.engine.as_ref().is_ok_and(|e| !e.is_alive())
    }

    pub fn status(&self) -> AssistantStatus {
        match &self.engine {
            Ok(e) if !e.is_alive() => {
                let e = EngineError::Stopped;
                AssistantStatus {
                    ready: false,
                    model: None,
                    error: Some(wire::message(&e)),
                    error_code: Some((&e).into()),
                }
            }
            Ok(e) => AssistantStatus {
                ready: true,
                model: Some(e.model_name()),
                error: None,
                error_code: None,
            },
            Err(e) => AssistantStatus {
                ready: false,
                model: None,
                error: Some(wire::message(e)),
                error_code: Some(e.into()),
            },
        }
    }

    /// Starts answering. Only a malformed question is refused here; everything after it
    /// streams: `Start`, `Diagnosis`, then the model's tokens when it explains, then `Done`.
    pub fn ask(
        &self,
        req: ChatRequest,
    ) -> Result<impl Stream<Item = ChatEvent> + Send + 'static, AskError> {
        let started = Instant::now();
        let question = validate_question(&req.question)?;
        let intents = intent::detect(&question);
        let lang = intent::detect_language(&question);
        let snapshot = self.metrics.latest();
        let recent = self.metrics.history(topics::RECENT);
        let cx = Context {
            snapshot: &snapshot,
            recent: &recent,
            intents,
            lang,
        };
        let facts = facts::collect(&cx);
        let findings = diagnosis::diagnose(&cx);
        let known = check::Known::new(&facts, &findings, &question);
        let start = ChatEvent::Start {
            intents: intents.iter().collect(),
            facts,
            language: lang,
        };
        let diagnosis = |explanation| ChatEvent::Diagnosis {
            findings: findings.clone(),
            explanation,
            snapshot: Box::new((*snapshot).clone()),
        };
        let plan = plan::plan(req.strategy.unwrap_or(self.default_strategy), &intents);

        // The model explains only what is measured, in a language it writes, when it can run.
        let engine = match &self.engine {
            _ if findings.iter().all(|f| f.not_measured) => Err(Explanation::NotMeasured),
            Ok(engine) if !engine.is_alive() => Err(without_model(&EngineError::Stopped)),
            Ok(engine) if self.languages.contains(&lang) => Ok(engine.clone()),
            Ok(engine) => Err(Explanation::LanguageNotSupported {
                model: engine.model_name(),
                language: lang,
                pull_command: self.pull_command(lang),
            }),
            Err(e) => Err(without_model(e)),
        };
        let engine = match engine {
            Ok(engine) => engine,
            Err(explanation) => {
                return Ok(self.diagnosis_only(
                    started,
                    start,
                    explanation,
                    diagnosis,
                    &findings,
                    lang,
                ));
            }
        };
        let explained = Explanation::Model {
            model: engine.model_name(),
        };

        let key = cache::key(&question, &req.history, &intents, plan.strategy, &snapshot);
        let use_cache = req.cache == CacheMode::Use;
        if let Some(hit) = use_cache.then(|| self.cache.get(&key)).flatten() {
            let timings = Timings {
                cache_hit: true,
                total_ms: started.elapsed().as_millis() as u64,
                ..Default::default()
            };
            self.telemetry.record_answer(StopReason::Cached, &timings);
            let events = vec![
                start,
                diagnosis(explained),
                ChatEvent::Token {
                    text: hit.answer.clone(),
                },
                ChatEvent::Done {
                    unverified: check::unverified(&hit.answer, &known),
                    answer: hit.answer,
                    stop: StopReason::Cached,
                    cut: false,
                    timings,
                },
            ];
            return Ok(stream::iter(events).boxed());
        }

        let messages = prompt::build(&question, plan.urgent, &findings, &req.history, lang);
        let budget = (engine.n_ctx() as usize).saturating_sub(plan.max_tokens as usize);
        let messages = prompt::trim_to_budget(messages, budget, |s| {
            engine.count_tokens(s).unwrap_or(s.len() / 3 + 1)
        });
        // The reading counts only if it began after the engine's last answer ended: otherwise
        // the engine's own load would look like a busy machine.
        let reading_span = self.metrics.age() + self.metrics.config().interval;
        let others_only = engine.idle_for().is_some_and(|idle| idle > reading_span);
        let threads = hardware::threads_for_now(
            self.profile.profile.threads,
            self.threads.load(Ordering::Relaxed),
            others_only.then_some(snapshot.cpu.per_core_pct.as_slice()),
        );
        self.threads.store(threads, Ordering::Relaxed);
        let request = GenerateRequest {
            messages,
            max_tokens: plan.max_tokens,
            temperature: plan.temperature,
            deadline: started + plan.deadline,
            threads: Some(threads),
            seed: 0,
        };
        let rx = match engine.generate(request) {
            Ok(rx) => rx,
            Err(e) => {
                return Ok(self.diagnosis_only(
                    started,
                    start,
                    without_model(&e),
                    diagnosis,
                    &findings,
                    lang,
                ));
            }
        };

        let cache = use_cache.then(|| self.cache.clone());
        let telemetry = self.telemetry.clone();
        let head = [start, diagnosis(explained)];
        // Set by the final event; a token stream that ends without one lost its engine.
        let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tail = cut_short(engine, finished.clone(), telemetry.clone());
        let tokens = ReceiverStream::new(rx).map(move |ev| match ev {
            TokenEvent::Token(text) => ChatEvent::Token { text },
            TokenEvent::Done(report) => {
                finished.store(true, std::sync::atomic::Ordering::SeqCst);
                let stop = StopReason::from(report.stop);
                let mut timings = Timings::from(report.timings);
                timings.total_ms = started.elapsed().as_millis() as u64;
                telemetry.record_answer(stop, &timings);
                if let Some(cache) = &cache {
                    cache.insert(
                        key.clone(),
                        CachedAnswer {
                            answer: report.text.clone(),
                            stop,
                        },
                    );
                }
                ChatEvent::Done {
                    unverified: check::unverified(&report.text, &known),
                    answer: report.text,
                    stop,
                    cut: matches!(
                        stop,
                        StopReason::Deadline | StopReason::TokenCap | StopReason::Cancelled
                    ),
                    timings,
                }
            }
            TokenEvent::Error(e) => {
                finished.store(true, std::sync::atomic::Ordering::SeqCst);
                let code = ErrorCode::from(&e);
                telemetry.record_error(code);
                ChatEvent::Error {
                    code,
                    message: wire::message(&e),
                }
            }
        });
        Ok(stream::iter(head).chain(tokens).chain(tail).boxed())
    }

    /// The answer when no model explains: the diagnosis, rendered in the question's language.
    /// A failed engine counts as its error code in `/metrics`, anything else as
    /// `diagnosis_only`.
    fn diagnosis_only(
        &self,
        started: Instant,
        start: ChatEvent,
        explanation: Explanation,
        to_event: impl Fn(Explanation) -> ChatEvent,
        findings: &[Finding],
        lang: Lang,
    ) -> futures::stream::BoxStream<'static, ChatEvent> {
        let timings = Timings {
            total_ms: started.elapsed().as_millis() as u64,
            ..Default::default()
        };
        match &explanation {
            Explanation::ModelUnavailable { code, .. } => self.telemetry.record_error(*code),
            Explanation::Busy => self.telemetry.record_error(ErrorCode::QueueFull),
            _ => self
                .telemetry
                .record_answer(StopReason::DiagnosisOnly, &timings),
        }
        let done = ChatEvent::Done {
            answer: diagnosis::render(findings, lang),
            stop: StopReason::DiagnosisOnly,
            cut: false,
            timings,
            unverified: Vec::new(),
        };
        stream::iter([start, to_event(explanation), done]).boxed()
    }
}

/// The question as it is answered (trimmed), or why it is refused before anything is streamed.
pub fn validate_question(question: &str) -> Result<String, AskError> {
    let question = question.trim();
    if question.is_empty() {
        return Err(AskError::Empty);
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(AskError::TooLong);
    }
    Ok(question.to_owned())
}

/// Why the model does not explain, when the engine failed to load or to take the question.
/// The answer's last event when the engine's channel closed without `done` or `error` (the
/// inference thread died holding the request): an `error` saying so, never a silent end.
fn cut_short(
    engine: Engine,
    finished: Arc<std::sync::atomic::AtomicBool>,
    telemetry: ChatTelemetry,
) -> impl Stream<Item = ChatEvent> + Send + 'static {
    stream::once(async move {
        if finished.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        // The dying thread drops the request before it is marked stopped: give it a moment.
        for _ in 0..50 {
            if !engine.is_alive() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let e = if engine.is_alive() {
            EngineError::Internal("the answer ended before it was complete".into())
        } else {
            EngineError::Stopped
        };
        let code = ErrorCode::from(&e);
        telemetry.record_error(code);
        Some(ChatEvent::Error {
            code,
            message: wire::message(&e),
        })
    })
    .filter_map(futures::future::ready)
}

fn without_model(e: &EngineError) -> Explanation {
    match e {
        EngineError::QueueFull => Explanation::Busy,
        e => Explanation::ModelUnavailable {
            code: e.into(),
            message: wire::message(e),
        },
    }
}
