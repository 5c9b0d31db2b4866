//! Bounded in-memory history for the charts: one point per `resolution`, at most `capacity`
//! points, so memory stays fixed however long the host runs.

use std::collections::VecDeque;
use std::time::Duration;

use app::model::HistoryPoint;

/// Ring of [`HistoryPoint`]s, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    resolution_ms: u64,
    capacity: usize,
    points: VecDeque<HistoryPoint>,
}

impl History {
    pub fn new(resolution: Duration, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            resolution_ms: u64::try_from(resolution.as_millis()).unwrap_or(u64::MAX),
            capacity,
            points: VecDeque::with_capacity(capacity),
        }
    }

    /// Appends `point` if at least one resolution step has passed since the last point kept;
    /// returns whether it was kept. Drops the oldest point beyond capacity.
    ///
    /// If the wall clock stepped backwards, the old points would sit "in the future" and the
    /// window arithmetic would break, so the history restarts from `point`.
    pub fn push(&mut self, point: HistoryPoint) -> bool {
        if let Some(last) = self.points.back() {
            if point.t_ms < last.t_ms {
                self.points.clear();
            } else if point.t_ms - last.t_ms < self.resolution_ms {
                return false;
            }
        }
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back(point);
        true
    }

    /// Points no older than `window` before the newest point, oldest first.
    pub fn window(&self, window: Duration) -> Vec<HistoryPoint> {
        let Some(newest) = self.points.back() else {
            return Vec::new();
        };
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let from = newest.t_ms.saturating_sub(window_ms);
        let start = self.points.partition_point(|p| p.t_ms < from);
        self.points.range(start..).copied().collect()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{CpuStats, DiskStats, MemoryStats, NetStats, Snapshot};

    fn at(t_ms: u64) -> HistoryPoint {
        HistoryPoint {
            t_ms,
            cpu_pct: t_ms as f32,
            ..Default::default()
        }
    }

    fn times(points: &[HistoryPoint]) -> Vec<u64> {
        points.iter().map(|p| p.t_ms).collect()
    }

    #[test]
    fn keeps_one_point_per_resolution() {
        let mut h = History::new(Duration::from_secs(2), 100);
        assert!(h.push(at(10_000)));
        assert!(!h.push(at(11_000)));
        assert!(!h.push(at(11_999)));
        assert!(h.push(at(12_000)));
        assert!(!h.push(at(13_500)));
        assert!(h.push(at(14_100)));
        // The next step is measured from the last kept point (14 100), not a fixed grid.
        assert!(!h.push(at(16_000)));
        assert!(h.push(at(16_100)));
        assert_eq!(
            times(&h.window(Duration::from_secs(3600))),
            [10_000, 12_000, 14_100, 16_100]
        );
    }

    #[test]
    fn capacity_drops_the_oldest() {
        let mut h = History::new(Duration::from_millis(1), 3);
        for t in 1..=5 {
            assert!(h.push(at(t)));
        }
        assert_eq!(h.len(), 3);
        assert_eq!(times(&h.window(Duration::MAX)), [3, 4, 5]);
    }

    #[test]
    fn window_is_relative_to_the_newest_point() {
        let mut h = History::new(Duration::from_secs(2), 100);
        assert!(h.window(Duration::from_secs(60)).is_empty());
        for t in (0..=20_000).step_by(2_000) {
            h.push(at(t));
        }
        assert_eq!(
            times(&h.window(Duration::from_secs(6))),
            [14_000, 16_000, 18_000, 20_000]
        );
        assert_eq!(times(&h.window(Duration::ZERO)), [20_000]);
        assert_eq!(h.window(Duration::from_secs(3600)).len(), 11);
        assert_eq!(h.window(Duration::from_secs(3600))[0].cpu_pct, 0.0);
    }

    #[test]
    fn clock_stepping_back_restarts_history() {
        let mut h = History::new(Duration::from_secs(2), 100);
        h.push(at(100_000));
        h.push(at(102_000));
        assert!(h.push(at(50_000)));
        assert_eq!(times(&h.window(Duration::MAX)), [50_000]);
    }

    #[test]
    fn point_sums_rates_and_skips_loopback() {
        let snap = Snapshot {
            taken_at_ms: 42,
            cpu: CpuStats {
                total_pct: 12.5,
                ..Default::default()
            },
            memory: MemoryStats {
                total_bytes: 1_000,
                used_bytes: 250,
                ..Default::default()
            },
            networks: vec![
                NetStats {
                    interface: "en0".into(),
                    rx_bps: Some(100.0),
                    tx_bps: Some(10.0),
                    ..Default::default()
                },
                NetStats {
                    interface: "en1".into(),
                    rx_bps: None,
                    tx_bps: Some(5.0),
                    ..Default::default()
                },
                NetStats {
                    interface: "lo0".into(),
                    rx_bps: Some(1e9),
                    tx_bps: Some(1e9),
                    ..Default::default()
                },
            ],
            disks: vec![
                DiskStats {
                    mount: "/".into(),
                    read_bps: Some(4_096.0),
                    write_bps: None,
                    ..Default::default()
                },
                DiskStats {
                    mount: "/Volumes/X".into(),
                    read_bps: Some(1.0),
                    write_bps: Some(2.0),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let p = HistoryPoint::from_snapshot(&snap);
        assert_eq!(p.t_ms, 42);
        assert_eq!(p.cpu_pct, 12.5);
        assert_eq!(p.mem_pct, 25.0);
        assert_eq!((p.net_rx_bps, p.net_tx_bps), (100.0, 15.0));
        assert_eq!((p.disk_read_bps, p.disk_write_bps), (4_097.0, 2.0));
    }
}
