//! System notifications from the host, for when no page is open to show an alert: on macOS
//! through `osascript` (Notification Center), elsewhere not at all. Behind a trait so the rules
//! (what is said, when quiet hours hold it back) are tested on Linux with a recording sink.

use std::sync::Mutex;

pub use app::alert::{notification, Notification};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NotifyError {
    #[error("cannot show a notification: {0}")]
    Failed(String),
}

pub trait Notifier: Send + Sync {
    fn notify(&self, n: &Notification) -> Result<(), NotifyError>;
}

/// A daily window (local time, minutes after midnight) when notifications wait; it may wrap
/// past midnight (22:00–07:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub from_min: u32,
    pub to_min: u32,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, b) = s.split_once('-')?;
        let min = |t: &str| {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        Some(Self {
            from_min: min(a)?,
            to_min: min(b)?,
        })
    }

    pub fn contains(&self, minute_of_day: u32) -> bool {
        if self.from_min <= self.to_min {
            (self.from_min..self.to_min).contains(&minute_of_day)
        } else {
            minute_of_day >= self.from_min || minute_of_day < self.to_min
        }
    }
}

/// Records what would have been shown (tests, and platforms without notifications).
#[derive(Debug, Default)]
pub struct Recorded(pub Mutex<Vec<Notification>>);

impl Notifier for Recorded {
    fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(n.clone());
        Ok(())
    }
}

/// Notification Center through `osascript`. The text travels as arguments (`argv`), never
/// inside the script, so no value can change what the script does.
#[cfg(target_os = "macos")]
pub struct Osascript;

#[cfg(target_os = "macos")]
impl Notifier for Osascript {
    fn notify(&self, n: &Notification) -> Result<(), NotifyError> {
        let status = std::process::Command::new("/usr/bin/osascript")
            .args([
                "-e",
                "on run argv",
                "-e",
                "display notification (item 2 of argv) with title (item 1 of argv)",
                "-e",
                "end run",
                "--",
                n.title.as_str(),
                n.body.as_str(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| NotifyError::Failed(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(NotifyError::Failed(format!(
                "osascript exited with {status}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::alert::{Alert, AlertEvent, Resource};
    use app::i18n::{level_text, Lang};
    use app::model::Level;

    fn raised(resource: Resource, subject: Option<&str>, level: Level, pct: f32) -> AlertEvent {
        AlertEvent::Raised {
            alert: Alert {
                id: 1,
                resource,
                subject: subject.map(str::to_string),
                level,
                value_pct: pct,
                started_at_ms: 0,
                ended_at_ms: None,
            },
        }
    }

    #[test]
    fn says_what_and_how_bad_in_both_languages() {
        let ev = raised(Resource::Disk, Some("/"), Level::Critical, 96.4);
        let en = notification(&ev, Lang::En).unwrap();
        assert_eq!(en.title, "Mac Status");
        assert_eq!(
            en.body,
            format!("Disk / at 96 % ({})", level_text(Lang::En, Level::Critical))
        );
        let ja = notification(&ev, Lang::Ja).unwrap();
        assert!(ja.body.starts_with("ディスク /が96%です"), "{}", ja.body);
        let cpu =
            notification(&raised(Resource::Cpu, None, Level::Warning, 80.0), Lang::En).unwrap();
        assert!(cpu.body.starts_with("CPU at 80 %"), "{}", cpu.body);
        let ended = AlertEvent::Ended {
            alert: ev.alert().clone(),
        };
        assert_eq!(notification(&ended, Lang::En), None);
        let sink = Recorded::default();
        sink.notify(&en).unwrap();
        assert_eq!(sink.0.lock().unwrap().as_slice(), [en]);
    }

    #[test]
    fn quiet_hours_wrap_past_midnight() {
        let night = QuietHours::parse("22:00-07:00").unwrap();
        assert!(night.contains(23 * 60) && night.contains(0) && night.contains(6 * 60 + 59));
        assert!(
            !night.contains(7 * 60) && !night.contains(12 * 60) && !night.contains(21 * 60 + 59)
        );
        let lunch = QuietHours::parse("12:00-13:30").unwrap();
        assert!(lunch.contains(12 * 60 + 45) && !lunch.contains(13 * 60 + 30));
        for bad in ["", "22:00", "25:00-07:00", "22:60-07:00", "a:b-c:d"] {
            assert_eq!(QuietHours::parse(bad), None, "{bad}");
        }
    }
}
