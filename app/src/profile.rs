//! Hardware profile wire types: what the host found out about the machine, the llama.cpp settings
//! it chose from that, and why. Served at `GET /api/v1/profile` and shown in the UI.
//!
//! Plain serde data only: this module is compiled to WASM too. The detection and the rules live in
//! the host (`server::hardware`).

use serde::{Deserialize, Serialize};

/// What the host knows about the machine the model runs on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardwareInfo {
    /// Operating system as people name it, e.g. `"macOS 15.1"` or `"Ubuntu 24.04"`.
    pub os: String,
    /// Processor name, e.g. `"Apple M3 Max"`; `None` when unknown (or only the generic
    /// `"Apple processor"` that early Big Sur reported).
    pub chip: Option<String>,
    pub apple_silicon: bool,
    /// Performance cores (Apple Silicon); `None` where the split cannot be told.
    pub performance_cores: Option<u32>,
    /// Efficiency cores (Apple Silicon); `None` where the split cannot be told.
    pub efficiency_cores: Option<u32>,
    pub physical_cores: Option<u32>,
    /// Logical CPUs (hardware threads); 0 only if even that was unreadable.
    pub logical_cores: u32,
    /// Installed memory in bytes; 0 when unknown. On Apple Silicon this memory is shared with the
    /// GPU, which is why it decides how many layers can be offloaded.
    pub memory_bytes: u64,
    /// The GPU can run Metal compute (every Apple Silicon Mac).
    pub metal: bool,
    /// This build can offload to an NVIDIA GPU (built with the `cuda` feature).
    pub cuda: bool,
}

/// Where the model's layers run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    Metal,
    Cuda,
    /// Another GPU backend of llama.cpp (Vulkan, ROCm, SYCL …), named in [`Offload::device`].
    Gpu,
    #[default]
    Cpu,
}

impl Accelerator {
    /// Name for display: `"Metal"`, `"CUDA"`, `"GPU"`, `"CPU"`.
    pub fn label(self) -> &'static str {
        match self {
            Accelerator::Metal => "Metal",
            Accelerator::Cuda => "CUDA",
            Accelerator::Gpu => "GPU",
            Accelerator::Cpu => "CPU",
        }
    }

    /// Whether layers can be offloaded at all.
    pub fn is_gpu(self) -> bool {
        self != Accelerator::Cpu
    }
}

/// What kind of device ggml's registry says a device is (`ggml_backend_dev_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Cpu,
    /// A discrete GPU with its own memory (CUDA) — or Apple's GPU, which ggml also lists so.
    Gpu,
    /// A GPU sharing system memory (ggml's `IGPU`).
    Igpu,
    /// An accelerator that takes no layers (BLAS, AMX): ggml uses it beside the CPU.
    Accel,
    Unknown,
}

/// One device of the llama.cpp that runs here, as its backend registry lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeDevice {
    /// ggml's device name: `"CUDA0"`, `"MTL0"`, `"CPU"`.
    pub name: String,
    /// What the driver calls it: `"NVIDIA H100 80GB HBM3"`, `"Apple M1"`, the CPU's brand.
    pub description: String,
    /// The backend that owns it: `"CUDA"`, `"MTL"` (Metal), `"CPU"`.
    pub backend: String,
    pub kind: DeviceKind,
    /// Memory the device has, in bytes (Metal: the recommended working set, not the RAM).
    pub memory_total_bytes: u64,
    /// Memory free on it when the host started, in bytes.
    pub memory_free_bytes: u64,
}

impl ComputeDevice {
    /// Whether llama.cpp can put layers on it (a GPU, integrated or not).
    pub fn takes_layers(&self) -> bool {
        matches!(self.kind, DeviceKind::Gpu | DeviceKind::Igpu)
    }
}

/// Where the layers went and why, decided from the devices a running llama.cpp lists (not
/// from how the binary was built): a build can hold a backend whose device is absent, and a
/// `gpu` build finds its backends only at start-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offload {
    /// Every device the registry listed, CPU included.
    pub devices: Vec<ComputeDevice>,
    /// The device that takes the layers (the first of several GPUs, which llama.cpp splits
    /// across); `None`: CPU only.
    pub device: Option<ComputeDevice>,
    /// Bytes the model needs on the device with every layer there: the file, its KV cache and
    /// the compute margin; 0 when no model file was sized.
    pub needed_bytes: u64,
    /// Why this many layers, e.g. "all 30 layers: the model needs 0.5 GiB … 79.1 GiB free".
    pub reason: String,
}

/// llama.cpp settings for this machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceProfile {
    pub accelerator: Accelerator,
    /// Layers offloaded to the GPU, passed to llama.cpp as is (`n_gpu_layers`). llama.cpp caps it
    /// at the model's layer count, so [`ALL_LAYERS`](Self::ALL_LAYERS) (999, the usual
    /// `-ngl 999`) means "every layer"; 0 means CPU only.
    pub gpu_layers: u32,
    /// Threads for generation and prompt processing.
    pub threads: u32,
    /// Context length in tokens.
    pub n_ctx: u32,
    /// Logical batch size in tokens (prompt processing chunk); never above `n_ctx`.
    pub n_batch: u32,
    /// Map the model file instead of reading it into memory.
    pub use_mmap: bool,
    /// Pin the model in RAM.
    pub use_mlock: bool,
}

impl InferenceProfile {
    /// `gpu_layers` value meaning "offload every layer": no model has this many.
    pub const ALL_LAYERS: u32 = 999;

    /// Whether every layer is offloaded (`gpu_layers` ≥ [`ALL_LAYERS`](Self::ALL_LAYERS)).
    pub fn offloads_all_layers(&self) -> bool {
        self.gpu_layers >= Self::ALL_LAYERS
    }

    /// `gpu_layers` for display: `"all"`, or the number.
    pub fn gpu_layers_label(&self) -> String {
        if self.offloads_all_layers() {
            "all".to_owned()
        } else {
            self.gpu_layers.to_string()
        }
    }
}

/// An [`InferenceProfile`] setting the user can fix, as listed in [`ProfileReport::overridden`].
/// On the wire it is the field's name: `"gpu_layers"`, `"threads"`, `"n_ctx"`, `"n_batch"`,
/// `"use_mmap"`, `"use_mlock"`.
/// Deserialised by name through [`crate::wire`] (smaller WASM than a derived deserializer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    GpuLayers,
    Threads,
    NCtx,
    NBatch,
    UseMmap,
    UseMlock,
}

impl ProfileField {
    pub const ALL: [ProfileField; 6] = [
        ProfileField::GpuLayers,
        ProfileField::Threads,
        ProfileField::NCtx,
        ProfileField::NBatch,
        ProfileField::UseMmap,
        ProfileField::UseMlock,
    ];
}

impl<'de> Deserialize<'de> for ProfileField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::wire::deserialize_by_name(d, ProfileField::ALL)
    }
}

/// The answer of `GET /api/v1/profile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReport {
    pub hardware: HardwareInfo,
    pub profile: InferenceProfile,
    /// One human sentence per decision, e.g. "GPU layers: all (16 GiB ≥ 16 GiB)",
    /// "threads: 6 performance cores − 1 margin = 5".
    pub reasons: Vec<String>,
    /// Fields set by the user (config/env/CLI), so the UI can mark them; in the JSON, named as the
    /// [`InferenceProfile`] fields (see [`ProfileField`]).
    pub overridden: Vec<ProfileField>,
    /// The devices llama.cpp found and where the layers went; `None` when no llama.cpp ran
    /// (dashboard only, or a build without the engine). Absent in older hosts' JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offload: Option<Offload>,
}

impl ProfileReport {
    /// Whether the user set `field`.
    pub fn is_overridden(&self, field: ProfileField) -> bool {
        self.overridden.contains(&field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ProfileReport {
        ProfileReport {
            hardware: HardwareInfo {
                os: "macOS 15.1".into(),
                chip: Some("Apple M3 Max".into()),
                apple_silicon: true,
                performance_cores: Some(10),
                efficiency_cores: Some(4),
                physical_cores: Some(14),
                logical_cores: 14,
                memory_bytes: 36 << 30,
                metal: true,
                cuda: false,
            },
            profile: InferenceProfile {
                accelerator: Accelerator::Metal,
                gpu_layers: InferenceProfile::ALL_LAYERS,
                threads: 3,
                n_ctx: 4096,
                n_batch: 1024,
                use_mmap: true,
                use_mlock: false,
            },
            reasons: vec!["threads: 3 (set by you)".into()],
            overridden: vec![ProfileField::Threads],
            offload: None,
        }
    }

    fn h100() -> ComputeDevice {
        ComputeDevice {
            name: "CUDA0".into(),
            description: "NVIDIA H100 80GB HBM3".into(),
            backend: "CUDA".into(),
            kind: DeviceKind::Gpu,
            memory_total_bytes: 85_029_158_912,
            memory_free_bytes: 84_500_000_000,
        }
    }

    #[test]
    fn json_shape_is_stable() {
        let json = serde_json::to_value(sample()).expect("serialises");
        assert_eq!(json["profile"]["accelerator"], "metal");
        assert_eq!(json["profile"]["gpu_layers"], 999);
        assert_eq!(json["profile"]["n_ctx"], 4096);
        assert_eq!(json["hardware"]["memory_bytes"], 38_654_705_664_u64);
        assert_eq!(json["hardware"]["chip"], "Apple M3 Max");
        assert_eq!(json["overridden"], serde_json::json!(["threads"]));
        for (acc, text) in [
            (Accelerator::Metal, "\"metal\""),
            (Accelerator::Cuda, "\"cuda\""),
            (Accelerator::Gpu, "\"gpu\""),
            (Accelerator::Cpu, "\"cpu\""),
        ] {
            assert_eq!(serde_json::to_string(&acc).expect("serialises"), text);
        }

        // Every overridable field, spelled as the `InferenceProfile` field it stands for.
        // A new variant fails to compile here until its spelling is pinned below.
        let spelled = |f: ProfileField| match f {
            ProfileField::GpuLayers => "gpu_layers",
            ProfileField::Threads => "threads",
            ProfileField::NCtx => "n_ctx",
            ProfileField::NBatch => "n_batch",
            ProfileField::UseMmap => "use_mmap",
            ProfileField::UseMlock => "use_mlock",
        };
        let all = ProfileField::ALL;
        for f in all {
            let text = format!("\"{}\"", spelled(f));
            assert_eq!(serde_json::to_string(&f).expect("serialises"), text);
            assert_eq!(
                serde_json::from_str::<ProfileField>(&text).expect("parses"),
                f
            );
        }
        // The profile's own field names are the ones listed.
        let profile = serde_json::to_value(sample().profile).expect("serialises");
        for f in all {
            assert!(profile.get(spelled(f)).is_some(), "{f:?}");
        }
        // The whole list, in the order the host reports overrides.
        let report = ProfileReport {
            overridden: all.to_vec(),
            ..sample()
        };
        let json = serde_json::to_value(&report).expect("serialises");
        assert_eq!(
            json["overridden"],
            serde_json::json!([
                "gpu_layers",
                "threads",
                "n_ctx",
                "n_batch",
                "use_mmap",
                "use_mlock"
            ])
        );
        assert!(serde_json::from_str::<ProfileField>("\"nCtx\"").is_err());
    }

    #[test]
    fn offload_json_shape_and_old_hosts() {
        // A host from before the device registry sends no `offload`: still parses.
        let mut old = serde_json::to_value(sample()).expect("serialises");
        assert!(old.get("offload").is_none());
        old.as_object_mut().expect("object").remove("offload");
        let parsed: ProfileReport = serde_json::from_value(old).expect("parses");
        assert_eq!(parsed.offload, None);

        let report = ProfileReport {
            offload: Some(Offload {
                devices: vec![h100()],
                device: Some(h100()),
                needed_bytes: 500 << 20,
                reason: "all layers".into(),
            }),
            ..sample()
        };
        let json = serde_json::to_value(&report).expect("serialises");
        let dev = &json["offload"]["device"];
        assert_eq!(dev["kind"], "gpu");
        assert_eq!(dev["backend"], "CUDA");
        assert_eq!(dev["memory_free_bytes"], 84_500_000_000_u64);
        assert_eq!(json["offload"]["needed_bytes"], 524_288_000_u64);
        for (k, text) in [
            (DeviceKind::Cpu, "\"cpu\""),
            (DeviceKind::Gpu, "\"gpu\""),
            (DeviceKind::Igpu, "\"igpu\""),
            (DeviceKind::Accel, "\"accel\""),
            (DeviceKind::Unknown, "\"unknown\""),
        ] {
            assert_eq!(serde_json::to_string(&k).expect("serialises"), text);
        }
        let back: ProfileReport = serde_json::from_value(json).expect("parses");
        assert_eq!(back, report);
        assert!(h100().takes_layers());
        let accel = ComputeDevice {
            kind: DeviceKind::Accel,
            ..h100()
        };
        assert!(!accel.takes_layers());
    }

    #[test]
    fn round_trip() {
        let report = sample();
        let text = serde_json::to_string(&report).expect("serialises");
        let back: ProfileReport = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, report);
        assert!(back.is_overridden(ProfileField::Threads));
        assert!(!back.is_overridden(ProfileField::NCtx));
    }

    #[test]
    fn layer_labels() {
        let mut p = sample().profile;
        assert!(p.offloads_all_layers());
        assert_eq!(p.gpu_layers_label(), "all");
        p.gpu_layers = 20;
        assert!(!p.offloads_all_layers());
        assert_eq!(p.gpu_layers_label(), "20");
        assert_eq!(Accelerator::Cuda.label(), "CUDA");
        assert!(!Accelerator::Cpu.is_gpu());
    }
}
