//! The answer cache: asking the same thing about an unchanged machine costs nothing.
//!
//! The key is the normalised question, the conversation before it, the intents, the strategy
//! and a *coarse* picture of only the metrics that question's topics use (each topic says
//! which, in [`super::topics`]). Coarse, because the numbers move a little on every sample and
//! an explanation of "CPU at 23 %" still holds at 27 %; relevant only, because a memory answer
//! does not go stale when a download starts. Only the model's words are cached: the diagnosis
//! and the number check are computed afresh for every question, from the current sample.

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use app::chat::{StopReason, Strategy, Turn};
use app::model::{Level, Snapshot};
use moka::sync::Cache;

use super::intent::IntentSet;
use super::prompt::{normalize_question, recent_turns};
use super::topics;

/// How long a cached answer stays valid, whatever the buckets say: a minute-old answer about
/// a live machine is as old as it should get.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
pub const CACHE_CAPACITY: u64 = 256;

/// One coarse reading in a cache key. Names are kept verbatim (a different top process is a
/// different answer); `Missing` is "this platform cannot tell", distinct from any number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    Num(i64),
    Name(String),
    Missing,
}

/// Identifies an answer: same key, same answer (within the TTL). Build it with [`key`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    question: String,
    /// The earlier turns the prompt will carry (normalised, hashed): the same "why?" after two
    /// different answers is two different questions.
    conversation: u64,
    intents: IntentSet,
    strategy: Strategy,
    /// `(metric, bucket)` in a fixed order, each metric once.
    state: Vec<(String, Bucket)>,
}

pub fn pct_bucket(value: f32, width: f32) -> Bucket {
    // `as` saturates and maps NaN to 0: a garbage reading is still a valid key.
    Bucket::Num((value / width).floor() as i64)
}

/// Byte quantities (rates, swap) by powers of two from 1 KiB: 0 below it (idle chatter), then
/// 1 for [1, 2) KiB, 2 for [2, 4) KiB, … — a doubling is a change, ±30 % is not.
pub fn log2_bucket(bytes: Option<f64>) -> Bucket {
    match bytes {
        None => Bucket::Missing,
        Some(b) if b.is_nan() || b < 1024.0 => Bucket::Num(0),
        Some(b) => Bucket::Num((b / 1024.0).log2().floor() as i64 + 1),
    }
}

pub fn level_bucket(level: Level) -> Bucket {
    Bucket::Num(level as i64)
}

/// The state part of a key, as the topics write it.
pub struct State<'a> {
    s: &'a Snapshot,
    out: Vec<(String, Bucket)>,
}

impl<'a> State<'a> {
    pub fn snapshot(&self) -> &'a Snapshot {
        self.s
    }

    /// Adds a reading; a metric already present keeps its first bucket.
    pub fn push(&mut self, metric: impl Into<String>, bucket: Bucket) {
        let metric = metric.into();
        if !self.out.iter().any(|(m, _)| *m == metric) {
            self.out.push((metric, bucket));
        }
    }
}

/// The cache key for a question about `snapshot` after `history`: the normalised question
/// (case, spacing and trailing punctuation do not matter), the turns the prompt keeps, the
/// intents, the strategy, and each topic's coarse buckets — CPU in 10 % steps, memory and
/// disks in 5 % steps, rates and swap in powers of two, battery in 10 % steps and its state,
/// the hottest sensor in 5 °C steps, the top process names (for CPU only when that process is
/// busy), and each threshold level (a level change is a different answer even inside one
/// bucket).
pub fn key(
    question: &str,
    history: &[Turn],
    intents: &IntentSet,
    strategy: Strategy,
    snapshot: &Snapshot,
) -> CacheKey {
    let mut state = State {
        s: snapshot,
        out: Vec::new(),
    };
    for topic in intents.topics() {
        topics::buckets(topic, &mut state);
    }
    let mut h = DefaultHasher::new();
    for t in recent_turns(history) {
        normalize_question(&t.question).hash(&mut h);
        t.answer.trim().hash(&mut h);
    }
    CacheKey {
        question: normalize_question(question),
        conversation: h.finish(),
        intents: *intents,
        strategy,
        state: state.out,
    }
}

/// A finished explanation by the model.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedAnswer {
    pub answer: String,
    /// How the original generation ended; a cache hit is reported as `StopReason::Cached`.
    pub stop: StopReason,
}

/// Recently given answers, by [`CacheKey`], for [`CACHE_TTL`]. Cheap to clone (shared).
#[derive(Clone)]
pub struct AnswerCache {
    inner: Cache<CacheKey, CachedAnswer>,
    ttl: Duration,
}

impl Default for AnswerCache {
    fn default() -> Self {
        AnswerCache::new(CACHE_TTL, CACHE_CAPACITY)
    }
}

impl fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerCache")
            .field("ttl", &self.ttl)
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl AnswerCache {
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        AnswerCache {
            inner: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            ttl,
        }
    }

    /// The cached answer, if one was stored under `key` less than the TTL ago.
    pub fn get(&self, key: &CacheKey) -> Option<CachedAnswer> {
        self.inner.get(key)
    }

    /// Whether an answer that ended this way may be cached: only complete ones. A `Deadline`
    /// or `Cancelled` answer is cut short by circumstance (a busy machine, a closed tab), so
    /// replaying it would repeat an accident; `TokenCap` is complete for its strategy, which is
    /// part of the key. `Cached` is a replay: storing it again would renew the TTL and keep an
    /// old answer alive forever.
    pub fn is_cacheable(stop: StopReason) -> bool {
        matches!(stop, StopReason::EndOfGeneration | StopReason::TokenCap)
    }

    /// Stores a complete, non-empty answer; returns whether it was stored.
    pub fn insert(&self, key: CacheKey, answer: CachedAnswer) -> bool {
        if !Self::is_cacheable(answer.stop) || answer.answer.trim().is_empty() {
            return false;
        }
        self.inner.insert(key, answer);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::intent::detect;
    use app::model::{
        Battery, BatteryState, CpuStats, DiskStats, MemoryStats, NetStats, ProcessInfo,
        ProcessLists,
    };

    const GIB: u64 = 1024 * 1024 * 1024;

    fn snapshot() -> Snapshot {
        Snapshot {
            cpu: CpuStats {
                total_pct: 20.0,
                ..Default::default()
            },
            memory: MemoryStats {
                total_bytes: 16 * GIB,
                used_bytes: 8 * GIB,
                ..Default::default()
            },
            disks: vec![DiskStats {
                mount: "/".into(),
                total_bytes: 100 * GIB,
                available_bytes: 40 * GIB,
                ..Default::default()
            }],
            networks: vec![NetStats {
                interface: "en0".into(),
                rx_bps: Some(10_000.0),
                tx_bps: Some(2_000.0),
                ..Default::default()
            }],
            processes: ProcessLists {
                by_cpu: vec![ProcessInfo {
                    name: "Safari".into(),
                    cpu_pct: 15.0,
                    ..Default::default()
                }],
                by_memory: vec![ProcessInfo {
                    name: "Xcode".into(),
                    memory_bytes: 3 * GIB,
                    ..Default::default()
                }],
                count: 300,
            },
            battery: Some(Battery {
                percent: 81.0,
                state: BatteryState::Discharging,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn k(q: &str, strategy: Strategy, s: &Snapshot) -> CacheKey {
        key(q, &[], &detect(q), strategy, s)
    }

    fn answer(text: &str, stop: StopReason) -> CachedAnswer {
        CachedAnswer {
            answer: text.into(),
            stop,
        }
    }

    #[test]
    fn same_question_same_state_hits() {
        let cache = AnswerCache::default();
        let s = snapshot();
        let key1 = k("Why is my Mac slow?", Strategy::Balanced, &s);
        assert_eq!(cache.get(&key1), None);
        assert!(cache.insert(
            key1.clone(),
            answer("Safari is busy.", StopReason::EndOfGeneration)
        ));
        let hit = cache.get(&k("  why is my mac   SLOW ", Strategy::Balanced, &s));
        assert_eq!(hit.map(|a| a.answer), Some("Safari is busy.".to_owned()));
        // Small moves inside the buckets still hit.
        let mut moved = s.clone();
        moved.cpu.total_pct = 27.0;
        moved.memory.used_bytes = 8 * GIB + GIB / 8;
        assert!(cache
            .get(&k("Why is my Mac slow?", Strategy::Balanced, &moved))
            .is_some());
        // Japanese: full-width punctuation and spacing.
        let ja = k("メモリ不足ですか？", Strategy::Balanced, &s);
        assert!(cache.insert(ja, answer("いいえ。", StopReason::TokenCap)));
        assert!(cache
            .get(&k("メモリ不足ですか", Strategy::Balanced, &s))
            .is_some());
    }

    #[test]
    fn changed_relevant_state_or_strategy_misses() {
        let cache = AnswerCache::default();
        let s = snapshot();
        let q = "How busy is the CPU?";
        cache.insert(
            k(q, Strategy::Balanced, &s),
            answer("20 %.", StopReason::EndOfGeneration),
        );
        let mut busy = s.clone();
        busy.cpu.total_pct = 80.0;
        assert_eq!(cache.get(&k(q, Strategy::Balanced, &busy)), None);
        assert_eq!(cache.get(&k(q, Strategy::Quality, &s)), None);
        assert_eq!(
            cache.get(&k("How busy is the memory?", Strategy::Balanced, &s)),
            None
        );
        // A different busy process is a different answer.
        let mut other = s.clone();
        other.processes.by_cpu[0].name = "Chrome".into();
        assert_eq!(cache.get(&k(q, Strategy::Balanced, &other)), None);
        // A level edge inside one bucket (61 % normal → 66 % careful) too.
        let mut edge = s.clone();
        edge.cpu.total_pct = 61.0;
        cache.insert(
            k(q, Strategy::Balanced, &edge),
            answer("ok", StopReason::EndOfGeneration),
        );
        edge.cpu.total_pct = 66.0;
        assert_eq!(cache.get(&k(q, Strategy::Balanced, &edge)), None);
    }

    #[test]
    fn irrelevant_changes_do_not_invalidate() {
        let cache = AnswerCache::default();
        let s = snapshot();
        let q = "How much memory is used?";
        cache.insert(
            k(q, Strategy::Balanced, &s),
            answer("Half.", StopReason::EndOfGeneration),
        );
        let mut changed = s.clone();
        changed.networks[0].rx_bps = Some(50_000_000.0);
        changed.cpu.total_pct = 95.0;
        changed.battery = None;
        changed.processes.by_cpu[0].name = "Chrome".into();
        assert!(cache.get(&k(q, Strategy::Balanced, &changed)).is_some());
        // …while the network question does see the download.
        let net = "network speed";
        cache.insert(
            k(net, Strategy::Balanced, &s),
            answer("Quiet.", StopReason::EndOfGeneration),
        );
        assert!(cache.get(&k(net, Strategy::Balanced, &changed)).is_none());
        let mut jitter = s.clone();
        jitter.networks[0].rx_bps = Some(12_000.0); // same power of two as 10 000
        assert!(cache.get(&k(net, Strategy::Balanced, &jitter)).is_some());
    }

    #[test]
    fn only_complete_answers_are_cached() {
        let cache = AnswerCache::default();
        let key = k("cpu", Strategy::Speed, &snapshot());
        for stop in [
            StopReason::Deadline,
            StopReason::Cancelled,
            StopReason::Cached,
        ] {
            assert!(!cache.insert(key.clone(), answer("partial", stop)));
        }
        assert!(!cache.insert(key.clone(), answer("  ", StopReason::EndOfGeneration)));
        assert_eq!(cache.get(&key), None);
        assert!(cache.insert(key.clone(), answer("done", StopReason::TokenCap)));
        assert_eq!(cache.get(&key).map(|a| a.stop), Some(StopReason::TokenCap));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = AnswerCache::new(Duration::from_millis(200), 16);
        let key = k("battery", Strategy::Balanced, &snapshot());
        cache.insert(key.clone(), answer("81 %.", StopReason::EndOfGeneration));
        assert!(cache.get(&key).is_some());
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(cache.get(&key), None);
    }

    #[test]
    fn buckets() {
        assert_eq!(log2_bucket(None), Bucket::Missing);
        assert_eq!(log2_bucket(Some(0.0)), Bucket::Num(0));
        assert_eq!(log2_bucket(Some(1023.0)), Bucket::Num(0));
        assert_eq!(log2_bucket(Some(1024.0)), Bucket::Num(1));
        assert_eq!(log2_bucket(Some(4096.0)), Bucket::Num(3));
        assert_eq!(log2_bucket(Some(f64::NAN)), Bucket::Num(0));
        assert_eq!(pct_bucket(19.9, 10.0), Bucket::Num(1));
        assert_eq!(pct_bucket(20.0, 10.0), Bucket::Num(2));
        assert_eq!(pct_bucket(f32::NAN, 10.0), Bucket::Num(0));
    }

    #[test]
    fn the_conversation_is_part_of_the_key() {
        let s = snapshot();
        let q = "Why?";
        let turn = |answer: &str| Turn {
            question: "Why is my Mac slow?".into(),
            answer: answer.into(),
            findings: Vec::new(),
        };
        let intents = detect(q);
        let after_a = key(
            q,
            &[turn("Safari is busy.")],
            &intents,
            Strategy::Balanced,
            &s,
        );
        let after_b = key(
            q,
            &[turn("Memory is full.")],
            &intents,
            Strategy::Balanced,
            &s,
        );
        let fresh = key(q, &[], &intents, Strategy::Balanced, &s);
        assert_ne!(after_a, after_b);
        assert_ne!(after_a, fresh);
        // The same conversation, spelt a little differently, is the same key.
        let again = Turn {
            question: "  why is my mac SLOW ".into(),
            answer: "Safari is busy. ".into(),
            findings: Vec::new(),
        };
        assert_eq!(after_a, key(q, &[again], &intents, Strategy::Balanced, &s));
    }
}
