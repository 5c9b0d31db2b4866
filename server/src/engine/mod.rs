//! Local LLM inference on llama.cpp.
//!
//! One dedicated OS thread owns the llama.cpp context (a context is not `Sync`, and decoding is
//! CPU-bound work that must not sit on the async runtime). Requests reach it through a bounded
//! queue so a burst of questions fails fast with [`EngineError::QueueFull`] instead of piling up
//! latency; tokens stream back on a per-request tokio channel as they are produced.
//!
//! The thread keeps the tokens currently in its KV cache and reuses the longest common prefix
//! with the next prompt. Our prompts start with a fixed system message, so a follow-up question
//! only evaluates its own suffix.
//!
//! Everything llama-specific is behind the `llm` feature. Without it the same API exists and
//! [`Engine::load`] returns [`EngineError::NotBuilt`], so the host still builds (e.g. the
//! cross type-check for macOS without an SDK) and the UI can say why chat is off.

mod gguf;
#[cfg(feature = "llm")]
mod llama;
#[cfg(feature = "llm")]
mod stamp;
mod template;
mod text;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use gguf::{validate_gguf, validate_gguf_bytes, GgufSummary, ModelShape};
#[cfg(feature = "llm")]
pub use llama::backend;
#[cfg(feature = "gpu")]
pub use llama::{backends_dir, BACKENDS_DIR_VAR};
pub use template::{llama2_prompt, scrub, scrub_messages, strip_markers, MARKERS};
pub use text::{common_prefix_len, Utf8Stream};

/// How to load and run the model.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    pub model_path: PathBuf,
    /// Context window in tokens (prompt + answer). 0 = the model's trained length.
    pub n_ctx: u32,
    /// Most prompt tokens decoded in one `llama_decode` call.
    pub n_batch: u32,
    /// CPU threads for decoding when a request does not choose its own.
    pub n_threads: u32,
    /// Layers offloaded to the GPU (Metal on macOS); 0 = CPU only.
    pub n_gpu_layers: u32,
    pub use_mmap: bool,
    pub use_mlock: bool,
    /// Requests that may wait behind the running one before `generate` says `QueueFull`.
    pub queue_capacity: usize,
    /// Reuse the KV cache of the longest common prefix with the previous prompt. Off only to
    /// measure what reuse saves (the host's hidden `--no-prefix-reuse`): every prompt is then
    /// evaluated whole.
    pub prefix_reuse: bool,
}

impl EngineConfig {
    /// Defaults that suit a small chat model on a laptop: 2048-token window, all cores,
    /// everything on the GPU where Metal is built in.
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        EngineConfig {
            model_path: model_path.into(),
            n_ctx: 2048,
            n_batch: 512,
            n_threads: default_threads(),
            n_gpu_layers: if cfg!(target_os = "macos") { 999 } else { 0 },
            use_mmap: true,
            use_mlock: false,
            queue_capacity: 4,
            prefix_reuse: true,
        }
    }
}

fn default_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(4)
}

/// What can go wrong. The chat layer maps each variant to a wire `ErrorCode` and adds the
/// user-facing hint (which flag or script fixes it): the engine knows neither.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("model file not found: {}", path.display())]
    ModelMissing { path: PathBuf },
    #[error("model file {} is not usable: {reason}", path.display())]
    ModelCorrupt { path: PathBuf, reason: String },
    #[error("the assistant is busy: too many questions are waiting")]
    QueueFull,
    #[error("this build has no local model engine (built without the `llm` feature)")]
    NotBuilt,
    #[error("no model was loaded: the model is turned off (dashboard only)")]
    Disabled,
    #[error("the prompt and answer need {needed} tokens but the context holds {n_ctx}")]
    ContextOverflow { needed: usize, n_ctx: u32 },
    #[error("the model engine has stopped")]
    Stopped,
    #[error("engine error: {0}")]
    Internal(String),
}

/// Who said it; maps onto the chat template's roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// The role name chat templates expect.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
}

/// One answer to produce.
#[derive(Clone, Debug)]
pub struct GenerateRequest {
    pub messages: Vec<ChatMessage>,
    pub max_tokens: u32,
    /// 0 = greedy (deterministic); higher = more varied.
    pub temperature: f32,
    /// When the answer must be finished; generation stops with [`StopReason::Deadline`].
    /// Time spent waiting in the queue counts.
    pub deadline: Instant,
    /// CPU threads for this request; `None` = [`EngineConfig::n_threads`].
    pub threads: Option<u32>,
    pub seed: u32,
}

impl GenerateRequest {
    /// A request with the balanced defaults: 256 tokens, temperature 0.4, 5-second budget.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        GenerateRequest {
            messages,
            max_tokens: 256,
            temperature: 0.4,
            deadline: Instant::now() + Duration::from_secs(5),
            threads: None,
            seed: 0,
        }
    }
}

/// What a request's channel carries: `Token`* then exactly one `Done` or `Error`.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenEvent {
    /// Next piece of the answer; always whole UTF-8 characters.
    Token(String),
    Done(GenerationReport),
    /// The engine failed mid-answer (a llama.cpp decode error); nothing follows.
    Error(EngineError),
}

#[derive(Clone, Debug, PartialEq)]
pub struct GenerationReport {
    /// The whole answer (the concatenation of the `Token` events).
    pub text: String,
    pub stop: StopReason,
    pub timings: Timings,
}

/// Why the engine stopped generating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The model wrote its end-of-generation token.
    EndOfGeneration,
    /// `max_tokens` were generated.
    TokenCap,
    /// The request's deadline passed.
    Deadline,
    /// The receiver was dropped (the client went away).
    Cancelled,
}

/// What one generation cost, as the engine measured it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timings {
    pub prompt_tokens: u32,
    /// Prompt tokens whose KV cache was reused from the previous request.
    pub cached_tokens: u32,
    pub generated_tokens: u32,
    /// From `generate` (queue wait included) to the first token.
    pub time_to_first_token_ms: u64,
    pub tokens_per_second: f64,
    pub total_ms: u64,
    pub threads: u32,
}

/// Handle to the inference thread; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    #[cfg(feature = "llm")]
    inner: std::sync::Arc<llama::Inner>,
    #[cfg(not(feature = "llm"))]
    inner: std::sync::Arc<Void>,
}

/// No engine can exist without the `llm` feature; this makes its methods trivially total.
#[cfg(not(feature = "llm"))]
enum Void {}

impl Engine {
    /// Validates the file (clear errors for missing, truncated or non-GGUF files), then loads
    /// the model once on a dedicated thread, warms it up and starts serving requests.
    pub fn load(cfg: EngineConfig) -> Result<Engine, EngineError> {
        #[cfg(feature = "llm")]
        {
            llama::Inner::load(cfg).map(|inner| Engine {
                inner: std::sync::Arc::new(inner),
            })
        }
        #[cfg(not(feature = "llm"))]
        {
            let _ = cfg;
            Err(EngineError::NotBuilt)
        }
    }

    /// Queues a request; the receiver yields its tokens as they are produced. Dropping the
    /// receiver cancels the request (the thread notices before the next token).
    ///
    /// Fails at once with `QueueFull` when `queue_capacity` requests already wait, and with
    /// `ContextOverflow` when the prompt leaves less than `max_tokens` room in the context.
    pub fn generate(
        &self,
        req: GenerateRequest,
    ) -> Result<tokio::sync::mpsc::Receiver<TokenEvent>, EngineError> {
        #[cfg(feature = "llm")]
        {
            self.inner.generate(req)
        }
        #[cfg(not(feature = "llm"))]
        {
            let _ = req;
            match *self.inner {}
        }
    }

    /// The prompt text exactly as the model will see it: the GGUF's own chat template (through
    /// llama.cpp's built-in template engine), or the Llama-2 format when the file has none or
    /// llama.cpp does not know it.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, EngineError> {
        #[cfg(feature = "llm")]
        {
            self.inner.render_prompt(messages).map(|p| p.text)
        }
        #[cfg(not(feature = "llm"))]
        {
            let _ = messages;
            match *self.inner {}
        }
    }

    /// Test hook: `messages` as [`Self::render_prompt`] renders them (same scrubbing), but
    /// through llama.cpp's built-in template `name` (`"chatml"`, `"llama3"`, `"llama2"`, …), or
    /// the Llama-2 fallback for `None`, whatever template the loaded GGUF carries: the
    /// prompt-injection tests render every format with the one small model.
    #[doc(hidden)]
    pub fn render_prompt_as(
        &self,
        name: Option<&str>,
        messages: &[ChatMessage],
    ) -> Result<String, EngineError> {
        #[cfg(feature = "llm")]
        {
            self.inner.render_prompt_as(name, messages)
        }
        #[cfg(not(feature = "llm"))]
        {
            let _ = (name, messages);
            match *self.inner {}
        }
    }

    /// The model's file name without `.gguf` (GGUF `general.name` values are often cryptic).
    pub fn model_name(&self) -> String {
        #[cfg(feature = "llm")]
        {
            self.inner.model_name.clone()
        }
        #[cfg(not(feature = "llm"))]
        {
            match *self.inner {}
        }
    }

    /// The context window actually allocated, in tokens.
    pub fn n_ctx(&self) -> u32 {
        #[cfg(feature = "llm")]
        {
            self.inner.n_ctx
        }
        #[cfg(not(feature = "llm"))]
        {
            match *self.inner {}
        }
    }

    /// Tokens `text` takes as plain text (special-token syntax is not parsed). Runs on the
    /// caller's thread against the shared vocabulary, so it never waits for a running answer.
    pub fn count_tokens(&self, text: &str) -> Result<usize, EngineError> {
        #[cfg(feature = "llm")]
        {
            Ok(self.inner.count_tokens(text))
        }
        #[cfg(not(feature = "llm"))]
        {
            let _ = text;
            match *self.inner {}
        }
    }

    /// How long no request has been running or queued (`None` while one is): CPU readings
    /// older than that include the engine's own load.
    pub fn idle_for(&self) -> Option<std::time::Duration> {
        #[cfg(feature = "llm")]
        {
            self.inner.idle_for()
        }
        #[cfg(not(feature = "llm"))]
        {
            match *self.inner {}
        }
    }

    /// True when no request is running or queued.
    pub fn is_idle(&self) -> bool {
        #[cfg(feature = "llm")]
        {
            self.inner.is_idle()
        }
        #[cfg(not(feature = "llm"))]
        {
            match *self.inner {}
        }
    }

    /// Whether the inference thread is still running (false once it has died: every later
    /// request would fail, so the host must not call the engine ready).
    pub fn is_alive(&self) -> bool {
        #[cfg(feature = "llm")]
        {
            self.inner.is_alive()
        }
        #[cfg(not(feature = "llm"))]
        {
            match *self.inner {}
        }
    }

    /// Forgets the KV cache before the next request, so it evaluates its whole prompt (for
    /// benchmarks of cold prompts, and after anything that makes cached state suspect).
    pub fn clear_kv_cache(&self) {
        #[cfg(feature = "llm")]
        {
            self.inner.request_cache_clear();
        }
        #[cfg(not(feature = "llm"))]
        {
            match *self.inner {}
        }
    }

    /// The configuration it was loaded with.
    pub fn config(&self) -> &EngineConfig {
        #[cfg(feature = "llm")]
        {
            &self.inner.cfg
        }
        #[cfg(not(feature = "llm"))]
        {
            match *self.inner {}
        }
    }

    /// Test hook: the answer-piece decoding path on the real vocabulary. Tokenizes `text` and
    /// turns the tokens back into text one token at a time exactly as generation does, so tests
    /// can prove multi-byte characters split across tokens come out whole.
    #[doc(hidden)]
    pub fn stream_roundtrip(&self, text: &str) -> Result<Vec<String>, EngineError> {
        #[cfg(feature = "llm")]
        {
            Ok(self.inner.stream_roundtrip(text))
        }
        #[cfg(not(feature = "llm"))]
        {
            let _ = text;
            match *self.inner {}
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(feature = "llm")]
        {
            f.debug_struct("Engine")
                .field("model", &self.inner.model_name)
                .field("n_ctx", &self.inner.n_ctx)
                .finish_non_exhaustive()
        }
        #[cfg(not(feature = "llm"))]
        {
            let _ = f;
            match *self.inner {}
        }
    }
}

#[cfg(all(test, not(feature = "llm")))]
mod tests {
    use super::*;

    #[test]
    fn load_without_feature_is_not_built() {
        let err = Engine::load(EngineConfig::new("x.gguf")).unwrap_err();
        assert_eq!(err, EngineError::NotBuilt);
    }
}
