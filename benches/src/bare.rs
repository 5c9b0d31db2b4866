//! The floor: llama-cpp-2's `simple` example loop and nothing else — one context, the prompt
//! decoded in `n_batch` chunks, then one token at a time, no queue, no prefix reuse, no
//! penalties. Shared by the `llm` bench (greedy) and the `scenarios` side-by-side (the host's
//! temperature).
//!
//! Included with `#[path = "bare.rs"] mod bare;` (the bins have no library).

#![allow(dead_code)] // each bench uses its own subset

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Result};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use mac_status::engine::{backend, Utf8Stream};

/// One answer of the bare loop; times from the call (tokenizing included).
#[derive(Clone, Debug, Default)]
pub struct BareRun {
    pub ttft_ms: f64,
    /// `(generated − 1) / (last token − first token)`, the engine's definition.
    pub decode_tps: f64,
    pub total_ms: f64,
    pub prompt_tokens: u32,
    pub generated: u32,
    pub text: String,
}

pub struct Bare {
    // Field order matters: the context borrows the model and must drop first.
    ctx: LlamaContext<'static>,
    model: &'static LlamaModel,
    batch: LlamaBatch<'static>,
    n_ctx: u32,
    n_batch: u32,
    threads: u32,
}

fn context(
    model: &'static LlamaModel,
    n_ctx: u32,
    n_batch: u32,
    threads: u32,
) -> Result<LlamaContext<'static>> {
    let t = i32::try_from(threads.max(1))?;
    model
        .new_context(
            backend()?,
            LlamaContextParams::default()
                .with_n_ctx(NonZeroU32::new(n_ctx))
                .with_n_batch(n_batch)
                .with_n_threads(t)
                .with_n_threads_batch(t),
        )
        .map_err(|e| anyhow!("bare loop: context: {e}"))
}

impl Bare {
    /// Loads the model with `gpu_layers` offloaded (0: CPU only; a GPU only where the build's
    /// llama.cpp has one) and one context of `n_ctx` tokens.
    pub fn new(
        path: &Path,
        n_ctx: u32,
        n_batch: u32,
        threads: u32,
        gpu_layers: u32,
    ) -> Result<Self> {
        let params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
        // Leaked: lives for the whole benchmark and lets the context borrow it simply.
        let model: &'static LlamaModel = Box::leak(Box::new(
            LlamaModel::load_from_file(backend()?, path, &params)
                .map_err(|e| anyhow!("bare loop: loading the model: {e}"))?,
        ));
        Ok(Bare {
            ctx: context(model, n_ctx, n_batch, threads)?,
            model,
            batch: LlamaBatch::new(n_batch as usize, 1),
            n_ctx,
            n_batch,
            threads,
        })
    }

    pub fn threads(&self) -> u32 {
        self.threads
    }

    /// A new context with `threads` (llama-cpp-2 sets threads at context creation only); call
    /// it outside anything timed.
    pub fn set_threads(&mut self, threads: u32) -> Result<()> {
        if threads.max(1) != self.threads {
            self.ctx = context(self.model, self.n_ctx, self.n_batch, threads)?;
            self.threads = threads.max(1);
        }
        Ok(())
    }

    /// The prompt's tokens as the engine makes them from a rendered chat (BOS as the model
    /// wants it, special-token syntax parsed).
    pub fn tokenize(&self, prompt: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(prompt.as_bytes(), true, true)
    }

    /// Answers `prompt` from an empty KV cache: greedy at temperature 0, else top-k 40 →
    /// top-p 0.95 → temperature → a draw seeded with `seed` (llama.cpp's usual chain).
    pub fn run(
        &mut self,
        prompt: &str,
        max_tokens: u32,
        temperature: f32,
        seed: u32,
    ) -> Result<BareRun> {
        self.ctx.clear_kv_cache();
        let t0 = Instant::now();
        let tokens = self.tokenize(prompt);
        let Some(last) = tokens.len().checked_sub(1) else {
            return Err(anyhow!("bare loop: empty prompt"));
        };
        for (start, chunk) in (0..)
            .step_by(self.n_batch as usize)
            .zip(tokens.chunks(self.n_batch as usize))
        {
            self.batch.clear();
            for (i, &t) in chunk.iter().enumerate() {
                let p = start + i;
                self.batch.add(t, i32::try_from(p)?, &[0], p == last)?;
            }
            self.ctx.decode(&mut self.batch)?;
        }

        let vocab = self.model.vocab();
        let mut sampler = if temperature > 0.0 {
            LlamaSampler::chain_simple([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(0.95, 1),
                LlamaSampler::temp(temperature),
                LlamaSampler::dist(seed),
            ])
        } else {
            LlamaSampler::greedy()
        };
        let mut utf8 = Utf8Stream::new();
        let mut text = String::new();
        let mut pos = i32::try_from(tokens.len())?;
        let (mut first, mut last_at, mut n) = (None, t0, 0u32);
        let mut idx = self.batch.n_tokens() - 1;
        while n < max_tokens && pos < self.n_ctx as i32 {
            let token = sampler.sample(&self.ctx, idx);
            let now = Instant::now();
            if vocab.is_eog(token) {
                break;
            }
            n += 1;
            first.get_or_insert(now);
            last_at = now;
            text.push_str(&utf8.push(&vocab.token_to_piece(token, false, None)));
            if n == max_tokens {
                break;
            }
            self.batch.clear();
            self.batch.add(token, pos, &[0], true)?;
            self.ctx.decode(&mut self.batch)?;
            pos += 1;
            idx = 0;
        }
        let total_ms = t0.elapsed().as_secs_f64() * 1e3;
        let first = first.unwrap_or(last_at);
        let span = (last_at - first).as_secs_f64();
        Ok(BareRun {
            ttft_ms: (first - t0).as_secs_f64() * 1e3,
            decode_tps: if n > 1 && span > 0.0 {
                f64::from(n - 1) / span
            } else {
                0.0
            },
            total_ms,
            prompt_tokens: u32::try_from(tokens.len())?,
            generated: n,
            text,
        })
    }
}
