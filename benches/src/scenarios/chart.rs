//! The SVG chart: total latency per scenario (bar at p50, whisker to p95), one bar per
//! strategy and condition, and the scenario's target as a red line across its group.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// One bar: p50 and p95 in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Bar {
    pub p50_s: f64,
    pub p95_s: f64,
}

/// One scenario: its bars (one per series; `None` where that series has no data).
#[derive(Clone, Debug)]
pub struct Group {
    /// Two lines under the group: intent, then language.
    pub label: (String, String),
    pub target_s: f64,
    pub bars: Vec<Option<Bar>>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];
const TARGET: RGBColor = RGBColor(214, 39, 40);

/// The y axis runs a third above the highest whisker or target: room for the legend.
pub fn y_max(groups: &[Group]) -> f64 {
    groups
        .iter()
        .flat_map(|g| {
            g.bars
                .iter()
                .flatten()
                .map(|b| b.p95_s.max(b.p50_s))
                .chain([g.target_s])
        })
        .fold(1.0f64, f64::max)
        * 1.3
}

/// Draws the chart to `path` (SVG).
pub fn draw(path: &Path, title: &str, series: &[String], groups: &[Group]) -> Result<()> {
    let plot_err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let n = groups.len().max(1);
    let root = SVGBackend::new(path, (160 + 70 * n as u32, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..n as f64, 0f64..y_max(groups))
        .map_err(|e| plot_err(&e))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("total time (s)")
        .y_label_formatter(&|y| format!("{y:.1}"))
        .draw()
        .map_err(|e| plot_err(&e))?;

    let m = series.len().max(1) as f64;
    let slot = 0.8 / m;
    for (j, name) in series.iter().enumerate() {
        let color = COLORS[j % COLORS.len()];
        let mut bars = Vec::new();
        let mut whiskers = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let Some(Some(b)) = g.bars.get(j) else {
                continue;
            };
            let x0 = i as f64 + 0.1 + j as f64 * slot;
            let (x1, xc) = (x0 + slot * 0.85, x0 + slot * 0.425);
            bars.push(Rectangle::new([(x0, 0.0), (x1, b.p50_s)], color.filled()));
            let cap = slot * 0.2;
            whiskers.push(PathElement::new(
                vec![
                    (xc, b.p50_s),
                    (xc, b.p95_s),
                    (xc - cap, b.p95_s),
                    (xc + cap, b.p95_s),
                ],
                BLACK.stroke_width(1),
            ));
        }
        chart
            .draw_series(bars)
            .map_err(|e| plot_err(&e))?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart.draw_series(whiskers).map_err(|e| plot_err(&e))?;
    }
    chart
        .draw_series(groups.iter().enumerate().map(|(i, g)| {
            PathElement::new(
                vec![(i as f64 + 0.04, g.target_s), (i as f64 + 0.96, g.target_s)],
                TARGET.stroke_width(2),
            )
        }))
        .map_err(|e| plot_err(&e))?
        .label("target; whisker: p95")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], TARGET.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_err(&e))?;

    // Category labels under each group, two short lines (no rotated text needed).
    let style = ("sans-serif", 12).into_font().color(&BLACK);
    for (i, g) in groups.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        for (k, line) in [&g.label.0, &g.label.1].into_iter().enumerate() {
            let w = 6 * line.chars().count() as i32 / 2;
            root.draw(&Text::new(
                line.clone(),
                (px - w, py + 6 + 14 * k as i32),
                style.clone(),
            ))
            .map_err(|e| plot_err(&e))?;
        }
    }
    root.present().map_err(|e| plot_err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_an_svg_with_every_label() {
        let dir = std::env::temp_dir().join(format!("scenarios-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.svg");
        let groups = vec![
            Group {
                label: ("status".into(), "ja".into()),
                target_s: 3.0,
                bars: vec![Some(Bar {
                    p50_s: 0.05,
                    p95_s: 0.08,
                })],
            },
            Group {
                label: ("urgent".into(), "en".into()),
                target_s: 2.0,
                bars: vec![None],
            },
        ];
        draw(&path, "t", &["balanced".into()], &groups).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for word in ["status", "urgent", "balanced", "target"] {
            assert!(svg.contains(word), "{word}");
        }
        assert!((y_max(&groups) - 3.0 * 1.3).abs() < 1e-9);
        let _ = std::fs::remove_dir_all(dir);
    }
}
