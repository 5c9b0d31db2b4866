//! Human-readable numbers, shared by the dashboard and (later) the facts card.

/// Binary units, one decimal, as Activity Monitor shows them.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

pub fn rate(bps: Option<f64>) -> Option<String> {
    bps.map(|b| format!("{}/s", bytes(b.max(0.0) as u64)))
}

pub fn pct(p: f32) -> String {
    format!("{p:.1}%")
}

/// `3d 4h`, `4h 05m`, `12m`: the two largest units are enough for an uptime.
pub fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m")
    }
}

/// Local wall-clock `HH:MM:SS` of a Unix-ms timestamp, given the browser's UTC offset in minutes.
pub fn clock(t_ms: u64, utc_offset_min: i64) -> String {
    let secs = (t_ms / 1000) as i64 + utc_offset_min * 60;
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", day / 3600, (day % 3600) / 60, day % 60)
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian): Howard Hinnant's
/// `civil_from_days`, shared by the charts' dates and the host's CSV times.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Local month/day of a Unix-ms timestamp, as `M/D` (the same in English and Japanese).
pub fn month_day(t_ms: u64, utc_offset_min: i64) -> String {
    let days = ((t_ms / 1000) as i64 + utc_offset_min * 60).div_euclid(86_400);
    let (_, m, d) = civil_from_days(days);
    format!("{m}/{d}")
}

/// A chart point's time, as precise as its range needs: seconds for the live ranges, minutes
/// for a day, and the date too beyond a day.
pub fn when(t_ms: u64, utc_offset_min: i64, range: crate::history::Range) -> String {
    use crate::history::Range;
    let hms = clock(t_ms, utc_offset_min);
    match range {
        Range::TenMinutes | Range::Hour => hms,
        Range::Day => hms[..5].to_string(),
        Range::Week | Range::Quarter => {
            format!("{} {}", month_day(t_ms, utc_offset_min), &hms[..5])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_switch_units_at_1024() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    #[test]
    fn rates_and_durations() {
        assert_eq!(rate(None), None);
        assert_eq!(rate(Some(2048.0)).as_deref(), Some("2.0 KiB/s"));
        assert_eq!(duration(59), "0m");
        assert_eq!(duration(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(duration(2 * 86_400 + 7 * 3600), "2d 7h");
        assert_eq!(clock(3_600_000 + 61_000, 0), "01:01:01");
        assert_eq!(clock(0, 9 * 60), "09:00:00");
        assert_eq!(clock(0, -60), "23:00:00");
    }

    #[test]
    fn chart_times_carry_the_date_beyond_a_day() {
        use crate::history::Range;
        // 2024-02-29 23:30:05 UTC
        let t = 1_709_249_405_000;
        assert_eq!(when(t, 0, Range::Hour), "23:30:05");
        assert_eq!(when(t, 0, Range::Day), "23:30");
        assert_eq!(when(t, 0, Range::Week), "2/29 23:30");
        // Tokyo is already on March 1st.
        assert_eq!(when(t, 9 * 60, Range::Quarter), "3/1 08:30");
        assert_eq!(month_day(0, 0), "1/1");
        assert_eq!(month_day(0, -60), "12/31");
    }
}
