//! The devices of the llama.cpp in this process, read from ggml's backend registry: what a
//! running llama.cpp can actually use (a `gpu` build learns its backends only at start-up).

use super::ComputeDevice;

/// Why the registry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("this build has no llama.cpp (built without the `llm` feature)")]
    NotBuilt,
    #[error("llama.cpp did not start: {0}")]
    Backend(String),
}

/// Every device llama.cpp lists, after starting its backend (which, in a `gpu` build, loads the
/// backends beside the executable first).
#[cfg(feature = "llm")]
pub fn llama_devices() -> Result<Vec<ComputeDevice>, RegistryError> {
    use super::DeviceKind;
    use llama_cpp_2::LlamaBackendDeviceType as T;
    crate::engine::backend().map_err(|e| RegistryError::Backend(e.to_string()))?;
    Ok(llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| ComputeDevice {
            name: d.name,
            description: d.description,
            backend: d.backend,
            kind: match d.device_type {
                T::Cpu => DeviceKind::Cpu,
                T::Gpu => DeviceKind::Gpu,
                T::IntegratedGpu => DeviceKind::Igpu,
                T::Accelerator => DeviceKind::Accel,
                T::Unknown => DeviceKind::Unknown,
            },
            memory_total_bytes: d.memory_total as u64,
            memory_free_bytes: d.memory_free as u64,
        })
        .collect())
}

/// Without the engine there is no registry to read.
#[cfg(not(feature = "llm"))]
pub fn llama_devices() -> Result<Vec<ComputeDevice>, RegistryError> {
    Err(RegistryError::NotBuilt)
}
