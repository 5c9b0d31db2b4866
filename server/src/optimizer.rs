//! Response optimizer: how much each answer may cost (token cap, temperature, deadline), and an
//! answer cache so that asking the same thing about an unchanged machine costs nothing.
//!
//! The cache key is the normalised question, the intents, the strategy and a *coarse* picture
//! of only the metrics that question's facts use. Coarse, because the numbers move a little on
//! every sample and an answer that says "CPU is at 23 %" is still right at 27 %; relevant only,
//! because a memory answer does not go stale when a download starts. The cached entry carries
//! the facts it was written from, so the facts card always matches the cached words.

use std::fmt;
use std::time::Duration;

use app::chat::{Fact, StopReason, Strategy};
use app::model::{Level, Snapshot, Thresholds};
use moka::sync::Cache;

use crate::intent::{Intent, IntentSet};
use crate::prompt::{network_rates, normalize_question, real_disks};

/// Every answer ends by this time after the question (the product's promise).
pub const DEADLINE: Duration = Duration::from_secs(5);
/// An urgent question's deadline: the benchmark's "urgent check" target.
pub const URGENT_DEADLINE: Duration = Duration::from_secs(2);
/// How long a cached answer stays valid, whatever the buckets say: a minute-old answer about
/// a live machine is as old as it should get.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
pub const CACHE_CAPACITY: u64 = 256;

/// What one answer may cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// The strategy in effect: `Speed` for an urgent question, whatever was asked for.
    pub strategy: Strategy,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Measured from when the question arrived; the engine stops generating at it.
    pub deadline: Duration,
    pub urgent: bool,
}

/// The plan for a question: the strategy's cap and temperature and the 5-second deadline; an
/// urgent question trades length for time (the speed strategy's cap, a 2-second deadline).
pub fn plan(strategy: Strategy, intents: &IntentSet) -> Plan {
    let urgent = intents.is_urgent();
    let (strategy, deadline) = if urgent {
        (Strategy::Speed, URGENT_DEADLINE)
    } else {
        (strategy, DEADLINE)
    };
    Plan {
        strategy,
        max_tokens: strategy.max_tokens(),
        temperature: strategy.temperature(),
        deadline,
        urgent,
    }
}

/// One coarse reading in a cache key. Names are kept verbatim (a different top process is a
/// different answer); `Missing` is "this platform cannot tell", distinct from any number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Bucket {
    Num(i64),
    Name(String),
    Missing,
}

/// Identifies an answer: same key, same answer (within the TTL). Build it with [`key`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    question: String,
    intents: IntentSet,
    strategy: Strategy,
    /// `(metric, bucket)` in a fixed order, each metric once.
    state: Vec<(String, Bucket)>,
}

/// Width of the percentage buckets.
const CPU_BUCKET_PCT: f32 = 10.0;
const MEMORY_BUCKET_PCT: f32 = 5.0;
const DISK_BUCKET_PCT: f32 = 5.0;
const PRESSURE_BUCKET_PCT: f32 = 10.0;
const BATTERY_BUCKET_PCT: f32 = 10.0;
const TEMPERATURE_BUCKET_C: f32 = 5.0;
/// A CPU answer names the busiest process only when it is this busy; below it, the idle
/// processes trade places every sample and would make CPU questions never hit.
const NOTABLE_PROCESS_CPU_PCT: f32 = 10.0;

fn pct_bucket(value: f32, width: f32) -> Bucket {
    // `as` saturates and maps NaN to 0: a garbage reading is still a valid key.
    Bucket::Num((value / width).floor() as i64)
}

/// Byte quantities (rates, swap) by powers of two from 1 KiB: 0 below it (idle chatter), then
/// 1 for [1, 2) KiB, 2 for [2, 4) KiB, … — a doubling is a change, ±30 % is not.
fn log2_bucket(bytes: Option<f64>) -> Bucket {
    match bytes {
        None => Bucket::Missing,
        Some(b) if b.is_nan() || b < 1024.0 => Bucket::Num(0),
        Some(b) => Bucket::Num((b / 1024.0).log2().floor() as i64 + 1),
    }
}

fn level_bucket(level: Level) -> Bucket {
    Bucket::Num(level as i64)
}

struct State<'a> {
    s: &'a Snapshot,
    out: Vec<(String, Bucket)>,
}

impl State<'_> {
    fn push(&mut self, metric: impl Into<String>, bucket: Bucket) {
        let metric = metric.into();
        if !self.out.iter().any(|(m, _)| *m == metric) {
            self.out.push((metric, bucket));
        }
    }

    fn cpu(&mut self) {
        let total = self.s.cpu.total_pct;
        self.push("cpu", pct_bucket(total, CPU_BUCKET_PCT));
        self.push("cpu.level", level_bucket(Thresholds::CPU.level(total)));
    }

    fn memory(&mut self) {
        let used = self.s.memory.used_pct();
        self.push("memory", pct_bucket(used, MEMORY_BUCKET_PCT));
        self.push("memory.level", level_bucket(Thresholds::MEMORY.level(used)));
    }

    fn top_cpu(&mut self, min_pct: f32) {
        let top = self.s.processes.by_cpu.first();
        let bucket = match top {
            Some(p) if p.cpu_pct >= min_pct => Bucket::Name(p.name.clone()),
            _ => Bucket::Missing,
        };
        self.push("process.cpu", bucket);
    }

    fn fullest_disk(&mut self) {
        let bucket = real_disks(self.s)
            .first()
            .map(|d| d.used_pct())
            .map_or(Bucket::Missing, |p| pct_bucket(p, DISK_BUCKET_PCT));
        self.push("disk.fullest", bucket);
    }

    fn add(&mut self, intent: Intent) {
        let s = self.s;
        match intent {
            Intent::Cpu => {
                self.cpu();
                self.top_cpu(NOTABLE_PROCESS_CPU_PCT);
            }
            Intent::Memory => {
                self.memory();
                let swap = s.memory.swap_used_bytes as f64;
                self.push("memory.swap", log2_bucket(Some(swap)));
                let pressure = s.apple.as_ref().and_then(|a| a.memory_pressure_pct);
                let bucket =
                    pressure.map_or(Bucket::Missing, |p| pct_bucket(p, PRESSURE_BUCKET_PCT));
                self.push("memory.pressure", bucket);
            }
            Intent::Disk => {
                for d in real_disks(s) {
                    let bucket = pct_bucket(d.used_pct(), DISK_BUCKET_PCT);
                    self.push(format!("disk:{}", d.mount), bucket);
                }
                self.fullest_disk();
            }
            Intent::Network => {
                let (rx, tx) = network_rates(s);
                self.push("network.rx", log2_bucket(rx));
                self.push("network.tx", log2_bucket(tx));
            }
            Intent::Processes => {
                self.top_cpu(f32::NEG_INFINITY);
                let top_memory = s.processes.by_memory.first();
                let bucket = top_memory.map_or(Bucket::Missing, |p| Bucket::Name(p.name.clone()));
                self.push("process.memory", bucket);
            }
            Intent::Battery => match &s.battery {
                Some(b) => {
                    self.push("battery", pct_bucket(b.percent, BATTERY_BUCKET_PCT));
                    self.push("battery.state", Bucket::Name(format!("{:?}", b.state)));
                }
                None => self.push("battery", Bucket::Missing),
            },
            Intent::Temperature => {
                let hottest = s
                    .temperatures
                    .iter()
                    .flatten()
                    .map(|r| r.celsius)
                    .filter(|c| c.is_finite())
                    .max_by(f32::total_cmp);
                let bucket =
                    hottest.map_or(Bucket::Missing, |c| pct_bucket(c, TEMPERATURE_BUCKET_C));
                self.push("temperature", bucket);
            }
            Intent::Overall => {
                self.cpu();
                self.memory();
                self.fullest_disk();
                let disk = real_disks(s).first().map(|d| d.used_pct());
                let level = disk.map(|p| Thresholds::DISK.level(p)).unwrap_or_default();
                self.push("disk.level", level_bucket(level));
            }
            Intent::Urgent => {}
        }
    }
}

/// The cache key for a question about `snapshot`: the normalised question (case, spacing and
/// trailing punctuation do not matter), the intents, the strategy, and coarse buckets of the
/// metrics those intents' facts use — CPU in 10 % steps, memory and disks in 5 % steps, rates
/// and swap in powers of two, battery in 10 % steps and its state, the hottest sensor in 5 °C
/// steps, the top process names (for CPU only when that process is busy), and each threshold
/// level (a level change is a different answer even inside one bucket).
pub fn key(
    question: &str,
    intents: &IntentSet,
    strategy: Strategy,
    snapshot: &Snapshot,
) -> CacheKey {
    let mut state = State {
        s: snapshot,
        out: Vec::new(),
    };
    for intent in intents.topics() {
        state.add(intent);
    }
    CacheKey {
        question: normalize_question(question),
        intents: *intents,
        strategy,
        state: state.out,
    }
}

/// A finished answer and the facts it was written from.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedAnswer {
    pub answer: String,
    pub facts: Vec<Fact>,
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

    /// Forgets everything (e.g. after a model switch: other model, other answers).
    pub fn clear(&self) {
        self.inner.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::detect;
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
        key(q, &detect(q), strategy, s)
    }

    fn answer(text: &str, stop: StopReason) -> CachedAnswer {
        CachedAnswer {
            answer: text.into(),
            facts: vec![Fact {
                key: "cpu.total".into(),
                label: "CPU total".into(),
                value: "20.0%".into(),
            }],
            stop,
        }
    }

    #[test]
    fn plans_follow_the_strategy() {
        let normal = detect("cpu");
        for (strategy, cap, temp) in [
            (Strategy::Speed, 128, 0.2),
            (Strategy::Balanced, 256, 0.4),
            (Strategy::Quality, 512, 0.6),
        ] {
            let p = plan(strategy, &normal);
            assert_eq!(p.strategy, strategy);
            assert_eq!(p.max_tokens, cap);
            assert_eq!(p.temperature, temp);
            assert_eq!(p.deadline, DEADLINE);
            assert_eq!(p.deadline, Duration::from_secs(5));
            assert!(!p.urgent);
        }
    }

    #[test]
    fn urgent_plans_are_fast_whatever_was_asked() {
        for q in ["緊急：CPUが100%", "urgent!"] {
            for strategy in [Strategy::Speed, Strategy::Balanced, Strategy::Quality] {
                let p = plan(strategy, &detect(q));
                assert!(p.urgent);
                assert_eq!(p.strategy, Strategy::Speed);
                assert_eq!(p.max_tokens, 128);
                assert_eq!(p.deadline, Duration::from_secs(2));
            }
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
        cache.clear();
        assert_eq!(cache.get(&key), None);
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
}
