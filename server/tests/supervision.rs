//! Supervision, proven by breaking things on purpose (`--features fault-hooks`): a sampler that
//! panics is restarted, a stuck one turns `/healthz` to 503, and a dead inference thread is
//! reported as such (status, `/healthz`, the chat stream) instead of looking ready.
//!
//! `cargo test --release -p server --features fault-hooks --test supervision`

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::chat::{AssistantStatus, ChatEvent, Explanation};
use app::error::{ErrorBody, ErrorCode};
use mac_status::{
    engine::{Engine, EngineConfig},
    faults::{self, Fault},
    routes::router,
};

mod common;

const INTERVAL: Duration = Duration::from_millis(100);

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let resp = ureq::get(&format!("http://{addr}{path}"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("the host answers");
    let status = resp.status().as_u16();
    (status, resp.into_body().read_to_string().unwrap())
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn chat(addr: SocketAddr, question: &str) -> Vec<ChatEvent> {
    let body = serde_json::json!({ "question": question }).to_string();
    let resp = ureq::post(&format!("http://{addr}/api/v1/chat"))
        .header("content-type", "application/json")
        .send(&body)
        .expect("chat answers 200");
    BufReader::new(resp.into_body().into_reader())
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            l.strip_prefix("data: ")
                .map(|d| serde_json::from_str(d).unwrap())
        })
        .collect()
}

/// One test: the faults are process-wide switches, so the steps must not run side by side.
#[test]
fn a_failing_sampler_restarts_and_a_dead_engine_is_reported() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let metrics = common::metrics(INTERVAL);
    let engine = Engine::load(EngineConfig::new(common::model_path())).expect("the model loads");
    let assistant = common::assistant(Ok(engine), &metrics);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = common::state(assistant.clone(), metrics.clone(), &addr.to_string());
    rt.spawn(async move { axum::serve(listener, router(state)).await });

    assert_eq!(get(addr, "/healthz"), (200, "ok".to_string()));

    // 1. A sample panics: the sampler starts afresh and snapshots keep coming.
    faults::arm(Fault::SamplerPanic);
    wait_for("the sampler restart", Duration::from_secs(10), || {
        metrics.sampler_restarts() == 1
    });
    let after_restart = metrics.latest().taken_at_ms;
    wait_for(
        "a snapshot after the restart",
        Duration::from_secs(10),
        || metrics.latest().taken_at_ms > after_restart,
    );
    assert_eq!(
        get(addr, "/healthz").0,
        200,
        "a restarted sampler is healthy"
    );

    // 2. The sampler hangs: after three intervals `/healthz` says so, with the reason.
    faults::arm(Fault::SamplerStall);
    wait_for("/healthz to turn 503", Duration::from_secs(10), || {
        get(addr, "/healthz").0 == 503
    });
    let (_, body) = get(addr, "/healthz");
    let body: ErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(body.code, ErrorCode::StaleMetrics);
    assert!(body.error.contains("stale"), "{}", body.error);
    assert!(metrics.age() > INTERVAL * 3);
    faults::clear(Fault::SamplerStall);
    wait_for("/healthz to recover", Duration::from_secs(10), || {
        get(addr, "/healthz").0 == 200
    });

    // 3. The inference thread dies holding a question: the answer ends with an error event
    //    naming it, the assistant stops saying ready, `/healthz` turns 503.
    let status: AssistantStatus = assistant.status();
    assert!(status.ready, "{status:?}");
    faults::arm(Fault::EngineThreadDeath);
    let events = chat(addr, "Why is my Mac slow?");
    match events.last() {
        Some(ChatEvent::Error { code, message }) => {
            assert_eq!(*code, ErrorCode::EngineStopped);
            assert!(message.contains("restart"), "{message}");
        }
        other => panic!("the answer must end with an error event, got {other:?}"),
    }
    let status = assistant.status();
    assert!(!status.ready);
    assert_eq!(status.error_code, Some(ErrorCode::EngineStopped));
    let (code, body) = get(addr, "/healthz");
    assert_eq!(code, 503);
    let body: ErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(body.code, ErrorCode::EngineStopped);

    // The next question still gets its diagnosis, saying why the model did not explain.
    let events = chat(addr, "Why is my Mac slow?");
    let explanation = events.iter().find_map(|e| match e {
        ChatEvent::Diagnosis { explanation, .. } => Some(explanation.clone()),
        _ => None,
    });
    match explanation {
        Some(Explanation::ModelUnavailable { code, .. }) => {
            assert_eq!(code, ErrorCode::EngineStopped)
        }
        other => panic!("expected the diagnosis without the model, got {other:?}"),
    }
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
}
