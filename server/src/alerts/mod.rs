//! Alerts: a level that holds long enough becomes something to tell the user about.
//!
//! Fed every snapshot by the sampler's subscriber; pure (times come from the snapshots), so
//! the rules are tested on synthetic series. A level must hold for [`AlertConfig::hold`]
//! (a spike is not an alert) unless it is urgent (a disk at its critical level: the user
//! must act now). An open alert ends only when the value falls below the alert's threshold
//! by [`AlertConfig::clear_margin_pct`], so a value hovering at a threshold does not flap.

use std::collections::{HashMap, VecDeque};

use app::alert::{Alert, AlertEvent, Resource};
use app::model::{Level, Snapshot, Thresholds};

mod hub;
pub mod notify;

pub use hub::{AlertConfigError, AlertFile, AlertHub, AlertSettings, PageOpen};

/// When a level becomes an alert (also the MCP thresholds resource's `alerts`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertConfig {
    /// The lowest level that alerts (careful is too common — memory at 50 % — to interrupt for).
    pub min_level: Level,
    /// How long a level must hold before it alerts.
    pub hold_ms: u64,
    /// How far below the threshold a value must fall to end an open alert.
    pub clear_margin_pct: f32,
    pub cpu: Thresholds,
    pub memory: Thresholds,
    pub disk: Thresholds,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            min_level: Level::Warning,
            hold_ms: 60_000,
            clear_margin_pct: 5.0,
            cpu: Thresholds::CPU,
            memory: Thresholds::MEMORY,
            disk: Thresholds::DISK,
        }
    }
}

/// Ended alerts kept for the list.
const KEEP_ENDED: usize = 100;

/// One watched value: CPU, memory, or one volume.
type Key = (Resource, Option<String>);

#[derive(Debug, Default)]
struct Watch {
    /// Since when (snapshot time) the value has been at or above `min_level`.
    pending_since: Option<u64>,
    /// The open alert, if any.
    open: Option<Alert>,
}

#[derive(Debug, Default)]
pub struct Tracker {
    cfg: AlertConfig,
    watches: HashMap<Key, Watch>,
    ended: VecDeque<Alert>,
    next_id: u64,
    last_ms: u64,
}

fn threshold(t: &Thresholds, level: Level) -> f32 {
    match level {
        Level::Normal => 0.0,
        Level::Careful => t.careful,
        Level::Warning => t.warning,
        Level::Critical => t.critical,
    }
}

impl Tracker {
    pub fn new(cfg: AlertConfig) -> Self {
        Self {
            cfg,
            next_id: 1,
            ..Default::default()
        }
    }

    /// The rules it applies (the `[alerts]` configuration, resolved).
    pub fn config(&self) -> &AlertConfig {
        &self.cfg
    }

    /// Open alerts, then ended ones, newest first.
    pub fn list(&self) -> Vec<Alert> {
        let mut open: Vec<Alert> = self
            .watches
            .values()
            .filter_map(|w| w.open.clone())
            .collect();
        open.sort_by_key(|a| std::cmp::Reverse(a.started_at_ms));
        open.extend(self.ended.iter().rev().cloned());
        open
    }

    /// Applies one snapshot; returns what changed.
    pub fn observe(&mut self, s: &Snapshot) -> Vec<AlertEvent> {
        let now = s.taken_at_ms;
        if now < self.last_ms {
            // The clock stepped back: durations measured across the step mean nothing.
            for w in self.watches.values_mut() {
                w.pending_since = None;
            }
        }
        self.last_ms = now;
        let mut values: Vec<(Key, f32, Thresholds)> = vec![
            ((Resource::Cpu, None), s.cpu.total_pct, self.cfg.cpu),
            (
                (Resource::Memory, None),
                s.memory.used_pct(),
                self.cfg.memory,
            ),
        ];
        values.extend(s.disks.iter().filter(|d| d.total_bytes > 0).map(|d| {
            (
                (Resource::Disk, Some(d.mount.clone())),
                d.used_pct(),
                self.cfg.disk,
            )
        }));
        let mut events = Vec::new();
        for (key, pct, t) in values {
            if !pct.is_finite() {
                continue;
            }
            let ev = self.step(key, pct, &t, now);
            events.extend(ev);
        }
        events
    }

    fn step(&mut self, key: Key, pct: f32, t: &Thresholds, now: u64) -> Option<AlertEvent> {
        let min = self.cfg.min_level;
        let level = t.level(pct);
        let urgent = key.0 == Resource::Disk && level == Level::Critical;
        let margin = self.cfg.clear_margin_pct;
        let hold = self.cfg.hold_ms;
        let w = self.watches.entry(key.clone()).or_default();

        if let Some(open) = &mut w.open {
            if pct < threshold(t, min) - margin {
                let mut alert = w.open.take()?;
                alert.ended_at_ms = Some(now);
                w.pending_since = None;
                self.ended.push_back(alert.clone());
                if self.ended.len() > KEEP_ENDED {
                    self.ended.pop_front();
                }
                return Some(AlertEvent::Ended { alert });
            }
            if level > open.level {
                open.level = level;
                open.value_pct = pct;
                return Some(AlertEvent::Escalated {
                    alert: open.clone(),
                });
            }
            return None;
        }

        if level < min {
            w.pending_since = None;
            return None;
        }
        let since = *w.pending_since.get_or_insert(now);
        if !urgent && now.saturating_sub(since) < hold {
            return None;
        }
        let alert = Alert {
            id: self.next_id,
            resource: key.0,
            subject: key.1,
            level,
            value_pct: pct,
            started_at_ms: since,
            ended_at_ms: None,
        };
        self.next_id += 1;
        w.open = Some(alert.clone());
        Some(AlertEvent::Raised { alert })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::DiskStats;

    fn snap(t_s: u64, cpu: f32, disk_used_pct: Option<f32>) -> Snapshot {
        let mut s = Snapshot {
            taken_at_ms: 1_000_000 + t_s * 1000,
            ..Default::default()
        };
        s.cpu.total_pct = cpu;
        if let Some(p) = disk_used_pct {
            s.disks.push(DiskStats {
                mount: "/".into(),
                file_system: "apfs".into(),
                total_bytes: 1000,
                available_bytes: (1000.0 * (1.0 - p / 100.0)) as u64,
                read_bps: None,
                write_bps: None,
            });
        }
        s
    }

    fn kinds(evs: &[AlertEvent]) -> Vec<&'static str> {
        evs.iter()
            .map(|e| match e {
                AlertEvent::Raised { .. } => "raised",
                AlertEvent::Escalated { .. } => "escalated",
                AlertEvent::Ended { .. } => "ended",
            })
            .collect()
    }

    #[test]
    fn a_level_alerts_only_after_it_held() {
        let mut t = Tracker::new(AlertConfig::default());
        // A 30-second spike: nothing.
        let mut all = Vec::new();
        for s in 0..30 {
            all.extend(t.observe(&snap(s, 90.0, None)));
        }
        for s in 30..40 {
            all.extend(t.observe(&snap(s, 10.0, None)));
        }
        assert!(all.is_empty(), "{all:?}");
        // Sustained: raised once, after 60 s, dated from its start.
        for s in 40..200 {
            all.extend(t.observe(&snap(s, 80.0, None)));
        }
        assert_eq!(kinds(&all), ["raised"]);
        let a = all[0].alert();
        assert_eq!((a.resource, a.level), (Resource::Cpu, Level::Warning));
        assert_eq!(a.started_at_ms, 1_040_000);
        // Rising to critical escalates the open alert, no new one.
        let ev = t.observe(&snap(200, 95.0, None));
        assert_eq!(kinds(&ev), ["escalated"]);
        assert_eq!(ev[0].alert().id, a.id);
        assert_eq!(t.list().len(), 1);
    }

    #[test]
    fn hovering_at_the_threshold_does_not_flap() {
        let mut t = Tracker::new(AlertConfig::default());
        let mut all = Vec::new();
        for s in 0..61 {
            all.extend(t.observe(&snap(s, 76.0, None)));
        }
        assert_eq!(kinds(&all), ["raised"]);
        // 74–76 % around the 75 % line: still the same alert (the margin is 5 points).
        for s in 61..300 {
            let v = if s % 2 == 0 { 74.0 } else { 76.0 };
            all.extend(t.observe(&snap(s, v, None)));
        }
        assert_eq!(kinds(&all), ["raised"]);
        // Below 70 %: ended, listed with its end.
        all.extend(t.observe(&snap(300, 60.0, None)));
        assert_eq!(kinds(&all), ["raised", "ended"]);
        let list = t.list();
        assert_eq!(list[0].ended_at_ms, Some(1_300_000));
    }

    #[test]
    fn a_full_disk_alerts_at_once() {
        let mut t = Tracker::new(AlertConfig::default());
        let ev = t.observe(&snap(0, 5.0, Some(96.0)));
        assert_eq!(kinds(&ev), ["raised"]);
        let a = ev[0].alert();
        assert_eq!(
            (a.resource, a.subject.as_deref(), a.level),
            (Resource::Disk, Some("/"), Level::Critical)
        );
        // A disk at its warning level waits like the rest.
        let mut t = Tracker::new(AlertConfig::default());
        assert!(t.observe(&snap(0, 5.0, Some(92.0))).is_empty());
    }

    #[test]
    fn a_clock_step_back_restarts_the_wait() {
        let mut t = Tracker::new(AlertConfig::default());
        for s in 100..150 {
            assert!(t.observe(&snap(s, 90.0, None)).is_empty());
        }
        // The clock goes back 100 s: the 50 s already seen do not count.
        for s in 50..100 {
            assert!(t.observe(&snap(s, 90.0, None)).is_empty(), "at {s}");
        }
        assert_eq!(kinds(&t.observe(&snap(110, 90.0, None))), ["raised"]);
    }
}
