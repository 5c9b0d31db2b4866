//! `format=csv` of `/api/v1/history`: one row per bucket, RFC 4180 quoting, a column triple
//! (min, mean, max) per quantity and per volume.

use std::fmt::Write;

use app::history::{Bucket, Stat};

type Get = fn(&Bucket) -> Option<Stat>;

const STATS: [(&str, Get); 8] = [
    ("cpu_pct", |b| Some(b.cpu_pct)),
    ("mem_pct", |b| Some(b.mem_pct)),
    ("mem_used_bytes", |b| b.mem_used_bytes),
    ("swap_used_bytes", |b| Some(b.swap_used_bytes)),
    ("net_rx_bps", |b| Some(b.net_rx_bps)),
    ("net_tx_bps", |b| Some(b.net_tx_bps)),
    ("disk_read_bps", |b| Some(b.disk_read_bps)),
    ("disk_write_bps", |b| Some(b.disk_write_bps)),
];

/// The points as CSV text, header first. Empty cells: a value the bucket does not have (live
/// points have no memory bytes, volumes or top programs).
pub fn render(points: &[Bucket]) -> String {
    let mut mounts: Vec<&str> = Vec::new();
    for b in points {
        for v in &b.volumes {
            if !mounts.contains(&v.mount.as_str()) {
                mounts.push(&v.mount);
            }
        }
    }
    let mut header: Vec<String> = vec!["t_ms".into(), "time_utc".into(), "samples".into()];
    for (name, _) in STATS {
        header.extend(["min", "mean", "max"].map(|p| format!("{name}_{p}")));
    }
    header.extend(
        [
            "top_cpu_name",
            "top_cpu_pct",
            "top_memory_name",
            "top_memory_bytes",
        ]
        .map(String::from),
    );
    for m in &mounts {
        header.extend(
            [
                "used_bytes_min",
                "used_bytes_mean",
                "used_bytes_max",
                "total_bytes",
            ]
            .map(|p| format!("{p} {m}")),
        );
    }
    let mut out = String::new();
    push_row(&mut out, header.iter().map(|h| field(h)));
    for b in points {
        let mut row: Vec<String> = vec![b.t_ms.to_string(), iso_utc(b.t_ms), b.samples.to_string()];
        for (_, get) in STATS {
            match get(b) {
                Some(s) => row.extend([s.min, s.mean, s.max].map(|v| v.to_string())),
                None => row.extend([String::new(), String::new(), String::new()]),
            }
        }
        match &b.top_cpu {
            Some(t) => row.extend([field(&t.name), t.cpu_pct.to_string()]),
            None => row.extend([String::new(), String::new()]),
        }
        match &b.top_memory {
            Some(t) => row.extend([field(&t.name), t.memory_bytes.to_string()]),
            None => row.extend([String::new(), String::new()]),
        }
        for m in &mounts {
            match b.volumes.iter().find(|v| v.mount == *m) {
                Some(v) => row.extend([
                    v.used_bytes.min.to_string(),
                    v.used_bytes.mean.to_string(),
                    v.used_bytes.max.to_string(),
                    v.total_bytes.to_string(),
                ]),
                None => row.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        push_row(&mut out, row.into_iter());
    }
    out
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, c) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&c);
    }
    out.push_str("\r\n");
}

/// A text cell: quoted when it holds a comma, quote or line break (quotes doubled), and, as
/// process and volume names are chosen by whoever runs them, a leading `=`, `+`, `-`, `@` or tab
/// is escaped with `'` so a spreadsheet shows it instead of running it as a formula.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `2026-01-31T12:34:56Z` for ms since the Unix epoch (proleptic Gregorian, UTC).
pub fn iso_utc(t_ms: u64) -> String {
    let secs = t_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = app::format::civil_from_days(days as i64);
    let mut s = String::with_capacity(20);
    let _ = write!(
        s,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::history::{TopCpu, VolumeStat};

    #[test]
    fn times_are_utc_iso() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_767_225_599_999), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn names_are_quoted_and_defused() {
        assert_eq!(field("rustc"), "rustc");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(field("-x,y"), "\"'-x,y\"");
    }

    #[test]
    fn one_row_per_bucket_and_columns_per_volume() {
        let b = |t_ms, mount: Option<&str>| Bucket {
            t_ms,
            samples: 60,
            cpu_pct: Stat {
                min: 1.0,
                mean: 2.5,
                max: 4.0,
            },
            top_cpu: Some(TopCpu {
                name: "a,b".into(),
                cpu_pct: 3.0,
            }),
            volumes: mount
                .map(|m| VolumeStat {
                    mount: m.into(),
                    used_bytes: Stat::one(7.0),
                    total_bytes: 9,
                })
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let text = render(&[b(60_000, Some("/")), b(120_000, None)]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0]
            .starts_with("t_ms,time_utc,samples,cpu_pct_min,cpu_pct_mean,cpu_pct_max,mem_pct_min"));
        assert!(
            lines[0].ends_with("used_bytes_min /,used_bytes_mean /,used_bytes_max /,total_bytes /")
        );
        assert!(
            lines[1].starts_with("60000,1970-01-01T00:01:00Z,60,1,2.5,4,"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains(",\"a,b\",3,"), "{}", lines[1]);
        assert!(lines[1].ends_with(",7,7,7,9"), "{}", lines[1]);
        // No memory bytes, no volume: empty cells, the same number of them.
        assert!(lines[2].ends_with(",,,,"), "{}", lines[2]);
        let cells = |l: &str| l.replace("\"a,b\"", "x").split(',').count();
        assert_eq!(cells(lines[1]), cells(lines[0]));
        assert_eq!(cells(lines[2]), cells(lines[0]));
        assert_eq!(lines[3], "");
    }
}
