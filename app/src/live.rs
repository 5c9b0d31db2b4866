//! Live state of the page: the latest snapshot and chart history, fed by the host's
//! Server-Sent Events stream (`/api/v1/stream`) once the page has hydrated.

use leptos::prelude::*;

use crate::i18n::Lang;
use crate::model::{HistoryPoint, Snapshot};

/// Where the page's numbers come from right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    /// Server-rendered numbers, stream not (yet) open.
    Connecting,
    Live,
    /// The stream dropped; the browser retries by itself.
    Offline,
}

/// Shared through context so every card reads the same signals.
#[derive(Clone, Copy)]
pub struct LiveState {
    pub snapshot: RwSignal<Option<Snapshot>>,
    pub history: RwSignal<Vec<HistoryPoint>>,
    pub conn: RwSignal<Conn>,
    pub lang: RwSignal<Lang>,
}

impl LiveState {
    pub fn new() -> Self {
        Self {
            snapshot: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            conn: RwSignal::new(Conn::Connecting),
            lang: RwSignal::new(Lang::En),
        }
    }

    /// Applies one streamed snapshot: newest numbers, plus one chart point.
    pub fn apply(&self, snap: Snapshot, window_ms: u64) {
        self.history
            .update(|h| push_point(h, HistoryPoint::from_snapshot(&snap), window_ms));
        self.snapshot.set(Some(snap));
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends a point in time order and drops what fell out of the chart window.
pub fn push_point(history: &mut Vec<HistoryPoint>, p: HistoryPoint, window_ms: u64) {
    if history.last().is_some_and(|last| last.t_ms >= p.t_ms) {
        return;
    }
    history.push(p);
    let cutoff = p.t_ms.saturating_sub(window_ms);
    let stale = history.iter().take_while(|q| q.t_ms < cutoff).count();
    history.drain(..stale);
}

/// Both histories in time order, each instant once: the page's own (from the host or the
/// service worker's copy) and the browser's stored one may each hold points the other lacks.
pub fn merge_history(a: Vec<HistoryPoint>, b: Vec<HistoryPoint>) -> Vec<HistoryPoint> {
    let mut all = a;
    all.extend(b);
    all.sort_by_key(|p| p.t_ms);
    all.dedup_by_key(|p| p.t_ms);
    all
}

/// What the browser keeps of the last live state, so the app opens with it offline.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub snapshot: Snapshot,
    pub history: Vec<HistoryPoint>,
}

pub const STORAGE_KEY: &str = "mac-status.last";
/// Write the stored state every N snapshots: enough to lose at most a few seconds.
pub const SAVE_EVERY: u32 = 3;

/// Longest wait between reconnect attempts when the browser has given up on a stream.
pub const MAX_BACKOFF_MS: u32 = 30_000;

/// Exponential backoff: 1 s, 2 s, 4 s … capped at [`MAX_BACKOFF_MS`].
pub fn backoff_ms(attempt: u32) -> u32 {
    1000u32
        .saturating_mul(1u32 << attempt.min(15))
        .min(MAX_BACKOFF_MS)
}

impl LiveState {
    /// The stored state when it is newer than what the page was rendered with (the page
    /// may come from the service worker's cache, older than the last stream event seen).
    #[cfg(feature = "hydrate")]
    pub fn restore(&self) {
        use gloo_storage::Storage;
        let Ok(stored) = gloo_storage::LocalStorage::get::<Stored>(STORAGE_KEY) else {
            return;
        };
        let current = self
            .snapshot
            .with_untracked(|s| s.as_ref().map(|s| s.taken_at_ms))
            .unwrap_or(0);
        if stored.snapshot.taken_at_ms > current {
            self.history
                .update(|h| *h = merge_history(std::mem::take(h), stored.history));
            self.snapshot.set(Some(stored.snapshot));
        }
    }

    #[cfg(feature = "hydrate")]
    fn save(&self) {
        use gloo_storage::Storage;
        let stored = self.snapshot.with_untracked(|s| {
            s.clone().map(|snapshot| Stored {
                snapshot,
                history: self.history.get_untracked(),
            })
        });
        if let Some(stored) = stored {
            let _ = gloo_storage::LocalStorage::set(STORAGE_KEY, stored);
        }
    }
}

/// Opens the snapshot stream. `EventSource` retries by itself while the host is away (the
/// host sends `retry:`); if the browser gives up (the stream is closed), we reopen it with
/// exponential backoff. Either way a restarted host brings the page back without a reload.
#[cfg(feature = "hydrate")]
pub fn connect(state: LiveState, window_ms: u64) {
    open_stream(state, window_ms, 0);
}

#[cfg(feature = "hydrate")]
fn open_stream(state: LiveState, window_ms: u64, attempt: u32) {
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::{closure::Closure, JsCast};

    let retry = move |attempt: u32| {
        gloo_timers::callback::Timeout::new(backoff_ms(attempt), move || {
            open_stream(state, window_ms, attempt + 1)
        })
        .forget();
    };
    let Ok(es) = web_sys::EventSource::new("/api/v1/stream") else {
        state.conn.set(Conn::Offline);
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
            if let Ok(snap) = serde_json::from_str::<Snapshot>(&text) {
                state.apply(snap, window_ms);
                state.conn.set(Conn::Live);
                received.set(received.get() + 1);
                if received.get() % SAVE_EVERY == 1 {
                    state.save();
                }
            }
        }
    });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new({
        let es = es.clone();
        move |_: web_sys::Event| {
            state.conn.set(Conn::Offline);
            if es.ready_state() == web_sys::EventSource::CLOSED {
                // A stream that worked starts the backoff over.
                retry(if received.get() > 0 { 0 } else { attempt });
            }
        }
    });
    es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The stream lives as long as the page: the closures must too.
    on_message.forget();
    on_error.forget();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_history_is_ordered_and_unique() {
        let merged = merge_history(vec![pt(3), pt(1)], vec![pt(2), pt(3), pt(4)]);
        assert_eq!(
            merged.iter().map(|p| p.t_ms).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(
            (0..7).map(backoff_ms).collect::<Vec<_>>(),
            vec![1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
        assert_eq!(backoff_ms(100), 30000);
    }

    fn pt(t: u64) -> HistoryPoint {
        HistoryPoint {
            t_ms: t,
            ..Default::default()
        }
    }

    #[test]
    fn push_point_keeps_order_and_window() {
        let mut h = vec![pt(1_000), pt(2_000)];
        push_point(&mut h, pt(1_500), 10_000);
        assert_eq!(h.len(), 2, "an out-of-order point is ignored");
        push_point(&mut h, pt(11_500), 10_000);
        assert_eq!(
            h.iter().map(|p| p.t_ms).collect::<Vec<_>>(),
            vec![2_000, 11_500]
        );
    }
}
