//! The llama.cpp side: loading, the inference thread and its decode loop.

use std::num::NonZeroU32;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::LlamaStateSeqFlags;
use tokio::sync::mpsc::error::TrySendError as TokioTrySendError;
use tokio::sync::mpsc::Sender as TokenSender;

use super::stamp::FileStamp;
use super::template::{llama2_prompt, scrub_messages};
use super::text::{common_prefix_len, Utf8Stream};
use super::{
    default_threads, gguf, ChatMessage, EngineConfig, EngineError, GenerateRequest,
    GenerationReport, StopReason, Timings, TokenEvent,
};

/// Repetition penalty over the answer's last tokens: enough to stop a small model looping on a
/// phrase, too mild to keep it from repeating a number it was given.
const PENALTY_LAST_N: i32 = 64;
const PENALTY_REPEAT: f32 = 1.1;

static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

/// The process-wide llama.cpp backend. llama.cpp may be initialised only once per process, so
/// everything that needs a backend (the engine, the benchmark's bare loop) shares this one. Its
/// logs go to `tracing` (target `llama-cpp-2`) instead of stderr.
///
/// A `gpu` build first loads llama.cpp's backends (CPU variants, CUDA …) from
/// [`backends_dir`]: they are shared libraries there, found at start-up, not linked in.
pub fn backend() -> Result<&'static LlamaBackend, EngineError> {
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            #[cfg(feature = "gpu")]
            load_backends()?;
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Internal(format!("llama.cpp backend: {e}")))
}

/// The variable that names the folder a `gpu` build loads its backends from.
#[cfg(feature = "gpu")]
pub const BACKENDS_DIR_VAR: &str = "MAC_STATUS_BACKENDS_DIR";

/// Where a `gpu` build loads llama.cpp's backends from: `$MAC_STATUS_BACKENDS_DIR`, else the
/// executable's folder (where `benches/gpu/bundle.sh` puts them beside the binary). Never the
/// build's own folder of all 14 CPU variants: ggml scores them by CPUID and picked one this
/// build machine cannot run (`sapphirerapids`: an illegal instruction), so only the variants
/// shipped beside the binary are offered.
#[cfg(feature = "gpu")]
pub fn backends_dir() -> Result<std::path::PathBuf, String> {
    if let Some(dir) = std::env::var_os(BACKENDS_DIR_VAR).filter(|d| !d.is_empty()) {
        return Ok(dir.into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("the executable's path: {e}"))?;
    exe.parent()
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| format!("{} has no folder", exe.display()))
}

/// Loads the backends of [`backends_dir`]; an error unless a CPU backend came with them
/// (llama.cpp cannot run without one).
#[cfg(feature = "gpu")]
fn load_backends() -> Result<(), String> {
    let dir = backends_dir()?;
    if dir.to_str().is_none() {
        return Err(format!("backends folder {} is not UTF-8", dir.display()));
    }
    llama_cpp_2::llama_backend::load_backends_from_path(&dir);
    let devices = llama_cpp_2::list_llama_ggml_backend_devices();
    tracing::info!(
        dir = %dir.display(),
        devices = ?devices.iter().map(|d| &d.name).collect::<Vec<_>>(),
        "llama.cpp backends loaded"
    );
    if devices
        .iter()
        .any(|d| d.device_type == llama_cpp_2::LlamaBackendDeviceType::Cpu)
    {
        Ok(())
    } else {
        Err(format!(
            "no CPU backend in {}: a gpu build loads libggml-cpu-*.so (and libggml-cuda.so) \
             from beside its executable or from ${BACKENDS_DIR_VAR}",
            dir.display()
        ))
    }
}

fn internal(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(e.to_string())
}

/// Counts queued + running requests; the guard travels with the job so every way a job ends
/// (done, cancelled, panicked, rejected by a full queue) decrements exactly once.
struct Shared {
    pending: AtomicUsize,
    clear_cache: AtomicBool,
    /// Start of the engine's monotonic clock.
    epoch: Instant,
    /// When the last request ended, in ms since `epoch`: CPU readings taken since then include
    /// the engine's own load, which must not count as "the machine is busy".
    last_active_ms: AtomicU64,
    /// Set when the inference thread ends for any reason (a panic outside the per-answer
    /// guard included), so the host stops reporting a ready engine that no longer answers.
    stopped: AtomicBool,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            pending: AtomicUsize::new(0),
            clear_cache: AtomicBool::new(false),
            epoch: Instant::now(),
            last_active_ms: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        }
    }
}

impl Shared {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Marks the engine stopped when the inference thread ends, however it ends.
struct StoppedOnExit(Arc<Shared>);

impl Drop for StoppedOnExit {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::SeqCst);
    }
}

struct PendingGuard(Arc<Shared>);

impl PendingGuard {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.pending.fetch_add(1, Ordering::SeqCst);
        PendingGuard(Arc::clone(shared))
    }
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0
            .last_active_ms
            .store(self.0.now_ms(), Ordering::SeqCst);
        self.0.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Job {
    tokens: Vec<LlamaToken>,
    max_tokens: u32,
    temperature: f32,
    deadline: Instant,
    threads: u32,
    seed: u32,
    tx: TokenSender<TokenEvent>,
    guard: PendingGuard,
}

/// A rendered prompt and whether the tokenizer should add the model's BOS itself (the built-in
/// templates leave that to the tokenizer; the Llama-2 fallback writes `<s>` literally).
pub(super) struct Rendered {
    pub(super) text: String,
    add_special: bool,
}

/// What the loading thread hands back once the model is ready.
struct Ready {
    model: Arc<LlamaModel>,
    n_ctx: u32,
}

pub(super) struct Inner {
    pub(super) cfg: EngineConfig,
    pub(super) model_name: String,
    pub(super) n_ctx: u32,
    /// Shared with the inference thread: tokenizing and templating only read the vocabulary,
    /// so they run on the caller's thread and never wait behind an answer.
    model: Arc<LlamaModel>,
    template: Option<LlamaChatTemplate>,
    /// The model's control-token spellings, scrubbed from message text with every chat
    /// format's markers (see `template::scrub`).
    specials: Vec<String>,
    jobs: SyncSender<Job>,
    shared: Arc<Shared>,
    /// The model file as mapped (`use_mmap`): checked before each answer (see `stamp`).
    mapped: Option<FileStamp>,
    /// Declared after `jobs` and `model`, so it drops last: see [`JoinOnDrop`].
    _worker: JoinOnDrop,
}

/// Waits for the inference thread when the engine is dropped, after the job channel has closed
/// (which ends the thread's loop). Without the wait the thread freed the model while the
/// process exited: on CUDA, ggml's buffer free then met a runtime already torn down and the
/// host aborted on every SIGTERM ("ggml-cuda.cu: CUDA error" in `llama_model`'s destructor,
/// seen on the H100).
struct JoinOnDrop(Option<std::thread::JoinHandle<()>>);

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl Inner {
    pub(super) fn load(mut cfg: EngineConfig) -> Result<Inner, EngineError> {
        let summary = gguf::validate_gguf(&cfg.model_path)?;
        tracing::debug!(?summary, "GGUF header ok");
        if cfg.n_threads == 0 {
            cfg.n_threads = default_threads();
        }
        cfg.n_batch = cfg.n_batch.max(1);
        let backend = backend()?;
        // Taken before loading: a change while it loads is caught by the first answer.
        let mapped = cfg
            .use_mmap
            .then(|| FileStamp::of(&cfg.model_path).ok())
            .flatten();

        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (jobs_tx, jobs_rx) = sync_channel(cfg.queue_capacity);
        let shared = Arc::new(Shared::default());
        let thread_cfg = cfg.clone();
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("llm-engine".into())
            .spawn(move || worker_main(thread_cfg, backend, jobs_rx, thread_shared, ready_tx))
            .map_err(|e| internal(format!("cannot start the engine thread: {e}")))?;
        let worker = JoinOnDrop(Some(handle));
        let ready = ready_rx
            .recv()
            .map_err(|_| internal("the engine thread died while loading the model"))??;

        let model = ready.model;
        let specials = control_token_texts(&model);
        let template = usable_template(&model);
        let model_name = cfg
            .model_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        tracing::info!(
            model = %model_name,
            n_ctx = ready.n_ctx,
            threads = cfg.n_threads,
            template = if template.is_some() { "gguf" } else { "llama2 fallback" },
            "model loaded"
        );
        Ok(Inner {
            cfg,
            model_name,
            n_ctx: ready.n_ctx,
            model,
            template,
            specials,
            jobs: jobs_tx,
            shared,
            mapped,
            _worker: worker,
        })
    }

    pub(super) fn render_prompt(&self, messages: &[ChatMessage]) -> Result<Rendered, EngineError> {
        self.render_with(self.template.as_ref(), messages)
    }

    /// Test hook: `messages` rendered through llama.cpp's built-in template `name` (`"chatml"`,
    /// `"llama3"`, `"llama2"`, …), or the Llama-2 fallback for `None`, scrubbed exactly as
    /// [`Self::render_prompt`] scrubs them (the loaded model's control tokens included).
    pub(super) fn render_prompt_as(
        &self,
        name: Option<&str>,
        messages: &[ChatMessage],
    ) -> Result<String, EngineError> {
        let tmpl = name
            .map(LlamaChatTemplate::new)
            .transpose()
            .map_err(internal)?;
        self.render_with(tmpl.as_ref(), messages).map(|r| r.text)
    }

    /// Every message scrubbed of chat-format markers and the model's control-token spellings
    /// (`template::scrub`: the question, earlier turns and machine names are untrusted), then
    /// rendered with `tmpl`, or the Llama-2 format without one or when llama.cpp fails on it.
    fn render_with(
        &self,
        tmpl: Option<&LlamaChatTemplate>,
        messages: &[ChatMessage],
    ) -> Result<Rendered, EngineError> {
        let clean = scrub_messages(messages, &self.specials);
        if let Some(tmpl) = tmpl {
            let chat = clean
                .iter()
                .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(internal)?;
            match self.model.apply_chat_template(tmpl, &chat, true) {
                Ok(text) => {
                    return Ok(Rendered {
                        text,
                        add_special: true,
                    })
                }
                Err(e) => tracing::warn!("chat template failed ({e}); using the Llama-2 format"),
            }
        }
        Ok(Rendered {
            text: llama2_prompt(&clean),
            add_special: false,
        })
    }

    fn tokenize_prompt(&self, rendered: &Rendered) -> Vec<LlamaToken> {
        self.model
            .vocab()
            .tokenize(rendered.text.as_bytes(), rendered.add_special, true)
    }

    pub(super) fn count_tokens(&self, text: &str) -> usize {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .len()
    }

    pub(super) fn stream_roundtrip(&self, text: &str) -> Vec<String> {
        let vocab = self.model.vocab();
        let mut utf8 = Utf8Stream::new();
        vocab
            .tokenize(text.as_bytes(), false, false)
            .into_iter()
            .map(|t| utf8.push(&vocab.token_to_piece(t, false, None)))
            .collect()
    }

    pub(super) fn is_idle(&self) -> bool {
        self.shared.pending.load(Ordering::SeqCst) == 0
    }

    pub(super) fn idle_for(&self) -> Option<Duration> {
        if !self.is_idle() {
            return None;
        }
        let last = self.shared.last_active_ms.load(Ordering::SeqCst);
        Some(Duration::from_millis(
            self.shared.now_ms().saturating_sub(last),
        ))
    }

    /// Whether the inference thread is still there to answer.
    pub(super) fn is_alive(&self) -> bool {
        !self.shared.stopped.load(Ordering::SeqCst)
    }

    pub(super) fn request_cache_clear(&self) {
        self.shared.clear_cache.store(true, Ordering::SeqCst);
    }

    pub(super) fn generate(
        &self,
        req: GenerateRequest,
    ) -> Result<tokio::sync::mpsc::Receiver<TokenEvent>, EngineError> {
        if let Some(loaded) = &self.mapped {
            loaded
                .check(&self.cfg.model_path)
                .map_err(|reason| EngineError::ModelCorrupt {
                    path: self.cfg.model_path.clone(),
                    reason,
                })?;
        }
        let rendered = self.render_prompt(&req.messages)?;
        let tokens = self.tokenize_prompt(&rendered);
        if tokens.is_empty() {
            return Err(internal("the prompt is empty"));
        }
        let needed = tokens.len() + req.max_tokens as usize;
        if needed > self.n_ctx as usize {
            return Err(EngineError::ContextOverflow {
                needed,
                n_ctx: self.n_ctx,
            });
        }
        // Room for every token plus Done: the inference thread never blocks on a slow reader.
        let (tx, rx) = tokio::sync::mpsc::channel(req.max_tokens as usize + 2);
        let job = Job {
            tokens,
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            deadline: req.deadline,
            threads: req.threads.filter(|&t| t > 0).unwrap_or(self.cfg.n_threads),
            seed: req.seed,
            tx,
            guard: PendingGuard::new(&self.shared),
        };
        match self.jobs.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(EngineError::QueueFull),
            Err(TrySendError::Disconnected(_)) => Err(EngineError::Stopped),
        }
    }
}

/// The GGUF's template if llama.cpp's built-in engine can apply it (it recognises common
/// templates by their markers; custom Jinja it does not know fails with an error code).
fn usable_template(model: &LlamaModel) -> Option<LlamaChatTemplate> {
    let tmpl = model.chat_template(None).ok()?;
    let probe = [
        LlamaChatMessage::new("system".into(), "s".into()).ok()?,
        LlamaChatMessage::new("user".into(), "u".into()).ok()?,
    ];
    match model.apply_chat_template(&tmpl, &probe, true) {
        Ok(_) => Some(tmpl),
        Err(e) => {
            tracing::warn!("the model's chat template is not supported by llama.cpp ({e}); using the Llama-2 format");
            None
        }
    }
}

fn control_token_texts(model: &LlamaModel) -> Vec<String> {
    let vocab = model.vocab();
    let mut out: Vec<String> = vocab
        .tokens()
        .filter(|&t| vocab.is_control(t))
        .filter_map(|t| vocab.text(t).map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| s.len() > 1)
        .collect();
    // Longest first, so `<|im_start|>` goes before any shorter marker inside it.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

fn context_params(cfg: &EngineConfig, threads: u32) -> LlamaContextParams {
    let threads = i32::try_from(threads.max(1)).unwrap_or(i32::MAX);
    LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(cfg.n_ctx))
        .with_n_batch(cfg.n_batch)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
}

fn worker_main(
    cfg: EngineConfig,
    backend: &'static LlamaBackend,
    jobs: Receiver<Job>,
    shared: Arc<Shared>,
    ready: std::sync::mpsc::Sender<Result<Ready, EngineError>>,
) {
    let _stopped = StoppedOnExit(Arc::clone(&shared));
    let params = LlamaModelParams::default()
        .with_n_gpu_layers(cfg.n_gpu_layers)
        .with_use_mmap(cfg.use_mmap)
        .with_use_mlock(cfg.use_mlock);
    let model = match LlamaModel::load_from_file(backend, &cfg.model_path, &params) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            let _ = ready.send(Err(EngineError::ModelCorrupt {
                path: cfg.model_path.clone(),
                reason: format!("llama.cpp refused to load it ({e}; see the llama-cpp-2 log)"),
            }));
            return;
        }
    };
    let mut worker = match Worker::new(&model, backend, &cfg) {
        Ok(w) => w,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if let Err(e) = worker.warm_up() {
        let _ = ready.send(Err(e));
        return;
    }
    let n_ctx = worker.ctx.n_ctx();
    if ready
        .send(Ok(Ready {
            model: Arc::clone(&model),
            n_ctx,
        }))
        .is_err()
    {
        return;
    }

    while let Ok(job) = jobs.recv() {
        if crate::faults::hit(crate::faults::Fault::EngineThreadDeath) {
            panic!("injected fault: the inference thread dies");
        }
        if shared.clear_cache.swap(false, Ordering::SeqCst) {
            worker.reset_cache();
        }
        let tx = job.tx.clone();
        if catch_unwind(AssertUnwindSafe(|| worker.run(job))).is_err() {
            tracing::error!("the engine panicked while answering; its KV cache was reset");
            worker.reset_cache();
            let _ = tx.try_send(TokenEvent::Error(internal("the engine failed mid-answer")));
        }
    }
    tracing::debug!("engine handle dropped; inference thread exits");
}

/// Owns the context; lives on the inference thread only.
struct Worker<'m> {
    model: &'m LlamaModel,
    backend: &'static LlamaBackend,
    cfg: EngineConfig,
    ctx: LlamaContext<'m>,
    threads: u32,
    batch: LlamaBatch<'static>,
    /// Tokens whose keys/values are in the KV cache (sequence 0), in position order.
    cached: Vec<LlamaToken>,
}

/// How an answer ended, before the report is assembled.
struct Outcome {
    text: String,
    stop: StopReason,
    reused: usize,
    generated: u32,
    first_token: Option<Instant>,
    last_token: Option<Instant>,
}

impl<'m> Worker<'m> {
    fn new(
        model: &'m LlamaModel,
        backend: &'static LlamaBackend,
        cfg: &EngineConfig,
    ) -> Result<Self, EngineError> {
        let ctx = model
            .new_context(backend, context_params(cfg, cfg.n_threads))
            .map_err(|e| {
                internal(format!(
                    "cannot create a {}-token context ({e}); try a smaller n_ctx",
                    cfg.n_ctx
                ))
            })?;
        Ok(Worker {
            model,
            backend,
            cfg: cfg.clone(),
            ctx,
            threads: cfg.n_threads,
            batch: LlamaBatch::new(cfg.n_batch as usize, 1),
            cached: Vec::new(),
        })
    }

    /// One decode pages the weights in and sizes the compute buffers, so the first question
    /// does not pay for it.
    fn warm_up(&mut self) -> Result<(), EngineError> {
        let tokens = self.model.vocab().tokenize(b"Hello", true, false);
        if tokens.is_empty() {
            return Ok(());
        }
        self.batch.clear();
        self.batch
            .add_sequence(
                &tokens[..tokens.len().min(self.cfg.n_batch as usize)],
                0,
                false,
            )
            .map_err(internal)?;
        self.ctx
            .decode(&mut self.batch)
            .map_err(|e| internal(format!("warm-up decode failed: {e}")))?;
        self.reset_cache();
        Ok(())
    }

    fn reset_cache(&mut self) {
        self.ctx.clear_kv_cache();
        self.cached.clear();
    }

    /// Switches the context to `threads`, carrying the KV cache over so prefix reuse survives.
    /// llama-cpp-2 exposes the thread count only at context creation.
    fn ensure_threads(&mut self, threads: u32) {
        let threads = threads.max(1);
        if threads == self.threads {
            return;
        }
        let started = Instant::now();
        let mut ctx = match self
            .model
            .new_context(self.backend, context_params(&self.cfg, threads))
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    "cannot switch to {threads} threads ({e}); keeping {}",
                    self.threads
                );
                return;
            }
        };
        if !self.cached.is_empty() {
            let moved = self
                .ctx
                .state_seq_get(0, LlamaStateSeqFlags::empty())
                .and_then(|state| ctx.state_seq_set(&state, 0));
            if let Err(e) = moved {
                tracing::warn!("KV cache not carried over to the {threads}-thread context: {e}");
                ctx.clear_kv_cache();
                self.cached.clear();
            }
        }
        self.ctx = ctx;
        tracing::debug!(
            from = self.threads,
            to = threads,
            ms = started.elapsed().as_millis() as u64,
            "engine threads switched"
        );
        self.threads = threads;
    }

    fn run(&mut self, job: Job) {
        let Job {
            tokens,
            max_tokens,
            temperature,
            deadline,
            threads,
            seed,
            tx,
            guard,
        } = job;
        if tx.is_closed() {
            return; // Cancelled while queued.
        }
        let started = Instant::now();
        self.ensure_threads(threads);
        let result = self.answer(&tokens, max_tokens, temperature, deadline, seed, &tx);
        let total = started.elapsed();
        // Free before Done goes out: whoever reads Done sees an idle engine.
        drop(guard);
        match result {
            Ok(out) => {
                if out.stop == StopReason::Cancelled {
                    return;
                }
                let ttft = out.first_token.map_or(total, |t| t - started);
                let tokens_per_second = match (out.first_token, out.last_token) {
                    (Some(a), Some(b)) if out.generated > 1 && b > a => {
                        f64::from(out.generated - 1) / (b - a).as_secs_f64()
                    }
                    _ => 0.0,
                };
                let report = GenerationReport {
                    text: out.text,
                    stop: out.stop,
                    timings: Timings {
                        prompt_tokens: u32::try_from(tokens.len()).unwrap_or(u32::MAX),
                        cached_tokens: u32::try_from(out.reused).unwrap_or(u32::MAX),
                        generated_tokens: out.generated,
                        time_to_first_token_ms: ttft.as_millis() as u64,
                        tokens_per_second,
                        total_ms: total.as_millis() as u64,
                        threads: self.threads,
                    },
                };
                send(&tx, TokenEvent::Done(report));
            }
            Err(e) => {
                // The cache may hold half a batch: start clean next time.
                self.reset_cache();
                tracing::error!("generation failed: {e}");
                send(&tx, TokenEvent::Error(e));
            }
        }
    }

    fn answer(
        &mut self,
        tokens: &[LlamaToken],
        max_tokens: u32,
        temperature: f32,
        deadline: Instant,
        seed: u32,
        tx: &TokenSender<TokenEvent>,
    ) -> Result<Outcome, EngineError> {
        let mut out = Outcome {
            text: String::new(),
            stop: StopReason::TokenCap,
            reused: 0,
            generated: 0,
            first_token: None,
            last_token: None,
        };

        if !self.cfg.prefix_reuse {
            self.reset_cache();
        }
        // Reuse the cached prefix, but always evaluate the last prompt token again: its logits
        // are what the first answer token is sampled from.
        let mut reuse = common_prefix_len(&self.cached, tokens).min(tokens.len() - 1);
        if reuse < self.cached.len() {
            let p0 = u32::try_from(reuse).map_err(internal)?;
            match self.ctx.clear_kv_cache_seq(Some(0), Some(p0), None) {
                Ok(true) => self.cached.truncate(reuse),
                // Some cache types cannot drop a partial range; start from scratch then.
                _ => {
                    self.reset_cache();
                    reuse = 0;
                }
            }
        }
        out.reused = reuse;

        let n_batch = self.cfg.n_batch as usize;
        let mut pos = reuse;
        for chunk in tokens[reuse..].chunks(n_batch) {
            if tx.is_closed() {
                out.stop = StopReason::Cancelled;
                return Ok(out);
            }
            if Instant::now() >= deadline {
                out.stop = StopReason::Deadline;
                return Ok(out);
            }
            self.batch.clear();
            for (i, &t) in chunk.iter().enumerate() {
                let p = pos + i;
                let logits = p == tokens.len() - 1;
                self.batch
                    .add(t, pos_i32(p)?, &[0], logits)
                    .map_err(internal)?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| internal(format!("prompt decode failed: {e}")))?;
            self.cached.extend_from_slice(chunk);
            pos += chunk.len();
        }
        if max_tokens == 0 {
            return Ok(out);
        }

        let vocab = self.model.vocab();
        let mut sampler = sampler(self.model, temperature, seed);
        let mut utf8 = Utf8Stream::new();
        let mut piece = Vec::with_capacity(32);
        let mut logits_idx = self.batch.n_tokens() - 1;
        let n_ctx = self.ctx.n_ctx() as usize;
        out.stop = loop {
            let token = sampler.sample(&self.ctx, logits_idx);
            let now = Instant::now();
            if vocab.is_eog(token) {
                break StopReason::EndOfGeneration;
            }
            out.generated += 1;
            out.first_token.get_or_insert(now);
            out.last_token = Some(now);

            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            let text = utf8.push(&piece);
            if !text.is_empty() {
                out.text.push_str(&text);
                if !send(tx, TokenEvent::Token(text)) {
                    break StopReason::Cancelled;
                }
            }
            if out.generated >= max_tokens || pos >= n_ctx {
                break StopReason::TokenCap;
            }
            if Instant::now() >= deadline {
                break StopReason::Deadline;
            }
            if tx.is_closed() {
                break StopReason::Cancelled;
            }

            self.batch.clear();
            self.batch
                .add(token, pos_i32(pos)?, &[0], true)
                .map_err(internal)?;
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| internal(format!("decode failed: {e}")))?;
            self.cached.push(token);
            pos += 1;
            logits_idx = 0;
        };
        utf8.finish();
        Ok(out)
    }
}

fn pos_i32(p: usize) -> Result<i32, EngineError> {
    i32::try_from(p).map_err(internal)
}

/// Sends without ever blocking the inference thread; false when the receiver is gone.
fn send(tx: &TokenSender<TokenEvent>, ev: TokenEvent) -> bool {
    match tx.try_send(ev) {
        Ok(()) => true,
        Err(TokioTrySendError::Closed(_)) => false,
        // Cannot happen with the capacity `generate` picks; wait rather than lose a token.
        Err(TokioTrySendError::Full(ev)) => tx.blocking_send(ev).is_ok(),
    }
}

/// Greedy at temperature 0, otherwise top-k → top-p → temperature → seeded draw; both after a
/// repetition penalty.
///
/// llama.cpp's penalty sampler looks up every candidate in a hash map: over the full 49k
/// vocabulary that is ~130 µs a token, more than the rest of sampling. A top-k cut first makes it
/// ~4x cheaper and changes nothing: at most `PENALTY_LAST_N` distinct tokens are penalized and a
/// penalty only lowers a logit, so the best `n` tokens after penalties are always among the best
/// `n + PENALTY_LAST_N` before them.
fn sampler(model: &LlamaModel, temperature: f32, seed: u32) -> LlamaSampler {
    const TOP_K: i32 = 40;
    let penalties =
        LlamaSampler::penalties(model.n_vocab(), PENALTY_LAST_N, PENALTY_REPEAT, 0.0, 0.0);
    if temperature.is_finite() && temperature > 0.0 {
        LlamaSampler::chain_simple([
            LlamaSampler::top_k(TOP_K + PENALTY_LAST_N),
            penalties,
            LlamaSampler::top_k(TOP_K),
            LlamaSampler::top_p(0.95, 1),
            LlamaSampler::temp(temperature),
            LlamaSampler::dist(seed),
        ])
    } else {
        LlamaSampler::chain_simple([
            LlamaSampler::top_k(1 + PENALTY_LAST_N),
            penalties,
            LlamaSampler::greedy(),
        ])
    }
}
