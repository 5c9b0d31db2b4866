//! The page's copies of the longer chart ranges (`/api/v1/history?range=…`): fetched when a
//! chart shows one, refreshed while it does, shared by every chart (CPU, memory and network
//! read the same answer), and kept in local storage so the installed app opens offline with
//! the last range it fetched.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::browser;
use crate::history::{Range, RangeHistory};

/// Points asked for: more than the 300-unit-wide chart can show apart, far fewer than a
/// week of minutes (10,080).
pub const POINTS: usize = 240;
/// The local-storage item (see `browser::storage_key`) with the fetched ranges.
const STORED_ITEM: &str = "ranges";
/// How often the charts' ranges are checked for age.
const TICK_MS: u32 = 5_000;

/// How old a fetched range may get before it is fetched again: about one of its points.
pub fn refresh_ms(range: Range) -> f64 {
    match range {
        Range::TenMinutes => 0.0,
        Range::Hour => 15_000.0,
        Range::Day => 60_000.0,
        Range::Week => 5.0 * 60_000.0,
        Range::Quarter => 30.0 * 60_000.0,
    }
}

/// The URL of a range's history with [`POINTS`] points.
pub fn url(range: Range) -> String {
    format!(
        "/api/v1/history?range={}&points={POINTS}",
        crate::wire::name(&range)
    )
}

/// One fetched range and when (browser clock).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    pub history: RangeHistory,
    pub fetched_at_ms: f64,
}

/// Where a range stands for a chart that wants it.
#[derive(Clone, Debug, PartialEq)]
pub enum RangeView {
    /// Not fetched yet, fetch in flight.
    Loading,
    /// The last fetch failed and nothing is kept.
    Unavailable,
    /// The latest copy; `stale` when the last refresh failed (offline).
    Ready { fetched: Fetched, stale: bool },
}

#[derive(Clone, Copy)]
pub struct RangeCache {
    entries: RwSignal<HashMap<Range, Fetched>>,
    loading: RwSignal<HashSet<Range>>,
    failing: RwSignal<HashSet<Range>>,
    /// The range each chart shows, by chart id: what the ticker keeps fresh.
    in_use: StoredValue<HashMap<String, Range>>,
}

impl Default for RangeCache {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeCache {
    pub fn new() -> Self {
        Self {
            entries: RwSignal::new(HashMap::new()),
            loading: RwSignal::new(HashSet::new()),
            failing: RwSignal::new(HashSet::new()),
            in_use: StoredValue::new(HashMap::new()),
        }
    }

    /// What a chart showing `range` draws (tracked: the chart redraws when it changes).
    pub fn view(&self, range: Range) -> RangeView {
        let stale = self.failing.with(|f| f.contains(&range));
        match self.entries.with(|e| e.get(&range).cloned()) {
            Some(fetched) => RangeView::Ready { fetched, stale },
            None if stale => RangeView::Unavailable,
            None => RangeView::Loading,
        }
    }

    /// Chart `chart` now shows `range`: fetch it if it is missing or old, and keep it fresh.
    pub fn want(&self, chart: &str, range: Range) {
        self.in_use.update_value(|u| {
            u.insert(chart.to_string(), range);
        });
        self.refresh_if_old(range);
    }

    fn refresh_if_old(&self, range: Range) {
        if range == Range::TenMinutes || self.loading.with_untracked(|l| l.contains(&range)) {
            return;
        }
        let age = self
            .entries
            .with_untracked(|e| e.get(&range).map(|f| browser::now_ms() - f.fetched_at_ms));
        let failing = self.failing.with_untracked(|f| f.contains(&range));
        if age.is_some_and(|a| (0.0..refresh_ms(range)).contains(&a)) && !failing {
            return;
        }
        self.loading.update(|l| {
            l.insert(range);
        });
        let this = *self;
        browser::spawn(async move {
            match browser::get_json::<RangeHistory>(&url(range)).await {
                Ok(history) => {
                    this.entries.update(|e| {
                        e.insert(
                            range,
                            Fetched {
                                history,
                                fetched_at_ms: browser::now_ms(),
                            },
                        );
                    });
                    this.failing.update(|f| {
                        f.remove(&range);
                    });
                    this.save();
                }
                Err(_) => this.failing.update(|f| {
                    f.insert(range);
                }),
            }
            this.loading.update(|l| {
                l.remove(&range);
            });
        });
    }

    /// Starts the ticker that refreshes the ranges charts show (in the browser).
    pub fn start(&self) {
        let this = *self;
        browser::every(TICK_MS, move || {
            let wanted: HashSet<Range> = this.in_use.with_value(|u| u.values().copied().collect());
            for r in wanted {
                this.refresh_if_old(r);
            }
        });
    }

    /// The copies kept from the last visit, for an offline start.
    pub fn restore(&self) {
        if let Some(stored) = browser::load::<Vec<Fetched>>(STORED_ITEM) {
            self.entries.update(|e| {
                for f in stored {
                    e.entry(f.history.range).or_insert(f);
                }
            });
        }
    }

    fn save(&self) {
        let all: Vec<Fetched> = self
            .entries
            .with_untracked(|e| e.values().cloned().collect());
        browser::save(STORED_ITEM, &all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_refreshes_about_once_a_point_and_asks_for_few_points() {
        assert_eq!(
            url(Range::Week),
            format!("/api/v1/history?range=7d&points={POINTS}")
        );
        // Longer ranges have longer points, so they are fetched less often.
        let ages: Vec<f64> = Range::ALL.iter().map(|r| refresh_ms(*r)).collect();
        assert!(ages.windows(2).all(|w| w[0] < w[1]), "{ages:?}");
        // A refresh never waits longer than one point of the downsampled range.
        for r in Range::ALL.into_iter().skip(1) {
            let point_ms = r.span().as_millis() as f64 / POINTS as f64;
            assert!(refresh_ms(r) <= point_ms.max(15_000.0), "{r:?}");
        }
    }
}
