//! Wire types of the chat: the request, the streamed events, the facts and timings.

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::model::{Level, Snapshot};

/// How much the answer may cost: token cap and sampling temperature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Speed,
    #[default]
    Balanced,
    Quality,
}

impl Strategy {
    pub fn max_tokens(self) -> u32 {
        match self {
            Strategy::Speed => 128,
            Strategy::Balanced => 256,
            Strategy::Quality => 512,
        }
    }

    pub fn temperature(self) -> f32 {
        match self {
            Strategy::Speed => 0.2,
            Strategy::Balanced => 0.4,
            Strategy::Quality => 0.6,
        }
    }
}

/// One earlier exchange, sent back by the client so the host stays stateless.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub question: String,
    pub answer: String,
}

/// `POST /api/v1/chat` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub question: String,
    /// `None`: the host's configured default.
    #[serde(default)]
    pub strategy: Option<Strategy>,
    #[serde(default)]
    pub history: Vec<Turn>,
}

/// One number the prompt used, shown verbatim in the facts card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Stable key (`cpu.total`, `memory.used`, …) for tests and scripts.
    pub key: String,
    pub label: String,
    pub value: String,
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndOfGeneration,
    TokenCap,
    /// The 5-second budget ran out: the answer is marked as cut.
    Deadline,
    Cancelled,
    /// Served from the answer cache.
    Cached,
    /// No model ran: the computed diagnosis is the whole answer (see `Explanation`).
    DiagnosisOnly,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub prompt_tokens: u32,
    /// Prompt tokens whose KV cache was reused from the previous request.
    pub cached_tokens: u32,
    pub generated_tokens: u32,
    pub time_to_first_token_ms: u64,
    pub tokens_per_second: f64,
    pub total_ms: u64,
    pub cache_hit: bool,
    pub threads: u32,
}

/// The part of the machine a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Cpu,
    Memory,
    Disk,
    Network,
    Processes,
    Battery,
    Temperature,
    Overall,
}

/// One computed statement about the machine: the product's own words, never the model's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub topic: Topic,
    /// The dashboard's level for what this finding measures (`normal` when all is well).
    pub level: Level,
    /// Keys of the facts (in `Start::facts`) the sentence rests on.
    pub facts: Vec<String>,
    /// One sentence with the exact numbers, in English and in Japanese.
    pub en: String,
    pub ja: String,
    /// True when the finding says this Mac cannot measure it ("not measured on this Mac"), as
    /// opposed to "not measured yet" just after start-up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_measured: bool,
    /// What the user can do about it, when there is something to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<Advice>,
}

/// One practical step, in English and in Japanese; computed like the finding it follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    pub en: String,
    pub ja: String,
}

impl Finding {
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ja => &self.ja,
        }
    }

    pub fn advice_text(&self, lang: Lang) -> Option<&str> {
        self.advice.as_ref().map(|a| match lang {
            Lang::En => a.en.as_str(),
            Lang::Ja => a.ja.as_str(),
        })
    }
}

/// Whether the model's explanation follows the diagnosis, and if not, why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Explanation {
    /// Tokens from this model follow.
    Model { model: String },
    /// The loaded model does not write the question's language: the diagnosis is the answer.
    /// `pull_command` installs a model that does.
    LanguageNotSupported {
        model: String,
        language: Lang,
        pull_command: String,
    },
    /// No model is loaded (missing, corrupt or turned off): the diagnosis is the answer.
    ModelUnavailable { code: String, message: String },
    /// The model's queue is full: the diagnosis is the answer; ask again for an explanation.
    Busy,
    /// Nothing the question is about is measured on this Mac: a model would only guess, so
    /// the diagnosis (which says so) is the answer.
    NotMeasured,
}

impl Explanation {
    /// True when model tokens follow this event.
    pub fn follows(&self) -> bool {
        matches!(self, Explanation::Model { .. })
    }
}

/// The events of one answer, in order: `Start`, `Diagnosis`, `Token`*, then `Done` or `Error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    Start {
        intents: Vec<String>,
        facts: Vec<Fact>,
        language: String,
    },
    /// The computed findings, worst first, before any model token; `snapshot` is the sample
    /// their numbers come from.
    Diagnosis {
        findings: Vec<Finding>,
        explanation: Explanation,
        snapshot: Box<Snapshot>,
    },
    Token {
        text: String,
    },
    Done {
        answer: String,
        stop: StopReason,
        /// True when the deadline or a cap ended the answer before the model did.
        cut: bool,
        timings: Timings,
        /// Numbers in `answer`, as written there, that match no measured fact.
        #[serde(default)]
        unverified: Vec<String>,
    },
    Error {
        code: String,
        message: String,
    },
}

/// Whether chat works, shown by the UI before anyone asks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssistantStatus {
    pub ready: bool,
    pub model: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
}
