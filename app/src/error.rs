//! The one error body of the HTTP API, `{"error": "…", "code": "…"}`, and the codes it carries.
//! Chat `error` events and the assistant's status use the same codes.

use serde::{Deserialize, Serialize};

/// Machine-readable reason, stable across releases (scripts and tests match on it).
/// Deserialised by name through [`crate::wire`] (smaller WASM than a derived deserializer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // Requests.
    /// A query string that does not parse or is out of range.
    BadQuery,
    /// A request body that is not the expected JSON.
    BadBody,
    /// A body over the size limit.
    BodyTooLarge,
    EmptyQuestion,
    QuestionTooLong,
    NotFound,
    /// `Host` is not one of this host's loopback names (DNS rebinding).
    BadHost,
    /// `Origin` or `Sec-Fetch-Site` says another site sent it.
    CrossOrigin,
    // The model.
    ModelMissing,
    ModelCorrupt,
    QueueFull,
    EngineNotBuilt,
    ModelDisabled,
    ContextOverflow,
    /// The inference thread died; answers come without the model until a restart.
    EngineStopped,
    EngineInternal,
    // The host.
    /// The newest metrics are older than three sampling intervals (`/healthz`).
    StaleMetrics,
    /// The host is stopping (SIGTERM, Ctrl-C): the last event of an answer it cut short.
    ShuttingDown,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::BadQuery,
        ErrorCode::BadBody,
        ErrorCode::BodyTooLarge,
        ErrorCode::EmptyQuestion,
        ErrorCode::QuestionTooLong,
        ErrorCode::NotFound,
        ErrorCode::BadHost,
        ErrorCode::CrossOrigin,
        ErrorCode::ModelMissing,
        ErrorCode::ModelCorrupt,
        ErrorCode::QueueFull,
        ErrorCode::EngineNotBuilt,
        ErrorCode::ModelDisabled,
        ErrorCode::ContextOverflow,
        ErrorCode::EngineStopped,
        ErrorCode::EngineInternal,
        ErrorCode::StaleMetrics,
        ErrorCode::ShuttingDown,
    ];
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::wire::deserialize_by_name(d, ErrorCode::ALL)
    }
}

/// Every error response of `/api/v1/*` and of the request guard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// For people: what went wrong and what would work.
    pub error: String,
    pub code: ErrorCode,
}
