//! Chat end to end with the real default model, over real HTTP: a host on a loopback port,
//! `POST /api/v1/chat`, Server-Sent Events read as they arrive.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::chat::{ChatEvent, Explanation, Fact, Finding, StopReason};
use app::i18n::Lang;
use app::model::Snapshot;
use mac_status::{
    chat::{
        check::{unverified, Known},
        diagnosis, facts,
        intent::{self, japanese_share},
        topics,
    },
    engine::{Engine, EngineConfig},
    metrics::MetricsHub,
    routes::router,
};

mod common;

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
    host_with(None)
}

/// [`host`], with the model's languages overridden as `--model-languages` does.
fn host_with(languages: Option<Vec<app::i18n::Lang>>) -> Host {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let metrics = common::metrics(Duration::from_secs(60));
    let engine = Engine::load(EngineConfig {
        n_threads: common::profile().profile.threads,
        ..EngineConfig::new(common::model_path())
    })
    .expect("the default model loads");
    let assistant = common::assistant(Ok(engine.clone()), &metrics);
    let assistant = match languages {
        Some(l) => assistant.with_languages(l),
        None => assistant,
    };
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = common::state(assistant, metrics.clone(), &addr.to_string());
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

/// The `start` and `diagnosis` events of an answer.
fn head(events: &[ChatEvent]) -> (&[Fact], Lang, &[Finding], &Explanation, &Snapshot) {
    let ChatEvent::Start {
        facts, language, ..
    } = &events[0]
    else {
        panic!("first event must be start: {:?}", events[0]);
    };
    let ChatEvent::Diagnosis {
        findings,
        explanation,
        snapshot,
    } = &events[1]
    else {
        panic!("second event must be the diagnosis: {:?}", events[1]);
    };
    (facts, *language, findings, explanation, snapshot)
}

fn tokens(events: &[ChatEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Token { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_diagnosis_streams_first_then_the_models_explanation() {
    let h = host();
    let q = "Why is my Mac slow?";
    let events = collect(
        h.addr,
        &format!(r#"{{"question": "{q}", "strategy": "speed"}}"#),
    );
    let (facts, language, findings, explanation, snap) = head(&events);
    assert_eq!(language, Lang::En);
    assert!(matches!(explanation, Explanation::Model { model } if model.contains("SmolLM2")));
    // The facts and findings are exactly what the host computes from the snapshot it reports.
    assert_eq!(*snap, *h.metrics.latest());
    let recent = h.metrics.history(topics::RECENT);
    let cx = topics::Context {
        snapshot: snap,
        recent: &recent,
        intents: intent::detect(q),
        lang: intent::detect_language(q),
    };
    assert_eq!(facts, &facts::collect(&cx)[..]);
    assert_eq!(findings, &diagnosis::diagnose(&cx)[..]);
    let cpu = facts
        .iter()
        .find(|f| f.key == "cpu.total")
        .expect("cpu fact");
    assert_eq!(cpu.value, app::format::pct(snap.cpu.total_pct));
    let cpu = findings
        .iter()
        .find(|f| f.topic == app::chat::Topic::Cpu)
        .expect("cpu finding");
    assert!(
        cpu.en
            .contains(&format!("{} % busy", diagnosis::pct(snap.cpu.total_pct)))
            || cpu
                .en
                .contains(&format!("{} % now", diagnosis::pct(snap.cpu.total_pct))),
        "{}",
        cpu.en
    );

    let tokens = tokens(&events);
    assert!(
        tokens.len() >= 3,
        "streamed in chunks, got {}",
        tokens.len()
    );
    let ChatEvent::Done {
        answer,
        timings,
        stop,
        unverified: flagged,
        ..
    } = events.last().unwrap()
    else {
        panic!("last event must be done: {:?}", events.last());
    };
    assert_eq!(answer, &tokens.concat(), "done repeats the streamed text");
    assert!(!answer.trim().is_empty());
    // The flagged numbers are exactly those of the answer that match no fact.
    let known = Known::new(facts, findings, q);
    assert_eq!(flagged, &unverified(answer, &known));
    assert!(flagged.iter().all(|n| answer.contains(n.as_str())));
    assert!(timings.prompt_tokens > 20);
    assert!(timings.generated_tokens as usize >= tokens.len() / 2);
    assert!(
        timings.time_to_first_token_ms > 0 && timings.total_ms >= timings.time_to_first_token_ms
    );
    assert!(timings.tokens_per_second > 0.0);
    assert!(!timings.cache_hit);
    assert_ne!(*stop, StopReason::Cancelled);
}

/// The prototype's eight scenarios and their English twins (`benches/scenarios.tsv`): the
/// diagnosis comes before any token, its numbers are facts of the snapshot it reports, and the
/// answer is in the question's language — a Japanese question to SmolLM2 (which cannot write
/// Japanese) gets the Japanese diagnosis and the command that installs a model that can.
#[test]
fn the_sixteen_scenarios_answer_in_the_questions_language_from_measured_facts() {
    let h = host();
    let table = include_str!("../../benches/scenarios.tsv");
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(rows.len(), 16);
    for row in rows {
        let q = row.split('\t').nth(1).expect("question column");
        let events = collect(
            h.addr,
            &serde_json::json!({ "question": q, "strategy": "speed" }).to_string(),
        );
        let (facts, language, findings, explanation, snap) = head(&events);
        let ja = language == Lang::Ja;
        assert_eq!(ja, !q.is_ascii(), "{q}");
        assert!(!findings.is_empty(), "{q}");
        // Every number of the diagnosis is a fact, and the facts are the snapshot's.
        let facts_only = Known::new(facts, &[], "");
        for f in findings.iter() {
            assert_eq!(
                unverified(&f.en, &facts_only),
                Vec::<String>::new(),
                "{q}: {}",
                f.en
            );
            assert_eq!(
                unverified(&f.ja, &facts_only),
                Vec::<String>::new(),
                "{q}: {}",
                f.ja
            );
        }
        if let Some(cpu) = facts.iter().find(|f| f.key == "cpu.total") {
            assert_eq!(cpu.value, app::format::pct(snap.cpu.total_pct), "{q}");
        }
        let ChatEvent::Done {
            answer,
            stop,
            unverified: flagged,
            ..
        } = events.last().unwrap()
        else {
            panic!("{q}: {:?}", events.last());
        };
        if ja {
            match explanation {
                Explanation::LanguageNotSupported {
                    language,
                    pull_command,
                    ..
                } => {
                    assert_eq!(*language, app::i18n::Lang::Ja);
                    assert!(
                        pull_command.contains("model pull llama3-elyza-8b"),
                        "{pull_command}"
                    );
                }
                other => panic!("{q}: {other:?}"),
            }
            assert_eq!(*stop, StopReason::DiagnosisOnly, "{q}");
            assert!(
                tokens(&events).is_empty(),
                "{q}: no garbled Japanese from the model"
            );
            assert_eq!(answer, &diagnosis::render(findings, app::i18n::Lang::Ja));
            assert!(japanese_share(answer) > 0.3, "{q}: {answer}");
        } else {
            assert!(explanation.follows(), "{q}");
            assert!(!tokens(&events).is_empty(), "{q}");
            assert!(japanese_share(answer) < 0.05, "{q}: {answer}");
            assert_eq!(
                flagged,
                &unverified(answer, &Known::new(facts, findings, q)),
                "{q}"
            );
        }
    }
}

/// `--model-languages ja,en` tells the host the model writes Japanese (a file the catalogue
/// does not know): a Japanese question then gets the model's tokens after the diagnosis.
#[test]
fn a_model_declared_japanese_explains_japanese_questions() {
    let h = host_with(Some(vec![app::i18n::Lang::Ja, app::i18n::Lang::En]));
    let events = collect(
        h.addr,
        r#"{"question": "メモリの使用状況はどうですか？", "strategy": "speed"}"#,
    );
    let (_, language, _, explanation, _) = head(&events);
    assert_eq!(language, Lang::Ja);
    assert!(explanation.follows(), "{explanation:?}");
    assert!(!tokens(&events).is_empty());
    assert!(!matches!(
        events.last(),
        Some(ChatEvent::Done {
            stop: StopReason::DiagnosisOnly,
            ..
        })
    ));
}

/// This machine has no battery: a battery question gets "not measured", and the model is not
/// asked to guess (it once answered "The battery lasts only 2 hours.").
#[test]
fn what_is_not_measured_is_not_left_to_the_model() {
    let h = host();
    if h.metrics.latest().battery.is_some() {
        return; // a laptop running the tests: the battery is measured there
    }
    let events = collect(h.addr, r#"{"question": "How long will my battery last?"}"#);
    let (_, _, findings, explanation, _) = head(&events);
    assert_eq!(*explanation, Explanation::NotMeasured);
    assert!(findings.iter().all(|f| f.not_measured), "{findings:?}");
    assert!(tokens(&events).is_empty());
    let Some(ChatEvent::Done { answer, stop, .. }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(*stop, StopReason::DiagnosisOnly);
    assert_eq!(answer, "The battery is not measured on this Mac.");
}

/// With every queue place taken, a question still gets its diagnosis at once, and says the
/// model is busy instead of failing.
#[test]
fn a_full_queue_still_gets_the_diagnosis() {
    let h = host();
    let long = |i: usize| {
        serde_json::json!({
            "question": format!("Explain in detail everything about my CPU, memory, disks and network ({i})"),
            "strategy": "quality"
        })
        .to_string()
    };
    // One running and four waiting: the engine's queue holds four.
    let mut open: Vec<_> = (0..5).map(|i| ask(h.addr, &long(i))).collect();
    for s in open.iter_mut() {
        assert!(matches!(s.next(), Some(ChatEvent::Start { .. })));
    }
    let t0 = Instant::now();
    let events = collect(h.addr, r#"{"question": "Is my disk full?"}"#);
    let elapsed = t0.elapsed();
    let (_, _, findings, explanation, _) = head(&events);
    assert_eq!(*explanation, Explanation::Busy);
    assert!(!findings.is_empty());
    assert!(matches!(
        events.last(),
        Some(ChatEvent::Done {
            stop: StopReason::DiagnosisOnly,
            ..
        })
    ));
    assert!(
        elapsed < Duration::from_secs(2),
        "answered in {elapsed:?} while the queue was full"
    );
    drop(open);
    // /metrics counts it as the queue being full, not as an answer by the model.
    let text = ureq::get(&format!("http://{}/metrics", h.addr))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        text.contains("mac_status_chat_answers_total{outcome=\"queue_full\"} 1"),
        "{text}"
    );
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
    // A benchmark's request bypasses the cache: the model runs again.
    let bypass = collect(
        h.addr,
        r#"{"question": "How much memory is used?", "strategy": "speed", "cache": "bypass"}"#,
    );
    let Some(ChatEvent::Done { stop, timings, .. }) = bypass.last() else {
        panic!()
    };
    assert_ne!(*stop, StopReason::Cached);
    assert!(
        !timings.cache_hit && timings.generated_tokens > 0,
        "{timings:?}"
    );
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
            Some(ChatEvent::Start { .. } | ChatEvent::Diagnosis { .. }) => continue,
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

/// A follow-up sent the way the browser sends it (the earlier question, answer and findings)
/// finds the whole earlier exchange in the model's cache: only its own message is evaluated.
#[test]
fn a_follow_up_reuses_the_whole_earlier_exchange() {
    let h = host();
    let first = collect(
        h.addr,
        r#"{"question": "Why is my Mac slow?", "strategy": "speed", "cache": "bypass"}"#,
    );
    let (_, _, findings, explanation, _) = head(&first);
    assert!(explanation.follows(), "{explanation:?}");
    let Some(ChatEvent::Done {
        answer, timings, ..
    }) = first.last()
    else {
        panic!("{first:?}")
    };
    let turn = app::chat::Turn {
        question: "Why is my Mac slow?".into(),
        answer: answer.clone(),
        findings: findings.to_vec(),
    };
    let body = serde_json::json!({
        "question": "What should I do about it?",
        "strategy": "speed",
        "cache": "bypass",
        "history": [turn],
    });
    let second = collect(h.addr, &body.to_string());
    let Some(ChatEvent::Done { timings: t2, .. }) = second.last() else {
        panic!("{second:?}")
    };
    // The previous prompt is reused in full, and (most of) the answer after it.
    assert!(
        t2.cached_tokens >= timings.prompt_tokens,
        "cached {} of {}, the first prompt had {}",
        t2.cached_tokens,
        t2.prompt_tokens,
        timings.prompt_tokens
    );
    // Without the findings the earlier question reads differently: only the system prompt.
    let bare = serde_json::json!({
        "question": "What should I do about it?",
        "strategy": "speed",
        "cache": "bypass",
        "history": [{"question": "Why is my Mac slow?", "answer": answer}],
    });
    collect(h.addr, &body.to_string());
    let third = collect(h.addr, &bare.to_string());
    let Some(ChatEvent::Done { timings: t3, .. }) = third.last() else {
        panic!("{third:?}")
    };
    assert!(t3.cached_tokens < timings.prompt_tokens, "{t3:?}");
}
