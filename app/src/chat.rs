//! Wire types of the chat: the request, the streamed events, the facts and timings.

use serde::{Deserialize, Serialize};

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

/// The events of one answer, in order: `Start`, `Token`*, then `Done` or `Error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    Start {
        intents: Vec<String>,
        facts: Vec<Fact>,
        language: String,
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
