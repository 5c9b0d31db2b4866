//! Chat end to end with the real default model, over real HTTP: a host on a loopback port,
//! `POST /api/v1/chat`, Server-Sent Events read as they arrive.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::chat::{ChatEvent, StopReason};
use server::{
    assistant::Assistant,
    engine::{Engine, EngineConfig},
    hardware, intent, leptos_options,
    metrics::{MetricsConfig, MetricsHub},
    optimizer::AnswerCache,
    prompt,
    routes::router,
    state::AppState,
};
use tokio_util::sync::CancellationToken;

fn model_path() -> PathBuf {
    let path = std::env::var_os("MAC_STATUS_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/SmolLM2-135M-Instruct-Q4_1.gguf")
        });
    assert!(
        path.exists(),
        "the default model is missing at {}: run scripts/fetch-model.sh",
        path.display()
    );
    path
}

/// One model at a time: five hosts decoding at once on two cores would measure contention.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Host {
    _turn: std::sync::MutexGuard<'static, ()>,
    addr: SocketAddr,
    engine: Engine,
    metrics: MetricsHub,
    _rt: tokio::runtime::Runtime,
}

/// A real host with the real model. The collector samples once a minute so the snapshot the
/// facts come from cannot change under the test.
fn host() -> Host {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let metrics = MetricsHub::start(MetricsConfig {
        interval: Duration::from_secs(60),
        ..MetricsConfig::default()
    });
    let profile = hardware::report(hardware::detect(), &Default::default()).unwrap();
    let engine = Engine::load(EngineConfig {
        n_threads: profile.profile.threads,
        ..EngineConfig::new(model_path())
    })
    .expect("the default model loads");
    let state = AppState {
        leptos_options: leptos_options(Path::new("target/site"), "127.0.0.1:0".parse().unwrap()),
        assistant: Assistant::new(
            Ok(engine.clone()),
            metrics.clone(),
            profile,
            AnswerCache::default(),
            Default::default(),
        ),
        metrics: metrics.clone(),
        build: "test".into(),
        shutdown: CancellationToken::new(),
    };
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, router(state)).await });
    Host {
        _turn: turn,
        addr,
        engine,
        metrics,
        _rt: rt,
    }
}

/// Opens the answer stream; yields events as they arrive.
fn ask(addr: SocketAddr, body: &str) -> impl Iterator<Item = ChatEvent> {
    let resp = ureq::post(&format!("http://{addr}/api/v1/chat"))
        .header("content-type", "application/json")
        .send(body)
        .expect("chat answers 200");
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let reader = BufReader::new(resp.into_body().into_reader());
    reader.lines().map_while(Result::ok).filter_map(|line| {
        line.strip_prefix("data: ")
            .map(|d| serde_json::from_str::<ChatEvent>(d).expect("valid event"))
    })
}

fn collect(addr: SocketAddr, body: &str) -> Vec<ChatEvent> {
    let mut events = Vec::new();
    for ev in ask(addr, body) {
        let end = matches!(ev, ChatEvent::Done { .. } | ChatEvent::Error { .. });
        events.push(ev);
        if end {
            break;
        }
    }
    events
}

#[test]
fn an_answer_streams_in_chunks_with_facts_first_and_timings_last() {
    let h = host();
    let events = collect(
        h.addr,
        r#"{"question": "Why is my Mac slow?", "strategy": "speed"}"#,
    );
    let ChatEvent::Start {
        intents,
        facts,
        language,
    } = &events[0]
    else {
        panic!("first event must be start: {:?}", events[0]);
    };
    assert_eq!(language, "en");
    assert!(intents.contains(&"cpu".to_string()), "{intents:?}");
    // The facts card is exactly what the prompt was built from, for the current snapshot.
    let snap = h.metrics.latest();
    let q = "Why is my Mac slow?";
    let expected = prompt::facts(&snap, &intent::detect(q), intent::detect_language(q));
    assert_eq!(facts, &expected);
    let cpu = facts
        .iter()
        .find(|f| f.key == "cpu.total")
        .expect("cpu fact");
    assert_eq!(cpu.value, app::format::pct(snap.cpu.total_pct));

    let tokens: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Token { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        tokens.len() >= 3,
        "streamed in chunks, got {}",
        tokens.len()
    );
    let ChatEvent::Done {
        answer,
        timings,
        stop,
        ..
    } = events.last().unwrap()
    else {
        panic!("last event must be done: {:?}", events.last());
    };
    assert_eq!(answer, &tokens.concat(), "done repeats the streamed text");
    assert!(!answer.trim().is_empty());
    assert!(timings.prompt_tokens > 20);
    assert!(timings.generated_tokens as usize >= tokens.len() / 2);
    assert!(
        timings.time_to_first_token_ms > 0 && timings.total_ms >= timings.time_to_first_token_ms
    );
    assert!(timings.tokens_per_second > 0.0);
    assert!(!timings.cache_hit);
    assert_ne!(*stop, StopReason::Cancelled);
}

#[test]
fn a_repeated_question_in_the_same_state_is_answered_from_the_cache() {
    let h = host();
    let body = r#"{"question": "How much memory is used?", "strategy": "speed"}"#;
    let first = collect(h.addr, body);
    let Some(ChatEvent::Done {
        answer: a1, stop, ..
    }) = first.last()
    else {
        panic!()
    };
    if *stop == StopReason::Deadline {
        // A cut answer is not cached by design; nothing to check on this machine.
        return;
    }
    let t0 = Instant::now();
    let second = collect(
        h.addr,
        r#"{"question": "  how much MEMORY is used ", "strategy": "speed"}"#,
    );
    let Some(ChatEvent::Done {
        answer: a2,
        stop,
        timings,
        ..
    }) = second.last()
    else {
        panic!()
    };
    assert_eq!(*stop, StopReason::Cached);
    assert!(timings.cache_hit);
    assert_eq!(a1, a2);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "a cached answer is immediate"
    );
    // Another strategy is another answer.
    let third = collect(
        h.addr,
        r#"{"question": "How much memory is used?", "strategy": "balanced"}"#,
    );
    let Some(ChatEvent::Done { timings, .. }) = third.last() else {
        panic!()
    };
    assert!(!timings.cache_hit);
    // And /metrics counted it.
    let text = ureq::get(&format!("http://{}/metrics", h.addr))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        text.contains("mac_status_chat_cache_hits_total 1"),
        "{text}"
    );
}

#[test]
fn a_japanese_question_gets_japanese_facts_and_the_right_intent() {
    let h = host();
    let events = collect(
        h.addr,
        r#"{"question": "メモリ不足ですか？", "strategy": "speed"}"#,
    );
    let ChatEvent::Start {
        intents,
        facts,
        language,
    } = &events[0]
    else {
        panic!()
    };
    assert_eq!(language, "ja");
    assert!(intents.contains(&"memory".to_string()), "{intents:?}");
    let mem = facts
        .iter()
        .find(|f| f.key == "memory.used")
        .expect("memory fact");
    assert_eq!(mem.label, "メモリ使用量");
    assert!(matches!(events.last(), Some(ChatEvent::Done { .. })));
}

#[test]
fn disconnecting_mid_answer_frees_the_engine() {
    let h = host();
    let mut stream = ask(
        h.addr,
        r#"{"question": "Explain in detail everything about my CPU, memory, disks and network.", "strategy": "quality"}"#,
    );
    // Wait for the first token, then hang up.
    loop {
        match stream.next() {
            Some(ChatEvent::Token { .. }) => break,
            Some(ChatEvent::Start { .. }) => continue,
            other => panic!("expected tokens, got {other:?}"),
        }
    }
    drop(stream);
    let t0 = Instant::now();
    while !h.engine.is_idle() {
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "engine still busy after disconnect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // And the next question is answered normally.
    let events = collect(
        h.addr,
        r#"{"question": "Is my disk full?", "strategy": "speed"}"#,
    );
    assert!(
        matches!(events.last(), Some(ChatEvent::Done { .. })),
        "{:?}",
        events.last()
    );
}

#[test]
fn the_prefix_of_the_previous_prompt_is_reused() {
    let h = host();
    let first = collect(
        h.addr,
        r#"{"question": "Is my CPU busy?", "strategy": "speed"}"#,
    );
    let second = collect(
        h.addr,
        r#"{"question": "Which process uses the most memory?", "strategy": "speed"}"#,
    );
    let timings = |evs: &[ChatEvent]| match evs.last() {
        Some(ChatEvent::Done { timings, .. }) => timings.clone(),
        other => panic!("{other:?}"),
    };
    let (t1, t2) = (timings(&first), timings(&second));
    assert!(t1.prompt_tokens > 0);
    // At least the fixed system prompt stays in the KV cache.
    assert!(
        t2.cached_tokens >= 20,
        "cached {} of {}",
        t2.cached_tokens,
        t2.prompt_tokens
    );
    assert!(t2.cached_tokens < t2.prompt_tokens);
}
