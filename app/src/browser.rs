//! Every browser API the app touches — local storage, the time zone, `<html lang>`, the live
//! `EventSource` and the chat's streamed `fetch` — behind plain functions. With `hydrate` they
//! talk to the browser; otherwise (server rendering, native tests) each has a no-op twin, so
//! callers carry no `cfg`.

#[cfg(feature = "hydrate")]
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// Longest wait between reconnect attempts when the browser has given up on a stream.
pub const MAX_BACKOFF_MS: u32 = 30_000;

/// Exponential backoff: 1 s, 2 s, 4 s … capped at [`MAX_BACKOFF_MS`].
pub fn backoff_ms(attempt: u32) -> u32 {
    1000u32
        .saturating_mul(1u32 << attempt.min(15))
        .min(MAX_BACKOFF_MS)
}

/// The local-storage key of `item`: `mac-status.lang`, `mac-status.last`.
pub fn storage_key(item: &str) -> String {
    format!("{}.{item}", crate::NAME)
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

/// The stored `item`, if any and if it still parses.
#[cfg(feature = "hydrate")]
pub fn load<T: DeserializeOwned>(item: &str) -> Option<T> {
    use gloo_storage::Storage;
    gloo_storage::LocalStorage::get(storage_key(item)).ok()
}

#[cfg(not(feature = "hydrate"))]
pub fn load<T: DeserializeOwned>(_item: &str) -> Option<T> {
    None
}

/// Stores `value` as JSON under `item`; a full or disabled storage only loses the copy.
#[cfg(feature = "hydrate")]
pub fn save<T: Serialize>(item: &str, value: &T) {
    use gloo_storage::Storage;
    let _ = gloo_storage::LocalStorage::set(storage_key(item), value);
}

#[cfg(not(feature = "hydrate"))]
pub fn save<T: Serialize>(_item: &str, _value: &T) {}

/// The browser's clock, in ms since the epoch; 0 when rendering on the host.
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    0.0
}

/// Runs `f` every `ms` for the page's lifetime (nothing on the host).
pub fn every(ms: u32, f: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    gloo_timers::callback::Interval::new(ms, f).forget();
    #[cfg(not(feature = "hydrate"))]
    let _ = (ms, f);
}

/// The browser's offset from UTC in minutes (east positive); 0 when rendering on the host.
pub fn utc_offset_min() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        -(js_sys::Date::new_0().get_timezone_offset() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    0
}

/// Keeps `<html lang>` right for screen readers and fonts after a language switch.
pub fn set_document_lang(code: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = document().document_element() {
        let _ = el.set_attribute("lang", code);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = code;
}

/// Opens a Server-Sent Events stream. `EventSource` retries by itself while the host is away
/// (the host sends `retry:`); if the browser gives up (the stream is closed), it is reopened
/// with exponential backoff, so a restarted host brings the page back without a reload.
///
/// `on_message(data, accepted)` gets each message with the number this connection accepted
/// before it, and says whether it accepted this one; `on_error` runs whenever the stream drops.
/// `on_named` gets the data of each event named `name` (`event: alert`), which `onmessage`
/// never sees. All are `Copy` (they hold signals), so every reconnection reuses them as they are.
#[cfg(feature = "hydrate")]
pub fn event_stream<M, N, E>(
    url: &'static str,
    on_message: M,
    (name, on_named): (&'static str, N),
    on_error: E,
) where
    M: Fn(&str, u32) -> bool + Copy + 'static,
    N: Fn(&str) + Copy + 'static,
    E: Fn() + Copy + 'static,
{
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::{closure::Closure, JsCast};

    fn open<M, N, E>(
        url: &'static str,
        on_message: M,
        named: (&'static str, N),
        on_error: E,
        attempt: u32,
    ) where
        M: Fn(&str, u32) -> bool + Copy + 'static,
        N: Fn(&str) + Copy + 'static,
        E: Fn() + Copy + 'static,
    {
        let retry = move |attempt: u32| {
            gloo_timers::callback::Timeout::new(backoff_ms(attempt), move || {
                open(url, on_message, named, on_error, attempt + 1)
            })
            .forget();
        };
        let Ok(es) = web_sys::EventSource::new(url) else {
            on_error();
            retry(attempt);
            return;
        };
        let received = Rc::new(Cell::new(0u32));
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new({
            let received = received.clone();
            move |ev: web_sys::MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                if on_message(&text, received.get()) {
                    received.set(received.get() + 1);
                }
            }
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new({
            let es = es.clone();
            move |_: web_sys::Event| {
                on_error();
                if es.ready_state() == web_sys::EventSource::CLOSED {
                    // A stream that worked starts the backoff over.
                    retry(if received.get() > 0 { 0 } else { attempt });
                }
            }
        });
        let on_named =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                if let Some(text) = ev.data().as_string() {
                    (named.1)(&text);
                }
            });
        es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let _ = es.add_event_listener_with_callback(named.0, on_named.as_ref().unchecked_ref());
        // The stream lives as long as the page: the closures must too.
        on_message.forget();
        on_error.forget();
        on_named.forget();
    }

    open(url, on_message, (name, on_named), on_error, 0);
}

#[cfg(not(feature = "hydrate"))]
pub fn event_stream<M, N, E>(
    _url: &'static str,
    _on_message: M,
    _named: (&'static str, N),
    _on_error: E,
) where
    M: Fn(&str, u32) -> bool + Copy + 'static,
    N: Fn(&str) + Copy + 'static,
    E: Fn() + Copy + 'static,
{
}

/// `GET`s `url` and parses its JSON body; the error says why not (unreachable, an HTTP
/// status, a body that does not parse).
#[cfg(feature = "hydrate")]
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window")?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| "unreachable".to_string())?
        .unchecked_into();
    if !resp.ok() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(|_| "no body".to_string())?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .ok_or("no body")?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

#[cfg(not(feature = "hydrate"))]
pub async fn get_json<T: DeserializeOwned>(_url: &str) -> Result<T, String> {
    Err("not in a browser".into())
}

/// Runs `fut` on the page (nothing on the host, where effects never run anyway).
pub fn spawn(fut: impl std::future::Future<Output = ()> + 'static) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(fut);
    #[cfg(not(feature = "hydrate"))]
    drop(fut);
}

/// Where the horizontal position of a pointer event lies across its target, 0 (left) to 1.
pub fn pointer_fraction(ev: &leptos::ev::PointerEvent) -> Option<f64> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let el: web_sys::Element = ev.current_target()?.dyn_into().ok()?;
        let rect = el.get_bounding_client_rect();
        (rect.width() > 0.0)
            .then(|| ((f64::from(ev.client_x()) - rect.left()) / rect.width()).clamp(0.0, 1.0))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}

/// The browser's answer about system notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyPermission {
    /// Not asked yet: a click may ask.
    Ask,
    Granted,
    Denied,
    /// No Notifications API (or rendering on the host).
    Unsupported,
}

/// What the browser says now, without asking.
pub fn notify_permission() -> NotifyPermission {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsValue;
        let has_api = js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("Notification"))
            .unwrap_or(false);
        if !has_api {
            return NotifyPermission::Unsupported;
        }
        match web_sys::Notification::permission() {
            web_sys::NotificationPermission::Granted => NotifyPermission::Granted,
            web_sys::NotificationPermission::Denied => NotifyPermission::Denied,
            _ => NotifyPermission::Ask,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    NotifyPermission::Unsupported
}

/// Asks for permission (call only from a click: browsers refuse, and users resent, a prompt
/// on load); `done` gets the answer.
pub fn ask_notify_permission(done: impl FnOnce(NotifyPermission) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        if notify_permission() == NotifyPermission::Unsupported {
            return done(NotifyPermission::Unsupported);
        }
        match web_sys::Notification::request_permission() {
            Ok(p) => spawn(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(p).await;
                done(notify_permission());
            }),
            Err(_) => done(notify_permission()),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    done(NotifyPermission::Unsupported);
}

/// Shows a system notification; `tag` makes a second tab's copy of the same alert replace the
/// first instead of stacking. Through the service worker where one controls the page (the only
/// way on a phone), else with the page's own `Notification`.
pub fn show_notification(title: &str, body: &str, tag: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if notify_permission() != NotifyPermission::Granted {
            return;
        }
        let opts = web_sys::NotificationOptions::new();
        opts.set_body(body);
        opts.set_tag(tag);
        opts.set_icon("/icons/icon-192.png");
        let container = web_sys::window().map(|w| w.navigator().service_worker());
        if let Some(c) = container.filter(|c| c.controller().is_some()) {
            if let Ok(ready) = c.ready() {
                let title = title.to_string();
                spawn(async move {
                    if let Ok(reg) = wasm_bindgen_futures::JsFuture::from(ready).await {
                        let reg: web_sys::ServiceWorkerRegistration = reg.unchecked_into();
                        let _ = reg.show_notification_with_options(&title, &opts);
                    }
                });
                return;
            }
        }
        let _ = web_sys::Notification::new_with_options(title, &opts);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (title, body, tag);
}

/// Where a Stop button finds the running request. The browser's `AbortController` is not
/// `Send`, so it lives in the page's local arena; the host never has one.
#[cfg(feature = "hydrate")]
#[derive(Clone, Copy)]
pub struct Abort(StoredValue<Option<web_sys::AbortController>, LocalStorage>);

#[cfg(not(feature = "hydrate"))]
#[derive(Clone, Copy, Default)]
pub struct Abort(());

#[cfg(feature = "hydrate")]
impl Default for Abort {
    fn default() -> Self {
        Self(StoredValue::new_local(None))
    }
}

impl Abort {
    /// Stops the request in flight, if any (the host frees the engine when the connection
    /// closes); what already arrived stays.
    pub fn abort(&self) {
        #[cfg(feature = "hydrate")]
        self.0.update_value(|a| {
            if let Some(a) = a.take() {
                a.abort();
            }
        });
    }
}

/// How a streamed request ended, as far as the transport can tell; whether the stream carried
/// its final event is for the caller to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// The host closed the stream.
    Closed,
    /// Stopped through [`Abort`].
    Aborted,
    /// No response: the host is unreachable.
    Unreachable,
    /// The host refused the request; `body` is its text (our API's `{"error","code"}`).
    Http { status: u16, body: String },
    /// The connection broke mid-stream.
    Broken,
}

/// `POST`s the JSON `body` to `url` and reads the answer as Server-Sent Events from the fetch
/// body (an `EventSource` cannot `POST`). `on_data` gets each event's `data`; when it returns
/// true the page renders before the next event is applied, even one from the same chunk.
/// `on_end` runs once, after the stream ends, fails or is stopped through `abort`.
#[cfg(feature = "hydrate")]
pub fn post_event_stream(
    url: &'static str,
    body: String,
    abort: Abort,
    mut on_data: impl FnMut(&str) -> bool + 'static,
    on_end: impl FnOnce(StreamEnd) + 'static,
) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let controller = web_sys::AbortController::new().ok();
    abort.0.set_value(controller.clone());
    leptos::task::spawn_local(async move {
        let aborted = {
            let controller = controller.clone();
            move || controller.as_ref().is_some_and(|c| c.signal().aborted())
        };
        let end: StreamEnd = async {
            let init = web_sys::RequestInit::new();
            init.set_method("POST");
            init.set_body(&wasm_bindgen::JsValue::from_str(&body));
            let Ok(headers) = web_sys::Headers::new() else {
                return StreamEnd::Unreachable;
            };
            let _ = headers.set("content-type", "application/json");
            let _ = headers.set("accept", "text/event-stream");
            init.set_headers(&headers);
            if let Some(c) = &controller {
                init.set_signal(Some(&c.signal()));
            }
            let Some(window) = web_sys::window() else {
                return StreamEnd::Unreachable;
            };
            let resp: web_sys::Response =
                match JsFuture::from(window.fetch_with_str_and_init(url, &init)).await {
                    Ok(r) => r.unchecked_into(),
                    Err(_) if aborted() => return StreamEnd::Aborted,
                    Err(_) => return StreamEnd::Unreachable,
                };
            if !resp.ok() {
                // A refusal (400, 413, 503 …) carries its reason as JSON, not as events.
                let body = match resp.text() {
                    Ok(p) => JsFuture::from(p)
                        .await
                        .ok()
                        .and_then(|t| t.as_string())
                        .unwrap_or_default(),
                    Err(_) => String::new(),
                };
                return StreamEnd::Http {
                    status: resp.status(),
                    body,
                };
            }
            let Some(stream) = resp.body() else {
                return StreamEnd::Closed;
            };
            let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
            let mut buf = Vec::new();
            loop {
                let chunk = match JsFuture::from(reader.read()).await {
                    Ok(c) => c,
                    // Stopped by the user (keep what arrived), or the connection broke.
                    Err(_) if aborted() => return StreamEnd::Aborted,
                    Err(_) => return StreamEnd::Broken,
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
                    if on_data(&data) {
                        gloo_timers::future::TimeoutFuture::new(0).await;
                    }
                }
            }
            StreamEnd::Closed
        }
        .await;
        abort.0.set_value(None);
        on_end(end);
    });
}

#[cfg(not(feature = "hydrate"))]
pub fn post_event_stream(
    _url: &'static str,
    _body: String,
    _abort: Abort,
    _on_data: impl FnMut(&str) -> bool + 'static,
    _on_end: impl FnOnce(StreamEnd) + 'static,
) {
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
    fn backoff_doubles_and_caps() {
        assert_eq!(
            (0..7).map(backoff_ms).collect::<Vec<_>>(),
            vec![1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
        assert_eq!(backoff_ms(100), 30000);
    }

    #[test]
    fn storage_keys_carry_the_app_name() {
        // The end-to-end tests read `mac-status.last` from the page's storage.
        assert_eq!(storage_key("last"), "mac-status.last");
        assert_eq!(storage_key("lang"), "mac-status.lang");
    }
}
