//! Persistent history: 1-minute aggregates kept 7 days and 1-hour aggregates kept 90 days, in a
//! SQLite file, so long charts survive restarts. The 2-second ring of `metrics` still serves the
//! live charts.
//!
//! A task subscribed to the [`MetricsHub`] folds each snapshot into the current minute (a few
//! map updates, no I/O); a closed minute goes over a channel to the `history` thread, which owns
//! the writing connection and commits one transaction a minute: the minute, its hour recomputed
//! from the hour's minutes, and the retention deletes. Nothing on the request path writes; range
//! reads open their own connection on a blocking thread (WAL lets them run beside the writer).
//!
//! History never stops the dashboard: a file that cannot be opened turns history off with a log
//! line, a damaged or foreign one is moved aside (see [`schema::open`]), and a failing write (a
//! full disk) is logged once and retried each minute while the minutes wait in memory.

pub mod aggregate;
pub mod csv;
pub mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};
use tokio_util::sync::CancellationToken;

use crate::metrics::MetricsHub;
use aggregate::{bucket_start, merge};
use app::history::{Bucket, Range, RangeHistory, Resolution, StoreState};
pub use schema::{OpenError, Opened};

/// The file's name in the data folder.
pub const FILE_NAME: &str = "history.db";

/// Bucket lengths and how long each is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub minute_ms: u64,
    pub hour_ms: u64,
    pub keep_minutes_ms: u64,
    pub keep_hours_ms: u64,
}

const DAY_MS: u64 = 86_400_000;

impl Default for Layout {
    fn default() -> Self {
        Layout::with_minute(Duration::from_secs(60))
    }
}

impl Layout {
    /// A "minute" of `minute` (the tests shorten it), an hour of 60 of them, kept 7 and 90 days.
    pub fn with_minute(minute: Duration) -> Self {
        let minute_ms = u64::try_from(minute.as_millis()).unwrap_or(60_000).max(1);
        Layout {
            minute_ms,
            hour_ms: minute_ms * 60,
            keep_minutes_ms: 7 * DAY_MS,
            keep_hours_ms: 90 * DAY_MS,
        }
    }

    /// The bucket length of a stored resolution (`None` for the live ring).
    pub fn res_ms(&self, r: Resolution) -> Option<u64> {
        match r {
            Resolution::Live => None,
            Resolution::Minute => Some(self.minute_ms),
            Resolution::Hour => Some(self.hour_ms),
        }
    }
}

/// The platform's place for the file: `~/Library/Application Support/dev.macstatus.host/` on
/// macOS, `$XDG_DATA_HOME/mac-status/` (`~/.local/share/mac-status/`) elsewhere. `None` where
/// the OS has no home folder for this user.
pub fn default_path() -> Option<PathBuf> {
    Some(crate::dirs::data_dir()?.join(FILE_NAME))
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The writing side of the file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    layout: Layout,
}

impl Store {
    /// Opens or creates the file (see [`schema::open`] for what happens to a bad one).
    pub fn open(path: &Path, layout: Layout) -> Result<(Store, Opened), OpenError> {
        let (conn, opened) = schema::open(path)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            layout,
        };
        Ok((store, opened))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// One transaction: each minute is stored (merged with a row already there for the same
    /// minute: a restart within a minute, a second host on the file), the hours they fall in
    /// are recomputed from their minutes, and rows older than the retention before `now_ms`
    /// are deleted. All or nothing.
    pub fn write(&mut self, minutes: &[Bucket], now_ms: u64) -> rusqlite::Result<()> {
        let Layout {
            minute_ms,
            hour_ms,
            keep_minutes_ms,
            keep_hours_ms,
        } = self.layout;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut hours: Vec<u64> = Vec::new();
        for m in minutes {
            let t = bucket_start(m.t_ms, minute_ms);
            let mut parts = schema::get(&tx, minute_ms, t, t + 1)?;
            if parts.is_empty() && m.t_ms == t {
                schema::put(&tx, minute_ms, m)?;
            } else {
                parts.push(m.clone());
                if let Some(merged) = merge(t, &parts) {
                    schema::put(&tx, minute_ms, &merged)?;
                }
            }
            let h = bucket_start(t, hour_ms);
            if !hours.contains(&h) {
                hours.push(h);
            }
        }
        for h in hours {
            let parts = schema::get(&tx, minute_ms, h, h + hour_ms)?;
            if let Some(hour) = merge(h, &parts) {
                schema::put(&tx, hour_ms, &hour)?;
            }
        }
        schema::prune(&tx, minute_ms, now_ms.saturating_sub(keep_minutes_ms))?;
        schema::prune(&tx, hour_ms, now_ms.saturating_sub(keep_hours_ms))?;
        tx.commit()
    }

    /// Stored rows of `res` starting in `from_ms..to_ms`, oldest first.
    pub fn read(&self, res: Resolution, from_ms: u64, to_ms: u64) -> rusqlite::Result<Vec<Bucket>> {
        match self.layout.res_ms(res) {
            Some(res_ms) => schema::get(&self.conn, res_ms, from_ms, to_ms),
            None => Ok(Vec::new()),
        }
    }

    /// Row counts of the two stored resolutions.
    #[cfg(test)]
    fn counts(&self) -> rusqlite::Result<(u64, u64)> {
        let count = |res: u64| -> rusqlite::Result<u64> {
            self.conn.query_row(
                "SELECT count(*) FROM bucket WHERE res_ms = ?1",
                [res as i64],
                |r| r.get::<_, i64>(0).map(|n| n as u64),
            )
        };
        Ok((count(self.layout.minute_ms)?, count(self.layout.hour_ms)?))
    }

    /// Caps the file at `pages` pages, so the next write that needs more fails as on a full
    /// disk (`SQLITE_FULL`).
    #[cfg(test)]
    fn cap_pages(&self, pages: u64) -> rusqlite::Result<u64> {
        self.conn
            .pragma_update_and_check(None, "max_page_count", pages as i64, |r| {
                r.get::<_, i64>(0).map(|n| n as u64)
            })
    }
}

/// Where the history goes, as `serve()` resolves it.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryConfig {
    /// `None`: history off.
    pub path: Option<PathBuf>,
    pub layout: Layout,
}

struct Shared {
    path: Option<PathBuf>,
    layout: Layout,
    state: AtomicU8,
    /// A failing range read is logged once until one succeeds.
    read_failing: AtomicBool,
}

impl Shared {
    fn set_state(&self, s: StoreState) {
        self.state.store(
            match s {
                StoreState::Ok => 0,
                StoreState::Off => 1,
                StoreState::Unavailable => 2,
                StoreState::Failing => 3,
            },
            Ordering::Relaxed,
        );
    }

    fn state(&self) -> StoreState {
        match self.state.load(Ordering::Relaxed) {
            0 => StoreState::Ok,
            1 => StoreState::Off,
            2 => StoreState::Unavailable,
            _ => StoreState::Failing,
        }
    }
}

/// The history as handlers see it; cheap to clone.
#[derive(Clone)]
pub struct HistoryStore {
    inner: Arc<Shared>,
}

/// The running writer: [`finish`](Self::finish) it at shutdown so the minute in progress is
/// written.
pub struct Writer {
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HistoryStore {
    /// No history (`--no-history`): long ranges answer with no points and `store: "off"`.
    pub fn off() -> Self {
        Self::with(None, Layout::default(), StoreState::Off)
    }

    fn with(path: Option<PathBuf>, layout: Layout, state: StoreState) -> Self {
        let shared = Shared {
            path,
            layout,
            state: AtomicU8::new(0),
            read_failing: AtomicBool::new(false),
        };
        shared.set_state(state);
        HistoryStore {
            inner: Arc::new(shared),
        }
    }

    /// Opens the file on a blocking thread and starts the writer on `metrics`, until
    /// `shutdown`. Never fails: a file that cannot be opened is logged and history is off for
    /// this run (`store: "unavailable"`).
    pub async fn start(
        cfg: HistoryConfig,
        metrics: &MetricsHub,
        shutdown: CancellationToken,
    ) -> (HistoryStore, Writer) {
        let idle = Writer {
            task: None,
            thread: None,
        };
        let Some(path) = cfg.path else {
            tracing::info!("history is off (--no-history): long chart ranges stay empty");
            return (HistoryStore::off(), idle);
        };
        let layout = cfg.layout;
        let opening = path.clone();
        let opened = tokio::task::spawn_blocking(move || Store::open(&opening, layout)).await;
        let store = match opened {
            Ok(Ok((store, opened))) => {
                match opened {
                    Opened::Created => {
                        tracing::info!(path = %path.display(), "history: new database")
                    }
                    Opened::Existing => {
                        tracing::info!(path = %path.display(), "history: database opened")
                    }
                    Opened::Replaced { aside, reason } => tracing::warn!(
                        "history: {} could not be used ({reason}); moved aside to {} and started a fresh one",
                        path.display(),
                        aside.display()
                    ),
                }
                store
            }
            Ok(Err(e)) => {
                tracing::error!(
                    "history: cannot open {} ({e}); the dashboard works, long chart ranges stay empty this run",
                    path.display()
                );
                return (
                    Self::with(Some(path), layout, StoreState::Unavailable),
                    idle,
                );
            }
            Err(e) => {
                tracing::error!(%e, "history: the opening thread failed; history is off this run");
                return (
                    Self::with(Some(path), layout, StoreState::Unavailable),
                    idle,
                );
            }
        };
        let history = Self::with(Some(path), layout, StoreState::Ok);
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = Arc::clone(&history.inner);
        let thread = std::thread::Builder::new()
            .name("history".into())
            .spawn(move || writer::run(store, rx, &shared));
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(%e, "history: cannot start the writer thread; history is off this run");
                history.inner.set_state(StoreState::Unavailable);
                return (history, idle);
            }
        };
        let task = tokio::spawn(writer::accumulate(
            metrics.subscribe(),
            layout.minute_ms,
            tx,
            shutdown,
        ));
        (
            history,
            Writer {
                task: Some(task),
                thread: Some(thread),
            },
        )
    }

    pub fn state(&self) -> StoreState {
        self.inner.state()
    }

    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// What `/api/v1/history?range=` answers: the live ring for short ranges, stored rows for
    /// long ones (read on a blocking thread). A failed read is logged (once until a read
    /// succeeds) and answers no points.
    pub async fn range(&self, range: Range, metrics: &MetricsHub) -> RangeHistory {
        let to_ms = now_ms();
        let span_ms = u64::try_from(range.span().as_millis()).unwrap_or(u64::MAX);
        let from_ms = to_ms.saturating_sub(span_ms);
        let resolution = range.resolution();
        let (resolution_ms, points) = match self.inner.layout.res_ms(resolution) {
            None => (
                u64::try_from(metrics.config().history_resolution.as_millis()).unwrap_or(0),
                metrics
                    .history(range.span())
                    .iter()
                    .map(aggregate::from_point)
                    .collect(),
            ),
            Some(res_ms) => (res_ms, self.read(res_ms, from_ms, to_ms + 1).await),
        };
        RangeHistory {
            range,
            resolution,
            resolution_ms,
            from_ms,
            to_ms,
            store: self.state(),
            points,
        }
    }

    async fn read(&self, res_ms: u64, from_ms: u64, to_ms: u64) -> Vec<Bucket> {
        let (Some(path), StoreState::Ok | StoreState::Failing) = (self.path(), self.state()) else {
            return Vec::new();
        };
        let path = path.to_path_buf();
        let read = tokio::task::spawn_blocking(move || {
            schema::get(&schema::open_reader(&path)?, res_ms, from_ms, to_ms)
        })
        .await;
        let failing = &self.inner.read_failing;
        match read {
            Ok(Ok(points)) => {
                failing.store(false, Ordering::Relaxed);
                points
            }
            Ok(Err(e)) => {
                if !failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%e, "history: cannot read the database; long ranges answer no points");
                }
                Vec::new()
            }
            Err(e) => {
                tracing::error!(%e, "history: the reading thread failed");
                Vec::new()
            }
        }
    }
}

impl Writer {
    /// Waits (up to 10 s) for the minute in progress to be written after `shutdown` fired.
    pub async fn finish(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(thread) = self.thread.take() {
            let joined = tokio::task::spawn_blocking(move || thread.join());
            if tokio::time::timeout(Duration::from_secs(10), joined)
                .await
                .is_err()
            {
                tracing::warn!("history: the last write did not finish in 10 s");
            }
        }
    }
}

#[cfg(test)]
mod tests;
