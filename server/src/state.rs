//! What every handler can reach: the collector, the history store, the assistant, the Leptos
//! options, and the shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use app::backend::{Backend, StatusSource};
use app::chat::AssistantStatus;
use app::model::{HistoryPoint, Snapshot};
use app::profile::ProfileReport;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::alerts::AlertHub;
use crate::chat::Assistant;
use crate::metrics::MetricsHub;
use crate::pwa::BuildVersion;
use crate::site::Site;
use crate::store::HistoryStore;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub metrics: MetricsHub,
    /// Minute and hour aggregates on disk (`/api/v1/history?range=24h|7d|90d`).
    pub history: HistoryStore,
    pub assistant: Assistant,
    /// This build's app-shell version, following rebuilds (see `pwa::BuildVersion`).
    pub build: Arc<BuildVersion>,
    /// The built site: embedded, or a folder (`--site-root`).
    pub site: Site,
    /// Cancelled on Ctrl-C/SIGTERM so open streams end and graceful shutdown can finish.
    pub shutdown: CancellationToken,
    /// Levels that held long enough: listed, streamed to pages, notified.
    pub alerts: AlertHub,
}

impl AppState {
    pub fn backend(&self) -> Backend {
        Backend(Arc::new(HostBackend {
            metrics: self.metrics.clone(),
            assistant: self.assistant.clone(),
            alerts: self.alerts.clone(),
        }))
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// What server functions see of the host.
struct HostBackend {
    metrics: MetricsHub,
    assistant: Assistant,
    alerts: AlertHub,
}

impl StatusSource for HostBackend {
    fn snapshot(&self) -> Arc<Snapshot> {
        self.metrics.latest()
    }

    fn history_minutes(&self, minutes: u32) -> Vec<HistoryPoint> {
        self.metrics
            .history(Duration::from_secs(u64::from(minutes) * 60))
    }

    fn assistant(&self) -> AssistantStatus {
        self.assistant.status()
    }

    fn profile(&self) -> ProfileReport {
        self.assistant.profile().clone()
    }

    fn alerts(&self) -> Vec<app::alert::Alert> {
        self.alerts.list()
    }
}
