//! The running alert service: follows the sampler, keeps the list, tells open pages (the live
//! stream's `alert` events) and, when no page is open, the system's notifications.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use app::alert::{Alert, AlertEvent};
use app::i18n::Lang;
use app::model::{Level, Thresholds};
use serde::Deserialize;
use thiserror::Error;
use tokio::sync::broadcast;

use super::notify::{notification, Notifier, QuietHours};
use super::{AlertConfig, Tracker};
use crate::metrics::MetricsHub;

/// The `[alerts]` table of the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertFile {
    /// Seconds a level must hold before it alerts [default: 60].
    pub hold_s: Option<u64>,
    /// The lowest level that alerts [default: warning].
    pub min_level: Option<Level>,
    /// `[careful, warning, critical]` in percent.
    pub cpu: Option<[f32; 3]>,
    pub memory: Option<[f32; 3]>,
    pub disk: Option<[f32; 3]>,
    /// `"22:00-07:00"`: no system notifications then (alerts are still listed).
    pub quiet_hours: Option<String>,
    /// System notifications when no page is open [default: true].
    pub notify: Option<bool>,
}

#[derive(Debug, Error, PartialEq)]
pub enum AlertConfigError {
    #[error("alert thresholds for {0} must rise: careful < warning < critical, each 0–100")]
    Thresholds(&'static str),
    #[error("quiet_hours must look like \"22:00-07:00\", got {0:?}")]
    QuietHours(String),
}

/// What the host runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    pub config: AlertConfig,
    pub quiet: Option<QuietHours>,
    pub notify: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            config: AlertConfig::default(),
            quiet: None,
            notify: true,
        }
    }
}

impl AlertFile {
    pub fn resolve(&self) -> Result<AlertSettings, AlertConfigError> {
        let d = AlertConfig::default();
        let t = |v: Option<[f32; 3]>, def: Thresholds, name| match v {
            None => Ok(def),
            Some([a, b, c]) if 0.0 <= a && a < b && b < c && c <= 100.0 => {
                Ok(Thresholds::new(a, b, c))
            }
            Some(_) => Err(AlertConfigError::Thresholds(name)),
        };
        let quiet = match &self.quiet_hours {
            None => None,
            Some(s) => {
                Some(QuietHours::parse(s).ok_or_else(|| AlertConfigError::QuietHours(s.clone()))?)
            }
        };
        Ok(AlertSettings {
            config: AlertConfig {
                min_level: self.min_level.unwrap_or(d.min_level).max(Level::Careful),
                hold_ms: self.hold_s.map_or(d.hold_ms, |s| s.saturating_mul(1000)),
                clear_margin_pct: d.clear_margin_pct,
                cpu: t(self.cpu, d.cpu, "cpu")?,
                memory: t(self.memory, d.memory, "memory")?,
                disk: t(self.disk, d.disk, "disk")?,
            },
            quiet,
            notify: self.notify.unwrap_or(true),
        })
    }
}

struct Inner {
    tracker: Mutex<Tracker>,
    events: broadcast::Sender<AlertEvent>,
    /// Pages with the live stream open: while one is, the page shows alerts itself.
    pages: AtomicUsize,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct AlertHub {
    inner: Arc<Inner>,
}

/// Counts an open page for as long as it lives.
pub struct PageOpen(Arc<Inner>);

impl Drop for PageOpen {
    fn drop(&mut self) {
        self.0.pages.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The local minute of the day, for quiet hours.
fn local_minute() -> Option<u32> {
    let now = jiff::Zoned::now();
    Some(u32::try_from(now.hour()).ok()? * 60 + u32::try_from(now.minute()).ok()?)
}

/// The language of the user's session (`LANG`), for notifications the host shows itself.
fn system_lang() -> Lang {
    let lang = std::env::var("LANG").unwrap_or_default();
    if lang.starts_with("ja") {
        Lang::Ja
    } else {
        Lang::En
    }
}

impl AlertHub {
    /// Follows `metrics` on a thread of its own (no runtime needed; it wakes once per sample)
    /// until the sampler stops.
    pub fn start(
        settings: AlertSettings,
        metrics: &MetricsHub,
        notifier: Option<Arc<dyn Notifier>>,
    ) -> Self {
        let (events, _) = broadcast::channel(64);
        let inner = Arc::new(Inner {
            tracker: Mutex::new(Tracker::new(settings.config.clone())),
            events,
            pages: AtomicUsize::new(0),
        });
        let hub = AlertHub {
            inner: Arc::clone(&inner),
        };
        let mut rx = metrics.subscribe();
        let notifier = notifier.filter(|_| settings.notify);
        let quiet = settings.quiet;
        let lang = system_lang();
        let spawned = std::thread::Builder::new()
            .name("alerts".into())
            .spawn(move || loop {
                let snapshot = rx.borrow_and_update().clone();
                let events = inner
                    .tracker
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .observe(&snapshot);
                for ev in events {
                    tracing::info!(alert = ?ev.alert(), "alert");
                    let no_page = inner.pages.load(Ordering::SeqCst) == 0;
                    let quiet_now = quiet
                        .zip(local_minute())
                        .is_some_and(|(q, m)| q.contains(m));
                    if let (Some(n), true, false) = (&notifier, no_page, quiet_now) {
                        if let Some(note) = notification(&ev, lang) {
                            if let Err(e) = n.notify(&note) {
                                tracing::warn!("{e}");
                            }
                        }
                    }
                    let _ = inner.events.send(ev);
                }
                if futures::executor::block_on(rx.changed()).is_err() {
                    return;
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the alerts thread ({e}); no alerts this run");
        }
        hub
    }

    /// The rules in force (the `[alerts]` configuration, resolved), for readers such as MCP's
    /// thresholds resource.
    pub fn config(&self) -> AlertConfig {
        self.inner
            .tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .config()
            .clone()
    }

    /// Open alerts, then ended ones, newest first.
    pub fn list(&self) -> Vec<Alert> {
        self.inner
            .tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .list()
    }

    /// Alert events from now on, for a page; the page counts as open while the guard lives.
    pub fn subscribe(&self) -> (broadcast::Receiver<AlertEvent>, PageOpen) {
        self.inner.pages.fetch_add(1, Ordering::SeqCst);
        (
            self.inner.events.subscribe(),
            PageOpen(Arc::clone(&self.inner)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_table_is_checked() {
        let s = AlertFile::default().resolve().unwrap();
        assert_eq!(s, AlertSettings::default());
        let f: AlertFile = toml::from_str(
            "hold_s = 5\nmin_level = \"critical\"\nmemory = [1.0, 2.0, 3.0]\nquiet_hours = \"22:00-07:00\"\nnotify = false",
        )
        .unwrap();
        let s = f.resolve().unwrap();
        assert_eq!(s.config.hold_ms, 5000);
        assert_eq!(s.config.min_level, Level::Critical);
        assert_eq!(s.config.memory, Thresholds::new(1.0, 2.0, 3.0));
        assert_eq!(s.quiet, QuietHours::parse("22:00-07:00"));
        assert!(!s.notify);
        let bad: AlertFile = toml::from_str("cpu = [80.0, 70.0, 90.0]").unwrap();
        assert_eq!(bad.resolve(), Err(AlertConfigError::Thresholds("cpu")));
        let bad: AlertFile = toml::from_str("quiet_hours = \"night\"").unwrap();
        assert!(matches!(
            bad.resolve(),
            Err(AlertConfigError::QuietHours(_))
        ));
        assert!(
            toml::from_str::<AlertFile>("holds = 5").is_err(),
            "unknown keys are refused"
        );
        // "normal" would alert on everything: the lowest is careful.
        let f: AlertFile = toml::from_str("min_level = \"normal\"").unwrap();
        assert_eq!(f.resolve().unwrap().config.min_level, Level::Careful);
    }
}
