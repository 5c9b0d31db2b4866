//! The chat: ask about this machine, see the host's measured diagnosis at once, then the
//! model's explanation stream in beside the facts it was built from. The request is
//! `POST /api/v1/chat`; the answer is Server-Sent Events read from the fetch body, the same
//! mechanism as the dashboard's live stream.

use leptos::prelude::*;

use crate::browser::{self, StreamEnd};
use crate::chat::{
    ChatEvent, ChatRequest, Explanation, Fact, Finding, StopReason, Strategy, Timings, Turn,
};
use crate::error::{ErrorBody, ErrorCode};
use crate::i18n::{language_name, level_text, t, Key, Lang};
use crate::live::LiveState;
use crate::wire;

/// How many earlier exchanges go back to the host with a new question.
const KEEP_TURNS: usize = 3;
/// Where questions go; the answer streams back as Server-Sent Events.
const CHAT_URL: &str = "/api/v1/chat";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub question: String,
    /// The question's language, from `Start`: findings are shown in it.
    pub language: Lang,
    pub text: String,
    pub facts: Vec<Fact>,
    pub findings: Vec<Finding>,
    /// `None` until the diagnosis arrives.
    pub explanation: Option<Explanation>,
    pub done: Option<(StopReason, bool, Timings)>,
    /// Numbers in the final `text`, as written there, that match no measured fact.
    pub unverified: Vec<String>,
    /// Why the answer is missing or incomplete, if it is.
    pub error: Option<Failure>,
    /// Number of token events applied so far (tests watch the answer grow).
    pub chunks: u32,
}

impl Answer {
    /// Folds one streamed event into the answer.
    pub fn apply(&mut self, ev: ChatEvent) {
        match ev {
            ChatEvent::Start {
                facts, language, ..
            } => {
                self.facts = facts;
                self.language = language;
            }
            ChatEvent::Diagnosis {
                findings,
                explanation,
                ..
            } => {
                self.findings = findings;
                self.explanation = Some(explanation);
            }
            ChatEvent::Token { text } => {
                self.text.push_str(&text);
                self.chunks += 1;
            }
            ChatEvent::Done {
                answer,
                stop,
                cut,
                timings,
                unverified,
            } => {
                self.text = answer;
                self.unverified = unverified;
                self.done = Some((stop, cut, timings));
            }
            ChatEvent::Error { code, message } => {
                self.error = Some(Failure::Host {
                    code,
                    message,
                    status: None,
                })
            }
        }
    }

    /// Folds in how the stream ended: an HTTP refusal, an unreachable host, or a stream that
    /// closed before its final event are failures the page must show; a Stop by the user is not.
    pub fn end(&mut self, end: StreamEnd) {
        let finished = self.done.is_some() || self.error.is_some();
        self.error = match end {
            StreamEnd::Aborted => self.error.take(),
            StreamEnd::Closed | StreamEnd::Broken if finished => self.error.take(),
            StreamEnd::Closed | StreamEnd::Broken => Some(Failure::Interrupted),
            StreamEnd::Unreachable => Some(Failure::Unreachable),
            StreamEnd::Http { status, body } => {
                Some(match serde_json::from_str::<ErrorBody>(&body) {
                    Ok(b) => Failure::Host {
                        code: b.code,
                        message: b.error,
                        status: Some(status),
                    },
                    Err(_) => Failure::Http { status },
                })
            }
        };
    }

    /// True when no model explains: the findings are the whole answer, and `text` only
    /// repeats them (it still goes back to the host as history).
    pub fn diagnosis_only(&self) -> bool {
        self.explanation.as_ref().is_some_and(|e| !e.follows())
            || matches!(self.done, Some((StopReason::DiagnosisOnly, ..)))
    }
}

/// Why an answer is missing or incomplete, as the page shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The host said why: an HTTP refusal (with its status) or an `error` event in the stream.
    Host {
        code: ErrorCode,
        message: String,
        status: Option<u16>,
    },
    /// An HTTP error without the API's error body (not our host, or a proxy in between).
    Http { status: u16 },
    /// No response at all.
    Unreachable,
    /// The stream closed before its final event (the host stopped or the connection broke).
    Interrupted,
}

impl Failure {
    /// The machine-readable part shown beside the message (`data-code`, the `<code>` tag).
    pub fn code(&self) -> String {
        match self {
            Failure::Host { code, .. } => wire::name(code),
            Failure::Http { status } => format!("http_{status}"),
            Failure::Unreachable => "unreachable".into(),
            Failure::Interrupted => "interrupted".into(),
        }
    }

    /// The sentence shown: the host's own message, or ours in the page's language.
    fn text(&self, lang: Lang) -> String {
        match self {
            Failure::Host {
                message,
                status: Some(status),
                ..
            } => format!("{} (HTTP {status}): {message}", t(lang, Key::ChatRefused)),
            Failure::Host { message, .. } => format!("{}: {message}", t(lang, Key::ChatFailed)),
            Failure::Http { status } => format!("{} (HTTP {status})", t(lang, Key::ChatRefused)),
            Failure::Unreachable => t(lang, Key::ChatOffline).to_string(),
            Failure::Interrupted => t(lang, Key::ChatInterrupted).to_string(),
        }
    }
}

/// A piece of answer text; numbers are told apart so the UI can mark them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Plain(&'a str),
    Number(&'a str),
    /// A number the host found in no measured fact.
    Unverified(&'a str),
}

/// Splits `text` into plain runs and numbers; a number written exactly as one of `unverified`
/// (the host's list) is `Unverified`, so "3.7" marks neither "13.7" nor "3.75".
pub fn segments<'a>(text: &'a str, unverified: &[String]) -> Vec<Segment<'a>> {
    let mut out = Vec::new();
    let mut plain_from = 0;
    for span in crate::numbers::scan(text).into_iter().map(|n| n.span) {
        if plain_from < span.start {
            out.push(Segment::Plain(&text[plain_from..span.start]));
        }
        let number = &text[span.clone()];
        out.push(if unverified.iter().any(|u| u == number) {
            Segment::Unverified(number)
        } else {
            Segment::Number(number)
        });
        plain_from = span.end;
    }
    if plain_from < text.len() {
        out.push(Segment::Plain(&text[plain_from..]));
    }
    out
}

/// The line under the answer: speed figures, or what ended it early.
fn status_line(lang: Lang, stop: StopReason, cut: bool, timings: &Timings) -> String {
    let mut s = if stop == StopReason::DiagnosisOnly {
        format!("{} · {} ms", t(lang, Key::Diagnosis), timings.total_ms)
    } else if timings.cache_hit {
        t(lang, Key::CachedAnswer).to_string()
    } else {
        format!(
            "{} {} ms · {:.0} tok/s · {} {} ({} {}) · {} ms",
            t(lang, Key::FirstToken),
            timings.time_to_first_token_ms,
            timings.tokens_per_second,
            timings.prompt_tokens,
            t(lang, Key::PromptTokens),
            timings.cached_tokens,
            t(lang, Key::Reused),
            timings.total_ms
        )
    };
    if cut {
        let why = match stop {
            StopReason::Deadline => Key::CutDeadline,
            StopReason::Cancelled => Key::CutStopped,
            _ => Key::CutLength,
        };
        s.push_str(" · ");
        s.push_str(t(lang, why));
    }
    s
}

#[component]
pub fn ChatPanel() -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    let tr = move |k: Key| t(lang.get(), k);
    let question = RwSignal::new(String::new());
    let strategy = RwSignal::new(Strategy::default());
    let answer = RwSignal::new(None::<Answer>);
    let turns = RwSignal::new(Vec::<Turn>::new());
    let busy = RwSignal::new(false);
    let abort = browser::Abort::default();
    let status = use_context::<crate::chat::AssistantStatus>().unwrap_or_default();
    let offline = move || live.conn.get() == crate::live::Conn::Offline;

    // No model is no reason to refuse a question: the host still sends the diagnosis.
    let ask = move || {
        let q = question.get_untracked().trim().to_string();
        if q.is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        answer.set(Some(Answer {
            question: q.clone(),
            ..Default::default()
        }));
        let req = ChatRequest {
            question: q.clone(),
            strategy: Some(strategy.get_untracked()),
            history: turns.get_untracked(),
            cache: crate::chat::CacheMode::Use,
        };
        start_request(req, answer, busy, turns, abort);
    };
    let stop = move |_| abort.abort();

    view! {
        <section class="card wide chat" id="chat" aria-labelledby="chat-title">
            <h2 id="chat-title">{move || tr(Key::ChatTitle)}</h2>
            {(!status.ready).then(|| view! {
                <p class="note muted" id="chat-unavailable" role="status" data-code=status.error_code.map(|c| wire::name(&c)).unwrap_or_default()>
                    {move || tr(Key::ChatNoModel)}
                    {status.error.clone().map(|e| format!(" ({e})"))}
                </p>
            })}
            <Show when=offline>
                <p class="error" id="chat-offline" role="alert">{move || tr(Key::ChatOffline)}</p>
            </Show>
            <form
                class="ask"
                on:submit=move |ev| {
                    ev.prevent_default();
                    ask();
                }
            >
                <label class="sr-only" for="question">{move || tr(Key::Question)}</label>
                <input
                    id="question"
                    type="text"
                    maxlength="1000"
                    autocomplete="off"
                    placeholder=move || tr(Key::QuestionPlaceholder)
                    prop:value=move || question.get()
                    on:input=move |ev| question.set(event_target_value(&ev))
                />
                <label class="sr-only" for="strategy">{move || tr(Key::AnswerStyle)}</label>
                <select
                    id="strategy"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        strategy.set(wire::find(Strategy::ALL, &v).unwrap_or_default())
                    }
                >
                    {Strategy::ALL.map(|s| view! {
                        <option value=wire::name(&s) selected=s == Strategy::default()>{move || tr(strategy_label(s))}</option>
                    })}
                </select>
                <button id="ask" type="submit" disabled=move || busy.get() || offline()>{move || tr(Key::AskButton)}</button>
                <button id="stop" type="button" on:click=stop disabled=move || !busy.get()>{move || tr(Key::StopButton)}</button>
            </form>
            {move || answer.get().map(|a| exchange(a, lang))}
        </section>
    }
    .into_any()
}

/// One question and its answer: the diagnosis first, then the model's explanation (or why
/// there is none), beside the facts card.
fn exchange(a: Answer, lang: RwSignal<Lang>) -> impl IntoView {
    let tr = move |k: Key| t(lang.get(), k);
    let answer_lang = a.language;
    let diagnosis_only = a.diagnosis_only();
    let model_text = if diagnosis_only {
        Vec::new()
    } else {
        segments(&a.text, &a.unverified)
    };
    let flagged = model_text
        .iter()
        .any(|s| matches!(s, Segment::Unverified(_)));
    let model_text = model_text
        .into_iter()
        .map(|s| match s {
            Segment::Unverified(n) => view! {
                <u class="unverified" title=move || tr(Key::UnverifiedTitle) data-unverified=n.to_string()>{n.to_string()}</u>
            }
            .into_any(),
            Segment::Plain(s) | Segment::Number(s) => s.to_string().into_any(),
        })
        .collect_view();
    let diagnosis = a.explanation.is_some().then(|| {
        view! {
            <section class="diagnosis" id="diagnosis" lang=answer_lang.code() aria-labelledby="diagnosis-title">
                <h3 id="diagnosis-title">{move || tr(Key::Diagnosis)}</h3>
                <ul class="findings">
                    {a.findings.iter().map(|f| finding(f, answer_lang)).collect_view()}
                </ul>
            </section>
        }
    });
    let note = a.explanation.clone().map(|e| match e {
        Explanation::Model { model } => view! {
            <p class="answer-label" id="answer-label">{move || tr(Key::ExplainedBy).replace("{model}", &model)}</p>
        }
        .into_any(),
        Explanation::LanguageNotSupported {
            model,
            language,
            pull_command,
        } => view! {
            <div class="model-hint" id="model-hint" data-language=language.code()>
                <p>
                    {move || {
                        tr(Key::ModelHint)
                            .replace("{model}", &model)
                            .replace("{language}", language_name(lang.get(), language))
                    }}
                </p>
                <code>{pull_command}</code>
            </div>
        }
        .into_any(),
        Explanation::ModelUnavailable { code, message } => view! {
            <p class="note muted" id="model-note" data-code=wire::name(&code)>
                {move || tr(Key::ModelOff)}" "<span class="why">{message}</span>" "<code>{wire::name(&code)}</code>
            </p>
        }
        .into_any(),
        Explanation::Busy => view! {
            <p class="note muted" id="model-note" data-code="queue_full">{move || tr(Key::ModelBusy)}" "<code>"queue_full"</code></p>
        }
        .into_any(),
        Explanation::NotMeasured => view! {
            <p class="note muted" id="model-note" data-code="not_measured">{move || tr(Key::NotMeasured)}</p>
        }
        .into_any(),
    });
    view! {
        <div class="exchange">
            <div class="answer-col">
                <p class="q">{a.question.clone()}</p>
                {diagnosis}
                {note}
                <p class="answer" id="answer" lang=answer_lang.code() aria-live="polite" hidden=diagnosis_only data-chunks=a.chunks data-done=a.done.is_some().to_string()>
                    {model_text}
                </p>
                {flagged.then(|| view! {
                    <p class="legend muted" id="unverified-legend">{move || tr(Key::UnverifiedLegend)}</p>
                })}
                {a.error.clone().map(|e| {
                    let code = e.code();
                    let attr = code.clone();
                    view! {
                        <p class="error" id="chat-error" role="alert" data-code=attr>
                            {move || e.text(lang.get())}" "<code>{code}</code>
                        </p>
                    }
                })}
                <p class="timings muted" id="timings">
                    {a.done.map(|(stop, cut, timings)| move || status_line(lang.get(), stop, cut, &timings))}
                </p>
            </div>
            <aside class="facts" id="facts" hidden=a.facts.is_empty() aria-label=move || tr(Key::FactsUsedLabel)>
                <h3>{move || tr(Key::FactsUsed)}</h3>
                <dl>
                    {a.facts.iter().map(|f| view! {
                        <div class="row" data-key=f.key.clone()><dt>{f.label.clone()}</dt><dd>{f.value.clone()}</dd></div>
                    }).collect_view()}
                </dl>
            </aside>
        </div>
    }
}

/// One finding: its level as a badge (text and colour), its sentence with the numbers in bold.
fn finding(f: &Finding, lang: Lang) -> impl IntoView {
    let level = wire::name(&f.level);
    let text = segments(f.text(lang), &[])
        .into_iter()
        .map(|s| match s {
            Segment::Number(n) | Segment::Unverified(n) => {
                view! { <b class="num">{n.to_string()}</b> }.into_any()
            }
            Segment::Plain(s) => s.to_string().into_any(),
        })
        .collect_view();
    view! {
        <li class=format!("finding level-{level}") data-topic=wire::name(&f.topic) data-level=level.clone()>
            <span class=format!("badge level-{level}")>{level_text(lang, f.level)}</span>
            <span class="text">{text}</span>
            {f.advice_text(lang).map(|a| view! { <span class="advice">{a.to_string()}</span> })}
        </li>
    }
}

/// The label of an answer style in the `<select>`.
fn strategy_label(s: Strategy) -> Key {
    match s {
        Strategy::Speed => Key::StrategySpeed,
        Strategy::Balanced => Key::StrategyBalanced,
        Strategy::Quality => Key::StrategyQuality,
    }
}

/// Sends the question and folds the streamed events into `answer`; a finished exchange joins
/// the history that goes back with the next question.
fn start_request(
    req: ChatRequest,
    answer: RwSignal<Option<Answer>>,
    busy: RwSignal<bool>,
    turns: RwSignal<Vec<Turn>>,
    abort: browser::Abort,
) {
    let question = req.question.clone();
    let finish = move |end: StreamEnd| {
        answer.update(|a| {
            if let Some(a) = a {
                a.end(end)
            }
        });
        let finished = answer.with_untracked(|a| {
            a.as_ref()
                .filter(|a| a.done.is_some())
                .map(|a| (a.text.clone(), a.findings.clone()))
        });
        if let Some((text, findings)) = finished {
            turns.update(|t| {
                t.push(Turn {
                    question,
                    answer: text,
                    findings,
                });
                let excess = t.len().saturating_sub(KEEP_TURNS);
                t.drain(..excess);
            });
        }
        busy.set(false);
    };
    let body = match serde_json::to_string(&req) {
        Ok(body) => body,
        Err(e) => {
            return finish(StreamEnd::Http {
                status: 0,
                body: e.to_string(),
            })
        }
    };
    let on_event = move |data: &str| {
        let Ok(ev) = ChatEvent::from_json(data) else {
            return false;
        };
        // Let the diagnosis render on its own even when tokens (or a cached answer) arrived
        // in the same chunk: it is the part to trust first.
        let diagnosis = matches!(ev, ChatEvent::Diagnosis { .. });
        answer.update(|a| {
            if let Some(a) = a {
                a.apply(ev)
            }
        });
        diagnosis
    };
    browser::post_event_stream(CHAT_URL, body, abort, on_event, finish);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Topic;
    use crate::model::Level;

    fn finding(level: Level, en: &str, ja: &str) -> Finding {
        Finding {
            topic: Topic::Cpu,
            level,
            facts: vec!["cpu.total".into()],
            en: en.into(),
            ja: ja.into(),
            not_measured: false,
            advice: None,
        }
    }

    fn done(answer: &str, stop: StopReason, unverified: &[&str]) -> ChatEvent {
        ChatEvent::Done {
            answer: answer.into(),
            stop,
            cut: false,
            timings: Timings::default(),
            unverified: unverified.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn how_a_stream_ends_decides_what_the_page_says() {
        // A refusal carries the host's reason and code.
        let mut a = Answer::default();
        a.end(StreamEnd::Http {
            status: 400,
            body: r#"{"error":"the question is longer than 1000 characters","code":"question_too_long"}"#.into(),
        });
        let f = a.error.clone().unwrap();
        assert_eq!(f.code(), "question_too_long");
        assert_eq!(
            f.text(Lang::En),
            "The host refused the question (HTTP 400): the question is longer than 1000 characters"
        );
        // Not our body (a proxy's page): still a visible error, never a blank answer.
        let mut a = Answer::default();
        a.end(StreamEnd::Http {
            status: 502,
            body: "<html>Bad Gateway</html>".into(),
        });
        assert_eq!(
            a.error.as_ref().map(Failure::code).as_deref(),
            Some("http_502")
        );

        // Closed before `done`: interrupted, whatever arrived stays.
        let mut a = Answer::default();
        a.apply(ChatEvent::Token {
            text: "Your".into(),
        });
        a.end(StreamEnd::Closed);
        assert_eq!(a.error, Some(Failure::Interrupted));
        assert_eq!(a.text, "Your");
        assert!(a.error.unwrap().text(Lang::Ja).contains("途切れ"));
        let mut a = Answer::default();
        a.end(StreamEnd::Broken);
        assert_eq!(a.error, Some(Failure::Interrupted));

        // A finished answer, a stream's own error event, or the user's Stop: nothing added.
        let mut a = Answer::default();
        a.apply(done("ok", StopReason::EndOfGeneration, &[]));
        a.end(StreamEnd::Closed);
        assert_eq!(a.error, None);
        let mut a = Answer::default();
        a.apply(ChatEvent::Error {
            code: ErrorCode::EngineStopped,
            message: "the model engine has stopped".into(),
        });
        a.end(StreamEnd::Closed);
        assert_eq!(
            a.error.as_ref().map(Failure::code).as_deref(),
            Some("engine_stopped")
        );
        let mut a = Answer::default();
        a.apply(ChatEvent::Token {
            text: "Your".into(),
        });
        a.end(StreamEnd::Aborted);
        assert_eq!(a.error, None);
        let mut a = Answer::default();
        a.end(StreamEnd::Unreachable);
        assert_eq!(a.error, Some(Failure::Unreachable));
    }

    #[test]
    fn answer_folds_events_in_order() {
        let mut a = Answer::default();
        a.apply(ChatEvent::Start {
            intents: vec![crate::chat::Intent::About(crate::chat::Topic::Cpu)],
            facts: vec![Fact {
                key: "cpu.total".into(),
                label: "CPU".into(),
                value: "12.0%".into(),
            }],
            language: Lang::En,
        });
        a.apply(ChatEvent::Diagnosis {
            findings: vec![finding(
                Level::Warning,
                "CPU is 82 % busy.",
                "CPU使用率は82%です。",
            )],
            explanation: Explanation::Model {
                model: "SmolLM2".into(),
            },
            snapshot: Box::default(),
        });
        assert_eq!(a.findings.len(), 1);
        assert!(!a.diagnosis_only());
        assert!(a.text.is_empty(), "the diagnosis is not model text");
        a.apply(ChatEvent::Token {
            text: "Your ".into(),
        });
        a.apply(ChatEvent::Token { text: "CPU".into() });
        assert_eq!((a.text.as_str(), a.chunks), ("Your CPU", 2));
        a.apply(done(
            "Your CPU is 82 % busy, 3.7 GHz.",
            StopReason::EndOfGeneration,
            &["3.7"],
        ));
        assert_eq!(a.text, "Your CPU is 82 % busy, 3.7 GHz.");
        assert_eq!(a.unverified, vec!["3.7".to_string()]);
        assert_eq!(a.facts[0].value, "12.0%");
        assert_eq!(a.language, Lang::En);
        assert!(a.done.is_some());
    }

    #[test]
    fn a_diagnosis_without_model_is_the_whole_answer() {
        let mut a = Answer::default();
        a.apply(ChatEvent::Start {
            intents: vec![],
            facts: vec![],
            language: Lang::Ja,
        });
        a.apply(ChatEvent::Diagnosis {
            findings: vec![finding(Level::Normal, "Fine.", "正常です。")],
            explanation: Explanation::LanguageNotSupported {
                model: "SmolLM2".into(),
                language: Lang::Ja,
                pull_command: "mac-status model pull qwen".into(),
            },
            snapshot: Box::default(),
        });
        assert!(a.diagnosis_only());
        a.apply(done("正常です。", StopReason::DiagnosisOnly, &[]));
        assert_eq!(a.language, Lang::Ja);
        assert_eq!(a.findings[0].text(a.language), "正常です。");
        assert_eq!(
            a.text, "正常です。",
            "kept for the history sent with the next question"
        );
        assert!(a.done.is_some() && a.chunks == 0);

        let busy = Answer {
            explanation: Some(Explanation::Busy),
            ..Default::default()
        };
        assert!(busy.diagnosis_only());
    }

    #[test]
    fn findings_mark_every_number() {
        use Segment::*;
        assert_eq!(
            segments("CPU is 82 % busy; node (40 %) uses 1,024 MB.", &[]),
            vec![
                Plain("CPU is "),
                Number("82"),
                Plain(" % busy; node ("),
                Number("40"),
                Plain(" %) uses "),
                Number("1,024"),
                Plain(" MB."),
            ]
        );
        assert_eq!(
            segments("CPU使用率は82%です。", &[]),
            vec![Plain("CPU使用率は"), Number("82"), Plain("%です。")]
        );
        assert_eq!(segments("", &[]), vec![]);
        assert_eq!(segments("12", &[]), vec![Number("12")]);
    }

    #[test]
    fn only_listed_whole_numbers_are_unverified() {
        use Segment::*;
        let listed = vec!["3.7".to_string(), "436".to_string()];
        assert_eq!(
            segments(
                "At 3.7 GHz (not 13.7 or 3.75), 436 MB, 4367 files, 82 %. Then 436.",
                &listed
            ),
            vec![
                Plain("At "),
                Unverified("3.7"),
                Plain(" GHz (not "),
                Number("13.7"),
                Plain(" or "),
                Number("3.75"),
                Plain("), "),
                Unverified("436"),
                Plain(" MB, "),
                Number("4367"),
                Plain(" files, "),
                Number("82"),
                Plain(" %. Then "),
                Unverified("436"),
                Plain("."),
            ]
        );
        // Digits glued to a word are part of a name, not a number; a list marker is no number.
        let two = ["2".to_string()];
        assert_eq!(
            segments("SmolLM2 on x86_64, 2nd try, 3GHz: 2", &two),
            vec![Plain("SmolLM2 on x86_64, 2nd try, 3GHz: "), Unverified("2")]
        );
        assert_eq!(
            segments("2. Close apps\n- 2) Free 2GB", &two),
            vec![
                Plain("2. Close apps\n- 2) Free "),
                Unverified("2"),
                Plain("GB")
            ]
        );
        // Full-width digits, as a Japanese answer may write them, are numbers too.
        assert_eq!(
            segments("メモリは１２GBです", &["１２".to_string()]),
            vec![Plain("メモリは"), Unverified("１２"), Plain("GBです")]
        );
    }
}
