//! `/api/v1/*` and `/healthz`: JSON for scripts, SSE for the live page.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::chat::{ChatEvent, ChatRequest};
use app::error::ErrorCode;
use app::model::{HistoryPoint, Snapshot};
use axum::{
    extract::{
        rejection::{JsonRejection, QueryRejection},
        Query, State,
    },
    http::header,
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Json,
};
use futures::{stream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::WatchStream;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use app::history::{Format, Range, MAX_POINTS};

/// How long a browser waits before reconnecting a dropped stream.
const RETRY: Duration = Duration::from_secs(2);
/// Longest history window served (the ring holds a bit more).
pub const MAX_HISTORY_MINUTES: u32 = 60;

/// `ok`, or 503 with the reason when the host is up but not doing its job: the snapshot is
/// older than three sampling intervals, or a loaded model's engine thread has died. (No model
/// at all is a chosen mode, not a fault.)
pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.metrics.is_stale() {
        let age_ms = u64::try_from(state.metrics.age().as_millis()).unwrap_or(u64::MAX);
        return Err(ApiError::StaleMetrics { age_ms });
    }
    if state.assistant.engine_stopped() {
        return Err(ApiError::EngineStopped);
    }
    Ok("ok")
}

pub async fn status(State(state): State<AppState>) -> Json<Snapshot> {
    Json((*state.metrics.latest()).clone())
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    minutes: Option<u32>,
    range: Option<Range>,
    format: Option<Format>,
    /// At most this many points (`range=` only): neighbours merged, extremes kept.
    points: Option<usize>,
}

/// `?minutes=N`: the ring's own points, as before `range=` existed.
#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryResponse {
    pub minutes: u32,
    pub resolution_ms: u64,
    pub points: Vec<HistoryPoint>,
}

const HISTORY_USAGE: &str = "expected ?range=10m|1h|24h|7d|90d (optionally points=2..5000) \
     or ?minutes=1..60, and optionally format=json|csv";

/// `?range=10m|1h|24h|7d|90d` ([`RangeHistory`](app::history::RangeHistory): min/mean/max
/// buckets at the range's resolution), or `?minutes=N` (the ring's points, the older shape);
/// `format=csv` for either as a CSV download.
pub async fn history(
    State(state): State<AppState>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::BadQuery(format!("{} ({HISTORY_USAGE})", e.body_text())))?;
    let format = q.format.unwrap_or_default();
    if let Some(range) = q.range {
        if q.minutes.is_some() {
            return Err(ApiError::BadQuery(format!(
                "give range= or minutes=, not both ({HISTORY_USAGE})"
            )));
        }
        let mut answer = state.history.range(range, &state.metrics).await;
        if let Some(n) = q.points {
            if !(2..=MAX_POINTS).contains(&n) {
                return Err(ApiError::BadQuery(format!(
                    "points must be between 2 and {MAX_POINTS}, got {n}"
                )));
            }
            answer = answer.downsample(n);
        }
        return Ok(match format {
            Format::Json => Json(answer).into_response(),
            Format::Csv => csv_download(&app::wire::name(&range), &answer.points),
        });
    }
    if q.points.is_some() {
        return Err(ApiError::BadQuery(format!(
            "points= goes with range= ({HISTORY_USAGE})"
        )));
    }
    let minutes = q.minutes.unwrap_or(10);
    if !(1..=MAX_HISTORY_MINUTES).contains(&minutes) {
        return Err(ApiError::BadQuery(format!(
            "minutes must be between 1 and {MAX_HISTORY_MINUTES}, got {minutes}"
        )));
    }
    let points = state
        .metrics
        .history(Duration::from_secs(u64::from(minutes) * 60));
    Ok(match format {
        Format::Json => Json(HistoryResponse {
            minutes,
            resolution_ms: state.metrics.config().history_resolution.as_millis() as u64,
            points,
        })
        .into_response(),
        Format::Csv => {
            let buckets: Vec<_> = points.iter().map(store::aggregate::from_point).collect();
            csv_download(&format!("{minutes}m"), &buckets)
        }
    })
}

fn csv_download(name: &str, points: &[app::history::Bucket]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mac-status-history-{name}.csv\""),
            ),
        ],
        store::csv::render(points),
    )
        .into_response()
}

/// Live snapshots as Server-Sent Events: the current one at once, then each new sample.
/// Ends when the host shuts down, so graceful shutdown never waits on an open tab.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let snapshots = WatchStream::new(state.metrics.subscribe());
    let snapshots = snapshots.filter_map(|snap| async move {
        match Event::default().json_data(&*snap) {
            Ok(ev) => Some(Ok(ev.retry(RETRY))),
            Err(err) => {
                tracing::error!(%err, "cannot encode a snapshot");
                None
            }
        }
    });
    // Alerts as named events (`event: alert`): a page's `onmessage` sees only snapshots. The
    // page counts as open (no system notification) while this stream lives.
    let (alerts, page) = state.alerts.subscribe();
    let alerts = tokio_stream::wrappers::BroadcastStream::new(alerts).filter_map(move |ev| {
        let _page = &page;
        let ev = ev
            .ok()
            .and_then(|ev| Event::default().event("alert").json_data(&ev).ok());
        async move { ev.map(Ok) }
    });
    let events =
        futures::stream::select(snapshots, alerts).take_until(state.shutdown.cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// `GET /api/v1/alerts`: open alerts, then ended ones, newest first.
pub async fn alerts(State(state): State<AppState>) -> Json<AlertList> {
    Json(AlertList {
        alerts: state.alerts.list(),
    })
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AlertList {
    pub alerts: Vec<app::alert::Alert>,
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn profile(State(state): State<AppState>) -> Json<app::profile::ProfileReport> {
    Json(state.assistant.profile().clone())
}

/// OpenMetrics text: chat timings and outcomes, then the machine's readings from the newest
/// snapshot (`exporter`). Building the collector per scrape costs a pointer copy and one small
/// allocation, and keeps `AppState` free of a second handle on the same snapshot.
pub async fn prometheus(State(state): State<AppState>) -> Response {
    let exposition = crate::exporter::Exposition::new(crate::exporter::HostCollector::live(
        state.metrics.clone(),
    ));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        exposition.encode(state.assistant.telemetry()),
    )
        .into_response()
}

/// `POST /api/v1/chat`: the answer as Server-Sent Events — `start` (intents and facts),
/// `diagnosis` (the computed findings), the model's `token`s as they are produced, then `done`
/// (or `error`). Closing the connection stops generation and frees the engine.
pub async fn chat(
    State(state): State<AppState>,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match state.assistant.ask(req) {
        Ok(events) => {
            let events = until_shutdown(events, state.shutdown.clone()).map(|ev| {
                Ok::<_, Infallible>(
                    Event::default()
                        .json_data(&ev)
                        .unwrap_or_else(|_| Event::default().data("{}")),
                )
            });
            Sse::new(events)
                .keep_alive(KeepAlive::default())
                .into_response()
        }
        // Only a malformed question is refused; a missing model or a full queue still gets
        // the computed diagnosis, streamed.
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The answer's events until the host begins to stop; an answer the stop cuts short ends with
/// an `error` event (`shutting_down`) instead of a silently closed stream, so the client can
/// tell "the host went away, ask again" from a network failure. Graceful shutdown then waits
/// for nothing: the engine notices the dropped request at its next token.
fn until_shutdown(
    events: impl Stream<Item = ChatEvent> + Send + 'static,
    shutdown: CancellationToken,
) -> impl Stream<Item = ChatEvent> + Send + 'static {
    let finished = Arc::new(AtomicBool::new(false));
    let seen = finished.clone();
    let stopping = shutdown.clone();
    events
        .inspect(move |ev| {
            if matches!(ev, ChatEvent::Done { .. } | ChatEvent::Error { .. }) {
                seen.store(true, Ordering::SeqCst);
            }
        })
        .take_until(shutdown.cancelled_owned())
        .chain(
            stream::once(async move {
                (stopping.is_cancelled() && !finished.load(Ordering::SeqCst)).then(|| {
                    ChatEvent::Error {
                        code: ErrorCode::ShuttingDown,
                        message: "the host is shutting down; this answer was cut short — ask \
                                  again once it is back"
                            .into(),
                    }
                })
            })
            .filter_map(futures::future::ready),
        )
}
