//! macOS command output: pure parsers (compiled and tested on every platform) and thin runners
//! for `sysctl`, `vm_stat` and `pmset`.
//!
//! The parsers never fail on a line they do not know: macOS adds keys between releases, and a
//! monitor that stops on a new key shows nothing. They only fail where a value they need is
//! unreadable.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app::model::{Battery, BatteryState};

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

/// Why running a macOS command gave no usable output.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("could not run {program}: {source}")]
    Io {
        program: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} did not finish within {timeout:?}")]
    TimedOut {
        program: &'static str,
        timeout: Duration,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Parses `sysctl` output into key → value.
///
/// Accepts both forms macOS prints (`hw.ncpu: 8` from `sysctl hw`, `hw.ncpu = 8` from
/// `sysctl -a` on older releases / BSD style). Lines whose key is not a single token (headers,
/// comments, prose pasted around the output) are skipped; an empty value (`hw.osenvironment:`) is
/// kept as `""`. A repeated key keeps its first value.
pub fn parse_sysctl(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Whichever separator comes first splits key from value, so values may contain either.
        let Some(sep) = line.find([':', '=']) else {
            continue;
        };
        let key = line[..sep].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        let value = line[sep + 1..].trim();
        out.entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    out
}

/// Performance and efficiency core counts (`hw.perflevel0/1.physicalcpu`).
///
/// `(None, None)` on Intel Macs and on macOS releases before the keys existed (early Big Sur),
/// where the split cannot be told. A single-level chip reports no efficiency cores as `Some(0)`.
pub fn perf_cores(sysctl: &BTreeMap<String, String>) -> (Option<u32>, Option<u32>) {
    let get = |key: &str| sysctl.get(key).and_then(|v| v.trim().parse::<u32>().ok());
    let performance = get("hw.perflevel0.physicalcpu");
    let efficiency = get("hw.perflevel1.physicalcpu")
        .or_else(|| (performance.is_some() && get("hw.nperflevels") == Some(1)).then_some(0));
    (performance, efficiency)
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

/// Longest a helper command may take; the metrics thread must never hang on one.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `program args…` and returns its stdout, ignoring the exit status: `sysctl` exits
/// non-zero when one of several keys is unknown but still prints the others.
///
/// Output is read after the child exits, which is fine for these commands (a few KiB, well under
/// a pipe buffer).
pub(crate) fn run(program: &'static str, args: &[&str]) -> Result<String, CommandError> {
    let io = |source| CommandError::Io { program, source };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(io)?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    while child.try_wait().map_err(io)?.is_none() {
        if Instant::now() >= deadline {
            // Best effort: the child may have exited in between.
            let _ = child.kill();
            let _ = child.wait();
            return Err(CommandError::TimedOut {
                program,
                timeout: COMMAND_TIMEOUT,
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map_err(io)?;
        out = String::from_utf8_lossy(&bytes).into_owned();
    }
    Ok(out)
}

/// P/E core counts of this Mac (they never change, so callers read them once).
pub fn read_perf_cores() -> Result<(Option<u32>, Option<u32>), CommandError> {
    let text = run(
        "/usr/sbin/sysctl",
        &[
            "hw.nperflevels",
            "hw.perflevel0.physicalcpu",
            "hw.perflevel1.physicalcpu",
        ],
    )?;
    Ok(perf_cores(&parse_sysctl(&text)))
}

/// Current `vm_stat` counters.
pub fn read_vm_stat() -> Result<VmStat, CommandError> {
    Ok(parse_vm_stat(&run("/usr/bin/vm_stat", &[])?)?)
}

/// Battery as `pmset` reports it; `Ok(None)` on Macs without one.
pub fn read_pmset_battery() -> Result<Option<Battery>, CommandError> {
    Ok(parse_pmset_batt(&run("/usr/bin/pmset", &["-g", "batt"])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1_PRO_8: &str = include_str!("../../tests/fixtures/macos/m1-pro-8core_sysctl-hw.txt");
    const M3_MAX: &str = include_str!("../../tests/fixtures/macos/m3-max-14core_sysctl-hw.txt");
    const M4_12: &str =
        include_str!("../../tests/fixtures/macos/m4-family-12core_sysctl-hw-machdep-partial.txt");
    const M1_PRO_10: &str =
        include_str!("../../tests/fixtures/macos/m1-pro-10core_sysctl-a-partial.txt");
    const M1_PRO_8_PERFLEVEL0: &str =
        include_str!("../../tests/fixtures/macos/m1-pro-8core_macos13_sysctl-perflevel0.txt");
    const M1_2021: &str = include_str!("../../tests/fixtures/macos/m1_sysctl-a-rg-cpu_2021.txt");
    const VM_STAT: &str =
        include_str!("../../tests/fixtures/macos/apple-silicon-unknown_vm_stat.txt");
    const PMSET: &str = include_str!("../../tests/fixtures/macos/m1_pmset-g-batt.txt");

    #[test]
    fn sysctl_hw_dump_of_an_m1_pro_8_core() {
        let map = parse_sysctl(M1_PRO_8);
        assert_eq!(map["hw.ncpu"], "8");
        assert_eq!(map["hw.memsize"], "17179869184");
        assert_eq!(map["machdep.cpu.brand_string"], "Apple M1 Pro");
        assert_eq!(map["hw.cacheconfig"], "8 1 2 0 0 0 0 0 0 0");
        // Present with an empty value.
        assert_eq!(map["hw.osenvironment"], "");
        // The "# source: …" line is not a key.
        assert!(map.keys().all(|k| !k.starts_with('#')));
        assert_eq!(perf_cores(&map), (Some(6), Some(2)));
    }

    #[test]
    fn perf_cores_across_chips() {
        let m3 = parse_sysctl(M3_MAX);
        assert_eq!(m3["hw.perflevel0.name"], "Performance");
        assert_eq!(m3["hw.perflevel1.name"], "Efficiency");
        assert_eq!(m3["hw.memsize"], "38654705664");
        assert_eq!(m3["machdep.cpu.brand_string"], "Apple M3 Max");
        assert_eq!(perf_cores(&m3), (Some(10), Some(4)));

        assert_eq!(perf_cores(&parse_sysctl(M4_12)), (Some(8), Some(4)));
        // perflevel1 listed before perflevel0 in this paste.
        assert_eq!(perf_cores(&parse_sysctl(M1_PRO_10)), (Some(8), Some(2)));
        // Only perflevel0 published, after a prose header line without a separator.
        let p0 = parse_sysctl(M1_PRO_8_PERFLEVEL0);
        assert_eq!(p0["hw.perflevel0.name"], "Performance");
        assert_eq!(perf_cores(&p0), (Some(6), None));
        // Early 2021: no perflevel keys at all, the split is unknown rather than 8+0.
        let m1 = parse_sysctl(M1_2021);
        assert_eq!(m1["hw.physicalcpu"], "8");
        assert_eq!(perf_cores(&m1), (None, None));
    }

    #[test]
    fn sysctl_equals_form_and_odd_lines() {
        let map = parse_sysctl(
            "kern.ostype = Darwin\nhw.nperflevels = 1\nhw.perflevel0.physicalcpu = 4\n\
             not a key: value\nkern.version: Darwin Kernel Version 23.0.0: Fri Sep 15\n\
             kern.x=a=b\n",
        );
        assert_eq!(map["kern.ostype"], "Darwin");
        assert_eq!(
            map["kern.version"],
            "Darwin Kernel Version 23.0.0: Fri Sep 15"
        );
        assert_eq!(map["kern.x"], "a=b");
        assert!(!map.contains_key("not a key"));
        assert_eq!(perf_cores(&map), (Some(4), Some(0)));
    }

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
