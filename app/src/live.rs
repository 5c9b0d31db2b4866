//! Live state of the page: the latest snapshot and chart history, fed by the host's
//! Server-Sent Events stream (`/api/v1/stream`) once the page has hydrated.

use leptos::prelude::*;

use crate::alert::{notification, Alert, AlertEvent};
use crate::browser;
use crate::i18n::Lang;
use crate::model::{HistoryPoint, Snapshot};
use crate::ranges::RangeCache;

/// Where the page's numbers come from right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    /// Server-rendered numbers, stream not (yet) open.
    Connecting,
    Live,
    /// The stream is open but no snapshot came for [`STALE_AFTER_INTERVALS`] intervals: the
    /// host's sampler is stuck, and the numbers shown are old.
    Stale,
    /// The stream dropped; the browser retries by itself.
    Offline,
}

/// No snapshot for this many sampling intervals means the numbers are stale (the host's
/// `/healthz` uses the same rule).
pub const STALE_AFTER_INTERVALS: u64 = 3;
/// Sampling interval assumed until two snapshots tell the real one, and the bounds of the
/// estimate (a clock step must not make it absurd).
const DEFAULT_INTERVAL_MS: u64 = 1_000;
const INTERVAL_BOUNDS_MS: (u64, u64) = (250, 60_000);
/// How often the page checks for staleness.
const STALE_CHECK_MS: u32 = 1_000;

/// When the last snapshot arrived (browser clock) and the host's sampling interval, estimated
/// from the spacing of the snapshots' own timestamps.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Arrivals {
    pub last_received_ms: f64,
    pub last_taken_ms: u64,
    pub interval_ms: u64,
}

impl Arrivals {
    /// Records a snapshot taken at `taken_ms` (host clock) received at `now_ms` (browser clock).
    pub fn record(&mut self, taken_ms: u64, now_ms: f64) {
        let (lo, hi) = INTERVAL_BOUNDS_MS;
        self.interval_ms = match taken_ms.checked_sub(self.last_taken_ms) {
            Some(d) if self.last_taken_ms > 0 && d > 0 => d.clamp(lo, hi),
            _ if self.interval_ms > 0 => self.interval_ms,
            _ => DEFAULT_INTERVAL_MS,
        };
        self.last_taken_ms = taken_ms;
        self.last_received_ms = now_ms;
    }

    /// Whether nothing came for [`STALE_AFTER_INTERVALS`] intervals by `now_ms`.
    pub fn is_stale(&self, now_ms: f64) -> bool {
        self.last_received_ms > 0.0
            && now_ms - self.last_received_ms
                > (STALE_AFTER_INTERVALS * self.interval_ms.max(INTERVAL_BOUNDS_MS.0)) as f64
    }
}

/// Shared through context so every card reads the same signals.
#[derive(Clone, Copy)]
pub struct LiveState {
    pub snapshot: RwSignal<Option<Snapshot>>,
    pub history: RwSignal<Vec<HistoryPoint>>,
    pub conn: RwSignal<Conn>,
    pub lang: RwSignal<Lang>,
    pub arrivals: StoredValue<Arrivals>,
    /// Open alerts first, then ended ones, newest first (as `/api/v1/alerts`).
    pub alerts: RwSignal<Vec<Alert>>,
    /// The user turned system notifications on here (and the browser allowed them).
    pub notify: RwSignal<bool>,
    pub ranges: RangeCache,
}

impl LiveState {
    pub fn new() -> Self {
        Self {
            snapshot: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            conn: RwSignal::new(Conn::Connecting),
            lang: RwSignal::new(Lang::En),
            arrivals: StoredValue::new(Arrivals::default()),
            alerts: RwSignal::new(Vec::new()),
            notify: RwSignal::new(false),
            ranges: RangeCache::new(),
        }
    }

    /// Applies one alert event: the list follows it, and a raised or escalated alert becomes a
    /// system notification when the user turned them on.
    pub fn apply_alert(&self, ev: AlertEvent) {
        if self.notify.get_untracked() {
            if let Some(n) = notification(&ev, self.lang.get_untracked()) {
                let tag = format!("{}-alert-{}", crate::NAME, ev.alert().id);
                browser::show_notification(&n.title, &n.body, &tag);
            }
        }
        self.alerts
            .update(|list| upsert_alert(list, ev.alert().clone()));
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

/// A point this much older than the newest one means the clock stepped back (as the host's
/// history does then, the chart restarts); anything closer is a replayed point, ignored.
pub const CLOCK_STEP_BACK_MS: u64 = 2_000;

/// Appends a point in time order and drops what fell out of the chart window. If the clock
/// stepped back, the chart restarts from `p` instead of waiting, frozen, for the clock to catch
/// up with the old points.
pub fn push_point(history: &mut Vec<HistoryPoint>, p: HistoryPoint, window_ms: u64) {
    if let Some(last) = history.last() {
        if last.t_ms > p.t_ms + CLOCK_STEP_BACK_MS {
            history.clear();
        } else if last.t_ms >= p.t_ms {
            return;
        }
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

/// Most alerts the page lists (the host keeps its own, bounded, list).
pub const MAX_ALERTS: usize = 50;

/// Puts `a` in the list in place of its earlier state, open alerts first, newest first.
pub fn upsert_alert(list: &mut Vec<Alert>, a: Alert) {
    list.retain(|o| o.id != a.id);
    list.push(a);
    list.sort_by_key(|a| (a.ended_at_ms.is_some(), std::cmp::Reverse(a.started_at_ms)));
    list.truncate(MAX_ALERTS);
}

/// What the browser keeps of the last live state, so the app opens with it offline.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub snapshot: Snapshot,
    pub history: Vec<HistoryPoint>,
    /// Absent in states stored before alerts existed.
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// The local-storage item (see `browser::storage_key`) that keeps the last live state.
const STORED_ITEM: &str = "last";
/// Write the stored state every N snapshots: enough to lose at most a few seconds.
pub const SAVE_EVERY: u32 = 3;
/// The host's snapshot stream, and the name of its alert events.
const STREAM_URL: &str = "/api/v1/stream";
const ALERT_EVENT: &str = "alert";
/// The host's list of alerts, read again on each (re)connection: events missed while the page
/// was away are not replayed.
const ALERTS_URL: &str = "/api/v1/alerts";

#[derive(serde::Deserialize)]
struct AlertList {
    alerts: Vec<Alert>,
}

impl LiveState {
    /// The stored state when it is newer than what the page was rendered with (the page
    /// may come from the service worker's cache, older than the last stream event seen).
    pub fn restore(&self) {
        let Some(stored) = browser::load::<Stored>(STORED_ITEM) else {
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
            self.alerts.set(stored.alerts);
        }
    }

    /// Keeps the latest snapshot and history for the next (possibly offline) start.
    pub fn save(&self) {
        let stored = self.snapshot.with_untracked(|s| {
            s.clone().map(|snapshot| Stored {
                snapshot,
                history: self.history.get_untracked(),
                alerts: self.alerts.get_untracked(),
            })
        });
        if let Some(stored) = stored {
            browser::save(STORED_ITEM, &stored);
        }
    }
}

/// Feeds `state` from the host's snapshot stream (in the browser; see `browser::event_stream`
/// for the reconnects). Each snapshot brings the page live; a dropped stream shows it offline.
pub fn connect(state: LiveState, window_ms: u64) {
    browser::event_stream(
        STREAM_URL,
        move |data, accepted| {
            let Ok(snap) = serde_json::from_str::<Snapshot>(data) else {
                return false;
            };
            let taken = snap.taken_at_ms;
            if accepted == 0 {
                browser::spawn(async move {
                    if let Ok(list) = browser::get_json::<AlertList>(ALERTS_URL).await {
                        state.alerts.set(list.alerts);
                    }
                });
            }
            state
                .arrivals
                .update_value(|a| a.record(taken, browser::now_ms()));
            state.apply(snap, window_ms);
            state.conn.set(Conn::Live);
            if accepted % SAVE_EVERY == 0 {
                state.save();
            }
            true
        },
        (ALERT_EVENT, move |data: &str| {
            if let Ok(ev) = AlertEvent::from_json(data) {
                state.apply_alert(ev);
            }
        }),
        move || state.conn.set(Conn::Offline),
    );
    // An open stream that stopped delivering is not live: say so instead of showing old
    // numbers under a "Live" badge.
    browser::every(STALE_CHECK_MS, move || {
        let stale = state.arrivals.with_value(|a| a.is_stale(browser::now_ms()));
        if stale && state.conn.get_untracked() == Conn::Live {
            state.conn.set(Conn::Stale);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_after_three_intervals_of_silence() {
        let mut a = Arrivals::default();
        assert!(!a.is_stale(1e12), "nothing received yet is not stale");
        a.record(10_000, 500_000.0);
        assert_eq!(a.interval_ms, DEFAULT_INTERVAL_MS);
        a.record(12_000, 502_000.0);
        assert_eq!(
            a.interval_ms, 2_000,
            "learned from the snapshots' own times"
        );
        assert!(!a.is_stale(502_000.0 + 6_000.0));
        assert!(a.is_stale(502_000.0 + 6_001.0));
        // A clock step back on the host keeps the last estimate; a huge gap is bounded.
        a.record(1_000, 504_000.0);
        assert_eq!(a.interval_ms, 2_000);
        a.record(10_000_000, 506_000.0);
        assert_eq!(a.interval_ms, 60_000);
    }

    fn alert(id: u64, started: u64, ended: Option<u64>) -> Alert {
        Alert {
            id,
            resource: crate::alert::Resource::Memory,
            subject: None,
            level: crate::model::Level::Warning,
            value_pct: 90.0,
            started_at_ms: started,
            ended_at_ms: ended,
        }
    }

    #[test]
    fn alerts_are_updated_in_place_open_first_newest_first() {
        let mut list = Vec::new();
        upsert_alert(&mut list, alert(1, 100, None));
        upsert_alert(&mut list, alert(2, 200, None));
        upsert_alert(&mut list, alert(3, 300, Some(400)));
        assert_eq!(list.iter().map(|a| a.id).collect::<Vec<_>>(), [2, 1, 3]);
        // Alert 2 ends: it moves below the open one, and is listed once.
        upsert_alert(&mut list, alert(2, 200, Some(500)));
        assert_eq!(list.iter().map(|a| a.id).collect::<Vec<_>>(), [1, 3, 2]);
        assert_eq!(list[2].ended_at_ms, Some(500));
        for i in 10..100 {
            upsert_alert(&mut list, alert(i, i, Some(i + 1)));
        }
        assert_eq!(list.len(), MAX_ALERTS);
        assert_eq!(list[0].id, 1, "the open alert stays on top");
    }

    #[test]
    fn merged_history_is_ordered_and_unique() {
        let merged = merge_history(vec![pt(3), pt(1)], vec![pt(2), pt(3), pt(4)]);
        assert_eq!(
            merged.iter().map(|p| p.t_ms).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
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

    #[test]
    fn a_clock_stepping_back_restarts_the_chart_instead_of_freezing_it() {
        let hour = 3_600_000;
        let mut h: Vec<HistoryPoint> = (0..5).map(|i| pt(10 * hour + i * 1_000)).collect();
        // The clock goes back an hour: the next samples are drawn, not dropped.
        push_point(&mut h, pt(9 * hour), 600_000);
        push_point(&mut h, pt(9 * hour + 1_000), 600_000);
        assert_eq!(
            h.iter().map(|p| p.t_ms).collect::<Vec<_>>(),
            vec![9 * hour, 9 * hour + 1_000]
        );
        // A point replayed from just before the newest is still ignored.
        push_point(&mut h, pt(9 * hour + 500), 600_000);
        assert_eq!(h.len(), 2);
    }
}
