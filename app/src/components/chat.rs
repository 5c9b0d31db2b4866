//! The chat: ask about this machine, watch the answer stream in beside the facts it was built
//! from. The request is `POST /api/v1/chat`; the answer is Server-Sent Events read from the
//! fetch body, the same mechanism as the dashboard's live stream.

use leptos::prelude::*;

use crate::chat::{ChatEvent, Fact, StopReason, Strategy, Timings, Turn};
use crate::i18n::Lang;
use crate::live::LiveState;

/// How many earlier exchanges go back to the host with a new question.
#[cfg(feature = "hydrate")]
const KEEP_TURNS: usize = 3;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub question: String,
    pub text: String,
    pub facts: Vec<Fact>,
    pub done: Option<(StopReason, bool, Timings)>,
    pub error: Option<String>,
    /// Number of token events applied so far (tests watch the answer grow).
    pub chunks: u32,
}

impl Answer {
    /// Folds one streamed event into the answer.
    pub fn apply(&mut self, ev: ChatEvent) {
        match ev {
            ChatEvent::Start { facts, .. } => self.facts = facts,
            ChatEvent::Token { text } => {
                self.text.push_str(&text);
                self.chunks += 1;
            }
            ChatEvent::Done {
                answer,
                stop,
                cut,
                timings,
            } => {
                self.text = answer;
                self.done = Some((stop, cut, timings));
            }
            ChatEvent::Error { message, .. } => self.error = Some(message),
        }
    }
}

/// Splits complete SSE frames off the front of `buf`, returning their `data:` payloads.
pub fn take_sse_frames(buf: &mut Vec<u8>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
        let frame: Vec<u8> = buf.drain(..end + 2).collect();
        let text = String::from_utf8_lossy(&frame);
        let data: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if !data.is_empty() {
            out.push(data.join("\n"));
        }
    }
    out
}

fn text(lang: Lang, en: &'static str, ja: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

#[component]
pub fn ChatPanel() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let question = RwSignal::new(String::new());
    let strategy = RwSignal::new(Strategy::Balanced);
    let answer = RwSignal::new(None::<Answer>);
    let turns = RwSignal::new(Vec::<Turn>::new());
    let busy = RwSignal::new(false);
    let abort = abort_store();
    let status = use_context::<crate::chat::AssistantStatus>().unwrap_or_default();
    let ready = status.ready;

    let ask = move || {
        let q = question.get_untracked().trim().to_string();
        if q.is_empty() || busy.get_untracked() || !ready {
            return;
        }
        busy.set(true);
        answer.set(Some(Answer {
            question: q.clone(),
            ..Default::default()
        }));
        let req = crate::chat::ChatRequest {
            question: q.clone(),
            strategy: Some(strategy.get_untracked()),
            history: turns.get_untracked(),
        };
        start_request(req, answer, busy, turns, abort);
    };
    let stop = move |_| {
        abort.update_value(|a| {
            if let Some(a) = a.take() {
                a.abort();
            }
        });
    };

    let status_line = move || {
        answer.with(|a| {
            a.as_ref().and_then(|a| {
                a.done.as_ref().map(|(stop, cut, t)| {
                    let mut s = if t.cache_hit {
                        text(lang.get(), "cached answer", "キャッシュされた回答").to_string()
                    } else {
                        format!(
                            "{} {} ms · {:.0} tok/s · {} {} ({} {}) · {} ms",
                            text(lang.get(), "first token", "最初のトークン"),
                            t.time_to_first_token_ms,
                            t.tokens_per_second,
                            t.prompt_tokens,
                            text(lang.get(), "prompt tokens", "プロンプトトークン"),
                            t.cached_tokens,
                            text(lang.get(), "reused", "再利用"),
                            t.total_ms
                        )
                    };
                    if *cut {
                        s.push_str(match stop {
                            StopReason::Deadline => text(
                                lang.get(),
                                " · cut at the time limit",
                                " · 制限時間で打ち切り",
                            ),
                            StopReason::Cancelled => {
                                text(lang.get(), " · stopped", " · 停止しました")
                            }
                            _ => text(
                                lang.get(),
                                " · cut at the length limit",
                                " · 長さの上限で打ち切り",
                            ),
                        });
                    }
                    s
                })
            })
        })
    };

    view! {
        <section class="card wide chat" id="chat" aria-labelledby="chat-title">
            <h2 id="chat-title">{move || text(lang.get(), "Ask about this Mac", "この Mac について質問する")}</h2>
            {(!ready).then(|| view! {
                <p class="error" id="chat-unavailable" role="alert" data-code=status.error_code.clone().unwrap_or_default()>
                    {move || text(lang.get(), "The assistant is off: ", "アシスタントは使えません: ")}
                    {status.error.clone().unwrap_or_default()}
                </p>
            })}
            <Show when=move || live.conn.get() == crate::live::Conn::Offline>
                <p class="error" id="chat-offline" role="alert">
                    {move || text(lang.get(), "The assistant needs the Mac Status host: it is not reachable right now.", "アシスタントには Mac Status ホストが必要ですが、現在接続できません。")}
                </p>
            </Show>
            <form
                class="ask"
                on:submit=move |ev| {
                    ev.prevent_default();
                    ask();
                }
            >
                <label class="sr-only" for="question">{move || text(lang.get(), "Question", "質問")}</label>
                <input
                    id="question"
                    type="text"
                    maxlength="1000"
                    autocomplete="off"
                    placeholder=move || text(lang.get(), "Why is my Mac slow?", "Mac が遅いのはなぜ？")
                    prop:value=move || question.get()
                    on:input=move |ev| question.set(event_target_value(&ev))
                />
                <label class="sr-only" for="strategy">{move || text(lang.get(), "Answer style", "回答スタイル")}</label>
                <select
                    id="strategy"
                    on:change=move |ev| {
                        strategy.set(match event_target_value(&ev).as_str() {
                            "speed" => Strategy::Speed,
                            "quality" => Strategy::Quality,
                            _ => Strategy::Balanced,
                        })
                    }
                >
                    <option value="speed">{move || text(lang.get(), "Fast", "速さ優先")}</option>
                    <option value="balanced" selected>{move || text(lang.get(), "Balanced", "バランス")}</option>
                    <option value="quality">{move || text(lang.get(), "Detailed", "詳しく")}</option>
                </select>
                <button id="ask" type="submit" disabled=move || busy.get() || !ready || live.conn.get() == crate::live::Conn::Offline>{move || text(lang.get(), "Ask", "質問")}</button>
                <button id="stop" type="button" on:click=stop disabled=move || !busy.get()>{move || text(lang.get(), "Stop", "停止")}</button>
            </form>
            {move || answer.get().map(|a| {
                let chunks = a.chunks;
                view! {
                    <div class="exchange">
                        <div class="answer-col">
                            <p class="q">{a.question.clone()}</p>
                            <p class="answer" id="answer" aria-live="polite" data-chunks=chunks data-done=a.done.is_some().to_string()>
                                {a.text.clone()}
                            </p>
                            {a.error.clone().map(|e| view! { <p class="error" id="chat-error" role="alert">{e}</p> })}
                            <p class="timings muted" id="timings">{status_line}</p>
                        </div>
                        <aside class="facts" id="facts" aria-label=move || text(lang.get(), "Facts the answer used", "回答に使われた数値")>
                            <h3>{move || text(lang.get(), "Facts used", "使われた数値")}</h3>
                            <dl>
                                {a.facts.iter().map(|f| view! {
                                    <div class="row" data-key=f.key.clone()><dt>{f.label.clone()}</dt><dd>{f.value.clone()}</dd></div>
                                }).collect_view()}
                            </dl>
                        </aside>
                    </div>
                }
            })}
        </section>
    }
    .into_any()
}

/// Where the Stop button finds the running request. The browser's `AbortController` is not
/// `Send`, so it lives in local storage there; server rendering never has one.
#[cfg(feature = "hydrate")]
type AbortStore = StoredValue<Option<AbortHandle>, LocalStorage>;
#[cfg(not(feature = "hydrate"))]
type AbortStore = StoredValue<Option<AbortHandle>>;

fn abort_store() -> AbortStore {
    #[cfg(feature = "hydrate")]
    {
        StoredValue::new_local(None)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        StoredValue::new(None)
    }
}

/// Stops an in-flight answer (the host frees the engine when the connection closes).
#[derive(Clone)]
pub struct AbortHandle(#[cfg(feature = "hydrate")] web_sys::AbortController);

impl AbortHandle {
    fn abort(&self) {
        #[cfg(feature = "hydrate")]
        self.0.abort();
    }
}

#[cfg(not(feature = "hydrate"))]
fn start_request(
    _req: crate::chat::ChatRequest,
    _answer: RwSignal<Option<Answer>>,
    _busy: RwSignal<bool>,
    _turns: RwSignal<Vec<Turn>>,
    _abort: AbortStore,
) {
}

#[cfg(feature = "hydrate")]
fn start_request(
    req: crate::chat::ChatRequest,
    answer: RwSignal<Option<Answer>>,
    busy: RwSignal<bool>,
    turns: RwSignal<Vec<Turn>>,
    abort: AbortStore,
) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let controller = web_sys::AbortController::new().ok();
    abort.set_value(controller.clone().map(AbortHandle));
    let question = req.question.clone();
    leptos::task::spawn_local(async move {
        let fail = |msg: String| {
            answer.update(|a| {
                if let Some(a) = a {
                    a.error = Some(msg)
                }
            })
        };
        let result: Result<(), String> = async {
            let body = serde_json::to_string(&req).map_err(|e| e.to_string())?;
            let init = web_sys::RequestInit::new();
            init.set_method("POST");
            init.set_body(&wasm_bindgen::JsValue::from_str(&body));
            let headers = web_sys::Headers::new().map_err(|_| "headers")?;
            let _ = headers.set("content-type", "application/json");
            let _ = headers.set("accept", "text/event-stream");
            init.set_headers(&headers);
            if let Some(c) = &controller {
                init.set_signal(Some(&c.signal()));
            }
            let window = web_sys::window().ok_or("no window")?;
            let resp: web_sys::Response =
                JsFuture::from(window.fetch_with_str_and_init("/api/v1/chat", &init))
                    .await
                    .map_err(|_| "the host is unreachable".to_string())?
                    .unchecked_into();
            let stream = resp.body().ok_or("empty response")?;
            let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
            let mut buf = Vec::new();
            loop {
                let chunk = match JsFuture::from(reader.read()).await {
                    Ok(c) => c,
                    // Aborted by the Stop button: keep what arrived.
                    Err(_) => break,
                };
                let done = js_sys::Reflect::get(&chunk, &"done".into())
                    .ok()
                    .and_then(|d| d.as_bool())
                    .unwrap_or(true);
                if done {
                    break;
                }
                if let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) {
                    buf.extend(js_sys::Uint8Array::new(&value).to_vec());
                }
                for data in take_sse_frames(&mut buf) {
                    if let Ok(ev) = serde_json::from_str::<ChatEvent>(&data) {
                        answer.update(|a| {
                            if let Some(a) = a {
                                a.apply(ev)
                            }
                        });
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            fail(e);
        }
        let finished = answer.with_untracked(|a| {
            a.as_ref()
                .filter(|a| a.done.is_some())
                .map(|a| a.text.clone())
        });
        if let Some(text) = finished {
            turns.update(|t| {
                t.push(Turn {
                    question,
                    answer: text,
                });
                let excess = t.len().saturating_sub(KEEP_TURNS);
                t.drain(..excess);
            });
        }
        abort.set_value(None);
        busy.set(false);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_frames_split_only_when_complete() {
        let mut buf = b"data: {\"a\":1}\n\ndata: {\"b\"".to_vec();
        assert_eq!(take_sse_frames(&mut buf), vec!["{\"a\":1}".to_string()]);
        assert_eq!(buf, b"data: {\"b\"".to_vec());
        buf.extend(b":2}\n\n: keep-alive\n\n");
        assert_eq!(take_sse_frames(&mut buf), vec!["{\"b\":2}".to_string()]);
        assert!(buf.is_empty());
    }

    #[test]
    fn answer_folds_events_in_order() {
        let mut a = Answer::default();
        a.apply(ChatEvent::Start {
            intents: vec!["cpu".into()],
            facts: vec![Fact {
                key: "cpu.total".into(),
                label: "CPU".into(),
                value: "12.0%".into(),
            }],
            language: "en".into(),
        });
        a.apply(ChatEvent::Token {
            text: "Your ".into(),
        });
        a.apply(ChatEvent::Token { text: "CPU".into() });
        assert_eq!((a.text.as_str(), a.chunks), ("Your CPU", 2));
        a.apply(ChatEvent::Done {
            answer: "Your CPU is fine.".into(),
            stop: StopReason::EndOfGeneration,
            cut: false,
            timings: Timings::default(),
        });
        assert_eq!(a.text, "Your CPU is fine.");
        assert_eq!(a.facts[0].value, "12.0%");
        assert!(a.done.is_some());
    }
}
