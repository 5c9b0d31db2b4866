//! Prometheus counters for `/metrics`: every answer's timings, cache hits and errors.

use std::sync::Arc;

use app::chat::{StopReason, Timings};
use app::error::ErrorCode;
use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::{
    counter::Counter, family::Family, gauge::Gauge, histogram::Histogram,
};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct ChatTelemetry {
    registry: Arc<Registry>,
    answers: Family<OutcomeLabel, Counter>,
    cache_hits: Counter,
    prompt_tokens: Counter,
    cached_tokens: Counter,
    generated_tokens: Counter,
    ttft: Histogram,
    total: Histogram,
    tokens_per_second: Histogram,
    /// The engine's thread count, and how often it changed (each change rebuilds the context).
    threads: Gauge,
    context_rebuilds: Counter,
}

impl Default for ChatTelemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl ChatTelemetry {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mac_status_chat");
        let answers = Family::<OutcomeLabel, Counter>::default();
        let cache_hits = Counter::default();
        let prompt_tokens = Counter::default();
        let cached_tokens = Counter::default();
        let generated_tokens = Counter::default();
        let secs = [0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0];
        let ttft = Histogram::new(secs);
        let total = Histogram::new(secs);
        let tokens_per_second = Histogram::new([5.0, 10.0, 20.0, 40.0, 80.0, 160.0]);
        let threads = Gauge::default();
        let context_rebuilds = Counter::default();
        registry.register(
            "answers",
            "Answers by outcome (end_of_generation, token_cap, deadline, cancelled, cached, or an error code)",
            answers.clone(),
        );
        registry.register(
            "cache_hits",
            "Answers served from the answer cache",
            cache_hits.clone(),
        );
        registry.register(
            "prompt_tokens",
            "Prompt tokens of generated answers",
            prompt_tokens.clone(),
        );
        registry.register(
            "cached_prompt_tokens",
            "Prompt tokens whose KV cache was reused",
            cached_tokens.clone(),
        );
        registry.register(
            "generated_tokens",
            "Tokens generated",
            generated_tokens.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "Time to first token",
            ttft.clone(),
        );
        registry.register("answer_seconds", "Total answer time", total.clone());
        registry.register(
            "decode_tokens_per_second",
            "Decode speed",
            tokens_per_second.clone(),
        );
        registry.register(
            "engine_threads",
            "CPU threads of the model's context, as the last answer used them",
            threads.clone(),
        );
        registry.register(
            "context_rebuilds",
            "Times the context (and its KV cache) was rebuilt for another thread count",
            context_rebuilds.clone(),
        );
        Self {
            registry: Arc::new(registry),
            answers,
            cache_hits,
            prompt_tokens,
            cached_tokens,
            generated_tokens,
            ttft,
            total,
            tokens_per_second,
            threads,
            context_rebuilds,
        }
    }

    /// The thread count the engine's context was built with.
    pub fn set_threads(&self, threads: u32) {
        self.threads.set(i64::from(threads));
    }

    pub fn record_answer(&self, stop: StopReason, t: &Timings) {
        let outcome = app::wire::name(&stop);
        self.answers.get_or_create(&OutcomeLabel { outcome }).inc();
        if t.cache_hit {
            self.cache_hits.inc();
            return;
        }
        // The engine reports the threads it ran with: a change from the last answer means it
        // rebuilt its context.
        if t.threads > 0 && i64::from(t.threads) != self.threads.get() {
            self.context_rebuilds.inc();
            self.threads.set(i64::from(t.threads));
        }
        self.prompt_tokens.inc_by(u64::from(t.prompt_tokens));
        self.cached_tokens.inc_by(u64::from(t.cached_tokens));
        self.generated_tokens.inc_by(u64::from(t.generated_tokens));
        if t.generated_tokens > 0 {
            self.ttft.observe(t.time_to_first_token_ms as f64 / 1000.0);
            self.tokens_per_second.observe(t.tokens_per_second);
        }
        self.total.observe(t.total_ms as f64 / 1000.0);
    }

    pub fn record_error(&self, code: ErrorCode) {
        self.answers
            .get_or_create(&OutcomeLabel {
                outcome: app::wire::name(&code),
            })
            .inc();
    }

    /// These counters' part of a longer exposition (no `# EOF`: `exporter::Exposition` ends it).
    pub fn encode_registry(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::text::encode_registry(out, &self.registry)
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_hits_show_up_in_the_exposition() {
        let t = ChatTelemetry::new();
        t.record_answer(
            StopReason::EndOfGeneration,
            &Timings {
                prompt_tokens: 100,
                cached_tokens: 60,
                generated_tokens: 20,
                time_to_first_token_ms: 400,
                tokens_per_second: 50.0,
                total_ms: 800,
                ..Default::default()
            },
        );
        t.record_answer(
            StopReason::Cached,
            &Timings {
                cache_hit: true,
                ..Default::default()
            },
        );
        t.record_error(ErrorCode::QueueFull);
        let text = t.encode();
        assert!(
            text.contains("mac_status_chat_answers_total{outcome=\"end_of_generation\"} 1"),
            "{text}"
        );
        assert!(text.contains("mac_status_chat_answers_total{outcome=\"queue_full\"} 1"));
        assert!(text.contains("mac_status_chat_cache_hits_total 1"));
        assert!(text.contains("mac_status_chat_cached_prompt_tokens_total 60"));
        assert!(text.contains("mac_status_chat_time_to_first_token_seconds_count 1"));
    }

    #[test]
    fn a_change_of_threads_counts_as_a_rebuild() {
        let t = ChatTelemetry::new();
        t.set_threads(2);
        let answer = |threads| Timings {
            threads,
            generated_tokens: 5,
            ..Default::default()
        };
        for threads in [2, 2, 1, 1, 2] {
            t.record_answer(StopReason::EndOfGeneration, &answer(threads));
        }
        let text = t.encode();
        assert!(
            text.contains("mac_status_chat_context_rebuilds_total 2"),
            "{text}"
        );
        assert!(text.contains("mac_status_chat_engine_threads 2"), "{text}");
    }
}
