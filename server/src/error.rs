//! The one HTTP error type. Every refusal — a bad query or body, an unknown API route, a
//! malformed question, a foreign `Host` or `Origin`, an oversized body — answers with its status
//! and the same body, `{"error": "…", "code": "…"}` ([`app::error::ErrorBody`]).

use axum::{
    extract::rejection::{JsonRejection, QueryRejection},
    extract::Request,
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use thiserror::Error;

use app::error::{ErrorBody, ErrorCode};

use crate::chat::AskError;
use crate::security::Rejection;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("bad query: {0}")]
    BadQuery(String),
    #[error("bad request body: {detail} (expected {{\"question\": \"...\", \"strategy\": \"speed|balanced|quality\"}})")]
    BadBody { status: StatusCode, detail: String },
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("no such API route")]
    NotFound,
    #[error(transparent)]
    Ask(#[from] AskError),
    #[error(transparent)]
    Refused(#[from] Rejection),
    #[error("metrics are stale: the newest snapshot is {age_ms} ms old (the sampler is stuck)")]
    StaleMetrics { age_ms: u64 },
    #[error("the model engine has stopped: chat answers come without the model until a restart")]
    EngineStopped,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadQuery(_) | ApiError::Ask(_) => StatusCode::BAD_REQUEST,
            ApiError::BadBody { status, .. } => *status,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Refused(Rejection::BadHost) => StatusCode::MISDIRECTED_REQUEST,
            ApiError::Refused(Rejection::CrossOrigin) => StatusCode::FORBIDDEN,
            ApiError::StaleMetrics { .. } | ApiError::EngineStopped => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadQuery(_) => ErrorCode::BadQuery,
            ApiError::BadBody { .. } => ErrorCode::BadBody,
            ApiError::BodyTooLarge { .. } => ErrorCode::BodyTooLarge,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::Ask(e) => e.code(),
            ApiError::Refused(Rejection::BadHost) => ErrorCode::BadHost,
            ApiError::Refused(Rejection::CrossOrigin) => ErrorCode::CrossOrigin,
            ApiError::StaleMetrics { .. } => ErrorCode::StaleMetrics,
            ApiError::EngineStopped => ErrorCode::EngineStopped,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.to_string(),
            code: self.code(),
        };
        (self.status(), Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::BodyTooLarge {
                limit: crate::routes::MAX_BODY_BYTES,
            };
        }
        ApiError::BadBody {
            status: e.status(),
            detail: e.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadQuery(e.body_text())
    }
}

/// The body-limit layer answers an oversized body with a bare 413; this gives it the API's
/// error body like every other refusal.
pub async fn json_body_limit(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::BodyTooLarge {
            limit: crate::routes::MAX_BODY_BYTES,
        }
        .into_response();
    }
    res
}
