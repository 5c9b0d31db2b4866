//! What the integration tests share: the default model's path and a host state assembled the
//! way `main.rs` assembles it. Each test binary uses a part of it, hence `dead_code`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use mac_status::{
    chat::{cache::AnswerCache, Assistant},
    engine::{Engine, EngineError},
    hardware, leptos_options,
    metrics::{MetricsConfig, MetricsHub},
    state::AppState,
    store::HistoryStore,
};
use tokio_util::sync::CancellationToken;

/// The default model (`MAC_STATUS_MODEL` names another GGUF); a missing file fails the test
/// with the command that fetches it.
pub fn model_path() -> PathBuf {
    let path = std::env::var_os("MAC_STATUS_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/SmolLM2-135M-Instruct-Q4_1.gguf")
        });
    assert!(
        path.is_file(),
        "the default model is missing at {}: run scripts/fetch-model.sh \
         (or point MAC_STATUS_MODEL at a GGUF file)",
        path.display()
    );
    path
}

/// A real collector sampling every `interval` (a long one keeps the snapshot still).
pub fn metrics(interval: Duration) -> MetricsHub {
    MetricsHub::start(MetricsConfig {
        interval,
        history_resolution: interval.min(MetricsConfig::default().history_resolution),
        ..MetricsConfig::default()
    })
}

/// This machine's hardware profile, without overrides.
pub fn profile() -> app::profile::ProfileReport {
    hardware::report(hardware::detect(), &Default::default()).unwrap()
}

/// The assistant over `engine` (loaded, or the error loading it gave).
pub fn assistant(engine: Result<Engine, EngineError>, metrics: &MetricsHub) -> Assistant {
    Assistant::new(
        engine,
        metrics.clone(),
        profile(),
        AnswerCache::default(),
        Default::default(),
    )
}

/// The host's state, as `main.rs` builds it, for `site_addr`; history off (`--no-history`).
pub fn state(assistant: Assistant, metrics: MetricsHub, site_addr: &str) -> AppState {
    state_with_history(assistant, metrics, HistoryStore::off(), site_addr)
}

/// The same with `history` (a real store: `HistoryStore::start`).
pub fn state_with_history(
    assistant: Assistant,
    metrics: MetricsHub,
    history: HistoryStore,
    site_addr: &str,
) -> AppState {
    let metrics_for_alerts = metrics.clone();
    // The embedded site, as an installed host serves it.
    let site = mac_status::site::Site::new(None);
    AppState {
        leptos_options: leptos_options(&site, site_addr.parse().unwrap()),
        assistant,
        metrics,
        history,
        alerts: mac_status::alerts::AlertHub::start(Default::default(), &metrics_for_alerts, None),
        build: std::sync::Arc::new(mac_status::pwa::BuildVersion::new(&site)),
        site,
        shutdown: CancellationToken::new(),
    }
}
