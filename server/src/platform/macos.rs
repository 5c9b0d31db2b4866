//! macOS helper commands: running them (with a timeout) and reading `sysctl` output. Shared by
//! the metrics sampler (`metrics::macos`) and the hardware profile (`hardware`), so both read the
//! machine the same way.
//!
//! Compiled on every platform, and the parser tested against recorded output; only running the
//! commands needs a Mac. The parser never fails on a line it does not know: macOS adds keys
//! between releases, and a monitor that stops on a new key shows nothing.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why running a macOS command gave no output.
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

/// Runs `/usr/sbin/sysctl keys…` and parses the output (a key the running macOS lacks only
/// costs that line).
pub(crate) fn read_sysctl(keys: &[&str]) -> Result<BTreeMap<String, String>, CommandError> {
    run("/usr/sbin/sysctl", keys).map(|text| parse_sysctl(&text))
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
}
