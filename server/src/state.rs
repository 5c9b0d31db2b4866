//! What every handler can reach: the collector, the Leptos options, and the shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use app::backend::{Backend, StatusSource};
use app::model::{HistoryPoint, Snapshot};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::metrics::MetricsHub;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub metrics: MetricsHub,
    /// Cancelled on Ctrl-C/SIGTERM so open streams end and graceful shutdown can finish.
    pub shutdown: CancellationToken,
}

impl AppState {
    pub fn backend(&self) -> Backend {
        Backend(Arc::new(self.metrics.clone()))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl StatusSource for MetricsHub {
    fn snapshot(&self) -> Arc<Snapshot> {
        self.latest()
    }

    fn history_minutes(&self, minutes: u32) -> Vec<HistoryPoint> {
        self.history(Duration::from_secs(u64::from(minutes) * 60))
    }
}
