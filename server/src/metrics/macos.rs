//! macOS command output for the metrics sampler: pure parsers for `vm_stat` and `pmset`
//! (compiled and tested on every platform) and thin readers for them and the core split. The
//! command runner and the `sysctl` parser are shared with the hardware profile, in
//! [`crate::platform::macos`].
//!
//! The parsers never fail on a line they do not know: macOS adds keys between releases, and a
//! monitor that stops on a new key shows nothing. They only fail where a value they need is
//! unreadable.

use std::collections::BTreeMap;

use app::model::{Battery, BatteryState};

use crate::platform::macos::{perf_cores, read_sysctl, run, CommandError};

/// Why a macOS command's output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// `vm_stat` output without its "(page size of N bytes)" header.
    #[error("vm_stat output has no \"page size of N bytes\" header")]
    MissingPageSize,
    /// A counter line whose value is not a whole number.
    #[error("line {line}: {key:?} has no whole-number value ({value:?})")]
    BadNumber {
        line: usize,
        key: String,
        value: String,
    },
}

/// Why a reading from a macOS command failed: the command, or its output.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// `vm_stat` output: the page size and every "name: count." line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmStat {
    pub page_size: u64,
    /// Counts by label as printed, without surrounding quotes (e.g. `"Pages wired down"`).
    pub pages: BTreeMap<String, u64>,
}

impl VmStat {
    /// The count printed under `label`, if any.
    pub fn pages(&self, label: &str) -> Option<u64> {
        self.pages.get(label).copied()
    }

    /// Memory held by the compressor ("Pages occupied by compressor"), in bytes.
    pub fn compressed_bytes(&self) -> Option<u64> {
        self.pages("Pages occupied by compressor")
            .map(|p| p.saturating_mul(self.page_size))
    }

    /// Memory the kernel cannot hand out without work (wired + compressor-occupied) as a share of
    /// `total_bytes`, 0-100. `None` when a needed count is missing or the total is unknown.
    ///
    /// This is the quantity Activity Monitor's pressure gauge tracks most closely; free/inactive
    /// pages are cheap to reclaim and so are not pressure.
    pub fn pressure_pct(&self, total_bytes: u64) -> Option<f32> {
        if total_bytes == 0 {
            return None;
        }
        let wired = self.pages("Pages wired down")?;
        let compressed = self.pages("Pages occupied by compressor")?;
        let bytes = wired
            .saturating_add(compressed)
            .saturating_mul(self.page_size);
        Some(((bytes as f64 / total_bytes as f64) * 100.0).clamp(0.0, 100.0) as f32)
    }
}

/// Parses `vm_stat` output (header with the page size, then `Label:   1234.` lines).
pub fn parse_vm_stat(text: &str) -> Result<VmStat, ParseError> {
    let mut page_size = None;
    let mut pages = BTreeMap::new();
    for (idx, line) in text.lines().enumerate() {
        if let Some(rest) = line.split("page size of ").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            page_size = digits.parse::<u64>().ok().filter(|&p| p > 0);
            continue;
        }
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        // Labels may themselves be quoted and contain spaces, so split at the last colon.
        let Some(sep) = line.rfind(':') else {
            continue;
        };
        let key = line[..sep].trim().trim_matches('"');
        let raw = line[sep + 1..].trim();
        if key.is_empty() || raw.is_empty() {
            continue;
        }
        let value = raw.trim_end_matches('.');
        let count = value.parse::<u64>().map_err(|_| ParseError::BadNumber {
            line: idx + 1,
            key: key.to_owned(),
            value: raw.to_owned(),
        })?;
        pages.insert(key.to_owned(), count);
    }
    Ok(VmStat {
        page_size: page_size.ok_or(ParseError::MissingPageSize)?,
        pages,
    })
}

/// Parses `pmset -g batt`. `None` when no battery line is present (desktop Macs print only the
/// power source). With several captures in one text, the first one wins.
///
/// A full battery reports "0:00 remaining"; that is not a useful estimate, so it becomes `None`.
pub fn parse_pmset_batt(text: &str) -> Option<Battery> {
    let mut source = None;
    for line in text.lines() {
        if source.is_none() {
            if let Some(rest) = line.trim().strip_prefix("Now drawing from '") {
                source = rest.split('\'').next().map(str::to_owned);
                continue;
            }
        }
        if let Some(battery) = parse_pmset_battery_line(line) {
            return Some(Battery { source, ..battery });
        }
    }
    None
}

/// One ` -InternalBattery-0 (id=…)\t85%; discharging; 3:12 remaining present: true` line.
fn parse_pmset_battery_line(line: &str) -> Option<Battery> {
    let line = line.trim();
    if !line.starts_with('-') {
        return None;
    }
    // The fields follow the tab; fall back to the closing parenthesis of "(id=…)".
    let fields = match line.rsplit_once('\t') {
        Some((_, f)) => f,
        None => line.rsplit_once(')').map(|(_, f)| f)?,
    };
    let mut parts = fields.split(';').map(str::trim);
    let percent = parts
        .next()?
        .strip_suffix('%')?
        .trim()
        .parse::<f32>()
        .ok()?;
    let state_text = parts.next().unwrap_or("").to_ascii_lowercase();
    let state = match state_text.as_str() {
        "charging" | "finishing charge" => BatteryState::Charging,
        "discharging" => BatteryState::Discharging,
        "charged" => BatteryState::Full,
        _ => BatteryState::Unknown,
    };
    let minutes_remaining = parts
        .next()
        .and_then(parse_remaining)
        .filter(|_| state != BatteryState::Full);
    Some(Battery {
        percent: percent.clamp(0.0, 100.0),
        state,
        minutes_remaining,
        source: None,
    })
}

/// `"18:37 remaining present: true"` → 1117; `"(no estimate) present: true"` → `None`.
fn parse_remaining(text: &str) -> Option<u32> {
    let (clock, _) = text.split_once(" remaining")?;
    let (h, m) = clock.trim().split_once(':')?;
    let hours: u32 = h.parse().ok()?;
    let minutes: u32 = m.parse().ok()?;
    (minutes < 60).then(|| hours * 60 + minutes)
}

/// P/E core counts of this Mac (they never change, so callers read them once).
pub fn read_perf_cores() -> Result<(Option<u32>, Option<u32>), CommandError> {
    let map = read_sysctl(&[
        "hw.nperflevels",
        "hw.perflevel0.physicalcpu",
        "hw.perflevel1.physicalcpu",
    ])?;
    Ok(perf_cores(&map))
}

/// Current `vm_stat` counters.
pub fn read_vm_stat() -> Result<VmStat, ReadError> {
    Ok(parse_vm_stat(&run("/usr/bin/vm_stat", &[])?)?)
}

/// Battery as `pmset` reports it; `Ok(None)` on Macs without one.
pub fn read_pmset_battery() -> Result<Option<Battery>, CommandError> {
    Ok(parse_pmset_batt(&run("/usr/bin/pmset", &["-g", "batt"])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VM_STAT: &str =
        include_str!("../../tests/fixtures/macos/apple-silicon-unknown_vm_stat.txt");
    const PMSET: &str = include_str!("../../tests/fixtures/macos/m1_pmset-g-batt.txt");

    #[test]
    fn vm_stat_fixture() {
        let vm = parse_vm_stat(VM_STAT).expect("fixture parses");
        assert_eq!(vm.page_size, 16384);
        assert_eq!(vm.pages("Pages free"), Some(3857));
        assert_eq!(vm.pages("Pages wired down"), Some(181_483));
        assert_eq!(vm.pages("Pages occupied by compressor"), Some(442_179));
        assert_eq!(vm.pages("Translation faults"), Some(8_667_427_138));
        assert_eq!(vm.pages("Decompressions"), Some(591_661_242));
        assert_eq!(vm.pages.len(), 17);
        assert_eq!(vm.compressed_bytes(), Some(442_179 * 16384));

        // (181483 + 442179) pages * 16 KiB = 10_218_053_632 B of a 24 GiB machine.
        let pct = vm.pressure_pct(24 << 30).expect("counts present");
        assert!((pct - 39.651).abs() < 0.01, "{pct}");
        assert_eq!(vm.pressure_pct(0), None);
        // A total smaller than wired + compressed cannot exceed 100 %.
        assert_eq!(vm.pressure_pct(1 << 30), Some(100.0));
    }

    #[test]
    fn vm_stat_errors_are_typed() {
        assert_eq!(
            parse_vm_stat("Pages free: 12."),
            Err(ParseError::MissingPageSize)
        );
        let bad = "Mach Virtual Memory Statistics: (page size of 4096 bytes)\nPages free: lots.\n";
        assert_eq!(
            parse_vm_stat(bad),
            Err(ParseError::BadNumber {
                line: 2,
                key: "Pages free".into(),
                value: "lots.".into()
            })
        );
        let intel = "Mach Virtual Memory Statistics: (page size of 4096 bytes)\nPages free: 10.\n";
        let vm = parse_vm_stat(intel).expect("parses");
        assert_eq!(vm.page_size, 4096);
        // Missing compressor line: pressure unknown, not 0.
        assert_eq!(vm.pressure_pct(1 << 30), None);
    }

    #[test]
    fn pmset_fixture_on_battery_and_on_ac() {
        let (battery_capture, ac_capture) = PMSET.split_once("\n\n").expect("two captures");

        let b = parse_pmset_batt(battery_capture).expect("battery present");
        assert_eq!(b.percent, 100.0);
        assert_eq!(b.state, BatteryState::Discharging);
        assert_eq!(b.minutes_remaining, Some(18 * 60 + 37));
        assert_eq!(b.source.as_deref(), Some("Battery Power"));

        let ac = parse_pmset_batt(ac_capture).expect("battery present");
        assert_eq!(ac.percent, 100.0);
        assert_eq!(ac.state, BatteryState::Full);
        assert_eq!(ac.minutes_remaining, None);
        assert_eq!(ac.source.as_deref(), Some("AC Power"));

        // Whole file: the first capture wins.
        assert_eq!(parse_pmset_batt(PMSET), Some(b));
    }

    #[test]
    fn pmset_other_states() {
        let charging = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1)\t42%; charging; \
                        (no estimate) present: true\n";
        let b = parse_pmset_batt(charging).expect("battery");
        assert_eq!((b.percent, b.state), (42.0, BatteryState::Charging));
        assert_eq!(b.minutes_remaining, None);

        let held = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1)\t80%; AC attached; \
                    not charging present: true\n";
        let b = parse_pmset_batt(held).expect("battery");
        assert_eq!((b.percent, b.state), (80.0, BatteryState::Unknown));

        let charging_est = " -InternalBattery-0 (id=1)\t7%; charging; 1:05 remaining present: true";
        let b = parse_pmset_batt(charging_est).expect("battery");
        assert_eq!(b.minutes_remaining, Some(65));
        assert_eq!(b.source, None);

        // A Mac mini: power source only.
        assert_eq!(parse_pmset_batt("Now drawing from 'AC Power'\n"), None);
        assert_eq!(parse_pmset_batt(""), None);
    }
}
