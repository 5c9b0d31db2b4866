//! Machine metrics: a background sampler on `sysinfo` publishing [`Snapshot`]s, plus a bounded
//! history for charts.
//!
//! One dedicated thread owns every OS handle and does all the reading, so request handlers never
//! touch the OS: they read the latest `Arc<Snapshot>` (a pointer copy) or subscribe to changes.
//! Slow or costly readings (process table, sensors, macOS helper commands) run on their own,
//! slower cadences; everything else is refreshed each tick.

pub mod battery;
mod collector;
pub mod history;
pub mod macos;
pub mod rates;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use app::model::{HistoryPoint, Snapshot};
use tokio::sync::watch;

use crate::faults::{self, Fault};
use collector::{Cadence, Collector};
use history::History;

/// A snapshot older than this many intervals means the sampler is stuck (`/healthz` says so).
pub const STALE_AFTER_INTERVALS: u32 = 3;
/// Longest pause between restarts of a sampler that keeps failing.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(60);

/// Shortest accepted tick; a zero interval would spin a core.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How often each kind of reading is taken.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// Time between samples (CPU, memory, disks, network).
    pub interval: Duration,
    /// Process table refresh, in ticks: the most expensive reading, and top lists change slowly.
    pub process_every: u32,
    /// Temperatures, battery, CPU frequency and macOS extras, in ticks.
    pub sensor_every: u32,
    /// Minimum spacing of history points.
    pub history_resolution: Duration,
    /// Most history points kept (oldest dropped).
    pub history_capacity: usize,
    /// Length of the top-by-CPU and top-by-memory process lists.
    pub top_n: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            process_every: 5,
            sensor_every: 10,
            history_resolution: Duration::from_secs(2),
            // 80 minutes at 2 s.
            history_capacity: 2400,
            top_n: 8,
        }
    }
}

impl MetricsConfig {
    /// Values the sampler can actually run with (no zero interval or cadence).
    fn sanitized(mut self) -> Self {
        self.interval = self.interval.max(MIN_INTERVAL);
        self.process_every = self.process_every.max(1);
        self.sensor_every = self.sensor_every.max(1);
        self.history_capacity = self.history_capacity.max(1);
        self
    }
}

/// What the sampler thread reports about itself, read by `/healthz` and `/metrics`.
#[derive(Debug)]
struct Health {
    /// Start of the hub's monotonic clock (wall-clock steps must not fake or hide staleness).
    epoch: Instant,
    /// When the newest snapshot was published, in ms since `epoch`.
    published_ms: AtomicU64,
    /// Samples that panicked (each followed by a fresh collector).
    restarts: AtomicU64,
}

impl Health {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            published_ms: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        }
    }

    fn published(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.published_ms.store(ms, Ordering::Relaxed);
    }

    fn age(&self) -> Duration {
        let published = Duration::from_millis(self.published_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(published)
    }
}

struct Inner {
    cfg: MetricsConfig,
    health: Arc<Health>,
    latest: watch::Receiver<Arc<Snapshot>>,
    history: Arc<Mutex<History>>,
    /// Never sent on: dropping it (with the last hub) wakes and stops the sampler thread.
    _stop: mpsc::Sender<()>,
}

/// Handle to the running sampler; cheap to clone. The sampler thread stops once the last clone
/// is dropped, after which subscribers see their channel close.
#[derive(Clone)]
pub struct MetricsHub {
    inner: Arc<Inner>,
}

impl MetricsHub {
    /// Takes a first sample right away (so [`latest`](Self::latest) always has data), then
    /// samples every `cfg.interval` on a thread named `metrics`.
    ///
    /// Zero intervals/cadences are raised to workable minimums; [`config`](Self::config) returns
    /// the values in use.
    pub fn start(cfg: MetricsConfig) -> MetricsHub {
        let cfg = cfg.sanitized();
        let cadence = Cadence {
            process_every: u64::from(cfg.process_every),
            sensor_every: u64::from(cfg.sensor_every),
            top_n: cfg.top_n,
        };
        let mut collector = Collector::new(cadence);
        let first = Arc::new(collector.sample());
        let health = Arc::new(Health::new());
        health.published();
        let mut ring = History::new(cfg.history_resolution, cfg.history_capacity);
        ring.push(HistoryPoint::from_snapshot(&first));
        let history = Arc::new(Mutex::new(ring));
        let (tx, rx) = watch::channel(first);
        let (stop_tx, stop_rx) = mpsc::channel();

        let sampler = Sampler {
            collector,
            cadence,
            interval: cfg.interval,
            stop: stop_rx,
            tx,
            history: Arc::clone(&history),
            health: Arc::clone(&health),
        };
        let spawned = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || sampler.run());
        if let Err(err) = spawned {
            // The hub still serves the first sample; better a frozen page than no server.
            tracing::error!(%err, "cannot start the metrics thread; metrics will not update");
        }

        MetricsHub {
            inner: Arc::new(Inner {
                cfg,
                health,
                latest: rx,
                history,
                _stop: stop_tx,
            }),
        }
    }

    /// The most recent sample.
    pub fn latest(&self) -> Arc<Snapshot> {
        Arc::clone(&self.inner.latest.borrow())
    }

    /// A receiver that wakes on every new sample; `changed()` errs once the sampler has stopped.
    ///
    /// The current sample counts as already seen, so `changed()` waits for the next one; a stream
    /// that wants to start with the current sample reads `borrow_and_update()` first.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        let mut rx = self.inner.latest.clone();
        rx.mark_unchanged();
        rx
    }

    /// History points within `window` of the newest point, oldest first.
    pub fn history(&self, window: Duration) -> Vec<HistoryPoint> {
        lock(&self.inner.history).window(window)
    }

    pub fn config(&self) -> &MetricsConfig {
        &self.inner.cfg
    }

    /// Time since the newest snapshot was published (monotonic clock).
    pub fn age(&self) -> Duration {
        self.inner.health.age()
    }

    /// Whether the newest snapshot is older than [`STALE_AFTER_INTERVALS`] intervals: the
    /// sampler is stuck or gone, and the numbers shown are not live.
    pub fn is_stale(&self) -> bool {
        self.age() > self.inner.cfg.interval * STALE_AFTER_INTERVALS
    }

    /// How many times a failing sample made the sampler start afresh.
    pub fn sampler_restarts(&self) -> u64 {
        self.inner.health.restarts.load(Ordering::Relaxed)
    }
}

/// A panic while holding the lock cannot leave the ring half-updated in a harmful way (every
/// mutation is a single push/pop), so a poisoned lock is still usable.
fn lock(history: &Mutex<History>) -> std::sync::MutexGuard<'_, History> {
    history.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sampler thread's state.
struct Sampler {
    collector: Collector,
    cadence: Cadence,
    interval: Duration,
    stop: mpsc::Receiver<()>,
    tx: watch::Sender<Arc<Snapshot>>,
    history: Arc<Mutex<History>>,
    health: Arc<Health>,
}

impl Sampler {
    /// The sampler loop. Waits on `stop` rather than sleeping, so dropping the last hub (which
    /// drops the sender) ends the thread at once instead of after a full interval.
    ///
    /// Supervised: a sample that panics (an OS reading gone wrong) is logged and the collector
    /// is built afresh, so one bad reading never freezes the dashboard; a sampler that keeps
    /// failing backs off (doubling, up to a minute) rather than spinning a core.
    fn run(mut self) {
        let mut next = Instant::now() + self.interval;
        let mut failures = 0u32;
        loop {
            match self
                .stop
                .recv_timeout(next.saturating_duration_since(Instant::now()))
            {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let collector = &mut self.collector;
            match catch_unwind(AssertUnwindSafe(|| {
                if faults::hit(Fault::SamplerPanic) {
                    panic!("injected fault: the sampler panics");
                }
                while faults::hit(Fault::SamplerStall) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                collector.sample()
            })) {
                Ok(snapshot) => {
                    failures = 0;
                    let snapshot = Arc::new(snapshot);
                    lock(&self.history).push(HistoryPoint::from_snapshot(&snapshot));
                    // `send_replace` stores the value even when nobody is subscribed.
                    self.tx.send_replace(snapshot);
                    self.health.published();
                    next += self.interval;
                }
                Err(_) => {
                    failures += 1;
                    let restarts = self.health.restarts.fetch_add(1, Ordering::Relaxed) + 1;
                    let pause = (self.interval * 2u32.saturating_pow(failures.min(16)))
                        .min(MAX_RESTART_BACKOFF);
                    tracing::error!(
                        restarts,
                        pause_ms = pause.as_millis() as u64,
                        "the metrics sampler failed; starting it afresh"
                    );
                    let cadence = self.cadence;
                    match catch_unwind(|| Collector::new(cadence)) {
                        Ok(fresh) => self.collector = fresh,
                        Err(_) => {
                            tracing::error!("the metrics sampler could not start afresh; retrying")
                        }
                    }
                    next = Instant::now() + pause;
                }
            }
            let now = Instant::now();
            if next <= now {
                // Fell behind (slow sample, machine asleep): resume the rhythm instead of bursting.
                next = now + self.interval;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    /// Axum state and spawned tasks need this.
    #[test]
    fn hub_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<MetricsHub>();
    }

    #[test]
    fn defaults_match_the_documented_cadence() {
        let cfg = MetricsConfig::default();
        assert_eq!(cfg.interval, Duration::from_secs(1));
        assert_eq!((cfg.process_every, cfg.sensor_every, cfg.top_n), (5, 10, 8));
        assert_eq!(cfg.history_resolution, Duration::from_secs(2));
        assert_eq!(cfg.history_capacity, 2400);

        let fixed = MetricsConfig {
            interval: Duration::ZERO,
            process_every: 0,
            sensor_every: 0,
            history_capacity: 0,
            ..cfg
        }
        .sanitized();
        assert_eq!(fixed.interval, MIN_INTERVAL);
        assert_eq!((fixed.process_every, fixed.sensor_every), (1, 1));
        assert_eq!(fixed.history_capacity, 1);
    }

    #[tokio::test]
    async fn hub_samples_the_real_machine_and_stops_when_dropped() {
        let hub = MetricsHub::start(MetricsConfig {
            interval: Duration::from_millis(50),
            process_every: 1,
            sensor_every: 2,
            history_resolution: Duration::from_millis(1),
            history_capacity: 100,
            top_n: 5,
        });
        let mut rx = hub.subscribe();
        let first = rx.borrow_and_update().clone();
        assert!(first.taken_at_ms > 0);
        assert!(first.host.logical_cores > 0);
        assert!(first.memory.total_bytes > 0);

        tokio::time::timeout(WAIT, rx.changed())
            .await
            .expect("a second sample within the timeout")
            .expect("sampler still running");
        let second = rx.borrow_and_update().clone();
        assert!(second.taken_at_ms > first.taken_at_ms);
        assert!(second.host.uptime_s >= first.host.uptime_s);
        assert!(second.processes.count > 0);
        assert!(!second.processes.by_cpu.is_empty());
        assert!(second.processes.by_cpu.len() <= 5);
        assert!(second.processes.by_memory.len() <= 5);
        for p in second
            .processes
            .by_cpu
            .iter()
            .chain(&second.processes.by_memory)
        {
            assert!(!p.name.is_empty(), "process {} has no name", p.pid);
            assert!(p.cpu_pct >= 0.0 && p.cpu_pct.is_finite());
        }
        assert!(second.processes.by_memory[0].memory_bytes > 0);
        assert!(hub.latest().taken_at_ms >= second.taken_at_ms);

        let points = hub.history(Duration::from_secs(3600));
        assert!(points.len() >= 2, "{points:?}");
        assert!(points.windows(2).all(|w| w[0].t_ms < w[1].t_ms));
        assert_eq!(hub.config().top_n, 5);

        // A clone keeps the sampler alive.
        let clone = hub.clone();
        drop(hub);
        tokio::time::timeout(WAIT, rx.changed())
            .await
            .expect("still sampling while a clone lives")
            .expect("sampler still running");

        // The last clone stops it: the channel closes instead of delivering more samples.
        drop(clone);
        let closed =
            tokio::time::timeout(WAIT, async { while rx.changed().await.is_ok() {} }).await;
        assert!(
            closed.is_ok(),
            "sampler thread kept running after the hub was dropped"
        );
    }

    /// CPU time this process spends with a default-configured hub: the budget is well under 1 %
    /// of one core. Ignored by default (takes 20 s); run with
    /// `cargo test -p server --release --lib idle_cost -- --ignored --nocapture`.
    #[cfg(target_os = "linux")]
    #[test]
    #[ignore]
    fn idle_cost() -> std::io::Result<()> {
        fn cpu_ticks() -> std::io::Result<u64> {
            let stat = std::fs::read_to_string("/proc/self/stat")?;
            // Fields after the parenthesised name; utime and stime are fields 14 and 15.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let tick = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Ok(tick(11) + tick(12))
        }
        let hub = MetricsHub::start(MetricsConfig::default());
        std::thread::sleep(Duration::from_secs(1));
        let before = cpu_ticks()?;
        let secs = 20;
        std::thread::sleep(Duration::from_secs(secs));
        let used = cpu_ticks()? - before;
        // Ticks are 1/100 s on Linux.
        let pct = used as f64 / secs as f64;
        println!("metrics sampler: {used} ticks over {secs} s = {pct:.2} % of one core");
        assert!(pct < 1.0, "{pct:.2} % of one core");
        drop(hub);
        Ok(())
    }
}
