//! Engine results → wire types. The engine reports what it measured in its own types; the
//! chat layer decides what the browser sees (stable error codes, a hint naming the flag or
//! script that fixes a problem, the answer cache's own outcome), the way llama.cpp's server
//! keeps task results apart from their JSON.

use app::chat::{StopReason, Timings};
use app::error::ErrorCode;

use crate::engine::{self, EngineError};

impl From<engine::StopReason> for StopReason {
    fn from(stop: engine::StopReason) -> Self {
        match stop {
            engine::StopReason::EndOfGeneration => StopReason::EndOfGeneration,
            engine::StopReason::TokenCap => StopReason::TokenCap,
            engine::StopReason::Deadline => StopReason::Deadline,
            engine::StopReason::Cancelled => StopReason::Cancelled,
        }
    }
}

impl From<engine::Timings> for Timings {
    fn from(t: engine::Timings) -> Self {
        Timings {
            prompt_tokens: t.prompt_tokens,
            cached_tokens: t.cached_tokens,
            generated_tokens: t.generated_tokens,
            time_to_first_token_ms: t.time_to_first_token_ms,
            tokens_per_second: t.tokens_per_second,
            total_ms: t.total_ms,
            cache_hit: false,
            threads: t.threads,
        }
    }
}

impl From<&EngineError> for ErrorCode {
    fn from(e: &EngineError) -> Self {
        match e {
            EngineError::ModelMissing { .. } => ErrorCode::ModelMissing,
            EngineError::ModelCorrupt { .. } => ErrorCode::ModelCorrupt,
            EngineError::QueueFull => ErrorCode::QueueFull,
            EngineError::NotBuilt => ErrorCode::EngineNotBuilt,
            EngineError::Disabled => ErrorCode::ModelDisabled,
            EngineError::ContextOverflow { .. } => ErrorCode::ContextOverflow,
            EngineError::Stopped => ErrorCode::EngineStopped,
            EngineError::Internal(_) => ErrorCode::EngineInternal,
        }
    }
}

/// The engine's error as the user reads it: what happened, then what fixes it.
pub fn message(e: &EngineError) -> String {
    let hint = match e {
        EngineError::ModelMissing { .. } => {
            " (run scripts/fetch-model.sh, or `mac-status model pull`)"
        }
        EngineError::ModelCorrupt { .. } => " (download it again with `mac-status model pull`)",
        EngineError::NotBuilt => " (rebuild with the `llm` feature)",
        EngineError::Disabled => " (the host was started with --no-model)",
        EngineError::Stopped => " (restart Mac Status; the dashboard keeps working)",
        _ => "",
    };
    format!("{e}{hint}")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn error_codes_are_stable_on_the_wire() {
        let p = PathBuf::from("m.gguf");
        let cases = [
            (
                EngineError::ModelMissing { path: p.clone() },
                "model_missing",
            ),
            (
                EngineError::ModelCorrupt {
                    path: p,
                    reason: String::new(),
                },
                "model_corrupt",
            ),
            (EngineError::QueueFull, "queue_full"),
            (EngineError::NotBuilt, "engine_not_built"),
            (EngineError::Disabled, "model_disabled"),
            (
                EngineError::ContextOverflow {
                    needed: 3000,
                    n_ctx: 2048,
                },
                "context_overflow",
            ),
            (EngineError::Stopped, "engine_stopped"),
            (EngineError::Internal(String::new()), "engine_internal"),
        ];
        for (e, code) in cases {
            assert_eq!(app::wire::name(&ErrorCode::from(&e)), code, "{e:?}");
        }
    }

    #[test]
    fn messages_say_how_to_fix() {
        let missing = EngineError::ModelMissing {
            path: PathBuf::from("models/x.gguf"),
        };
        let m = message(&missing);
        assert!(
            m.contains("models/x.gguf") && m.contains("scripts/fetch-model.sh"),
            "{m}"
        );
        assert!(message(&EngineError::Disabled).contains("--no-model"));
        // The engine's own text names no script or flag: that is the host's business.
        assert!(!missing.to_string().contains("scripts/"));
        assert!(!EngineError::Disabled.to_string().contains("--"));
    }

    #[test]
    fn engine_stops_map_one_to_one() {
        use engine::StopReason as E;
        let all = [E::EndOfGeneration, E::TokenCap, E::Deadline, E::Cancelled];
        let names: Vec<String> = all
            .into_iter()
            .map(|s| app::wire::name(&StopReason::from(s)))
            .collect();
        assert_eq!(
            names,
            ["end_of_generation", "token_cap", "deadline", "cancelled"]
        );
    }
}
