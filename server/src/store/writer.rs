//! The two halves of the writer: a task folding snapshots into minutes (no I/O), and the
//! `history` thread committing them (all the I/O, off the runtime).

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::Arc;

use app::model::Snapshot;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::aggregate::Accumulator;
use super::{now_ms, schema, Opened, Shared, Store};
use app::history::{Bucket, StoreState};

/// Minutes kept in memory while writes fail (4 hours, about 100 KB); older ones are dropped.
pub const MAX_PENDING: usize = 240;

/// Folds every snapshot into the current minute and sends each minute as it closes. At
/// `shutdown` (or when the sampler stops) the minute in progress is sent too, then the channel
/// closes, which ends the writer thread.
pub async fn accumulate(
    mut rx: watch::Receiver<Arc<Snapshot>>,
    minute_ms: u64,
    tx: mpsc::Sender<Bucket>,
    shutdown: CancellationToken,
) {
    let mut acc = Accumulator::new(minute_ms);
    loop {
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    break;
                }
                let snapshot = Arc::clone(&rx.borrow_and_update());
                if let Some(minute) = acc.push(&snapshot) {
                    if tx.send(minute).is_err() {
                        return;
                    }
                }
            }
            () = shutdown.cancelled() => break,
        }
    }
    if let Some(minute) = acc.take() {
        let _ = tx.send(minute);
    }
}

/// The writer thread: commits what arrives, one transaction per wake-up; a failure is logged
/// once and the minutes are kept (up to [`MAX_PENDING`]) and retried with the next minute.
pub fn run(store: Store, rx: mpsc::Receiver<Bucket>, shared: &Shared) {
    let mut writer = Pending::new(store);
    while let Ok(minute) = rx.recv() {
        writer.push(minute);
        // Whatever else is queued (after a stall) goes in the same transaction.
        while let Ok(minute) = rx.try_recv() {
            writer.push(minute);
        }
        let state = writer.flush(now_ms());
        shared.set_state(state);
    }
}

/// The store and the minutes not yet committed.
pub struct Pending {
    pub store: Store,
    pub pending: VecDeque<Bucket>,
    pub failing: bool,
    pub dropped: u64,
}

impl Pending {
    pub fn new(store: Store) -> Self {
        Pending {
            store,
            pending: VecDeque::new(),
            failing: false,
            dropped: 0,
        }
    }

    pub fn push(&mut self, minute: Bucket) {
        self.pending.push_back(minute);
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
            self.dropped += 1;
        }
    }

    /// Tries to commit every pending minute; returns the store's state after it.
    pub fn flush(&mut self, now_ms: u64) -> StoreState {
        if self.pending.is_empty() {
            return if self.failing {
                StoreState::Failing
            } else {
                StoreState::Ok
            };
        }
        let mut result = self.store.write(self.pending.make_contiguous(), now_ms);
        if let Err(e) = &result {
            if schema::is_corruption(e) && self.reopen(e) {
                result = self.store.write(self.pending.make_contiguous(), now_ms);
            }
        }
        match result {
            Ok(()) => {
                if self.failing {
                    tracing::info!(
                        minutes = self.pending.len(),
                        dropped = self.dropped,
                        "history: writes work again; the minutes kept in memory are written"
                    );
                }
                self.pending.clear();
                self.failing = false;
                self.dropped = 0;
                StoreState::Ok
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(
                        "history: cannot write {} ({e}); the live dashboard is unaffected; \
                         the newest minutes wait in memory (up to {MAX_PENDING}) and writing is \
                         retried every minute",
                        self.store.path().display()
                    );
                }
                self.failing = true;
                StoreState::Failing
            }
        }
    }

    /// The file went bad under us: open it again, which moves a damaged file aside.
    fn reopen(&mut self, why: &rusqlite::Error) -> bool {
        let path = self.store.path().to_path_buf();
        tracing::warn!(%why, path = %path.display(), "history: the database reports damage; checking it");
        match Store::open(&path, self.store.layout()) {
            Ok((store, opened)) => {
                if let Opened::Replaced { aside, reason } = &opened {
                    tracing::warn!(
                        "history: {} could not be used ({reason}); moved aside to {} and started a fresh one",
                        path.display(),
                        aside.display()
                    );
                }
                self.store = store;
                true
            }
            Err(e) => {
                tracing::error!(%e, "history: cannot reopen the database");
                false
            }
        }
    }
}
