//! Hardware profile: what this machine is ([`detect()`]), which llama.cpp settings suit it
//! ([`choose`]), the user's overrides on top ([`report`]), and how many threads to use while the
//! machine is busy with other work ([`threads_for_now`]).
//!
//! This module owns the public types (re-exported from `app::profile`, where they are the wire
//! format) and the [`report`] entry point. The parts: `detect` reads the machine (chip, cores,
//! memory, Metal), `rules` turns that into llama.cpp settings, `overrides` puts the user's own
//! settings on top and lists them, `registry` reads the devices of the running llama.cpp and
//! `offload` decides the GPU layers from them and the model's size.
//!
//! Memory sizes are in GiB (2^30 bytes) throughout, and the reasons say so: a "16 GB" Mac reports
//! exactly 16 GiB (`hw.memsize: 17179869184`), so the tiers fall where people expect.

mod detect;
mod offload;
mod overrides;
mod registry;
mod rules;

pub use app::profile::{
    Accelerator, ComputeDevice, DeviceKind, HardwareInfo, InferenceProfile, Offload, ProfileField,
    ProfileReport,
};

pub use offload::{
    choose_offload, compute_bytes, fit_offload, kv_cache_bytes, ModelSize, OffloadChoice,
    HEADROOM_BYTES,
};
pub use registry::{llama_devices, RegistryError};

pub use detect::{detect, from_sysctl, SYSCTL_KEYS};
pub use overrides::{OverrideError, Overrides, MIN_BATCH, MIN_CTX};
pub use rules::{
    choose, memory_map_for_model, threads_for_now, HYSTERESIS_CORES, OWN_COPY_MAX_SHARE,
};

const GIB: u64 = 1 << 30;

/// The rules' profile for `hw` with `overrides` applied on top; every overridden field is listed
/// in `overridden` and gets a "(set by you)" reason after the rules' reasons.
///
/// A rule's batch larger than a context length the user set is lowered to it (with a reason);
/// a batch the user set larger than the context is an error.
pub fn report(hw: HardwareInfo, overrides: &Overrides) -> Result<ProfileReport, OverrideError> {
    overrides.validate()?;
    let (rule, mut reasons) = choose(&hw);
    let (profile, overridden) = overrides.apply(&hw, &rule, &mut reasons)?;
    Ok(ProfileReport {
        hardware: hw,
        profile,
        reasons,
        overridden,
        offload: None,
    })
}

/// `report` fitted to the model file it will load (`model_bytes` long): whether to map it, by
/// [`memory_map_for_model`], in place of the rules' size-blind "memory map: on" — unless the
/// user set `use_mmap`, which stands.
pub fn fit_to_model(report: &mut ProfileReport, model_bytes: u64) {
    if report.overridden.contains(&ProfileField::UseMmap) {
        return;
    }
    let (mmap, why) = memory_map_for_model(model_bytes, report.hardware.memory_bytes);
    report.profile.use_mmap = mmap;
    match report
        .reasons
        .iter_mut()
        .find(|r| r.starts_with("memory map:"))
    {
        Some(r) => *r = why,
        None => report.reasons.push(why),
    }
}

/// Recorded `sysctl` output of real Macs and hardware built from it, shared by the tests of the
/// detection, the rules and the overrides.
#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::platform::macos::parse_sysctl;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/macos/", $name))
        };
    }

    pub const M1_2021: &str = fixture!("m1_sysctl-a-rg-cpu_2021.txt");
    pub const M1_BIGSUR: &str = fixture!("m1_bigsur_sysctl-machdep-early.txt");
    pub const M1_ROSETTA: &str = fixture!("m1_sysctl-machdep-cpu_x86-flags.txt");
    pub const M1_PRO_8: &str = fixture!("m1-pro-8core_sysctl-hw.txt");
    pub const M1_PRO_10: &str = fixture!("m1-pro-10core_sysctl-a-grep-cpu.txt");
    pub const M2: &str = fixture!("m2_sysctl-hw.txt");
    pub const M3_MAX: &str = fixture!("m3-max-14core_sysctl-hw.txt");
    pub const M4_MAX: &str = fixture!("m4-max_sysctl-hw.txt");
    pub const M4_FAMILY: &str = fixture!("m4-family-12core_sysctl-hw-machdep-partial.txt");

    /// Constructed (no Intel Mac fixture): an x86 Mac with hyper-threading.
    pub const INTEL: &str = "machdep.cpu.brand_string: Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz\n\
                    hw.cputype: 7\nhw.physicalcpu: 8\nhw.logicalcpu: 16\n\
                    hw.memsize: 34359738368\nkern.osproductversion: 13.6\n";

    pub const ALL: u32 = InferenceProfile::ALL_LAYERS;

    pub fn hw(text: &str) -> HardwareInfo {
        from_sysctl(&parse_sysctl(text))
    }

    /// (accelerator, gpu_layers, n_ctx, n_batch, threads)
    pub fn summary(p: &InferenceProfile) -> (Accelerator, u32, u32, u32, u32) {
        (p.accelerator, p.gpu_layers, p.n_ctx, p.n_batch, p.threads)
    }

    pub fn linux(memory_gib: u64, cuda: bool) -> HardwareInfo {
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
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn the_model_size_decides_the_memory_map_unless_the_user_did() {
        let mut r = report(hw(M2), &Overrides::default()).unwrap();
        assert!(r.profile.use_mmap, "size-blind rule");
        fit_to_model(&mut r, 98_362_432);
        assert!(!r.profile.use_mmap);
        let maps: Vec<_> = r
            .reasons
            .iter()
            .filter(|x| x.starts_with("memory map:"))
            .collect();
        assert_eq!(maps.len(), 1, "{maps:?}");
        assert!(maps[0].starts_with("memory map: off (the 98 MB model"));

        let set = Overrides {
            use_mmap: Some(true),
            ..Overrides::default()
        };
        let mut r = report(hw(M2), &set).unwrap();
        fit_to_model(&mut r, 98_362_432);
        assert!(r.profile.use_mmap, "the user's choice stands");
        assert!(r
            .reasons
            .contains(&"memory map: on (set by you)".to_owned()));
    }
}
