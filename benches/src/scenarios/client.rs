//! The browser's side of `POST /api/v1/chat` and `GET /api/v1/stream`: the request body the
//! UI sends, Server-Sent Events parsed as they arrive, and one [`Run`] per answer with the
//! moment each event arrived.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use app::chat::{CacheMode, ChatEvent, ChatRequest, Explanation, StopReason, Strategy};
use app::i18n::Lang;
use serde::Serialize;

/// Incremental Server-Sent Events parser: feed it lines, it returns each event's `data` once
/// the blank line that ends the event arrives. Comments (`:` keep-alives) and other fields
/// (`retry:`, `event:`) are skipped; multi-line data is joined with `\n` as the spec says.
#[derive(Default)]
pub struct SseFrames {
    data: String,
    has_data: bool,
}

impl SseFrames {
    pub fn push_line(&mut self, line: &str) -> Option<String> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            self.has_data = false;
            return (!self.data.is_empty()).then(|| std::mem::take(&mut self.data));
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            if self.has_data {
                self.data.push('\n');
            }
            self.data.push_str(value.strip_prefix(' ').unwrap_or(value));
            self.has_data = true;
        }
        None
    }
}

/// One answer as the user lived it; times in milliseconds from sending the request.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Run {
    /// The `diagnosis` event: the first thing a user can read.
    pub first_content_ms: Option<f64>,
    /// The first `token` event (none when the diagnosis is the whole answer).
    pub first_token_ms: Option<f64>,
    /// The `done` event.
    pub total_ms: f64,
    pub language: Option<Lang>,
    /// `model`, `language_not_supported`, `busy`, … (the diagnosis event's explanation kind).
    pub explanation: String,
    pub stop: Option<StopReason>,
    pub cut: bool,
    pub cache_hit: bool,
    pub prompt_tokens: u32,
    pub cached_tokens: u32,
    pub generated_tokens: u32,
    /// The engine's decode rate (`done.timings.tokens_per_second`), when it generated.
    pub tokens_per_s: Option<f64>,
    /// Numbers the model wrote, and those that match a measured fact (0/0 when no model wrote).
    pub model_numbers: usize,
    pub model_numbers_matching: usize,
    pub answer_chars: usize,
    /// The `error` event's message, when the answer failed.
    pub error: Option<String>,
}

impl Run {
    /// True when the model wrote (or a cached model answer was served).
    pub fn explained(&self) -> bool {
        self.explanation == "model"
    }

    /// Whether the answer ended within `target_s`.
    pub fn within(&self, target_s: f64) -> bool {
        self.error.is_none() && self.total_ms <= target_s * 1000.0
    }
}

/// Folds one event into the run; true when it ends the answer.
fn apply(run: &mut Run, ev: ChatEvent, at_ms: f64) -> bool {
    match ev {
        ChatEvent::Start { language, .. } => run.language = Some(language),
        ChatEvent::Diagnosis { explanation, .. } => {
            run.first_content_ms.get_or_insert(at_ms);
            run.explanation = explanation_kind(&explanation);
        }
        ChatEvent::Token { .. } => {
            run.first_token_ms.get_or_insert(at_ms);
        }
        ChatEvent::Done {
            answer,
            stop,
            cut,
            timings,
            unverified,
        } => {
            run.total_ms = at_ms;
            run.stop = Some(stop);
            run.cut = cut;
            run.cache_hit = timings.cache_hit || stop == StopReason::Cached;
            run.prompt_tokens = timings.prompt_tokens;
            run.cached_tokens = timings.cached_tokens;
            run.generated_tokens = timings.generated_tokens;
            run.tokens_per_s = (timings.generated_tokens > 0 && timings.tokens_per_second > 0.0)
                .then_some(timings.tokens_per_second);
            if run.explained() {
                let (n, ok) = numbers_matching(&answer, &unverified);
                run.model_numbers = n;
                run.model_numbers_matching = ok;
            }
            run.answer_chars = answer.chars().count();
            return true;
        }
        ChatEvent::Error { message, .. } => {
            run.total_ms = at_ms;
            run.error = Some(message);
            return true;
        }
    }
    false
}

/// The explanation's wire name (`{"kind": "model", …}` → `model`).
fn explanation_kind(e: &Explanation) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("kind")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The numbers in the answer (read as the host reads them, `app::numbers`) and how many match
/// a measured fact: every number not listed in `done.unverified`.
pub fn numbers_matching(answer: &str, unverified: &[String]) -> (usize, usize) {
    let written: Vec<&str> = app::numbers::scan(answer)
        .into_iter()
        .map(|n| &answer[n.span])
        .collect();
    let bad = written
        .iter()
        .filter(|w| unverified.iter().any(|u| u == *w))
        .count();
    (written.len(), written.len() - bad)
}

/// The body the UI sends (no history: every scenario is a first question).
pub fn body(question: &str, strategy: Option<Strategy>, bypass: bool) -> String {
    let req = ChatRequest {
        question: question.to_owned(),
        strategy,
        history: Vec::new(),
        cache: if bypass {
            CacheMode::Bypass
        } else {
            CacheMode::Use
        },
    };
    serde_json::to_string(&req).expect("a ChatRequest serializes")
}

/// Every answer ends by its 5-second deadline (plus its wait in the model's queue); a request
/// still open after this is a hung host, reported as a failed run instead of a stuck bench.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .timeout_global(Some(ANSWER_TIMEOUT))
            .build()
            .into()
    })
}

/// Asks one question and reads the answer to its end, timing each event as it arrives.
pub fn ask(port: u16, question: &str, strategy: Option<Strategy>, bypass: bool) -> Result<Run> {
    let t0 = Instant::now();
    let resp = agent()
        .post(&format!("http://127.0.0.1:{port}/api/v1/chat"))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .send(&body(question, strategy, bypass))
        .with_context(|| format!("asking {question:?}"))?;
    let mut run = Run::default();
    read_answer(resp.into_body().into_reader(), t0, question, |at_ms, ev| {
        Ok(apply(&mut run, ev, at_ms).then(|| std::mem::take(&mut run)))
    })
}

/// Reads the event stream of the answer to `question`, handing `on_event` each chat event
/// with its arrival in milliseconds since `t0`, until `on_event` returns a value (at `done`).
/// The stream ending before that is an error.
pub fn read_answer<T>(
    body: impl Read,
    t0: Instant,
    question: &str,
    mut on_event: impl FnMut(f64, ChatEvent) -> Result<Option<T>>,
) -> Result<T> {
    let mut reader = BufReader::new(body);
    let (mut frames, mut line) = (SseFrames::default(), String::new());
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("the answer to {question:?} ended without a done event");
        }
        let Some(data) = frames.push_line(&line) else {
            continue;
        };
        let at_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let ev: ChatEvent =
            serde_json::from_str(&data).with_context(|| format!("bad chat event {data:?}"))?;
        if let Some(done) = on_event(at_ms, ev)? {
            return Ok(done);
        }
    }
}

/// A live dashboard: holds `GET /api/v1/stream` open and counts snapshot events until `stop`.
pub fn dashboard_stream(port: u16, stop: &AtomicBool, events: &AtomicU64) -> Result<()> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_millis(250)))?;
    write!(
        s,
        "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n"
    )?;
    let mut reader = BufReader::new(s);
    let mut frames = SseFrames::default();
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        // A timeout leaves a partial line in `line`; keep it and read on.
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                if frames.push_line(&line).is_some() {
                    events.fetch_add(1, Ordering::Relaxed);
                }
                line.clear();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &str) -> Vec<String> {
        let mut p = SseFrames::default();
        text.split_inclusive('\n')
            .filter_map(|l| p.push_line(l))
            .collect()
    }

    #[test]
    fn sse_frames_end_at_blank_lines() {
        let text = "data: {\"type\":\"token\",\"text\":\"a\"}\n\n:\n\nretry: 3000\ndata:{\"b\":1}\r\n\r\ndata: x\ndata: y\n\n";
        assert_eq!(
            frames(text),
            vec![r#"{"type":"token","text":"a"}"#, r#"{"b":1}"#, "x\ny"]
        );
        assert!(frames("data: unfinished\n").is_empty());
    }

    #[test]
    fn events_fold_into_a_run() {
        let mut run = Run::default();
        let lines = [
            r#"{"type":"start","intents":["cpu"],"facts":[],"language":"en"}"#,
            r#"{"type":"token","text":"CPU "}"#,
            r#"{"type":"done","answer":"CPU at 42% and 7 GB, 3.5 GHz","stop":"end_of_generation","cut":false,
               "timings":{"prompt_tokens":90,"cached_tokens":0,"generated_tokens":12,"time_to_first_token_ms":300,
               "tokens_per_second":40.5,"total_ms":900,"cache_hit":false,"threads":2},"unverified":["3.5"]}"#,
        ];
        run.explanation = "model".into(); // as the diagnosis event would set it
        for (i, l) in lines.iter().enumerate() {
            let ev: ChatEvent = serde_json::from_str(l).unwrap();
            let ended = apply(&mut run, ev, 100.0 * (i + 1) as f64);
            assert_eq!(ended, i == 2);
        }
        assert_eq!(run.language, Some(Lang::En));
        assert_eq!(run.first_token_ms, Some(200.0));
        assert_eq!(run.total_ms, 300.0);
        assert_eq!(run.tokens_per_s, Some(40.5));
        assert_eq!((run.model_numbers, run.model_numbers_matching), (3, 2));
        assert!(run.within(0.3) && !run.within(0.2));
    }

    #[test]
    fn the_body_is_the_browsers_plus_the_bypass_flag() {
        let v: serde_json::Value =
            serde_json::from_str(&body("How?", Some(Strategy::Speed), true)).unwrap();
        assert_eq!(v["question"], "How?");
        assert_eq!(v["strategy"], "speed");
        assert_eq!(v["cache"], "bypass");
        let v: serde_json::Value = serde_json::from_str(&body("How?", None, false)).unwrap();
        assert!(v.get("cache").is_none(), "the UI's body has no cache field");
    }
}
