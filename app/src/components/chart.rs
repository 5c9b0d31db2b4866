//! Line charts drawn in the browser as SVG paths from the history signal: no chart library,
//! a few hundred bytes of WASM, and the path is inspectable (and testable) text.

use leptos::prelude::*;

pub const W: f64 = 300.0;
pub const H: f64 = 80.0;

/// SVG path `d` for points `(t_ms, value)` scaled to the box; `max` fixes the top (100 for %),
/// otherwise the series' own maximum is used. Empty for fewer than two points.
pub fn path(points: &[(u64, f64)], max: Option<f64>) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let t0 = points[0].0 as f64;
    let span = (points[points.len() - 1].0 as f64 - t0).max(1.0);
    let top = max
        .unwrap_or_else(|| points.iter().map(|p| p.1).fold(0.0, f64::max))
        .max(f64::EPSILON);
    let mut d = String::with_capacity(points.len() * 14);
    for (i, (t, v)) in points.iter().enumerate() {
        let x = (*t as f64 - t0) / span * W;
        let y = H - (v.clamp(0.0, top) / top) * H;
        d.push_str(if i == 0 { "M" } else { " L" });
        d.push_str(&format!("{x:.1},{y:.1}"));
    }
    d
}

#[component]
pub fn LineChart(
    /// Accessible name, and the visible caption.
    #[prop(into)]
    title: Signal<String>,
    /// Current value shown beside the title.
    #[prop(into)]
    current: Signal<String>,
    series: Signal<Vec<(u64, f64)>>,
    #[prop(optional)] second: Option<Signal<Vec<(u64, f64)>>>,
    #[prop(optional)] max: Option<f64>,
    #[prop(into)] id: String,
) -> impl IntoView {
    // Both series share one scale so rx and tx compare honestly.
    let scale = move || {
        max.or_else(|| {
            let a = series.with(|s| s.iter().map(|p| p.1).fold(0.0, f64::max));
            let b = second
                .map(|s| s.with(|s| s.iter().map(|p| p.1).fold(0.0, f64::max)))
                .unwrap_or(0.0);
            Some(a.max(b))
        })
    };
    let d1 = move || series.with(|s| path(s, scale()));
    let d2 = move || {
        second
            .map(|s| s.with(|s| path(s, scale())))
            .unwrap_or_default()
    };
    view! {
        <figure class="chart" id=id>
            <figcaption>
                <span>{move || title.get()}</span>
                <strong class="chart-current">{move || current.get()}</strong>
            </figcaption>
            <svg
                viewBox=format!("0 0 {W} {H}")
                preserveAspectRatio="none"
                role="img"
                aria-label=move || format!("{}: {}", title.get(), current.get())
            >
                <line class="grid" x1="0" y1=H / 2.0 x2=W y2=H / 2.0></line>
                <path class="series s1" d=d1></path>
                <path class="series s2" d=d2></path>
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_scales_time_and_value_into_the_box() {
        let d = path(&[(1000, 0.0), (2000, 50.0), (3000, 100.0)], Some(100.0));
        assert_eq!(d, "M0.0,80.0 L150.0,40.0 L300.0,0.0");
    }

    #[test]
    fn path_needs_two_points_and_clamps() {
        assert_eq!(path(&[(1, 5.0)], None), "");
        let d = path(&[(0, -5.0), (10, 500.0)], Some(100.0));
        assert_eq!(d, "M0.0,80.0 L300.0,0.0");
        // Auto scale: the largest value touches the top.
        assert_eq!(path(&[(0, 2.0), (10, 4.0)], None), "M0.0,40.0 L300.0,0.0");
    }
}
