//! Reading the machine: chip, cores (with the performance/efficiency split), memory, Metal.
//! Kept apart from the rules so the parsing of `sysctl` output is tested against recorded
//! output of real Macs, on any platform.

use std::collections::BTreeMap;

use super::HardwareInfo;
use crate::platform::macos::perf_cores;

/// `hw.cputype` of arm64 (`CPU_TYPE_ARM | CPU_ARCH_ABI64`).
const CPU_TYPE_ARM64: u64 = 0x0100_000C;

/// What early Big Sur reported as `machdep.cpu.brand_string` on the M1: not a chip name.
const GENERIC_APPLE_BRAND: &str = "Apple processor";

/// The `sysctl` keys [`from_sysctl`] reads.
pub const SYSCTL_KEYS: &[&str] = &[
    "kern.osproductversion",
    "machdep.cpu.brand_string",
    "machdep.cpu.core_count",
    "machdep.cpu.thread_count",
    "hw.optional.arm64",
    "hw.cputype",
    "hw.physicalcpu",
    "hw.logicalcpu",
    "hw.ncpu",
    "hw.memsize",
    "hw.nperflevels",
    "hw.perflevel0.physicalcpu",
    "hw.perflevel1.physicalcpu",
];

/// Hardware facts from `sysctl` output (already parsed with
/// [`parse_sysctl`](crate::platform::macos::parse_sysctl)). Pure; missing keys give `None` / 0.
///
/// - `chip`: `machdep.cpu.brand_string`, `None` if missing or the generic "Apple processor".
/// - `apple_silicon`: any sign of arm64 — `hw.optional.arm64: 1`, `hw.cputype` arm64,
///   `hw.optional.arm.*` feature flags, a brand starting with "Apple", or a second performance
///   level (among Macs only Apple Silicon has one).
/// - P/E cores: `hw.perflevel0/1.physicalcpu` (see [`perf_cores`]).
/// - physical: `hw.physicalcpu`, else `machdep.cpu.core_count`, else P + E.
/// - logical: `hw.logicalcpu`, else `hw.ncpu`, else `machdep.cpu.thread_count`, else physical.
/// - memory: `hw.memsize`.
/// - `metal`: Apple Silicon (every Apple Silicon GPU supports Metal 3 compute); `cuda`: false.
pub fn from_sysctl(map: &BTreeMap<String, String>) -> HardwareInfo {
    let num = |key: &str| map.get(key).and_then(|v| v.trim().parse::<u64>().ok());
    let num32 = |key: &str| num(key).and_then(|v| u32::try_from(v).ok());

    let brand = map
        .get("machdep.cpu.brand_string")
        .map(|b| b.trim())
        .filter(|b| !b.is_empty());
    let chip = brand
        .filter(|b| *b != GENERIC_APPLE_BRAND)
        .map(str::to_owned);

    let (performance_cores, efficiency_cores) = perf_cores(map);
    let apple_silicon = num("hw.optional.arm64") == Some(1)
        || num("hw.cputype") == Some(CPU_TYPE_ARM64)
        || map.keys().any(|k| k.starts_with("hw.optional.arm."))
        || brand.is_some_and(|b| b.starts_with("Apple"))
        || num("hw.nperflevels").is_some_and(|n| n >= 2)
        || num("hw.perflevel1.physicalcpu").is_some();

    let physical_cores = num32("hw.physicalcpu")
        .or_else(|| num32("machdep.cpu.core_count"))
        .or_else(|| Some(performance_cores? + efficiency_cores?).filter(|&n| n > 0));
    let logical_cores = num32("hw.logicalcpu")
        .or_else(|| num32("hw.ncpu"))
        .or_else(|| num32("machdep.cpu.thread_count"))
        .or(physical_cores)
        .unwrap_or(0);

    let os = match map.get("kern.osproductversion").map(|v| v.trim()) {
        Some(v) if !v.is_empty() => format!("macOS {v}"),
        _ => "macOS".to_owned(),
    };

    HardwareInfo {
        os,
        chip,
        apple_silicon,
        performance_cores,
        efficiency_cores,
        physical_cores,
        logical_cores,
        memory_bytes: num("hw.memsize").unwrap_or(0),
        metal: apple_silicon,
        cuda: false,
    }
}

/// This machine's hardware.
///
/// On macOS: one `sysctl` call for [`SYSCTL_KEYS`] → [`from_sysctl`], with any gap (or a failed
/// call) filled from `sysinfo`. Elsewhere: `sysinfo` (brand, physical and logical cores, memory).
/// `cuda` is true when this binary was built with the `cuda` feature.
pub fn detect() -> HardwareInfo {
    #[cfg(target_os = "macos")]
    let hw = {
        let fallback = from_sysinfo();
        match crate::platform::macos::read_sysctl(SYSCTL_KEYS) {
            Ok(map) => fill_gaps(from_sysctl(&map), fallback),
            Err(err) => {
                tracing::warn!(%err, "sysctl failed; hardware profile from sysinfo only");
                HardwareInfo {
                    os: "macOS".to_owned(),
                    ..fallback
                }
            }
        }
    };
    #[cfg(not(target_os = "macos"))]
    let hw = from_sysinfo();
    HardwareInfo {
        cuda: cfg!(feature = "cuda"),
        ..hw
    }
}

/// `hw` with whatever it lacks taken from `other`.
#[cfg(target_os = "macos")]
fn fill_gaps(hw: HardwareInfo, other: HardwareInfo) -> HardwareInfo {
    HardwareInfo {
        chip: hw.chip.or(other.chip.filter(|c| c != GENERIC_APPLE_BRAND)),
        physical_cores: hw.physical_cores.or(other.physical_cores),
        logical_cores: if hw.logical_cores == 0 {
            other.logical_cores
        } else {
            hw.logical_cores
        },
        memory_bytes: if hw.memory_bytes == 0 {
            other.memory_bytes
        } else {
            hw.memory_bytes
        },
        ..hw
    }
}

/// Hardware as `sysinfo` sees it: no P/E split, no GPU knowledge.
fn from_sysinfo() -> HardwareInfo {
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let chip = sys
        .cpus()
        .first()
        .map(|c| c.brand().trim().to_owned())
        .filter(|b| !b.is_empty());
    let logical_cores = match sys.cpus().len() {
        0 => std::thread::available_parallelism().map_or(0, |n| n.get()),
        n => n,
    };
    let os = System::long_os_version()
        .or_else(System::name)
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    HardwareInfo {
        os,
        chip,
        apple_silicon: false,
        performance_cores: None,
        efficiency_cores: None,
        physical_cores: System::physical_core_count().and_then(|n| u32::try_from(n).ok()),
        logical_cores: u32::try_from(logical_cores).unwrap_or(u32::MAX),
        memory_bytes: sys.total_memory(),
        metal: false,
        cuda: false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::GIB;
    use super::*;

    #[test]
    fn m1_pro_8_core() {
        assert_eq!(
            hw(M1_PRO_8),
            HardwareInfo {
                os: "macOS".into(),
                chip: Some("Apple M1 Pro".into()),
                apple_silicon: true,
                performance_cores: Some(6),
                efficiency_cores: Some(2),
                physical_cores: Some(8),
                logical_cores: 8,
                memory_bytes: 17_179_869_184,
                metal: true,
                cuda: false,
            }
        );
    }

    #[test]
    fn m2() {
        let h = hw(M2);
        assert_eq!(h.chip.as_deref(), Some("Apple M2"));
        assert!(h.apple_silicon && h.metal && !h.cuda);
        assert_eq!(
            (h.performance_cores, h.efficiency_cores),
            (Some(4), Some(4))
        );
        assert_eq!((h.physical_cores, h.logical_cores), (Some(8), 8));
        assert_eq!(h.memory_bytes, 16 * GIB);
    }

    #[test]
    fn m3_max_36_gib() {
        let h = hw(M3_MAX);
        assert_eq!(h.chip.as_deref(), Some("Apple M3 Max"));
        assert_eq!(
            (h.performance_cores, h.efficiency_cores),
            (Some(10), Some(4))
        );
        assert_eq!((h.physical_cores, h.logical_cores), (Some(14), 14));
        assert_eq!(h.memory_bytes, 36 * GIB);
    }

    #[test]
    fn m4_max_64_gib() {
        let h = hw(M4_MAX);
        assert_eq!(h.chip.as_deref(), Some("Apple M4 Max"));
        assert_eq!(
            (h.performance_cores, h.efficiency_cores),
            (Some(12), Some(4))
        );
        assert_eq!((h.physical_cores, h.logical_cores), (Some(16), 16));
        assert_eq!(h.memory_bytes, 64 * GIB);
    }

    #[test]
    fn m4_family_partial_24_gib() {
        // No brand_string, no hw.physicalcpu / hw.optional.arm64 in the part published: Apple
        // Silicon from the hw.optional.arm.FEAT_* flags, physical cores from P + E.
        let h = hw(M4_FAMILY);
        assert_eq!(h.chip, None);
        assert!(h.apple_silicon && h.metal);
        assert_eq!(
            (h.performance_cores, h.efficiency_cores),
            (Some(8), Some(4))
        );
        assert_eq!((h.physical_cores, h.logical_cores), (Some(12), 12));
        assert_eq!(h.memory_bytes, 24 * GIB);
    }

    #[test]
    fn m1_pro_10_core_grep() {
        // Only perflevel counts and ncpu: the second performance level marks Apple Silicon.
        let h = hw(M1_PRO_10);
        assert!(h.apple_silicon);
        assert_eq!(h.chip, None);
        assert_eq!(
            (h.performance_cores, h.efficiency_cores),
            (Some(8), Some(2))
        );
        assert_eq!((h.physical_cores, h.logical_cores), (Some(10), 10));
        assert_eq!(h.memory_bytes, 0);
    }

    #[test]
    fn m1_base_without_perflevels() {
        // Jan 2021 output: no brand, no memsize, no perflevel keys; arm64 from hw.cputype.
        let h = hw(M1_2021);
        assert_eq!(h.chip, None);
        assert!(h.apple_silicon && h.metal);
        assert_eq!((h.performance_cores, h.efficiency_cores), (None, None));
        assert_eq!((h.physical_cores, h.logical_cores), (Some(8), 8));
        assert_eq!(h.memory_bytes, 0);
    }

    #[test]
    fn m1_big_sur_generic_brand() {
        let h = hw(M1_BIGSUR);
        // "Apple processor" is not a chip name.
        assert_eq!(h.chip, None);
        assert!(h.apple_silicon, "hw.optional.arm64: 1");
        assert_eq!((h.physical_cores, h.logical_cores), (Some(8), 8));
        assert_eq!((h.performance_cores, h.efficiency_cores), (None, None));
        assert_eq!(h.memory_bytes, 0);
    }

    #[test]
    fn m1_brand_under_rosetta() {
        let h = hw(M1_ROSETTA);
        assert_eq!(h.chip.as_deref(), Some("Apple M1"));
        assert!(h.apple_silicon, "from the brand");
        assert_eq!((h.physical_cores, h.logical_cores), (Some(8), 8));
    }

    #[test]
    fn not_apple_silicon_from_intel_style_sysctl() {
        let h = hw(INTEL);
        assert!(!h.apple_silicon && !h.metal);
        assert_eq!(h.os, "macOS 13.6");
        assert_eq!((h.physical_cores, h.logical_cores), (Some(8), 16));
    }

    #[test]
    fn detect_on_this_host() {
        let h = detect();
        assert!(h.logical_cores >= 1, "{h:?}");
        assert!(h.memory_bytes > 0, "{h:?}");
        assert!(!h.os.is_empty());
        assert_eq!(h.cuda, cfg!(feature = "cuda"));
        #[cfg(not(target_os = "macos"))]
        assert!(!h.apple_silicon && !h.metal && h.performance_cores.is_none());
        let (p, _) = super::super::choose(&h);
        assert!(p.threads >= 1 && p.n_batch <= p.n_ctx);
    }
}
