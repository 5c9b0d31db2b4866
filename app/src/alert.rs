//! Alerts on the wire: a level that held long enough to tell the user about, with its start
//! and (once over) its end. The host decides them (`server::alerts`); the page lists them.

use serde::{Deserialize, Serialize};

use crate::i18n::{level_text, t, Key, Lang};
use crate::model::Level;

/// What an alert is about. Disk alerts name their volume in [`Alert::subject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Cpu,
    Memory,
    Disk,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique while the host runs; the page matches updates by it.
    pub id: u64,
    pub resource: Resource,
    /// The volume's mount point for a disk alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The highest level reached while the alert was open.
    pub level: Level,
    /// The value (percent) when the level was last raised.
    pub value_pct: f32,
    /// When the level began (ms since the Unix epoch), not when it had held long enough.
    pub started_at_ms: u64,
    /// `None` while the alert is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<u64>,
}

/// A change the page and the notifier hear about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertEvent {
    /// A level held for its hold time (or was urgent): tell the user.
    Raised { alert: Alert },
    /// An open alert reached a higher level.
    Escalated { alert: Alert },
    /// The value went back below the level, by the clearing margin.
    Ended { alert: Alert },
}

impl AlertEvent {
    pub fn alert(&self) -> &Alert {
        match self {
            AlertEvent::Raised { alert }
            | AlertEvent::Escalated { alert }
            | AlertEvent::Ended { alert } => alert,
        }
    }
}

impl AlertEvent {
    /// One event of the stream, as `serde_json::from_str` reads it, without serde's buffering
    /// of an internally tagged enum (see `ChatEvent::from_json`).
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        struct Tag {
            kind: String,
        }
        #[derive(Deserialize)]
        struct Body {
            alert: Alert,
        }
        let kind = serde_json::from_str::<Tag>(text)?.kind;
        let make: fn(Alert) -> Self = match kind.as_str() {
            "raised" => |alert| AlertEvent::Raised { alert },
            "escalated" => |alert| AlertEvent::Escalated { alert },
            "ended" => |alert| AlertEvent::Ended { alert },
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["raised", "escalated", "ended"],
                ))
            }
        };
        Ok(make(serde_json::from_str::<Body>(text)?.alert))
    }
}

/// A system notification's words: the same from the host (macOS) and the page (Web
/// Notifications).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
}

/// What to tell the user about `ev`, in `lang`; nothing for an alert that ended.
pub fn notification(ev: &AlertEvent, lang: Lang) -> Option<Notification> {
    let a = match ev {
        AlertEvent::Raised { alert } | AlertEvent::Escalated { alert } => alert,
        AlertEvent::Ended { .. } => return None,
    };
    let what = match (a.resource, lang) {
        (Resource::Cpu, Lang::En) => "CPU".to_string(),
        (Resource::Cpu, Lang::Ja) => "CPU".to_string(),
        (Resource::Memory, Lang::En) => "Memory".to_string(),
        (Resource::Memory, Lang::Ja) => "メモリ".to_string(),
        (Resource::Disk, Lang::En) => format!("Disk {}", a.subject.as_deref().unwrap_or("")),
        (Resource::Disk, Lang::Ja) => format!("ディスク {}", a.subject.as_deref().unwrap_or("")),
    };
    let level = level_text(lang, a.level);
    let body = match lang {
        Lang::En => format!("{} at {:.0} % ({level})", what.trim_end(), a.value_pct),
        Lang::Ja => format!("{}が{:.0}%です（{level}）", what.trim_end(), a.value_pct),
    };
    Some(Notification {
        title: t(lang, Key::AppName).to_string(),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_their_json() {
        let ev = AlertEvent::Raised {
            alert: Alert {
                id: 3,
                resource: Resource::Disk,
                subject: Some("/".into()),
                level: Level::Critical,
                value_pct: 97.5,
                started_at_ms: 1_700_000_000_000,
                ended_at_ms: None,
            },
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "raised", "alert": {"id": 3, "resource": "disk",
                "subject": "/", "level": "critical", "value_pct": 97.5,
                "started_at_ms": 1_700_000_000_000u64}})
        );
        assert_eq!(serde_json::from_value::<AlertEvent>(json).unwrap(), ev);
        for ev in [
            ev.clone(),
            AlertEvent::Escalated {
                alert: ev.alert().clone(),
            },
            AlertEvent::Ended {
                alert: ev.alert().clone(),
            },
        ] {
            let text = serde_json::to_string(&ev).unwrap();
            assert_eq!(AlertEvent::from_json(&text).unwrap(), ev, "{text}");
        }
        for text in [
            r#"{"alert": {"id": 1, "resource": "cpu", "level": "warning", "value_pct": 1, "started_at_ms": 0}, "kind": "ended"}"#,
            r#"{"kind": "gone", "alert": {}}"#,
            r#"{"kind": "raised"}"#,
            "{}",
        ] {
            let derived = serde_json::from_str::<AlertEvent>(text).ok();
            assert_eq!(AlertEvent::from_json(text).ok(), derived, "{text}");
        }
    }
}
