//! The user's own llama.cpp settings (flags, environment, config file) on top of the rules'
//! profile: checking them, applying them, and listing which fields they set (the `overridden`
//! list the UI marks), each with a "(set by you)" reason.

use serde::{Deserialize, Serialize};

use super::{HardwareInfo, InferenceProfile, ProfileField};

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
    /// [`MIN_BATCH`], and n_batch ≤ n_ctx when both are set. ([`report`](super::report) also checks
    /// a set n_batch against the rule's n_ctx.)
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

    /// `rule` (the rules' profile for `hw`) with these overrides applied, and the fields they
    /// set, in a fixed order; each set field gets a "(set by you)" reason appended to `reasons`.
    ///
    /// A rule's batch larger than a context length the user set is lowered to it (with a reason);
    /// a batch the user set larger than the context is an error.
    pub(super) fn apply(
        &self,
        hw: &HardwareInfo,
        rule: &InferenceProfile,
        reasons: &mut Vec<String>,
    ) -> Result<(InferenceProfile, Vec<ProfileField>), OverrideError> {
        let mut p = rule.clone();
        let mut overridden = Vec::new();

        if let Some(v) = self.gpu_layers {
            p.gpu_layers = v;
            overridden.push(ProfileField::GpuLayers);
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
        if let Some(v) = self.threads {
            p.threads = v;
            overridden.push(ProfileField::Threads);
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
        if let Some(v) = self.n_ctx {
            p.n_ctx = v;
            overridden.push(ProfileField::NCtx);
            reasons.push(format!(
                "context: {v} tokens (set by you; the rule gave {})",
                rule.n_ctx
            ));
        }
        match self.n_batch {
            Some(v) if v > p.n_ctx => {
                return Err(OverrideError::BatchOverCtx {
                    n_batch: v,
                    n_ctx: p.n_ctx,
                })
            }
            Some(v) => {
                p.n_batch = v;
                overridden.push(ProfileField::NBatch);
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
        if let Some(v) = self.use_mmap {
            p.use_mmap = v;
            overridden.push(ProfileField::UseMmap);
            reasons.push(format!("memory map: {} (set by you)", on_off(v)));
        }
        if let Some(v) = self.use_mlock {
            p.use_mlock = v;
            overridden.push(ProfileField::UseMlock);
            reasons.push(format!("mlock: {} (set by you)", on_off(v)));
        }

        Ok((p, overridden))
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{choose, report, Accelerator};
    use super::*;

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
        assert_eq!(
            r.overridden,
            [
                ProfileField::Threads,
                ProfileField::NCtx,
                ProfileField::UseMlock
            ]
        );
        // On the wire, the profile's field names.
        assert_eq!(
            serde_json::to_value(&r.overridden).expect("serialises"),
            serde_json::json!(["threads", "n_ctx", "use_mlock"])
        );
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
        assert_eq!(
            r.overridden,
            [
                ProfileField::GpuLayers,
                ProfileField::NBatch,
                ProfileField::UseMmap
            ]
        );
        assert_eq!(
            serde_json::to_value(&r.overridden).expect("serialises"),
            serde_json::json!(["gpu_layers", "n_batch", "use_mmap"])
        );
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
        assert_eq!(r.overridden, [ProfileField::Threads, ProfileField::NCtx]);
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
}
