//! The real router, driven in-process with `tower::ServiceExt::oneshot`, over a real collector.

use std::time::Duration;

use app::chat::{ChatEvent, Explanation, StopReason};
use app::error::ErrorCode;
use app::model::Snapshot;
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use mac_status::{
    engine::{Engine, EngineConfig},
    routes::router,
    state::AppState,
};
use tower::ServiceExt;

mod common;

/// A host whose model file does not exist: the dashboard must work regardless.
fn state() -> AppState {
    let metrics = common::metrics(Duration::from_millis(100));
    let engine = Engine::load(EngineConfig::new("/nonexistent/model.gguf"));
    common::state(
        common::assistant(engine, &metrics),
        metrics,
        "127.0.0.1:3000",
    )
}

fn app() -> Router {
    router(state())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, "127.0.0.1:3000")
        .body(Body::empty())
        .unwrap()
}

async fn body_text(res: axum::response::Response) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn json(res: axum::response::Response) -> serde_json::Value {
    serde_json::from_str(&body_text(res).await).unwrap()
}

#[tokio::test]
async fn healthz_answers_ok() {
    let res = app().oneshot(get("/healthz")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "ok");
}

#[tokio::test]
async fn status_is_a_real_snapshot_without_command_lines() {
    let res = app().oneshot(get("/api/v1/status")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = body_text(res).await;
    let snap: Snapshot = serde_json::from_str(&text).unwrap();
    assert!(snap.host.logical_cores > 0);
    assert!(snap.memory.total_bytes > 0);
    assert!(snap.taken_at_ms > 1_600_000_000_000);
    assert!(!snap.processes.by_cpu.is_empty());
    // The process records carry exactly pid/name/cpu/memory: no `cmd`, `exe`, `environ`.
    for banned in ["\"cmd\"", "\"exe\"", "\"environ\"", "\"cwd\""] {
        assert!(
            !text.contains(banned),
            "{banned} leaked into the status JSON"
        );
    }
}

#[tokio::test]
async fn history_honours_minutes_and_rejects_bad_queries() {
    let app = app();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let res = app
        .clone()
        .oneshot(get("/api/v1/history?minutes=5"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = json(res).await;
    assert_eq!(body["minutes"], 5);
    assert!(body["points"].as_array().unwrap().len() >= 2, "{body}");

    for bad in ["minutes=abc", "minutes=-1", "minutes=0", "minutes=100000"] {
        let res = app
            .clone()
            .oneshot(get(&format!("/api/v1/history?{bad}")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body = json(res).await;
        assert!(
            body["error"].as_str().unwrap().contains("minutes"),
            "{bad}: {body}"
        );
        assert_eq!(body["code"], "bad_query", "{bad}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let app = app();
    let res = app.clone().oneshot(get("/api/v1/nope")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = json(res).await;
    assert_eq!(body["error"], "no such API route");
    assert_eq!(body["code"], "not_found");
    let res = app.oneshot(get("/no/such/page")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let app = app();
    let rebinding = Request::get("/api/v1/status")
        .header(header::HOST, "attacker.example:3000")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(rebinding).await.unwrap();
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(json(res).await["code"], "bad_host");

    // Loopback is not enough: the host and port this server is bound to, well formed.
    for host in [
        "127.0.0.1:3001",
        "[::1]junk",
        "127.0.0.1",
        "localhost:3000x",
    ] {
        let req = Request::get("/api/v1/status")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
    let by_name = Request::get("/api/v1/status")
        .header(header::HOST, "localhost:3000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(by_name).await.unwrap().status(),
        StatusCode::OK
    );

    let cross = Request::get("/api/v1/status")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(cross).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(res).await["code"], "cross_origin");

    let same = Request::get("/api/v1/status")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(same).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn the_page_is_server_rendered_with_live_numbers() {
    let res = app().oneshot(get("/")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = body_text(res).await;
    assert!(html.contains("<title>Mac Status</title>"), "{html}");
    assert!(html.contains("id=\"cpu-total\""));
    assert!(html.contains("id=\"process-table\""));
    // A number with a percent sign was rendered for memory, not a placeholder.
    let mem = html.split("id=\"memory-used\"").nth(1).unwrap();
    let text = mem.split('>').nth(1).unwrap().split('<').next().unwrap();
    assert!(text.ends_with('%') && text.len() > 1, "{mem:.80}");
}

#[tokio::test]
async fn page_language_follows_accept_language() {
    let req = Request::get("/")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ACCEPT_LANGUAGE, "ja-JP,ja;q=0.9,en;q=0.5")
        .body(Body::empty())
        .unwrap();
    let html = body_text(app().oneshot(req).await.unwrap()).await;
    assert!(html.contains("メモリ"), "Japanese labels expected");
    assert!(
        html.contains(">English<"),
        "toggle offers the other language"
    );
}

#[tokio::test]
async fn dashboard_server_function_answers_over_http() {
    let req = Request::post("/api/fn/dashboard")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let res = app().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = json(res).await;
    assert!(body["snapshot"]["host"]["logical_cores"].as_u64().unwrap() > 0);
    assert_eq!(body["lang"], "en");
}

#[tokio::test]
async fn stream_pushes_snapshots_and_ends_on_shutdown() {
    let state = state();
    let shutdown = state.shutdown.clone();
    // `oneshot` drops the router; the collector must outlive it as it does in the binary.
    let _hub = state.metrics.clone();
    let res = router(state).oneshot(get("/api/v1/stream")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = res.into_body();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a snapshot within 5 s")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            let text = String::from_utf8(data.to_vec()).unwrap();
            if let Some(json) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
                let snap: Snapshot = serde_json::from_str(json).unwrap();
                seen.push(snap.taken_at_ms);
            }
        }
    }
    assert!(seen[1] > seen[0], "each event is a new sample: {seen:?}");
    shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(f) = body.frame().await {
            f.unwrap();
        }
    })
    .await;
    assert!(end.is_ok(), "stream must end after shutdown");
}

#[tokio::test]
async fn chat_without_a_model_answers_with_the_diagnosis_and_says_why() {
    let app = app();
    let req = Request::post("/api/v1/chat")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"question": "Why is my Mac slow?"}"#))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = body_text(res).await;
    let events: Vec<ChatEvent> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("event"))
        .collect();
    assert!(matches!(events[0], ChatEvent::Start { .. }), "{events:?}");
    let ChatEvent::Diagnosis {
        findings,
        explanation,
        ..
    } = &events[1]
    else {
        panic!("diagnosis second: {events:?}");
    };
    assert!(!findings.is_empty());
    match explanation {
        Explanation::ModelUnavailable { code, message } => {
            assert_eq!(*code, ErrorCode::ModelMissing);
            assert!(message.contains("/nonexistent/model.gguf"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let ChatEvent::Done { answer, stop, .. } = &events[2] else {
        panic!("{events:?}");
    };
    assert_eq!(*stop, StopReason::DiagnosisOnly);
    assert_eq!(answer.lines().count(), findings.len());
    let first = mac_status::chat::diagnosis::line(&findings[0], app::i18n::Lang::En);
    assert_eq!(answer.lines().next(), Some(first.as_str()));
    assert_eq!(events.len(), 3, "no model tokens");

    let html = body_text(app.clone().oneshot(get("/")).await.unwrap()).await;
    assert!(html.contains("id=\"cpu-total\""));
    assert!(
        html.contains("model_missing") || html.contains("model file not found"),
        "the UI names the problem"
    );
}

#[tokio::test]
async fn malformed_and_oversized_chat_requests_are_clear_4xx() {
    let app = app();
    let post = |body: String, ct: &str| {
        Request::post("/api/v1/chat")
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::CONTENT_TYPE, ct.to_string())
            .body(Body::from(body))
            .unwrap()
    };
    let res = app
        .clone()
        .oneshot(post("{not json".into(), "application/json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(json(res).await["error"]
        .as_str()
        .unwrap()
        .contains("question"));

    let res = app
        .clone()
        .oneshot(post(r#"{"question": 5}"#.into(), "application/json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(res).await["code"], "bad_body");

    let res = app
        .clone()
        .oneshot(post(r#"{"question": "hi"}"#.into(), "text/plain"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json(res).await["code"], "bad_body");

    let res = app
        .clone()
        .oneshot(post(r#"{"question": "   "}"#.into(), "application/json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(res).await["code"], "empty_question");

    let long = format!(r#"{{"question": "{}"}}"#, "a".repeat(2000));
    let res = app
        .clone()
        .oneshot(post(long, "application/json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(res).await["code"], "question_too_long");

    // Refused while reading the body, and, with a declared length, before reading it: the
    // same answer either way.
    let huge = format!(r#"{{"question": "{}"}}"#, "a".repeat(100_000));
    let mut declared = post(huge.clone(), "application/json");
    declared
        .headers_mut()
        .insert(header::CONTENT_LENGTH, huge.len().into());
    for req in [post(huge, "application/json"), declared] {
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body = json(res).await;
        assert_eq!(body["code"], "body_too_large", "{body}");
        assert!(body["error"].as_str().unwrap().contains("65536"), "{body}");
    }
}

#[tokio::test]
async fn profile_and_metrics_are_served() {
    let app = app();
    let res = app.clone().oneshot(get("/api/v1/profile")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = json(res).await;
    assert!(body["profile"]["threads"].as_u64().unwrap() >= 1);
    assert!(!body["reasons"].as_array().unwrap().is_empty());
    let res = app.oneshot(get("/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = body_text(res).await;
    assert!(
        text.contains("# TYPE mac_status_chat_cache_hits counter"),
        "{text}"
    );
    assert!(
        text.contains("mac_status_chat_time_to_first_token_seconds_count 0"),
        "{text}"
    );
}
