//! The rules that turn detected hardware into llama.cpp settings ([`choose`]) and, per request,
//! into a thread count that suits how busy the machine is right now ([`threads_for_now`]). Pure
//! functions, one reason per decision, so every tier is tested without the hardware.

use super::{Accelerator, HardwareInfo, InferenceProfile, GIB};

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
/// - mmap on, until the model file's size decides ([`memory_map_for_model`]); mlock off.
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

/// A model file at most this fraction of memory (1/8) is read into the host's own memory
/// rather than mapped; see [`memory_map_for_model`].
pub const OWN_COPY_MAX_SHARE: u64 = 8;

/// Whether to map a model file of `model_bytes` (`use_mmap`) on a machine with `memory_bytes`,
/// with the reason; this replaces [`choose`]'s "memory map: on" once the model's size is known.
///
/// A mapped model is the file itself: truncate the file while the host runs (a `cp` of another
/// model over it truncates first) and the next touch of a page past the new end kills the
/// host with SIGBUS — measured here, mid-answer, with no last word to the client. A copy in the
/// host's own memory is immune to anything done to the file (deleted, replaced, truncated,
/// rewritten) and costs the same resident memory once answering, since every token reads every
/// weight (the default model: 176 MB resident either way, measured). What mapping still buys is
/// a lazy start and pages the system can drop under pressure instead of swapping, which matter
/// for a model that is a large share of memory: that one stays mapped, and the engine checks
/// the file before each answer instead.
pub fn memory_map_for_model(model_bytes: u64, memory_bytes: u64) -> (bool, String) {
    let size = if model_bytes >= GIB {
        gib(model_bytes)
    } else {
        format!("{} MB", (model_bytes + 500_000) / 1_000_000)
    };
    if memory_bytes == 0 {
        return (
            true,
            format!("memory map: on (the {size} model is paged in on demand; memory unknown)"),
        );
    }
    let share = format!("1/{OWN_COPY_MAX_SHARE} of the {} memory", gib(memory_bytes));
    if model_bytes.saturating_mul(OWN_COPY_MAX_SHARE) <= memory_bytes {
        (
            false,
            format!(
                "memory map: off (the {size} model is at most {share}: read into the host's own \
                 memory, so replacing, truncating or deleting the file cannot stop the host)"
            ),
        )
    } else {
        (
            true,
            format!(
                "memory map: on (the {size} model is more than {share}: paged in on demand and \
                 can be evicted; the file is checked before each answer)"
            ),
        )
    }
}

/// How far the machine's free capacity (in cores) must be from the current thread count before
/// the count changes. Each change rebuilds the context, so a reading hovering near a boundary
/// must not flip it back and forth.
pub const HYSTERESIS_CORES: f32 = 0.75;

/// Threads to use for a request now, given the `current` count (the engine's context) and the
/// per-core busy shares of a CPU reading that holds only *other* programs' load (`None` when
/// the reading overlaps the engine's own last answer: then nothing is known and `current`
/// stands). The free capacity is the sum of each core's idle share; the count moves to it
/// (rounded, within 1..=`profile_threads`) only when it is more than [`HYSTERESIS_CORES`] away.
///
/// Why: llama.cpp's threads spin-wait for each other at every step, so one thread on a core
/// another program keeps busy delays all of them. Measured here: with 2 threads and one core
/// already loaded, time to first token came 2–4× later than with 1 thread. On a busy machine
/// fewer threads are faster. But the engine's own answer makes every core look busy for the
/// next reading, and following that rebuilt the context on most questions. (A reading that is
/// not a number counts as busy.)
pub fn threads_for_now(
    profile_threads: u32,
    current: u32,
    per_core_busy_pct: Option<&[f32]>,
) -> u32 {
    let profile = profile_threads.max(1);
    let current = current.clamp(1, profile);
    let Some(cores) = per_core_busy_pct.filter(|c| !c.is_empty()) else {
        return current;
    };
    let free: f32 = cores
        .iter()
        .map(|&pct| {
            if pct.is_nan() {
                0.0
            } else {
                1.0 - (pct / 100.0).clamp(0.0, 1.0)
            }
        })
        .sum();
    if (free - current as f32).abs() <= HYSTERESIS_CORES {
        return current;
    }
    (free.round() as u32).clamp(1, profile)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn m1_pro_8_core() {
        let (p, reasons) = choose(&hw(M1_PRO_8));
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
        let (p, _) = choose(&hw(M2));
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 2048, 512, 3));
    }

    #[test]
    fn m3_max_36_gib() {
        let (p, reasons) = choose(&hw(M3_MAX));
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 4096, 1024, 9));
        assert!(reasons.contains(&"context: 4096 tokens, batch: 1024 (36 GiB ≥ 32 GiB)".to_owned()));
        assert!(reasons.contains(&"GPU layers: all (36 GiB ≥ 16 GiB)".to_owned()));
    }

    #[test]
    fn m4_max_64_gib() {
        let (p, _) = choose(&hw(M4_MAX));
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 4096, 1024, 11));
    }

    #[test]
    fn m4_family_partial_24_gib() {
        let (p, reasons) = choose(&hw(M4_FAMILY));
        assert_eq!(summary(&p), (Accelerator::Metal, ALL, 2048, 512, 7));
        assert!(reasons
            .contains(&"context: 2048 tokens, batch: 512 (24 GiB ≥ 16 GiB, < 32 GiB)".to_owned()));
    }

    #[test]
    fn m1_pro_10_core_grep() {
        let (p, reasons) = choose(&hw(M1_PRO_10));
        // Memory not in the paste: smallest tiers.
        assert_eq!(summary(&p), (Accelerator::Metal, 10, 1024, 256, 7));
        assert!(reasons.contains(&"memory: unknown, so the smallest tiers apply".to_owned()));
    }

    #[test]
    fn m1_base_without_perflevels() {
        // The base M1 ships with 8 GiB (not in this fixture, so set here).
        let h8 = HardwareInfo {
            memory_bytes: 8 * GIB,
            ..hw(M1_2021)
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
    fn not_apple_silicon_from_intel_style_sysctl() {
        let (p, reasons) = choose(&hw(INTEL));
        assert_eq!(summary(&p), (Accelerator::Cpu, 0, 4096, 1024, 7));
        assert!(reasons.contains(&"GPU layers: 0 (CPU only)".to_owned()));
        assert!(reasons.contains(&"threads: 8 physical cores − 1 margin = 7".to_owned()));
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
    fn threads_follow_other_programs_load_with_hysteresis() {
        // Idle machine: the profile stands.
        let idle = [3.0, 1.0, 0.0, 10.0, 2.0, 4.0, 0.5, 8.0];
        assert_eq!(threads_for_now(5, 5, Some(&idle)), 5);
        // Six of eight cores mostly busy: 2.99 cores free.
        let busy = [97.0, 88.0, 100.0, 60.0, 12.0, 51.0, 90.0, 3.0];
        assert_eq!(threads_for_now(5, 5, Some(&busy)), 3);
        assert_eq!(threads_for_now(5, 2, Some(&busy)), 3);
        // Everything busy: still one thread. NaN counts as busy.
        assert_eq!(threads_for_now(9, 9, Some(&[100.0; 14])), 1);
        assert_eq!(
            threads_for_now(3, 3, Some(&[f32::NAN, 0.0, 0.0, f32::NAN])),
            2
        );
        // No reading, or one that includes the engine's own answer: the count stays.
        assert_eq!(threads_for_now(5, 3, None), 3);
        assert_eq!(threads_for_now(5, 3, Some(&[])), 3);
        assert_eq!(threads_for_now(0, 0, None), 1);
        assert_eq!(threads_for_now(2, 7, None), 2, "never above the profile");

        // Two cores, as here: one core half busy is within the band either way.
        assert_eq!(threads_for_now(2, 2, Some(&[50.0, 0.0])), 2);
        assert_eq!(threads_for_now(2, 1, Some(&[50.0, 0.0])), 1);
        // A program taking a whole core moves 2 → 1; the core coming back moves 1 → 2.
        assert_eq!(threads_for_now(2, 2, Some(&[95.0, 10.0])), 1);
        assert_eq!(threads_for_now(2, 1, Some(&[10.0, 5.0])), 2);
        // A reading hovering at the boundary does not flip the count.
        let mut current = 2;
        for reading in [[60.0, 10.0], [70.0, 5.0], [55.0, 20.0], [65.0, 0.0]] {
            current = threads_for_now(2, current, Some(&reading));
            assert_eq!(current, 2, "{reading:?}");
        }
    }

    #[test]
    fn small_models_are_read_into_memory_large_ones_mapped() {
        let default_model = 98_362_432;
        let (mmap, why) = memory_map_for_model(default_model, 8 * GIB);
        assert!(!mmap);
        assert_eq!(
            why,
            "memory map: off (the 98 MB model is at most 1/8 of the 8 GiB memory: read into the \
             host's own memory, so replacing, truncating or deleting the file cannot stop the host)"
        );
        // Llama-3-ELYZA-JP-8B q4_k_m: mapped on 16 and 32 GiB, its own copy from 40 GiB.
        let elyza = 4_920_000_000;
        let (mmap, why) = memory_map_for_model(elyza, 16 * GIB);
        assert!(mmap);
        assert!(
            why.starts_with("memory map: on (the 4.6 GiB model is more than 1/8 of the 16 GiB"),
            "{why}"
        );
        assert!(memory_map_for_model(elyza, 32 * GIB).0);
        assert!(!memory_map_for_model(elyza, 40 * GIB).0);
        // Exactly 1/8 is small enough; unknown memory keeps the map.
        assert!(!memory_map_for_model(GIB, 8 * GIB).0);
        assert!(memory_map_for_model(GIB + 1, 8 * GIB).0);
        assert!(memory_map_for_model(default_model, 0).0);
    }

    #[test]
    fn gib_formatting() {
        assert_eq!(gib(16 * GIB), "16 GiB");
        assert_eq!(gib(38_654_705_664), "36 GiB");
        assert_eq!(gib(GIB + GIB / 2), "1.5 GiB");
        assert_eq!(gib(0), "0 GiB");
    }
}
