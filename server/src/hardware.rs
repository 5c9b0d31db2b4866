//! Hardware profile: what this machine is ([`detect`]), which llama.cpp settings suit it
//! ([`choose`]), the user's overrides on top ([`report`]), and how many threads to use while the
//! machine is busy with other work ([`threads_for_now`]).
//!
//! Memory sizes are in GiB (2^30 bytes) throughout, and the reasons say so: a "16 GB" Mac reports
//! exactly 16 GiB (`hw.memsize: 17179869184`), so the tiers below fall where people expect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use app::profile::{field, Accelerator, HardwareInfo, InferenceProfile, ProfileReport};

use crate::metrics::macos::perf_cores;

const GIB: u64 = 1 << 30;

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

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

/// Hardware facts from `sysctl` output (already parsed with
/// [`parse_sysctl`](crate::metrics::macos::parse_sysctl)). Pure; missing keys give `None` / 0.
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

/// Metal support as `system_profiler SPDisplaysDataType` reports it, in its text form
/// (`Metal Support: Metal 3`, older `Metal Family: Supported, …` / `Metal: Supported`) or its
/// `-json` form (`"spdisplays_mtlgpufamilysupport" : "spdisplays_metal3"`).
///
/// `Some(true)` if any GPU supports Metal, `Some(false)` if GPUs are listed with Metal marked
/// unsupported, `None` if the text says nothing about Metal. Reads line by line, so truncated
/// JSON is fine.
pub fn metal_from_system_profiler(text: &str) -> Option<bool> {
    let mut seen = None;
    for line in text.lines() {
        let line = line.trim().trim_end_matches(',');
        let value = if line.starts_with('"') {
            // `"key" : "value"` of the JSON form.
            let mut quoted = line.split('"').skip(1).step_by(2);
            let (Some(key), Some(value)) = (quoted.next(), quoted.next()) else {
                continue;
            };
            if !matches!(key, "spdisplays_mtlgpufamilysupport" | "spdisplays_metal") {
                continue;
            }
            value
        } else {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if !matches!(key.trim(), "Metal Support" | "Metal Family" | "Metal") {
                continue;
            }
            value
        };
        let value = value.trim().to_ascii_lowercase();
        let unsupported = value.contains("not supported")
            || value.contains("not_supported")
            || value.contains("unsupported");
        let supported = !unsupported
            && (value.contains("metal")
                || value.contains("mtlgpufamily")
                || value.contains("supported"));
        if supported {
            return Some(true);
        }
        if unsupported {
            seen = Some(false);
        }
    }
    seen
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
        match read_sysctl(SYSCTL_KEYS) {
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

/// Runs `/usr/sbin/sysctl keys…` (a key the running macOS lacks only costs that line).
#[cfg(target_os = "macos")]
fn read_sysctl(
    keys: &[&str],
) -> Result<BTreeMap<String, String>, crate::metrics::macos::CommandError> {
    crate::metrics::macos::run("/usr/sbin/sysctl", keys)
        .map(|text| crate::metrics::macos::parse_sysctl(&text))
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

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// `8`, `15.5`: whole GiB without decimals.
fn gib(bytes: u64) -> String {
    let tenths = (bytes as f64 / GIB as f64 * 10.0).round() as u64;
    if tenths.is_multiple_of(10) {
        format!("{} GiB", tenths / 10)
    } else {
        format!("{}.{} GiB", tenths / 10, tenths % 10)
    }
}

/// Threads after keeping a core free for macOS, this server and the browser: 1 core of margin
/// once there are at least 4, none below; never fewer than 1.
fn minus_margin(cores: u32) -> (u32, u32) {
    let margin = u32::from(cores >= 4);
    (margin, cores.saturating_sub(margin).max(1))
}

/// The default llama.cpp settings for `hw`, with one reason per decision.
///
/// - Accelerator: Metal on Apple Silicon, CUDA when built with it, else CPU.
/// - GPU layers (with an accelerator; CPU only ⇒ 0): all at ≥ 16 GiB, 20 at ≥ 8 GiB, 10 below.
/// - Context / batch: 4096 / 1024 at ≥ 32 GiB, 2048 / 512 at ≥ 16 GiB, 1024 / 256 below.
/// - Threads: performance cores − margin on Apple Silicon (efficiency cores are slow enough to
///   hold every step back), physical cores − margin elsewhere; margin 1 at ≥ 4 cores, else 0.
/// - mmap on, mlock off.
///
/// Memory is system memory (unified memory on Apple Silicon); unknown memory (0) takes the
/// smallest tier.
pub fn choose(hw: &HardwareInfo) -> (InferenceProfile, Vec<String>) {
    let mut reasons = Vec::new();
    let mem = hw.memory_bytes;
    let known = mem > 0;
    let mem_text = gib(mem);

    let accelerator = if hw.metal {
        reasons.push("accelerator: Metal (Apple Silicon GPU, sharing unified memory)".to_owned());
        Accelerator::Metal
    } else if hw.cuda {
        reasons.push("accelerator: CUDA (built with the cuda feature)".to_owned());
        Accelerator::Cuda
    } else {
        reasons.push("accelerator: CPU (no Metal GPU, and not built with CUDA)".to_owned());
        Accelerator::Cpu
    };

    reasons.push(if known {
        format!(
            "memory: {mem_text} (GiB = 2^30 bytes; tiers at 8, 16 and 32 GiB{})",
            if hw.cuda && !hw.metal {
                "; system memory, GPU memory is not read"
            } else {
                ""
            }
        )
    } else {
        "memory: unknown, so the smallest tiers apply".to_owned()
    });

    let gpu_layers = if !accelerator.is_gpu() {
        reasons.push("GPU layers: 0 (CPU only)".to_owned());
        0
    } else if mem >= 16 * GIB {
        reasons.push(format!("GPU layers: all ({mem_text} ≥ 16 GiB)"));
        InferenceProfile::ALL_LAYERS
    } else if mem >= 8 * GIB {
        reasons.push(format!("GPU layers: 20 ({mem_text} ≥ 8 GiB, < 16 GiB)"));
        20
    } else {
        reasons.push(if known {
            format!("GPU layers: 10 ({mem_text} < 8 GiB)")
        } else {
            "GPU layers: 10 (memory unknown)".to_owned()
        });
        10
    };

    let (n_ctx, n_batch, why) = if mem >= 32 * GIB {
        (4096, 1024, format!("{mem_text} ≥ 32 GiB"))
    } else if mem >= 16 * GIB {
        (2048, 512, format!("{mem_text} ≥ 16 GiB, < 32 GiB"))
    } else if known {
        (1024, 256, format!("{mem_text} < 16 GiB"))
    } else {
        (1024, 256, "memory unknown".to_owned())
    };
    reasons.push(format!("context: {n_ctx} tokens, batch: {n_batch} ({why})"));

    let threads = match (hw.apple_silicon, hw.performance_cores, hw.physical_cores) {
        (true, Some(p), _) if p > 0 => {
            let (margin, t) = minus_margin(p);
            let skipped = match hw.efficiency_cores {
                Some(e) if e > 0 => format!("; the {e} efficiency cores would slow every step"),
                _ => String::new(),
            };
            reasons.push(format!(
                "threads: {p} performance cores − {margin} margin = {t}{skipped}"
            ));
            t
        }
        (true, _, Some(n)) if n > 0 => {
            // Only the M1 (4P + 4E) ran a macOS without the perflevel keys.
            let p = (n / 2).max(1);
            let (margin, t) = minus_margin(p);
            reasons.push(format!(
                "threads: performance cores unknown (macOS before 12), taking half of {n} cores \
                 = {p}; {p} − {margin} margin = {t}"
            ));
            t
        }
        (false, _, Some(n)) if n > 0 => {
            let (margin, t) = minus_margin(n);
            reasons.push(format!(
                "threads: {n} physical cores − {margin} margin = {t}"
            ));
            t
        }
        _ if hw.logical_cores > 0 => {
            let n = hw.logical_cores;
            let (margin, t) = minus_margin(n);
            reasons.push(format!(
                "threads: {n} logical cores (physical unknown) − {margin} margin = {t}"
            ));
            t
        }
        _ => {
            reasons.push("threads: 1 (core count unknown)".to_owned());
            1
        }
    };

    reasons.push("memory map: on (the model is paged in on demand and can be evicted)".to_owned());
    reasons.push(
        "mlock: off (pinning gigabytes of model would take them from everything else)".to_owned(),
    );

    let profile = InferenceProfile {
        accelerator,
        gpu_layers,
        threads,
        n_ctx,
        n_batch,
        use_mmap: true,
        use_mlock: false,
    };
    (profile, reasons)
}

// ---------------------------------------------------------------------------------------------
// Overrides
// ---------------------------------------------------------------------------------------------

/// Smallest context length accepted from the user.
pub const MIN_CTX: u32 = 256;
/// Smallest batch accepted from the user.
pub const MIN_BATCH: u32 = 32;

/// Settings the user fixed (config file, environment, CLI); `None` keeps the rule's value.
///
/// In a config file the keys are the field names; unknown keys are an error, so a typo is not
/// silently ignored. `gpu_layers = 999` means all layers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Overrides {
    pub gpu_layers: Option<u32>,
    pub threads: Option<u32>,
    pub n_ctx: Option<u32>,
    pub n_batch: Option<u32>,
    pub use_mmap: Option<bool>,
    pub use_mlock: Option<bool>,
}

/// An override llama.cpp could not run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("threads must be at least 1")]
    ZeroThreads,
    #[error("n_ctx must be at least {min} tokens, got {got}")]
    CtxTooSmall { got: u32, min: u32 },
    #[error("n_batch must be at least {min} tokens, got {got}")]
    BatchTooSmall { got: u32, min: u32 },
    #[error("n_batch ({n_batch}) must not exceed n_ctx ({n_ctx})")]
    BatchOverCtx { n_batch: u32, n_ctx: u32 },
}

impl Overrides {
    /// Checks the values on their own: threads ≥ 1, n_ctx ≥ [`MIN_CTX`], n_batch ≥
    /// [`MIN_BATCH`], and n_batch ≤ n_ctx when both are set. ([`report`] also checks a set
    /// n_batch against the rule's n_ctx.)
    pub fn validate(&self) -> Result<(), OverrideError> {
        if self.threads == Some(0) {
            return Err(OverrideError::ZeroThreads);
        }
        if let Some(got) = self.n_ctx.filter(|&c| c < MIN_CTX) {
            return Err(OverrideError::CtxTooSmall { got, min: MIN_CTX });
        }
        if let Some(got) = self.n_batch.filter(|&b| b < MIN_BATCH) {
            return Err(OverrideError::BatchTooSmall {
                got,
                min: MIN_BATCH,
            });
        }
        if let (Some(n_batch), Some(n_ctx)) = (self.n_batch, self.n_ctx) {
            if n_batch > n_ctx {
                return Err(OverrideError::BatchOverCtx { n_batch, n_ctx });
            }
        }
        Ok(())
    }

    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn layers_label(n: u32) -> String {
    if n >= InferenceProfile::ALL_LAYERS {
        "all".to_owned()
    } else {
        n.to_string()
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// The rules' profile for `hw` with `overrides` applied on top; every overridden field is listed
/// in `overridden` and gets a "(set by you)" reason after the rules' reasons.
///
/// A rule's batch larger than a context length the user set is lowered to it (with a reason);
/// a batch the user set larger than the context is an error.
pub fn report(hw: HardwareInfo, overrides: &Overrides) -> Result<ProfileReport, OverrideError> {
    overrides.validate()?;
    let (mut p, mut reasons) = choose(&hw);
    let rule = p.clone();
    let mut overridden = Vec::new();

    if let Some(v) = overrides.gpu_layers {
        p.gpu_layers = v;
        overridden.push(field::GPU_LAYERS.to_owned());
        let note = if v > 0 && !p.accelerator.is_gpu() {
            "; no GPU backend here, so everything still runs on the CPU"
        } else {
            ""
        };
        reasons.push(format!(
            "GPU layers: {} (set by you; the rule gave {}{note})",
            layers_label(v),
            layers_label(rule.gpu_layers)
        ));
    }
    if let Some(v) = overrides.threads {
        p.threads = v;
        overridden.push(field::THREADS.to_owned());
        let note = if hw.logical_cores > 0 && v > hw.logical_cores {
            format!(
                "; more than the {} logical cores, threads will wait on each other",
                hw.logical_cores
            )
        } else {
            String::new()
        };
        reasons.push(format!(
            "threads: {v} (set by you; the rule gave {}{note})",
            rule.threads
        ));
    }
    if let Some(v) = overrides.n_ctx {
        p.n_ctx = v;
        overridden.push(field::N_CTX.to_owned());
        reasons.push(format!(
            "context: {v} tokens (set by you; the rule gave {})",
            rule.n_ctx
        ));
    }
    match overrides.n_batch {
        Some(v) if v > p.n_ctx => {
            return Err(OverrideError::BatchOverCtx {
                n_batch: v,
                n_ctx: p.n_ctx,
            })
        }
        Some(v) => {
            p.n_batch = v;
            overridden.push(field::N_BATCH.to_owned());
            reasons.push(format!(
                "batch: {v} (set by you; the rule gave {})",
                rule.n_batch
            ));
        }
        None if p.n_batch > p.n_ctx => {
            reasons.push(format!(
                "batch: {} (lowered from {} to the context length you set)",
                p.n_ctx, p.n_batch
            ));
            p.n_batch = p.n_ctx;
        }
        None => {}
    }
    if let Some(v) = overrides.use_mmap {
        p.use_mmap = v;
        overridden.push(field::USE_MMAP.to_owned());
        reasons.push(format!("memory map: {} (set by you)", on_off(v)));
    }
    if let Some(v) = overrides.use_mlock {
        p.use_mlock = v;
        overridden.push(field::USE_MLOCK.to_owned());
        reasons.push(format!("mlock: {} (set by you)", on_off(v)));
    }

    Ok(ProfileReport {
        hardware: hw,
        profile: p,
        reasons,
        overridden,
    })
}

// ---------------------------------------------------------------------------------------------
// Per request
// ---------------------------------------------------------------------------------------------

/// A core counts as free below this busy share (percent).
pub const IDLE_BELOW_PCT: f32 = 50.0;

/// Threads to use for a request now: `profile_threads`, but no more than the cores currently
/// below [`IDLE_BELOW_PCT`] busy (`per_core_busy_pct` as in `Snapshot.cpu.per_core_pct`, 0–100
/// per core), and at least 1. With no per-core readings (empty slice) `profile_threads` stands.
///
/// Why: llama.cpp's threads spin-wait for each other at every step, so one thread on a core
/// another program keeps busy delays all of them. Measured here: with 2 threads and one core
/// already loaded, time to first token came 2–4× later than with 1 thread. On a busy machine
/// fewer threads are faster. (A reading that is not a number counts as busy.)
pub fn threads_for_now(profile_threads: u32, per_core_busy_pct: &[f32]) -> u32 {
    let profile_threads = profile_threads.max(1);
    if per_core_busy_pct.is_empty() {
        return profile_threads;
    }
    let idle = per_core_busy_pct
        .iter()
        .filter(|&&pct| pct < IDLE_BELOW_PCT)
        .count();
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    profile_threads.min(idle).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::macos::parse_sysctl;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../tests/fixtures/macos/", $name))
        };
    }

    const M1_2021: &str = fixture!("m1_sysctl-a-rg-cpu_2021.txt");
    const M1_BIGSUR: &str = fixture!("m1_bigsur_sysctl-machdep-early.txt");
    const M1_ROSETTA: &str = fixture!("m1_sysctl-machdep-cpu_x86-flags.txt");
    const M1_PRO_8: &str = fixture!("m1-pro-8core_sysctl-hw.txt");
    const M1_PRO_10: &str = fixture!("m1-pro-10core_sysctl-a-grep-cpu.txt");
    const M2: &str = fixture!("m2_sysctl-hw.txt");
    const M3_MAX: &str = fixture!("m3-max-14core_sysctl-hw.txt");
    const M4_MAX: &str = fixture!("m4-max_sysctl-hw.txt");
    const M4_FAMILY: &str = fixture!("m4-family-12core_sysctl-hw-machdep-partial.txt");
    const M3_DISPLAYS: &str = fixture!("m3_system_profiler-SPDisplaysDataType.txt");
    const M3_PRO_DISPLAYS_JSON: &str =
        fixture!("m3-pro_system_profiler-SPDisplaysDataType-json-partial.txt");

    fn hw(text: &str) -> HardwareInfo {
        from_sysctl(&parse_sysctl(text))
    }

    /// (accelerator, gpu_layers, n_ctx, n_batch, threads)
    fn summary(p: &InferenceProfile) -> (Accelerator, u32, u32, u32, u32) {
        (p.accelerator, p.gpu_layers, p.n_ctx, p.n_batch, p.threads)
    }

    const ALL: u32 = InferenceProfile::ALL_LAYERS;

    #[test]
    fn m1_pro_8_core() {
        let h = hw(M1_PRO_8);
        assert_eq!(
            h,
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
        let (p, reasons) = choose(&h);
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 2048, 512, 5));
        assert!(p.use_mmap && !p.use_mlock);
        assert!(reasons.contains(&"GPU layers: all (16 GiB ≥ 16 GiB)".to_owned()));
        assert!(reasons.contains(
            &"threads: 6 performance cores − 1 margin = 5; the 2 efficiency cores would slow \
              every step"
                .to_owned()
        ));
        assert!(reasons
            .contains(&"context: 2048 tokens, batch: 512 (16 GiB ≥ 16 GiB, < 32 GiB)".to_owned()));
        assert!(reasons.iter().any(|r| r.contains("GiB = 2^30 bytes")));
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
        let (p, _) = choose(&h);
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 2048, 512, 3));
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
        let (p, reasons) = choose(&h);
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 4096, 1024, 9));
        assert!(reasons.contains(&"context: 4096 tokens, batch: 1024 (36 GiB ≥ 32 GiB)".to_owned()));
        assert!(reasons.contains(&"GPU layers: all (36 GiB ≥ 16 GiB)".to_owned()));
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
        let (p, _) = choose(&h);
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 4096, 1024, 11));
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
        let (p, reasons) = choose(&h);
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 2048, 512, 7));
        assert!(reasons
            .contains(&"context: 2048 tokens, batch: 512 (24 GiB ≥ 16 GiB, < 32 GiB)".to_owned()));
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
        let (p, reasons) = choose(&h);
        // Memory not in the paste: smallest tiers.
        assert_eq!(summary(&p), (Accelerator::Metal, 10, 1024, 256, 7));
        assert!(reasons.contains(&"memory: unknown, so the smallest tiers apply".to_owned()));
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

        // The base M1 ships with 8 GiB (not in this fixture, so set here).
        let h8 = HardwareInfo {
            memory_bytes: 8 * GIB,
            ..h
        };
        let (p, reasons) = choose(&h8);
        // 8 cores without the split: half taken as performance cores (4) − 1 margin.
        assert_eq!(summary(&p), (Accelerator::Metal, 20, 1024, 256, 3));
        assert!(reasons.contains(&"GPU layers: 20 (8 GiB ≥ 8 GiB, < 16 GiB)".to_owned()));
        assert!(reasons.contains(&"context: 1024 tokens, batch: 256 (8 GiB < 16 GiB)".to_owned()));
        assert!(reasons.contains(
            &"threads: performance cores unknown (macOS before 12), taking half of 8 cores = 4; \
              4 − 1 margin = 3"
                .to_owned()
        ));
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
        // Constructed (no Intel Mac fixture): an x86 Mac with hyper-threading.
        let h = hw(
            "machdep.cpu.brand_string: Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz\n\
                    hw.cputype: 7\nhw.physicalcpu: 8\nhw.logicalcpu: 16\n\
                    hw.memsize: 34359738368\nkern.osproductversion: 13.6\n",
        );
        assert!(!h.apple_silicon && !h.metal);
        assert_eq!(h.os, "macOS 13.6");
        assert_eq!((h.physical_cores, h.logical_cores), (Some(8), 16));
        let (p, reasons) = choose(&h);
        assert_eq!(summary(&p), (Accelerator::Cpu, 0, 4096, 1024, 7));
        assert!(reasons.contains(&"GPU layers: 0 (CPU only)".to_owned()));
        assert!(reasons.contains(&"threads: 8 physical cores − 1 margin = 7".to_owned()));
    }

    #[test]
    fn metal_from_system_profiler_fixtures() {
        assert_eq!(metal_from_system_profiler(M3_DISPLAYS), Some(true));
        assert_eq!(metal_from_system_profiler(M3_PRO_DISPLAYS_JSON), Some(true));
        // Constructed: older wordings, an unsupported GPU, and nothing about Metal.
        assert_eq!(
            metal_from_system_profiler("      Metal Family: Supported, Metal GPUFamily macOS 2\n"),
            Some(true)
        );
        assert_eq!(
            metal_from_system_profiler("    GeForce 320M:\n      Metal: Not Supported\n"),
            Some(false)
        );
        assert_eq!(
            metal_from_system_profiler(
                "\"spdisplays_mtlgpufamilysupport\" : \"spdisplays_not_supported\",\n"
            ),
            Some(false)
        );
        // One GPU without Metal, one with: Metal is there.
        assert_eq!(
            metal_from_system_profiler("Metal: Not Supported\nMetal Support: Metal 3\n"),
            Some(true)
        );
        assert_eq!(
            metal_from_system_profiler("Chipset Model: Apple M3\n"),
            None
        );
        assert_eq!(metal_from_system_profiler(""), None);
    }

    fn linux(memory_gib: u64, cuda: bool) -> HardwareInfo {
        HardwareInfo {
            os: "Ubuntu 24.04".into(),
            chip: Some("AMD Ryzen 7 7840U".into()),
            apple_silicon: false,
            performance_cores: None,
            efficiency_cores: None,
            physical_cores: Some(8),
            logical_cores: 16,
            memory_bytes: memory_gib * GIB,
            metal: false,
            cuda,
        }
    }

    #[test]
    fn linux_cpu_only() {
        let (p, reasons) = choose(&linux(32, false));
        assert_eq!(summary(&p), (Accelerator::Cpu, 0, 4096, 1024, 7));
        assert_eq!(
            reasons[0],
            "accelerator: CPU (no Metal GPU, and not built with CUDA)"
        );
        let (p, _) = choose(&HardwareInfo {
            physical_cores: Some(2),
            logical_cores: 4,
            ..linux(4, false)
        });
        // Below 4 cores there is no margin.
        assert_eq!(summary(&p), (Accelerator::Cpu, 0, 1024, 256, 2));
    }

    #[test]
    fn linux_cuda_tiers() {
        let (p, reasons) = choose(&linux(64, true));
        assert_eq!(summary(&p), (Accelerator::Cuda, ALL, 4096, 1024, 7));
        assert!(reasons.iter().any(|r| r.contains("GPU memory is not read")));
        let (p, _) = choose(&linux(12, true));
        assert_eq!(summary(&p), (Accelerator::Cuda, 20, 1024, 256, 7));
        let (p, reasons) = choose(&linux(4, true));
        assert_eq!(summary(&p), (Accelerator::Cuda, 10, 1024, 256, 7));
        assert!(reasons.contains(&"GPU layers: 10 (4 GiB < 8 GiB)".to_owned()));
        // Just under 16 GiB (a "16 GB" PC after firmware reservations) stays in the 8 GiB tier.
        let (p, reasons) = choose(&HardwareInfo {
            memory_bytes: 16 * GIB - 512 * 1024 * 1024,
            ..linux(0, true)
        });
        assert_eq!((p.gpu_layers, p.n_ctx), (20, 1024));
        assert!(reasons.contains(&"GPU layers: 20 (15.5 GiB ≥ 8 GiB, < 16 GiB)".to_owned()));
    }

    #[test]
    fn thread_fallbacks() {
        let only_logical = HardwareInfo {
            physical_cores: None,
            logical_cores: 6,
            ..linux(8, false)
        };
        assert_eq!(choose(&only_logical).0.threads, 5);
        let nothing = HardwareInfo {
            physical_cores: None,
            logical_cores: 0,
            ..linux(8, false)
        };
        let (p, reasons) = choose(&nothing);
        assert_eq!(p.threads, 1);
        assert!(reasons.contains(&"threads: 1 (core count unknown)".to_owned()));
        // Apple Silicon with 1 performance core (never shipped, but must not give 0).
        let tiny = HardwareInfo {
            performance_cores: Some(1),
            ..hw(M2)
        };
        assert_eq!(choose(&tiny).0.threads, 1);
    }

    #[test]
    fn overrides_applied_and_listed() {
        let o = Overrides {
            threads: Some(3),
            n_ctx: Some(8192),
            use_mlock: Some(true),
            ..Overrides::default()
        };
        let r = report(hw(M3_MAX), &o).expect("valid");
        assert_eq!(
            summary(&r.profile),
            (Accelerator::Metal, ALL, 8192, 1024, 3)
        );
        assert!(r.profile.use_mlock && r.profile.use_mmap);
        assert_eq!(r.overridden, ["threads", "n_ctx", "use_mlock"]);
        assert!(r
            .reasons
            .contains(&"threads: 3 (set by you; the rule gave 9)".to_owned()));
        assert!(r
            .reasons
            .contains(&"context: 8192 tokens (set by you; the rule gave 4096)".to_owned()));
        assert!(r.reasons.contains(&"mlock: on (set by you)".to_owned()));
        assert_eq!(r.hardware.chip.as_deref(), Some("Apple M3 Max"));

        // No overrides: the rules' profile, nothing listed.
        let plain = report(hw(M3_MAX), &Overrides::default()).expect("valid");
        assert_eq!(plain.profile, choose(&hw(M3_MAX)).0);
        assert!(plain.overridden.is_empty());
        assert!(Overrides::default().is_empty() && !o.is_empty());
    }

    #[test]
    fn overrides_layers_batch_and_mmap() {
        let o = Overrides {
            gpu_layers: Some(12),
            n_batch: Some(128),
            use_mmap: Some(false),
            ..Overrides::default()
        };
        let r = report(linux(16, false), &o).expect("valid");
        assert_eq!(summary(&r.profile), (Accelerator::Cpu, 12, 2048, 128, 7));
        assert!(!r.profile.use_mmap);
        assert_eq!(r.overridden, ["gpu_layers", "n_batch", "use_mmap"]);
        assert!(r.reasons.contains(
            &"GPU layers: 12 (set by you; the rule gave 0; no GPU backend here, so everything \
              still runs on the CPU)"
                .to_owned()
        ));
        assert!(r
            .reasons
            .contains(&"batch: 128 (set by you; the rule gave 512)".to_owned()));
        assert!(r
            .reasons
            .contains(&"memory map: off (set by you)".to_owned()));

        // A context below the rule's batch lowers the batch without listing it as the user's.
        let r = report(
            hw(M4_MAX),
            &Overrides {
                n_ctx: Some(512),
                threads: Some(32),
                ..Overrides::default()
            },
        )
        .expect("valid");
        assert_eq!((r.profile.n_ctx, r.profile.n_batch), (512, 512));
        assert_eq!(r.overridden, ["threads", "n_ctx"]);
        assert!(r
            .reasons
            .contains(&"batch: 512 (lowered from 1024 to the context length you set)".to_owned()));
        assert!(r.reasons.contains(
            &"threads: 32 (set by you; the rule gave 11; more than the 16 logical cores, threads \
              will wait on each other)"
                .to_owned()
        ));
    }

    #[test]
    fn invalid_overrides_rejected() {
        let with = |o: Overrides| report(hw(M2), &o).map(|r| r.profile);
        assert_eq!(
            with(Overrides {
                threads: Some(0),
                ..Overrides::default()
            }),
            Err(OverrideError::ZeroThreads)
        );
        assert_eq!(
            with(Overrides {
                n_ctx: Some(255),
                ..Overrides::default()
            }),
            Err(OverrideError::CtxTooSmall { got: 255, min: 256 })
        );
        assert_eq!(
            with(Overrides {
                n_batch: Some(31),
                ..Overrides::default()
            }),
            Err(OverrideError::BatchTooSmall { got: 31, min: 32 })
        );
        assert_eq!(
            with(Overrides {
                n_batch: Some(1024),
                n_ctx: Some(512),
                ..Overrides::default()
            }),
            Err(OverrideError::BatchOverCtx {
                n_batch: 1024,
                n_ctx: 512
            })
        );
        // Against the rule's context: the M2 (16 GiB) gets 2048.
        assert_eq!(
            with(Overrides {
                n_batch: Some(4096),
                ..Overrides::default()
            }),
            Err(OverrideError::BatchOverCtx {
                n_batch: 4096,
                n_ctx: 2048
            })
        );
        // Boundaries are accepted.
        let p = with(Overrides {
            threads: Some(1),
            n_ctx: Some(256),
            n_batch: Some(256),
            ..Overrides::default()
        })
        .expect("valid");
        assert_eq!((p.threads, p.n_ctx, p.n_batch), (1, 256, 256));
        assert_eq!(
            OverrideError::BatchOverCtx {
                n_batch: 1024,
                n_ctx: 512
            }
            .to_string(),
            "n_batch (1024) must not exceed n_ctx (512)"
        );
    }

    #[test]
    fn overrides_from_config() {
        let o: Overrides =
            serde_json::from_str(r#"{"threads": 4, "use_mlock": true}"#).expect("parses");
        assert_eq!(
            o,
            Overrides {
                threads: Some(4),
                use_mlock: Some(true),
                ..Overrides::default()
            }
        );
        assert_eq!(
            serde_json::from_str::<Overrides>("{}").expect("parses"),
            Overrides::default()
        );
        // A typo is an error, not a silently ignored setting.
        assert!(serde_json::from_str::<Overrides>(r#"{"thread": 4}"#).is_err());
    }

    #[test]
    fn threads_for_now_counts_idle_cores() {
        // Idle machine: the profile stands.
        assert_eq!(
            threads_for_now(5, &[3.0, 1.0, 0.0, 10.0, 2.0, 4.0, 0.5, 8.0]),
            5
        );
        // Six of eight cores busy: two left.
        assert_eq!(
            threads_for_now(5, &[97.0, 88.0, 100.0, 60.0, 12.0, 51.0, 50.0, 3.0]),
            2
        );
        // Exactly 50 % counts as busy, 49.9 as free.
        assert_eq!(threads_for_now(4, &[50.0, 49.9, 50.0, 50.0]), 1);
        // Everything busy: still one thread.
        assert_eq!(threads_for_now(9, &[100.0; 14]), 1);
        // NaN counts as busy.
        assert_eq!(threads_for_now(3, &[f32::NAN, 0.0, 0.0, f32::NAN]), 2);
        // No readings: the profile stands; a zero profile still gives 1.
        assert_eq!(threads_for_now(5, &[]), 5);
        assert_eq!(threads_for_now(0, &[]), 1);
        assert_eq!(threads_for_now(0, &[0.0, 0.0]), 1);
    }

    #[test]
    fn gib_formatting() {
        assert_eq!(gib(16 * GIB), "16 GiB");
        assert_eq!(gib(38_654_705_664), "36 GiB");
        assert_eq!(gib(GIB + GIB / 2), "1.5 GiB");
        assert_eq!(gib(0), "0 GiB");
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
        let (p, _) = choose(&h);
        assert!(p.threads >= 1 && p.n_batch <= p.n_ctx);
    }
}
