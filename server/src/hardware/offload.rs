//! Where the model's layers go, decided from the devices a running llama.cpp lists (ggml's
//! backend registry) rather than from how the binary was built: a `gpu` build finds its
//! backends only at start-up, and a build with a backend may run where its device is absent.
//!
//! Pure: [`fit_offload`] takes the device list and the model's size, so every case is tested on
//! recorded lists (`tests/fixtures/devices`) without the hardware.

use super::{
    Accelerator, ComputeDevice, DeviceKind, InferenceProfile, Offload, ProfileField, ProfileReport,
    GIB,
};
use crate::engine::ModelShape;

const MIB: u64 = 1 << 20;

/// Device memory kept free beyond the model, its KV cache and compute buffers: what those
/// estimates leave out (cuBLAS's workspace, the CUDA memory pool's slack, CUDA graphs, Metal's
/// command buffers) and room for what the desktop or another program allocates meanwhile. A
/// margin, not a measurement: too much costs a few layers on a card that is nearly full, too
/// little an allocation failure at load.
pub const HEADROOM_BYTES: u64 = 512 * MIB;

/// llama.cpp's physical batch (`n_ubatch`) default: the compute buffer is sized for this many
/// tokens at most.
const N_UBATCH: u64 = 512;

/// What the rules know about the model file that will be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSize {
    pub file_bytes: u64,
    pub shape: ModelShape,
}

/// The KV cache llama.cpp allocates for `n_ctx` cells: K and V in f16 (its default cache type)
/// for every layer and KV head. `None` when the file does not give the numbers.
pub fn kv_cache_bytes(shape: &ModelShape, n_ctx: u32) -> Option<u64> {
    let n_layer = u64::from(shape.n_layer?);
    let n_head = shape.n_head.or(shape.n_head_kv)?;
    let n_head_kv = u64::from(shape.n_head_kv.unwrap_or(n_head));
    let head_dim = shape.n_embd.map(|e| e / n_head.max(1));
    let k = u64::from(shape.key_length.or(head_dim)?);
    let v = u64::from(shape.value_length.or(head_dim)?);
    Some(2 * u64::from(n_ctx) * n_layer * n_head_kv * (k + v))
}

/// An upper bound of llama.cpp's compute buffer for one physical batch: the logits
/// (`n_ubatch × n_vocab` f32) and the attention scores (`n_head × n_ubatch × n_ctx` f32, when
/// flash attention does not avoid them) dominate it; the activations are small beside them.
pub fn compute_bytes(shape: &ModelShape, n_ctx: u32, n_batch: u32) -> Option<u64> {
    let ubatch = u64::from(n_batch).clamp(1, N_UBATCH);
    let vocab = u64::from(shape.n_vocab?);
    let heads = u64::from(shape.n_head.or(shape.n_head_kv)?);
    Some(ubatch * (vocab + heads * u64::from(n_ctx)) * 4)
}

/// `98 MB`, `4.6 GiB`: sizes as the reasons write them.
fn size(bytes: u64) -> String {
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else {
        format!("{} MB", (bytes + 500_000) / 1_000_000)
    }
}

fn accelerator_of(dev: &ComputeDevice) -> Accelerator {
    match dev.backend.as_str() {
        "CUDA" => Accelerator::Cuda,
        "MTL" | "Metal" => Accelerator::Metal,
        _ => Accelerator::Gpu,
    }
}

/// The devices llama.cpp puts layers on: the discrete GPUs, or the integrated ones when there is
/// no discrete one (as `llama_model_load` picks them).
fn layer_devices(devices: &[ComputeDevice]) -> Vec<&ComputeDevice> {
    let gpus: Vec<_> = devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Gpu)
        .collect();
    if !gpus.is_empty() {
        return gpus;
    }
    devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Igpu)
        .collect()
}

/// The rules' choice: accelerator, layers (before any override) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffloadChoice {
    pub accelerator: Accelerator,
    pub gpu_layers: u32,
    pub device: Option<ComputeDevice>,
    pub needed_bytes: u64,
    pub reason: String,
}

/// Layers for `devices` and the model (`None`: no model file to size), at `n_ctx` / `n_batch`.
///
/// - No GPU listed: 0 (CPU only).
/// - The file + KV cache + compute buffer + [`HEADROOM_BYTES`] fits in the GPUs' free memory
///   (several GPUs: their sum, as llama.cpp splits layers by free memory): all.
/// - Otherwise the layers that fit in what is left after the compute buffer and the headroom,
///   each layer counted as an equal share of the file and the KV cache; 0 when not one fits.
/// - Sizes unknown (no model, or a file without the numbers): all when the file plus a quarter
///   of it plus the headroom fits, else 0 — without a layer count no share can be computed.
pub fn choose_offload(
    devices: &[ComputeDevice],
    model: Option<&ModelSize>,
    n_ctx: u32,
    n_batch: u32,
) -> OffloadChoice {
    let gpus = layer_devices(devices);
    let Some(first) = gpus.first().copied() else {
        let listed: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
        return OffloadChoice {
            accelerator: Accelerator::Cpu,
            gpu_layers: 0,
            device: None,
            needed_bytes: 0,
            reason: format!(
                "GPU layers: 0 (llama.cpp lists no GPU{}: CPU only)",
                if listed.is_empty() {
                    String::new()
                } else {
                    format!(", only {}", listed.join(", "))
                }
            ),
        };
    };
    let free: u64 = gpus.iter().map(|d| d.memory_free_bytes).sum();
    let total: u64 = gpus.iter().map(|d| d.memory_total_bytes).sum();
    let on = if gpus.len() == 1 {
        first.description.clone()
    } else {
        format!("{} GPUs ({} …)", gpus.len(), first.description)
    };
    let choice = |gpu_layers: u32, needed_bytes: u64, reason: String| OffloadChoice {
        accelerator: accelerator_of(first),
        gpu_layers,
        device: Some(first.clone()),
        needed_bytes,
        reason,
    };
    let memory = format!("{} of {} free on {on}", size(free), size(total));

    let Some(model) = model else {
        return choice(
            InferenceProfile::ALL_LAYERS,
            0,
            format!("GPU layers: all (no model file to size; {memory})"),
        );
    };
    let file = model.file_bytes;
    let sized = (
        model.shape.n_layer.filter(|&n| n > 0),
        kv_cache_bytes(&model.shape, n_ctx),
        compute_bytes(&model.shape, n_ctx, n_batch),
    );
    let (Some(n_layer), Some(kv), Some(compute)) = sized else {
        let needed = file + file / 4 + HEADROOM_BYTES;
        return if needed <= free {
            choice(
                InferenceProfile::ALL_LAYERS,
                needed,
                format!(
                    "GPU layers: all (the {} model needs about {} with a quarter for its cache \
                     and buffers, its layer sizes unknown; {memory})",
                    size(file),
                    size(needed)
                ),
            )
        } else {
            choice(
                0,
                needed,
                format!(
                    "GPU layers: 0 (the {} model needs about {}, more than the {memory}, and \
                     without its layer count no share can be placed)",
                    size(file),
                    size(needed)
                ),
            )
        };
    };
    let needed = file + kv + compute + HEADROOM_BYTES;
    let parts = format!(
        "the {} model needs {} with its KV cache ({}), compute buffer ({}) and {} headroom",
        size(file),
        size(needed),
        size(kv),
        size(compute),
        size(HEADROOM_BYTES)
    );
    if needed <= free {
        return choice(
            InferenceProfile::ALL_LAYERS,
            needed,
            format!("GPU layers: all {n_layer} ({parts}; {memory})"),
        );
    }
    let per_layer = (file + kv).div_ceil(u64::from(n_layer)).max(1);
    let room = free.saturating_sub(compute + HEADROOM_BYTES);
    let fit = u32::try_from(room / per_layer)
        .unwrap_or(u32::MAX)
        .min(n_layer - 1);
    if fit == 0 {
        return choice(
            0,
            needed,
            format!(
                "GPU layers: 0 ({parts}; {memory} leaves no room for one {} layer: CPU only)",
                size(per_layer)
            ),
        );
    }
    choice(
        fit,
        needed,
        format!(
            "GPU layers: {fit} of {n_layer} ({parts}; {memory} holds {fit} layers of {}, the \
             rest run on the CPU)",
            size(per_layer)
        ),
    )
}

/// `report` with its accelerator and GPU layers decided by [`choose_offload`] on the devices a
/// running llama.cpp listed, replacing the memory-tier rule's (a layer count the user set
/// stands, its reason updated with the new rule's value), and the devices recorded in
/// `report.offload`.
pub fn fit_offload(
    report: &mut ProfileReport,
    devices: Vec<ComputeDevice>,
    model: Option<&ModelSize>,
) {
    let p = &report.profile;
    let c = choose_offload(&devices, model, p.n_ctx, p.n_batch);
    let set_by_user = report.overridden.contains(&ProfileField::GpuLayers);
    let user_layers = report.profile.gpu_layers;
    report.profile.accelerator = c.accelerator;
    if !set_by_user {
        report.profile.gpu_layers = c.gpu_layers;
    }
    let accel_reason = match &c.device {
        Some(d) => format!(
            "accelerator: {} ({}, {}, found by llama.cpp at start-up)",
            c.accelerator.label(),
            d.description,
            d.name
        ),
        None => "accelerator: CPU (llama.cpp found no GPU at start-up)".to_owned(),
    };
    let label = |n: u32| {
        if n >= InferenceProfile::ALL_LAYERS {
            "all".to_owned()
        } else {
            n.to_string()
        }
    };
    let user_reason = format!(
        "GPU layers: {} (set by you; the rule gave {})",
        label(user_layers),
        label(c.gpu_layers)
    );
    for r in &mut report.reasons {
        if r.starts_with("accelerator:") {
            *r = accel_reason.clone();
        } else if r.starts_with("GPU layers:") {
            *r = if r.contains("(set by you") {
                user_reason.clone()
            } else {
                c.reason.clone()
            };
        }
    }
    report.offload = Some(Offload {
        devices,
        device: c.device,
        needed_bytes: c.needed_bytes,
        // The layers that will run where they run: the user's, when set.
        reason: if set_by_user { user_reason } else { c.reason },
    });
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{report, HardwareInfo, Overrides};
    use super::*;

    /// A device list recorded as `{"source": …, "devices": [ComputeDevice …]}`.
    fn devices(json: &str) -> Vec<ComputeDevice> {
        #[derive(serde::Deserialize)]
        struct Recorded {
            #[allow(dead_code)]
            source: String,
            devices: Vec<ComputeDevice>,
        }
        serde_json::from_str::<Recorded>(json)
            .expect("fixture parses")
            .devices
    }

    macro_rules! devices {
        ($name:literal) => {
            devices(include_str!(concat!(
                "../../tests/fixtures/devices/",
                $name
            )))
        };
    }

    /// SmolLM2-135M-Instruct Q4_1, the default model: its GGUF's numbers.
    fn smollm2() -> ModelSize {
        ModelSize {
            file_bytes: 98_362_432,
            shape: ModelShape {
                n_layer: Some(30),
                n_embd: Some(576),
                n_head: Some(9),
                n_head_kv: Some(3),
                key_length: None,
                value_length: None,
                n_vocab: Some(49_152),
            },
        }
    }

    /// Llama-3-ELYZA-JP-8B q4_k_m (Llama 3 8B's shape).
    fn elyza_8b() -> ModelSize {
        ModelSize {
            file_bytes: 4_920_000_000,
            shape: ModelShape {
                n_layer: Some(32),
                n_embd: Some(4096),
                n_head: Some(32),
                n_head_kv: Some(8),
                key_length: Some(128),
                value_length: Some(128),
                n_vocab: Some(128_256),
            },
        }
    }

    #[test]
    fn kv_and_compute_estimates() {
        let s = smollm2().shape;
        // 2 (K, V) × 2 bytes × 4096 cells × 30 layers × 3 KV heads × (64 + 64).
        assert_eq!(kv_cache_bytes(&s, 4096), Some(2 * 4096 * 30 * 3 * 128));
        // 512 tokens × (49152 logits + 9 heads × 4096 scores) × 4 bytes.
        assert_eq!(
            compute_bytes(&s, 4096, 1024),
            Some(512 * (49_152 + 9 * 4096) * 4)
        );
        // A batch below the micro-batch sizes it.
        assert_eq!(
            compute_bytes(&s, 1024, 256),
            Some(256 * (49_152 + 9 * 1024) * 4)
        );
        assert_eq!(kv_cache_bytes(&ModelShape::default(), 4096), None);
        assert_eq!(compute_bytes(&ModelShape::default(), 4096, 512), None);
    }

    #[test]
    fn h100_takes_every_layer() {
        let list = devices!("h100.json");
        let c = choose_offload(&list, Some(&smollm2()), 4096, 1024);
        assert_eq!(c.accelerator, Accelerator::Cuda);
        assert_eq!(c.gpu_layers, InferenceProfile::ALL_LAYERS);
        let dev = c.device.as_ref().expect("a GPU");
        assert_eq!(dev.name, "CUDA0");
        assert!(dev.description.contains("H100"), "{dev:?}");
        assert!(
            c.reason
                .starts_with("GPU layers: all 30 (the 98 MB model needs "),
            "{}",
            c.reason
        );
        assert!(c.reason.contains("free on NVIDIA H100"), "{}", c.reason);
        // File + KV + compute + headroom, nothing else.
        let m = smollm2();
        let kv = kv_cache_bytes(&m.shape, 4096).unwrap();
        let compute = compute_bytes(&m.shape, 4096, 1024).unwrap();
        assert_eq!(c.needed_bytes, m.file_bytes + kv + compute + HEADROOM_BYTES);
    }

    #[test]
    fn apple_m1_metal_takes_every_layer_of_the_default_model() {
        let list = devices!("m1-8gib-metal.json");
        let c = choose_offload(&list, Some(&smollm2()), 1024, 256);
        assert_eq!(c.accelerator, Accelerator::Metal);
        assert_eq!(c.gpu_layers, InferenceProfile::ALL_LAYERS);
        assert_eq!(c.device.as_ref().map(|d| d.name.as_str()), Some("MTL0"));
        // The 8B model does not fit the 8 GiB M1's working set (5.3 GiB): a share of it.
        let c = choose_offload(&list, Some(&elyza_8b()), 1024, 256);
        assert!(c.gpu_layers > 0 && c.gpu_layers < 32, "{c:?}");
        assert!(c.reason.contains("of 32"), "{}", c.reason);
        // The BLAS accelerator beside it takes no layers and is not the device.
        assert!(list.iter().any(|d| d.kind == DeviceKind::Accel));
    }

    #[test]
    fn cpu_only_gives_zero_layers() {
        let list = devices!("cpu-only-epyc.json");
        let c = choose_offload(&list, Some(&smollm2()), 2048, 512);
        assert_eq!(
            (c.accelerator, c.gpu_layers, c.device.is_none()),
            (Accelerator::Cpu, 0, true)
        );
        assert!(
            c.reason
                .starts_with("GPU layers: 0 (llama.cpp lists no GPU, only CPU"),
            "{}",
            c.reason
        );
        let c = choose_offload(&[], None, 2048, 512);
        assert_eq!(c.reason, "GPU layers: 0 (llama.cpp lists no GPU: CPU only)");
    }

    #[test]
    fn a_gpu_too_small_takes_a_proportional_share() {
        let list = devices!("gtx1650-4gib.json");
        let m = elyza_8b();
        let c = choose_offload(&list, Some(&m), 2048, 512);
        assert_eq!(c.accelerator, Accelerator::Cuda);
        // free 3.6 GiB − compute − headroom, in layers of (file + KV) / 32.
        let free = list[0].memory_free_bytes;
        let per = (m.file_bytes + kv_cache_bytes(&m.shape, 2048).unwrap()).div_ceil(32);
        let room = free - compute_bytes(&m.shape, 2048, 512).unwrap() - HEADROOM_BYTES;
        assert_eq!(u64::from(c.gpu_layers), room / per);
        assert!((10..32).contains(&c.gpu_layers), "{c:?}");
        assert!(
            c.reason.contains(&format!("holds {} layers", c.gpu_layers)),
            "{}",
            c.reason
        );
        assert!(c.reason.contains("the rest run on the CPU"), "{}", c.reason);
        // The default model fits it whole.
        let c = choose_offload(&list, Some(&smollm2()), 2048, 512);
        assert_eq!(c.gpu_layers, InferenceProfile::ALL_LAYERS);
        // So little free that not one layer fits beside the buffers: none.
        let mut nearly_full = list.clone();
        nearly_full[0].memory_free_bytes = 600 * MIB;
        let c = choose_offload(&nearly_full, Some(&m), 2048, 512);
        assert_eq!(c.gpu_layers, 0);
        assert!(c.reason.contains("no room for one"), "{}", c.reason);
    }

    #[test]
    fn unsized_model_all_or_nothing() {
        let list = devices!("gtx1650-4gib.json");
        let no_shape = |file_bytes| ModelSize {
            file_bytes,
            shape: ModelShape::default(),
        };
        let c = choose_offload(&list, Some(&no_shape(1_000_000_000)), 2048, 512);
        assert_eq!(c.gpu_layers, InferenceProfile::ALL_LAYERS);
        let c = choose_offload(&list, Some(&no_shape(4_000_000_000)), 2048, 512);
        assert_eq!(c.gpu_layers, 0);
        let c = choose_offload(&list, None, 2048, 512);
        assert_eq!(c.gpu_layers, InferenceProfile::ALL_LAYERS);
        assert!(c.reason.contains("no model file to size"));
    }

    #[test]
    fn several_gpus_pool_their_free_memory() {
        let one = devices!("gtx1650-4gib.json");
        let mut two = one.clone();
        two.insert(
            1,
            ComputeDevice {
                name: "CUDA1".into(),
                ..one[0].clone()
            },
        );
        let m = elyza_8b();
        assert!(choose_offload(&one, Some(&m), 2048, 512).gpu_layers < 32);
        let c = choose_offload(&two, Some(&m), 2048, 512);
        assert_eq!(c.gpu_layers, InferenceProfile::ALL_LAYERS);
        assert!(c.reason.contains("2 GPUs"), "{}", c.reason);
    }

    #[test]
    fn fit_replaces_the_tier_rule_and_keeps_the_users_layers() {
        // A Linux box with 64 GiB: the tier rule says CPU (no `cuda` feature), 0 layers.
        let mut r = report(linux(64, false), &Overrides::default()).unwrap();
        assert_eq!(r.profile.gpu_layers, 0);
        fit_offload(&mut r, devices!("h100.json"), Some(&smollm2()));
        assert_eq!(r.profile.accelerator, Accelerator::Cuda);
        assert_eq!(r.profile.gpu_layers, InferenceProfile::ALL_LAYERS);
        let layers: Vec<_> = r
            .reasons
            .iter()
            .filter(|x| x.starts_with("GPU layers:"))
            .collect();
        assert_eq!(layers.len(), 1, "{layers:?}");
        assert!(layers[0].starts_with("GPU layers: all 30"), "{layers:?}");
        assert!(r
            .reasons
            .iter()
            .any(|x| x.starts_with("accelerator: CUDA (NVIDIA H100")));
        let off = r.offload.as_ref().expect("recorded");
        assert_eq!(off.devices.len(), 2);
        assert_eq!(off.reason, *layers[0]);

        // `--gpu-layers 0` stands, and says what the rule would have done.
        let zero = Overrides {
            gpu_layers: Some(0),
            ..Overrides::default()
        };
        let mut r = report(linux(64, false), &zero).unwrap();
        fit_offload(&mut r, devices!("h100.json"), Some(&smollm2()));
        assert_eq!(r.profile.gpu_layers, 0);
        assert_eq!(r.profile.accelerator, Accelerator::Cuda);
        assert!(r
            .reasons
            .contains(&"GPU layers: 0 (set by you; the rule gave all)".to_owned()));
        assert_eq!(
            r.offload.as_ref().map(|o| o.reason.as_str()),
            Some("GPU layers: 0 (set by you; the rule gave all)")
        );
        assert!(r
            .reasons
            .iter()
            .any(|x| x.starts_with("GPU layers: all 30")));

        // An Apple Silicon profile keeps Metal and its tiers' context; the device decides
        // the layers (all of the default model on the 8 GiB M1, where the tier gave 20).
        let h8 = HardwareInfo {
            memory_bytes: 8 * GIB,
            ..hw(M1_2021)
        };
        let mut r = report(h8, &Overrides::default()).unwrap();
        assert_eq!(r.profile.gpu_layers, 20);
        fit_offload(&mut r, devices!("m1-8gib-metal.json"), Some(&smollm2()));
        assert_eq!(
            (r.profile.accelerator, r.profile.gpu_layers, r.profile.n_ctx),
            (Accelerator::Metal, InferenceProfile::ALL_LAYERS, 1024)
        );
    }
}
