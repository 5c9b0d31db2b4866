//! Line charts drawn in the browser as SVG paths: no chart library, a few hundred bytes of
//! WASM, and the path is inspectable (and testable) text. Each chart has its own range
//! buttons: 10 minutes from the live stream, longer ranges from the host's history (see
//! `ranges`), drawn as the mean with a band from the lowest to the highest value of each
//! point. Hovering (or the arrow keys) reads out a point with its time.

use leptos::prelude::*;

use crate::browser;
use crate::format;
use crate::history::{Bucket, Range, Stat, StoreState};
use crate::i18n::{t, Key};
use crate::live::{Conn, LiveState};
use crate::model::HistoryPoint;
use crate::ranges::RangeView;
use crate::wire;

pub const W: f64 = 300.0;
pub const H: f64 = 80.0;

/// One drawn point: the mean, and the lowest and highest values it stands for (all three the
/// same for a live sample).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pt {
    pub t_ms: u64,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

impl Pt {
    fn one(t_ms: u64, v: f64) -> Self {
        Pt {
            t_ms,
            min: v,
            mean: v,
            max: v,
        }
    }

    fn stat(t_ms: u64, s: Stat) -> Self {
        Pt {
            t_ms,
            min: s.min,
            mean: s.mean,
            max: s.max,
        }
    }
}

/// The box's scales: time from `t0` to `t1` across, 0 to `top` up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    pub t0: u64,
    pub t1: u64,
    pub top: f64,
}

impl Frame {
    fn x(&self, t: u64) -> f64 {
        let span = (self.t1.saturating_sub(self.t0)).max(1) as f64;
        (t.saturating_sub(self.t0) as f64 / span * W).min(W)
    }

    fn y(&self, v: f64) -> f64 {
        let top = self.top.max(f64::EPSILON);
        H - (v.clamp(0.0, top) / top) * H
    }

    /// The time at a fraction (0–1) of the width.
    pub fn t_at(&self, frac: f64) -> u64 {
        self.t0 + ((self.t1.saturating_sub(self.t0)) as f64 * frac.clamp(0.0, 1.0)).round() as u64
    }
}

/// SVG path `d` through the points' means. Empty for fewer than two points.
pub fn line_path(points: &[Pt], f: &Frame) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let mut d = String::with_capacity(points.len() * 14);
    for (i, p) in points.iter().enumerate() {
        d.push_str(if i == 0 { "M" } else { " L" });
        d.push_str(&format!("{:.1},{:.1}", f.x(p.t_ms), f.y(p.mean)));
    }
    d
}

/// SVG path `d` of the band from each point's lowest to its highest value: along the highs,
/// back along the lows. Empty when there is no spread to show.
pub fn band_path(points: &[Pt], f: &Frame) -> String {
    if points.len() < 2 || points.iter().all(|p| p.min == p.max) {
        return String::new();
    }
    let mut d = String::with_capacity(points.len() * 28);
    for (i, p) in points.iter().enumerate() {
        d.push_str(if i == 0 { "M" } else { " L" });
        d.push_str(&format!("{:.1},{:.1}", f.x(p.t_ms), f.y(p.max)));
    }
    for p in points.iter().rev() {
        d.push_str(&format!(" L{:.1},{:.1}", f.x(p.t_ms), f.y(p.min)));
    }
    d.push_str(" Z");
    d
}

/// The index of the point nearest in time to `t` (points in time order).
pub fn nearest(points: &[Pt], t: u64) -> Option<usize> {
    let i = points.partition_point(|p| p.t_ms < t);
    match (i.checked_sub(1), points.get(i)) {
        (Some(a), Some(b)) => Some(if t - points[a].t_ms <= b.t_ms - t {
            a
        } else {
            i
        }),
        (Some(a), None) => Some(a),
        (None, Some(_)) => Some(i),
        (None, None) => None,
    }
}

/// Which number of the history a chart draws.
#[derive(Clone, Copy)]
pub struct Metric {
    pub live: fn(&HistoryPoint) -> f64,
    pub bucket: fn(&Bucket) -> Stat,
}

/// Why a chart has no line to draw, or what its line is.
#[derive(Clone, Debug, PartialEq)]
pub enum Note {
    None,
    Loading,
    Empty,
    HistoryOff,
    /// Offline: the copy fetched at this time (browser clock).
    Saved(u64),
}

/// Everything one chart draws for its range.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartData {
    pub range: Range,
    pub a: Vec<Pt>,
    pub b: Vec<Pt>,
    pub frame: Frame,
    pub note: Note,
}

impl ChartData {
    fn build(
        range: Range,
        a: Vec<Pt>,
        b: Vec<Pt>,
        span: Option<(u64, u64)>,
        max: Option<f64>,
    ) -> Self {
        let (t0, t1) = span.unwrap_or_else(|| {
            (
                a.first().map_or(0, |p| p.t_ms),
                a.last().map_or(0, |p| p.t_ms),
            )
        });
        // Both series share one scale so rx and tx compare honestly.
        let top = max.unwrap_or_else(|| a.iter().chain(&b).map(|p| p.max).fold(0.0, f64::max));
        ChartData {
            range,
            a,
            b,
            frame: Frame { t0, t1, top },
            note: Note::None,
        }
    }

    /// The live 10 minutes, from the stream.
    pub fn live(h: &[HistoryPoint], m: Metric, second: Option<Metric>, max: Option<f64>) -> Self {
        let series = |m: Metric| h.iter().map(|p| Pt::one(p.t_ms, (m.live)(p))).collect();
        let b = second.map(series).unwrap_or_default();
        Self::build(Range::TenMinutes, series(m), b, None, max)
    }

    /// A fetched range: its whole window across, even where there are no points yet. Offline
    /// (or when the last refresh failed) the copy says when it was fetched.
    pub fn fetched(
        view: RangeView,
        offline: bool,
        range: Range,
        m: Metric,
        second: Option<Metric>,
        max: Option<f64>,
    ) -> Self {
        let (fetched, stale) = match view {
            RangeView::Ready { fetched, stale } => (fetched, stale),
            RangeView::Loading | RangeView::Unavailable => {
                let mut d = Self::build(range, Vec::new(), Vec::new(), Some((0, 1)), max);
                d.note = if view == RangeView::Loading {
                    Note::Loading
                } else {
                    Note::Empty
                };
                return d;
            }
        };
        let h = &fetched.history;
        let series = |m: Metric| {
            h.points
                .iter()
                .map(|b| Pt::stat(b.t_ms, (m.bucket)(b)))
                .collect()
        };
        let b = second.map(series).unwrap_or_default();
        let mut d = Self::build(range, series(m), b, Some((h.from_ms, h.to_ms)), max);
        d.note = if stale || offline {
            Note::Saved(fetched.fetched_at_ms as u64)
        } else if d.a.len() < 2 && matches!(h.store, StoreState::Off | StoreState::Unavailable) {
            Note::HistoryOff
        } else if d.a.len() < 2 {
            Note::Empty
        } else {
            Note::None
        };
        d
    }
}

/// The local-storage item with a chart's chosen range.
fn range_item(chart: &str) -> String {
    format!("range.{chart}")
}

#[component]
pub fn LineChart(
    /// Accessible name, and the visible caption.
    #[prop(into)]
    title: Signal<String>,
    /// Current value shown beside the title.
    #[prop(into)]
    current: Signal<String>,
    metric: Metric,
    #[prop(optional)] second: Option<Metric>,
    #[prop(optional)] max: Option<f64>,
    /// How a value reads in the hover read-out.
    value: fn(f64) -> String,
    #[prop(into)] id: String,
) -> impl IntoView {
    let live = expect_context::<LiveState>();
    let lang = live.lang;
    // Server rendering and the first hydrated frame show the live range; the saved choice
    // comes after (no hydration mismatch).
    let range = RwSignal::new(Range::TenMinutes);
    let hover = RwSignal::new(None::<usize>);
    {
        let id = id.clone();
        Effect::new(move |prev: Option<()>| {
            if prev.is_none() {
                if let Some(r) = browser::load::<Range>(&range_item(&id)) {
                    range.set(r);
                }
            }
            let r = range.get();
            live.ranges.want(&id, r);
        });
    }
    let data = Memo::new(move |_| match range.get() {
        Range::TenMinutes => live
            .history
            .with(|h| ChartData::live(h, metric, second, max)),
        r => {
            let offline = live.conn.get() == Conn::Offline;
            ChartData::fetched(live.ranges.view(r), offline, r, metric, second, max)
        }
    });
    let d1 = move || data.with(|d| line_path(&d.a, &d.frame));
    let d2 = move || data.with(|d| line_path(&d.b, &d.frame));
    let band1 = move || data.with(|d| band_path(&d.a, &d.frame));
    let band2 = move || data.with(|d| band_path(&d.b, &d.frame));

    let pick = move |ev: leptos::ev::PointerEvent| {
        if let Some(frac) = browser::pointer_fraction(&ev) {
            hover.set(data.with(|d| nearest(&d.a, d.frame.t_at(frac))));
        }
    };
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        let len = data.with(|d| d.a.len());
        if len == 0 {
            return;
        }
        let next = match (ev.key().as_str(), hover.get_untracked()) {
            ("ArrowLeft", Some(i)) => i.saturating_sub(1),
            ("ArrowRight", Some(i)) => (i + 1).min(len - 1),
            ("ArrowLeft" | "ArrowRight", None) => len - 1,
            ("Escape", _) => return hover.set(None),
            _ => return,
        };
        ev.prevent_default();
        hover.set(Some(next));
    };
    let cursor_x = move || {
        hover
            .get()
            .and_then(|i| data.with(|d| d.a.get(i).map(|p| d.frame.x(p.t_ms))))
    };
    let readout = move || {
        let offset = browser::utc_offset_min();
        let l = lang.get();
        data.with(|d| {
            let at = |t| format::when(t, offset, d.range);
            let show = |p: &Pt| {
                if p.min == p.max {
                    value(p.mean)
                } else {
                    format!(
                        "{} ({} {} · {} {})",
                        value(p.mean),
                        t(l, Key::Lowest),
                        value(p.min),
                        t(l, Key::Highest),
                        value(p.max)
                    )
                }
            };
            match hover.get().and_then(|i| d.a.get(i).map(|p| (i, p))) {
                Some((i, p)) => {
                    let second =
                        d.b.get(i)
                            .map(|q| format!(" / {}", show(q)))
                            .unwrap_or_default();
                    format!("{} · {}{second}", at(p.t_ms), show(p))
                }
                None if d.a.len() >= 2 || d.range != Range::TenMinutes && d.frame.t1 > 1 => {
                    // A day's ends share their time of day: the span needs the dates.
                    let end = |t| match d.range {
                        Range::Day => format::when(t, offset, Range::Week),
                        _ => at(t),
                    };
                    format!("{} – {}", end(d.frame.t0), end(d.frame.t1))
                }
                None => String::new(),
            }
        })
    };
    let note = move || {
        let l = lang.get();
        data.with(|d| match d.note {
            Note::None => String::new(),
            Note::Loading => t(l, Key::HistoryLoading).to_string(),
            Note::Empty => t(l, Key::HistoryEmpty).to_string(),
            Note::HistoryOff => t(l, Key::HistoryOff).to_string(),
            Note::Saved(at) => format!(
                "{} {}",
                t(l, Key::HistorySaved),
                format::when(at, browser::utc_offset_min(), Range::Week)
            ),
        })
    };
    let buttons = Range::ALL
        .into_iter()
        .map(|r| {
            let name = wire::name(&r);
            let label = name.clone();
            view! {
                <button
                    type="button"
                    class="range"
                    data-range=name.clone()
                    aria-pressed=move || (range.get() == r).to_string()
                    title=move || t(lang.get(), Key::RangeButton).replace("{range}", &name)
                    on:click=move |_| {
                        hover.set(None);
                        range.set(r);
                    }
                >
                    {label}
                </button>
            }
        })
        .collect_view();
    let save_id = id.clone();
    Effect::new(move |prev: Option<Range>| {
        let r = range.get();
        // Only a choice the user made is saved, not the first frame's default.
        if prev.is_some_and(|p| p != r) {
            browser::save(&range_item(&save_id), &r);
        }
        r
    });

    view! {
        <figure class="chart" id=id data-range=move || wire::name(&range.get())>
            <figcaption>
                <span>{move || title.get()}</span>
                <strong class="chart-current">{move || current.get()}</strong>
            </figcaption>
            <div class="ranges" role="group" aria-label=move || t(lang.get(), Key::RangeLabel)>
                {buttons}
            </div>
            <svg
                viewBox=format!("0 0 {W} {H}")
                preserveAspectRatio="none"
                role="img"
                tabindex="0"
                aria-label=move || format!("{}: {}", title.get(), current.get())
                on:pointermove=pick
                on:pointerdown=pick
                on:pointerleave=move |_| hover.set(None)
                on:keydown=keys
                on:blur=move |_| hover.set(None)
            >
                <line class="grid" x1="0" y1=H / 2.0 x2=W y2=H / 2.0></line>
                <path class="band b1" d=band1></path>
                <path class="band b2" d=band2></path>
                <path class="series s1" d=d1></path>
                <path class="series s2" d=d2></path>
                {move || {
                    cursor_x()
                        .map(|x| {
                            view! {
                                <line class="cursor" x1=format!("{x:.1}") y1="0" x2=format!("{x:.1}") y2=H></line>
                            }
                        })
                }}
            </svg>
            <p class="chart-readout" aria-live="polite">{readout}</p>
            <p class="chart-note">{note}</p>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(t0: u64, t1: u64, top: f64) -> Frame {
        Frame { t0, t1, top }
    }

    #[test]
    fn line_scales_time_and_value_into_the_box() {
        let pts = [
            Pt::one(1000, 0.0),
            Pt::one(2000, 50.0),
            Pt::one(3000, 100.0),
        ];
        assert_eq!(
            line_path(&pts, &frame(1000, 3000, 100.0)),
            "M0.0,80.0 L150.0,40.0 L300.0,0.0"
        );
        // A fetched range spans its whole window: points only in its second half.
        assert_eq!(
            line_path(&pts[1..], &frame(0, 3000, 100.0)),
            "M200.0,40.0 L300.0,0.0"
        );
    }

    #[test]
    fn line_needs_two_points_and_clamps() {
        assert_eq!(line_path(&[Pt::one(1, 5.0)], &frame(0, 1, 10.0)), "");
        let d = line_path(
            &[Pt::one(0, -5.0), Pt::one(10, 500.0)],
            &frame(0, 10, 100.0),
        );
        assert_eq!(d, "M0.0,80.0 L300.0,0.0");
    }

    #[test]
    fn band_runs_along_the_highs_and_back_along_the_lows() {
        let f = frame(0, 10, 100.0);
        let live = [Pt::one(0, 10.0), Pt::one(10, 20.0)];
        assert_eq!(band_path(&live, &f), "", "no spread, no band");
        let agg = [
            Pt {
                t_ms: 0,
                min: 0.0,
                mean: 25.0,
                max: 50.0,
            },
            Pt {
                t_ms: 10,
                min: 50.0,
                mean: 75.0,
                max: 100.0,
            },
        ];
        assert_eq!(
            band_path(&agg, &f),
            "M0.0,40.0 L300.0,0.0 L300.0,40.0 L0.0,80.0 Z"
        );
    }

    #[test]
    fn nearest_point_in_time() {
        let pts: Vec<Pt> = [0, 10, 30].iter().map(|t| Pt::one(*t, 1.0)).collect();
        assert_eq!(nearest(&pts, 0), Some(0));
        assert_eq!(nearest(&pts, 4), Some(0));
        assert_eq!(nearest(&pts, 6), Some(1));
        assert_eq!(nearest(&pts, 21), Some(2));
        assert_eq!(nearest(&pts, 99), Some(2));
        assert_eq!(nearest(&[], 5), None);
        assert_eq!(frame(100, 200, 1.0).t_at(0.5), 150);
    }

    #[test]
    fn fetched_ranges_say_why_they_have_no_line() {
        use crate::history::{RangeHistory, Resolution};
        use crate::ranges::Fetched;
        let m = Metric {
            live: |p| p.cpu_pct as f64,
            bucket: |b| b.cpu_pct,
        };
        let history = |store, n: u64| RangeHistory {
            range: Range::Day,
            resolution: Resolution::Minute,
            resolution_ms: 60_000,
            from_ms: 0,
            to_ms: 86_400_000,
            store,
            points: (0..n)
                .map(|i| Bucket {
                    t_ms: i * 60_000,
                    cpu_pct: Stat {
                        min: 1.0,
                        mean: 2.0,
                        max: 3.0,
                    },
                    ..Default::default()
                })
                .collect(),
        };
        let ready = |store, n, stale| RangeView::Ready {
            fetched: Fetched {
                history: history(store, n),
                fetched_at_ms: 5.0,
            },
            stale,
        };
        let note = |v| ChartData::fetched(v, false, Range::Day, m, None, Some(100.0)).note;
        assert_eq!(note(RangeView::Loading), Note::Loading);
        assert_eq!(note(RangeView::Unavailable), Note::Empty);
        assert_eq!(note(ready(StoreState::Off, 0, false)), Note::HistoryOff);
        assert_eq!(note(ready(StoreState::Ok, 1, false)), Note::Empty);
        assert_eq!(note(ready(StoreState::Ok, 3, false)), Note::None);
        assert_eq!(note(ready(StoreState::Ok, 3, true)), Note::Saved(5));
        let offline = ChartData::fetched(
            ready(StoreState::Ok, 3, false),
            true,
            Range::Day,
            m,
            None,
            None,
        );
        assert_eq!(offline.note, Note::Saved(5));
        let d = ChartData::fetched(
            ready(StoreState::Ok, 3, false),
            false,
            Range::Day,
            m,
            None,
            Some(100.0),
        );
        assert_eq!(d.frame, frame(0, 86_400_000, 100.0));
        assert!(
            !band_path(&d.a, &d.frame).is_empty(),
            "aggregated points draw a band"
        );
    }
}
