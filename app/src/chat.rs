//! Wire types of the chat: the request, the streamed events, the facts and timings.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
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
    pub const ALL: [Strategy; 3] = [Strategy::Speed, Strategy::Balanced, Strategy::Quality];

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

/// `"speed"` → `Strategy::Speed`, by the serde name (for `<select>` values and flags).
impl std::str::FromStr for Strategy {
    type Err = serde::de::value::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::wire::parse(s)
    }
}

/// One earlier exchange, sent back by the client so the host stays stateless.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub question: String,
    pub answer: String,
    /// The findings that answer was given (its `diagnosis` event). With them the host renders
    /// the earlier turn exactly as it prompted it then, so a follow-up reuses the model's cache
    /// for the whole earlier exchange instead of only the system prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
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
    /// Whether the answer cache may serve (and keep) this answer. Only benchmarks bypass it, to
    /// time the model on every run.
    #[serde(default, skip_serializing_if = "CacheMode::is_use")]
    pub cache: CacheMode,
}

/// See [`ChatRequest::cache`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    #[default]
    Use,
    Bypass,
}

impl CacheMode {
    fn is_use(&self) -> bool {
        *self == CacheMode::Use
    }
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

impl Topic {
    /// In the order facts appear in the prompt.
    pub const ALL: [Topic; 8] = [
        Topic::Cpu,
        Topic::Memory,
        Topic::Disk,
        Topic::Network,
        Topic::Processes,
        Topic::Battery,
        Topic::Temperature,
        Topic::Overall,
    ];
}

/// What a question is about: a part of the machine, or the `Urgent` flag (the user wants a
/// fast answer: shorter cap, tighter deadline). On the wire a topic's name or `"urgent"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Intent {
    About(Topic),
    Urgent,
}

impl Intent {
    /// Topics first (in `Topic` order), then `Urgent`.
    pub fn all() -> impl Iterator<Item = Intent> {
        Topic::ALL
            .into_iter()
            .map(Intent::About)
            .chain([Intent::Urgent])
    }

    /// The part of the machine this intent names; `None` for the `Urgent` flag.
    pub fn topic(self) -> Option<Topic> {
        match self {
            Intent::About(t) => Some(t),
            Intent::Urgent => None,
        }
    }
}

impl From<Topic> for Intent {
    fn from(t: Topic) -> Self {
        Intent::About(t)
    }
}

/// The wire name of the `Urgent` flag; topics use their own.
const URGENT: &str = "urgent";

impl Serialize for Intent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Intent::About(t) => t.serialize(s),
            Intent::Urgent => s.serialize_str(URGENT),
        }
    }
}

impl<'de> Deserialize<'de> for Intent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::wire::deserialize_by_name(d, Intent::all())
    }
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
    ModelUnavailable { code: ErrorCode, message: String },
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
        intents: Vec<Intent>,
        facts: Vec<Fact>,
        /// The language of the answer (the question's script decides).
        language: Lang,
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
        code: ErrorCode,
        message: String,
    },
}

impl ChatEvent {
    /// One event of the stream, as `serde_json::from_str` reads it, without serde's buffering
    /// of an internally tagged enum: the tag first, then the variant's fields from the same
    /// text. In the WASM, the buffered way compiled every type inside (the whole `Snapshot`)
    /// a second time (tens of KB); this reuses the plain JSON readers the page has anyway.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Tag {
            r#type: String,
        }
        #[derive(Deserialize)]
        struct Start {
            intents: Vec<Intent>,
            facts: Vec<Fact>,
            language: Lang,
        }
        #[derive(Deserialize)]
        struct Diagnosis {
            findings: Vec<Finding>,
            explanation: Explanation,
            snapshot: Box<Snapshot>,
        }
        #[derive(Deserialize)]
        struct Token {
            text: String,
        }
        #[derive(Deserialize)]
        struct Done {
            answer: String,
            stop: StopReason,
            cut: bool,
            timings: Timings,
            #[serde(default)]
            unverified: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Error {
            code: ErrorCode,
            message: String,
        }
        Ok(match serde_json::from_str::<Tag>(text)?.r#type.as_str() {
            "start" => {
                let Start {
                    intents,
                    facts,
                    language,
                } = serde_json::from_str(text)?;
                ChatEvent::Start {
                    intents,
                    facts,
                    language,
                }
            }
            "diagnosis" => {
                let Diagnosis {
                    findings,
                    explanation,
                    snapshot,
                } = serde_json::from_str(text)?;
                ChatEvent::Diagnosis {
                    findings,
                    explanation,
                    snapshot,
                }
            }
            "token" => ChatEvent::Token {
                text: serde_json::from_str::<Token>(text)?.text,
            },
            "done" => {
                let Done {
                    answer,
                    stop,
                    cut,
                    timings,
                    unverified,
                } = serde_json::from_str(text)?;
                ChatEvent::Done {
                    answer,
                    stop,
                    cut,
                    timings,
                    unverified,
                }
            }
            "error" => {
                let Error { code, message } = serde_json::from_str(text)?;
                ChatEvent::Error { code, message }
            }
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["start", "diagnosis", "token", "done", "error"],
                ))
            }
        })
    }
}

/// Whether chat works, shown by the UI before anyone asks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssistantStatus {
    pub ready: bool,
    pub model: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<ErrorCode>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorBody;
    use crate::wire;

    /// The JSON of the stream and the status is the public API: enums inside must keep the
    /// spellings clients already read.
    #[test]
    fn typed_fields_keep_their_json() {
        let start = ChatEvent::Start {
            intents: vec![Intent::About(Topic::Cpu), Intent::Urgent],
            facts: vec![],
            language: Lang::Ja,
        };
        assert_eq!(
            serde_json::to_value(&start).unwrap(),
            json!({"type": "start", "intents": ["cpu", "urgent"], "facts": [], "language": "ja"})
        );
        let error = ChatEvent::Error {
            code: ErrorCode::QueueFull,
            message: "busy".into(),
        };
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"type": "error", "code": "queue_full", "message": "busy"})
        );
        let status = AssistantStatus {
            ready: false,
            model: None,
            error: Some("gone".into()),
            error_code: Some(ErrorCode::ModelMissing),
        };
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            json!({"ready": false, "model": null, "error": "gone", "error_code": "model_missing"})
        );
        let off = Explanation::ModelUnavailable {
            code: ErrorCode::ModelCorrupt,
            message: "m".into(),
        };
        assert_eq!(
            serde_json::to_value(&off).unwrap(),
            json!({"kind": "model_unavailable", "code": "model_corrupt", "message": "m"})
        );
        assert!(serde_json::from_str::<Intent>(r#""speed""#).is_err());
        for i in Intent::all() {
            let back: Intent = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
            assert_eq!(back, i);
        }
        for ev in [start, error] {
            let back: ChatEvent =
                serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
            assert_eq!(back, ev);
        }
    }

    #[test]
    fn every_intent_and_error_code_is_spelled_as_documented() {
        let intents: Vec<String> = Intent::all().map(|i| wire::name(&i)).collect();
        assert_eq!(
            intents,
            [
                "cpu",
                "memory",
                "disk",
                "network",
                "processes",
                "battery",
                "temperature",
                "overall",
                "urgent"
            ]
        );
        let codes = [
            (ErrorCode::BadQuery, "bad_query"),
            (ErrorCode::BadBody, "bad_body"),
            (ErrorCode::BodyTooLarge, "body_too_large"),
            (ErrorCode::EmptyQuestion, "empty_question"),
            (ErrorCode::QuestionTooLong, "question_too_long"),
            (ErrorCode::NotFound, "not_found"),
            (ErrorCode::BadHost, "bad_host"),
            (ErrorCode::CrossOrigin, "cross_origin"),
            (ErrorCode::ModelMissing, "model_missing"),
            (ErrorCode::ModelCorrupt, "model_corrupt"),
            (ErrorCode::QueueFull, "queue_full"),
            (ErrorCode::EngineNotBuilt, "engine_not_built"),
            (ErrorCode::ModelDisabled, "model_disabled"),
            (ErrorCode::ContextOverflow, "context_overflow"),
            (ErrorCode::EngineStopped, "engine_stopped"),
            (ErrorCode::EngineInternal, "engine_internal"),
            (ErrorCode::StaleMetrics, "stale_metrics"),
            (ErrorCode::ShuttingDown, "shutting_down"),
        ];
        for (code, name) in codes {
            assert_eq!(wire::name(&code), name);
            let back: ErrorCode = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(back, code);
        }
        // A new variant does not compile here until it is listed above (and so in `ALL`).
        let listed = |c: ErrorCode| match c {
            ErrorCode::BadQuery
            | ErrorCode::BadBody
            | ErrorCode::BodyTooLarge
            | ErrorCode::EmptyQuestion
            | ErrorCode::QuestionTooLong
            | ErrorCode::NotFound
            | ErrorCode::BadHost
            | ErrorCode::CrossOrigin
            | ErrorCode::ModelMissing
            | ErrorCode::ModelCorrupt
            | ErrorCode::QueueFull
            | ErrorCode::EngineNotBuilt
            | ErrorCode::ModelDisabled
            | ErrorCode::ContextOverflow
            | ErrorCode::EngineStopped
            | ErrorCode::EngineInternal
            | ErrorCode::StaleMetrics
            | ErrorCode::ShuttingDown => codes.iter().any(|(k, _)| *k == c),
        };
        assert!(ErrorCode::ALL.into_iter().all(listed));
        // `ALL` is what deserialisation searches: every code above must be in it.
        assert_eq!(ErrorCode::ALL.to_vec(), codes.map(|(c, _)| c).to_vec());
        assert!(serde_json::from_str::<ErrorCode>("\"nope\"").is_err());
        let body = ErrorBody {
            error: "no such API route".into(),
            code: ErrorCode::NotFound,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": "no such API route", "code": "not_found"})
        );
    }

    /// `ChatEvent::from_json` reads every event as the derived `Deserialize` does (the tag
    /// anywhere in the object, defaults, unknown fields), and refuses what it refuses.
    #[test]
    fn events_parse_from_json_as_serde_reads_them() {
        let snapshot = Snapshot {
            taken_at_ms: 42,
            ..Snapshot::default()
        };
        let events = [
            ChatEvent::Start {
                intents: vec![Intent::About(Topic::Cpu), Intent::Urgent],
                facts: vec![],
                language: Lang::Ja,
            },
            ChatEvent::Diagnosis {
                findings: vec![],
                explanation: Explanation::LanguageNotSupported {
                    model: "m".into(),
                    language: Lang::Ja,
                    pull_command: "ollama pull x".into(),
                },
                snapshot: Box::new(snapshot),
            },
            ChatEvent::Token { text: "CPU".into() },
            ChatEvent::Done {
                answer: "a".into(),
                stop: StopReason::Deadline,
                cut: true,
                timings: Timings::default(),
                unverified: vec!["9".into()],
            },
            ChatEvent::Error {
                code: ErrorCode::QueueFull,
                message: "busy".into(),
            },
        ];
        for ev in events {
            let text = serde_json::to_string(&ev).unwrap();
            assert_eq!(ChatEvent::from_json(&text).unwrap(), ev, "{text}");
        }
        let texts = [
            r#"{"text": "x", "type": "token", "extra": 1}"#,
            r#"{"type": "done", "answer": "", "stop": "cached", "cut": false, "timings": {"prompt_tokens": 0, "cached_tokens": 0, "generated_tokens": 0, "time_to_first_token_ms": 0, "tokens_per_second": 0.0, "total_ms": 0, "cache_hit": true, "threads": 0}}"#,
            r#"{"type": "diagnosis", "findings": [], "explanation": {"kind": "busy"}, "snapshot": {}}"#,
            r#"{"type": "nope"}"#,
            r#"{"text": "x"}"#,
            r#"{"type": "token"}"#,
            r#"{"type": "error", "code": "nope", "message": ""}"#,
            "[]",
            "",
        ];
        for text in texts {
            let derived = serde_json::from_str::<ChatEvent>(text).ok();
            assert_eq!(ChatEvent::from_json(text).ok(), derived, "{text}");
        }
    }

    #[test]
    fn the_cache_is_used_unless_a_request_bypasses_it() {
        let plain: ChatRequest = serde_json::from_str(r#"{"question": "q"}"#).unwrap();
        assert_eq!(plain.cache, CacheMode::Use);
        assert_eq!(serde_json::to_value(&plain).unwrap().get("cache"), None);
        let bench: ChatRequest =
            serde_json::from_str(r#"{"question": "q", "cache": "bypass"}"#).unwrap();
        assert_eq!(bench.cache, CacheMode::Bypass);
    }

    #[test]
    fn strategies_parse_from_their_wire_names() {
        for s in Strategy::ALL {
            assert_eq!(wire::name(&s).parse::<Strategy>().unwrap(), s);
        }
        assert!("fast".parse::<Strategy>().is_err());
    }
}
