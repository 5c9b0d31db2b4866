//! One question's path: question → intent → facts → prompt → engine → token stream, with the
//! answer cache in front and the telemetry behind. The host stays stateless: recent turns come
//! back from the client with each question.

use std::sync::Arc;
use std::time::Instant;

use app::chat::{AssistantStatus, ChatEvent, ChatRequest, StopReason, Strategy, Timings};
use app::profile::ProfileReport;
use futures::{stream, Stream, StreamExt};
use thiserror::Error;
use tokio_stream::wrappers::ReceiverStream;

use crate::engine::{ChatMessage, Engine, EngineError, GenerateRequest, Role, TokenEvent};
use crate::hardware;
use crate::intent;
use crate::metrics::MetricsHub;
use crate::optimizer::{self, AnswerCache, CachedAnswer};
use crate::prompt::{self, PromptRole};
use crate::telemetry::ChatTelemetry;

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 1000;

#[derive(Debug, Error)]
pub enum AskError {
    #[error("the question is empty")]
    Empty,
    #[error("the question is longer than {MAX_QUESTION_CHARS} characters")]
    TooLong,
    #[error("the assistant is not available: {0}")]
    Unavailable(EngineError),
    #[error("{0}")]
    Engine(EngineError),
}

impl AskError {
    pub fn code(&self) -> &'static str {
        match self {
            AskError::Empty => "empty_question",
            AskError::TooLong => "question_too_long",
            AskError::Unavailable(e) | AskError::Engine(e) => e.code(),
        }
    }
}

#[derive(Clone)]
pub struct Assistant {
    engine: Result<Engine, EngineError>,
    metrics: MetricsHub,
    profile: Arc<ProfileReport>,
    cache: AnswerCache,
    telemetry: ChatTelemetry,
    default_strategy: Strategy,
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
        Self {
            engine,
            metrics,
            profile: Arc::new(profile),
            cache,
            telemetry: ChatTelemetry::new(),
            default_strategy,
        }
    }

    pub fn profile(&self) -> &ProfileReport {
        &self.profile
    }

    pub fn telemetry(&self) -> &ChatTelemetry {
        &self.telemetry
    }

    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref().ok()
    }

    pub fn status(&self) -> AssistantStatus {
        match &self.engine {
            Ok(e) => AssistantStatus {
                ready: true,
                model: Some(e.model_name()),
                error: None,
                error_code: None,
            },
            Err(e) => AssistantStatus {
                ready: false,
                model: None,
                error: Some(e.to_string()),
                error_code: Some(e.code().to_string()),
            },
        }
    }

    /// Starts answering. Errors that happen before the first token come back here (so the
    /// route can answer with a proper status); later ones arrive as `ChatEvent::Error`.
    pub fn ask(
        &self,
        req: ChatRequest,
    ) -> Result<impl Stream<Item = ChatEvent> + Send + 'static, AskError> {
        let started = Instant::now();
        let question = req.question.trim().to_string();
        if question.is_empty() {
            return Err(AskError::Empty);
        }
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AskError::TooLong);
        }
        let intents = intent::detect(&question);
        let lang = intent::detect_language(&question);
        let snapshot = self.metrics.latest();
        let plan = optimizer::plan(req.strategy.unwrap_or(self.default_strategy), &intents);
        let key = optimizer::key(&question, &intents, plan.strategy, &snapshot);
        let start = |facts| ChatEvent::Start {
            intents: intents.names(),
            facts,
            language: lang.code().to_string(),
        };

        if let Some(hit) = self.cache.get(&key) {
            let timings = Timings {
                cache_hit: true,
                total_ms: started.elapsed().as_millis() as u64,
                ..Default::default()
            };
            self.telemetry.record_answer(StopReason::Cached, &timings);
            let events = vec![
                start(hit.facts.clone()),
                ChatEvent::Token {
                    text: hit.answer.clone(),
                },
                ChatEvent::Done {
                    answer: hit.answer,
                    stop: StopReason::Cached,
                    cut: false,
                    timings,
                },
            ];
            return Ok(stream::iter(events).boxed());
        }

        let engine = match &self.engine {
            Ok(e) => e.clone(),
            Err(e) => {
                self.telemetry.record_error(e.code());
                return Err(AskError::Unavailable(e.clone()));
            }
        };
        let facts = prompt::facts(&snapshot, &intents, lang);
        let messages = prompt::build(&question, &intents, &facts, &req.history, lang);
        let budget = (engine.n_ctx() as usize).saturating_sub(plan.max_tokens as usize);
        let messages = prompt::trim_to_budget(messages, budget, |s| {
            engine.count_tokens(s).unwrap_or(s.len() / 3 + 1)
        });
        let threads =
            hardware::threads_for_now(self.profile.profile.threads, &snapshot.cpu.per_core_pct);
        let request = GenerateRequest {
            messages: messages
                .into_iter()
                .map(|m| {
                    let role = match m.role {
                        PromptRole::System => Role::System,
                        PromptRole::User => Role::User,
                        PromptRole::Assistant => Role::Assistant,
                    };
                    ChatMessage::new(role, m.content)
                })
                .collect(),
            max_tokens: plan.max_tokens,
            temperature: plan.temperature,
            deadline: started + plan.deadline,
            threads: Some(threads),
            seed: 0,
        };
        let rx = engine.generate(request).map_err(|e| {
            self.telemetry.record_error(e.code());
            AskError::Engine(e)
        })?;

        let cache = self.cache.clone();
        let telemetry = self.telemetry.clone();
        let first = start(facts.clone());
        let tokens = ReceiverStream::new(rx).map(move |ev| match ev {
            TokenEvent::Token(text) => ChatEvent::Token { text },
            TokenEvent::Done(report) => {
                let mut timings = report.timings;
                timings.total_ms = started.elapsed().as_millis() as u64;
                telemetry.record_answer(report.stop, &timings);
                if AnswerCache::is_cacheable(report.stop) {
                    cache.insert(
                        key.clone(),
                        CachedAnswer {
                            answer: report.text.clone(),
                            facts: facts.clone(),
                            stop: report.stop,
                        },
                    );
                }
                ChatEvent::Done {
                    answer: report.text,
                    stop: report.stop,
                    cut: matches!(
                        report.stop,
                        StopReason::Deadline | StopReason::TokenCap | StopReason::Cancelled
                    ),
                    timings,
                }
            }
            TokenEvent::Error(e) => {
                telemetry.record_error(e.code());
                ChatEvent::Error {
                    code: e.code().to_string(),
                    message: e.to_string(),
                }
            }
        });
        Ok(stream::once(async move { first }).chain(tokens).boxed())
    }
}
