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

/// Opens the snapshot stream. `EventSource` reconnects by itself (the host sends `retry:`),
/// so a restarted host brings the page back to live without a reload.
#[cfg(feature = "hydrate")]
pub fn connect(state: LiveState, window_ms: u64) {
    use wasm_bindgen::{closure::Closure, JsCast};

    let Ok(es) = web_sys::EventSource::new("/api/v1/stream") else {
        state.conn.set(Conn::Offline);
        return;
    };
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            if let Ok(snap) = serde_json::from_str::<Snapshot>(&text) {
                state.apply(snap, window_ms);
                state.conn.set(Conn::Live);
            }
        });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        state.conn.set(Conn::Offline);
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
