//! What `/api/v1/history?range=…` answers, shared by the host (which writes it) and the page
//! (which charts it): serde types and pure functions only.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How far back `/api/v1/history?range=` looks; the range picks the resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Range {
    #[serde(rename = "10m")]
    TenMinutes,
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "90d")]
    Quarter,
}

impl Range {
    pub const ALL: [Range; 5] = [
        Range::TenMinutes,
        Range::Hour,
        Range::Day,
        Range::Week,
        Range::Quarter,
    ];

    pub fn span(self) -> Duration {
        const MIN: u64 = 60;
        Duration::from_secs(match self {
            Range::TenMinutes => 10 * MIN,
            Range::Hour => 60 * MIN,
            Range::Day => 24 * 60 * MIN,
            Range::Week => 7 * 24 * 60 * MIN,
            Range::Quarter => 90 * 24 * 60 * MIN,
        })
    }

    /// The 2-second ring up to an hour, 1-minute rows up to a week, 1-hour rows beyond.
    pub fn resolution(self) -> Resolution {
        match self {
            Range::TenMinutes | Range::Hour => Resolution::Live,
            Range::Day | Range::Week => Resolution::Minute,
            Range::Quarter => Resolution::Hour,
        }
    }
}

/// Where a history answer's points come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The in-memory ring: one sample per point (min = mean = max), every 2 s.
    Live,
    /// 1-minute rows of the database (kept 7 days).
    Minute,
    /// 1-hour rows of the database (kept 90 days).
    Hour,
}

/// `format=` of `/api/v1/history`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    Csv,
}

/// The history database's condition, so a chart can say why a long range is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreState {
    /// Open and written every minute.
    Ok,
    /// Turned off (`--no-history`, or no data folder on this machine).
    Off,
    /// Could not be opened (the log says why); only the live ranges have points.
    Unavailable,
    /// Open, but the last write failed (a full disk): the minutes not yet written wait in
    /// memory and are retried every minute.
    Failing,
}

/// Lowest, mean and highest value over a bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

impl Stat {
    /// One sample: all three the same.
    pub fn one(v: f64) -> Self {
        Stat {
            min: v,
            mean: v,
            max: v,
        }
    }
}

/// One volume's used space over a bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeStat {
    pub mount: String,
    pub used_bytes: Stat,
    pub total_bytes: u64,
}

/// The program that used the most CPU over a bucket (processes of one name count together).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopCpu {
    pub name: String,
    /// Mean share over the bucket, % of one core (100 = one core busy).
    pub cpu_pct: f64,
}

/// The program that held the most memory over a bucket (processes of one name count together).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopMemory {
    pub name: String,
    /// Mean resident memory over the bucket.
    pub memory_bytes: f64,
}

/// One chart point: a bucket of `resolution_ms` starting at `t_ms`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start of the bucket (a live point: the sample's time), ms since the Unix epoch.
    pub t_ms: u64,
    /// Samples folded into it.
    pub samples: u32,
    pub cpu_pct: Stat,
    pub mem_pct: Stat,
    pub swap_used_bytes: Stat,
    /// Sums over the interfaces, loopback left out (as the live charts).
    pub net_rx_bps: Stat,
    pub net_tx_bps: Stat,
    /// Sums over the disks.
    pub disk_read_bps: Stat,
    pub disk_write_bps: Stat,
    /// Database rows only (`null` for live points).
    pub mem_used_bytes: Option<Stat>,
    /// Database rows only (empty for live points).
    pub volumes: Vec<VolumeStat>,
    /// Database rows only (`null` for live points, or when no process was listed).
    pub top_cpu: Option<TopCpu>,
    pub top_memory: Option<TopMemory>,
}

/// `GET /api/v1/history?range=…`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RangeHistory {
    pub range: Range,
    pub resolution: Resolution,
    pub resolution_ms: u64,
    /// The window asked for (a chart's x axis), ms since the Unix epoch.
    pub from_ms: u64,
    pub to_ms: u64,
    pub store: StoreState,
    /// Oldest first.
    pub points: Vec<Bucket>,
}

/// Most points a `points=` may ask for; more than a screen has pixels.
pub const MAX_POINTS: usize = 5_000;

impl Stat {
    /// Two buckets' stats as one, the means weighted by their sample counts.
    fn merge(self, other: Stat, w_self: f64, w_other: f64) -> Stat {
        let w = (w_self + w_other).max(f64::MIN_POSITIVE);
        Stat {
            min: self.min.min(other.min),
            mean: (self.mean * w_self + other.mean * w_other) / w,
            max: self.max.max(other.max),
        }
    }
}

impl Bucket {
    /// Folds the next bucket in time into this one. The top programs are those of the heavier
    /// sub-bucket: a bucket keeps one name, not the sums over all names.
    fn absorb(&mut self, next: &Bucket) {
        let (a, b) = (
            f64::from(self.samples.max(1)),
            f64::from(next.samples.max(1)),
        );
        let m = |x: Stat, y: Stat| x.merge(y, a, b);
        self.cpu_pct = m(self.cpu_pct, next.cpu_pct);
        self.mem_pct = m(self.mem_pct, next.mem_pct);
        self.swap_used_bytes = m(self.swap_used_bytes, next.swap_used_bytes);
        self.net_rx_bps = m(self.net_rx_bps, next.net_rx_bps);
        self.net_tx_bps = m(self.net_tx_bps, next.net_tx_bps);
        self.disk_read_bps = m(self.disk_read_bps, next.disk_read_bps);
        self.disk_write_bps = m(self.disk_write_bps, next.disk_write_bps);
        self.mem_used_bytes = match (self.mem_used_bytes, next.mem_used_bytes) {
            (Some(x), Some(y)) => Some(m(x, y)),
            (x, y) => x.or(y),
        };
        for v in &next.volumes {
            match self.volumes.iter_mut().find(|o| o.mount == v.mount) {
                Some(o) => {
                    o.used_bytes = m(o.used_bytes, v.used_bytes);
                    o.total_bytes = o.total_bytes.max(v.total_bytes);
                }
                None => self.volumes.push(v.clone()),
            }
        }
        if next.top_cpu.as_ref().map(|t| t.cpu_pct) > self.top_cpu.as_ref().map(|t| t.cpu_pct) {
            self.top_cpu = next.top_cpu.clone();
        }
        if next.top_memory.as_ref().map(|t| t.memory_bytes)
            > self.top_memory.as_ref().map(|t| t.memory_bytes)
        {
            self.top_memory = next.top_memory.clone();
        }
        self.samples = self.samples.saturating_add(next.samples);
    }
}

impl RangeHistory {
    /// At most `n` points (`points=`): runs of neighbouring buckets merged into one, keeping
    /// the lowest and highest values, so a week of minutes (10,080 rows, 9.6 MB of JSON) draws
    /// its peaks in a few hundred points. The resolution grows by the run length.
    pub fn downsample(mut self, n: usize) -> Self {
        let n = n.max(1);
        if self.points.len() <= n {
            return self;
        }
        let run = self.points.len().div_ceil(n);
        let mut out = Vec::with_capacity(n);
        for chunk in self.points.chunks(run) {
            let mut first = chunk[0].clone();
            for b in &chunk[1..] {
                first.absorb(b);
            }
            out.push(first);
        }
        self.points = out;
        self.resolution_ms = self.resolution_ms.saturating_mul(run as u64);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_have_their_url_names_and_resolutions() {
        let names: Vec<String> = Range::ALL
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        assert_eq!(names, ["\"10m\"", "\"1h\"", "\"24h\"", "\"7d\"", "\"90d\""]);
        assert_eq!(Range::Hour.resolution(), Resolution::Live);
        assert_eq!(Range::Week.resolution(), Resolution::Minute);
        assert_eq!(Range::Quarter.resolution(), Resolution::Hour);
        assert_eq!(Range::Week.span(), Duration::from_secs(7 * 86_400));
        assert!(serde_json::from_str::<Range>("\"2d\"").is_err());
    }

    fn bucket(t_ms: u64, samples: u32, cpu: Stat, top: (&str, f64)) -> Bucket {
        Bucket {
            t_ms,
            samples,
            cpu_pct: cpu,
            volumes: vec![VolumeStat {
                mount: "/".into(),
                used_bytes: Stat::one(t_ms as f64),
                total_bytes: 100,
            }],
            top_cpu: Some(TopCpu {
                name: top.0.into(),
                cpu_pct: top.1,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn downsampling_keeps_extremes_weights_means_and_the_heaviest_program() {
        let points = vec![
            bucket(
                0,
                30,
                Stat {
                    min: 10.0,
                    mean: 20.0,
                    max: 30.0,
                },
                ("a", 5.0),
            ),
            bucket(
                60_000,
                10,
                Stat {
                    min: 0.0,
                    mean: 60.0,
                    max: 99.0,
                },
                ("b", 80.0),
            ),
            bucket(120_000, 60, Stat::one(50.0), ("c", 1.0)),
        ];
        let h = RangeHistory {
            range: Range::Day,
            resolution: Resolution::Minute,
            resolution_ms: 60_000,
            from_ms: 0,
            to_ms: 180_000,
            store: StoreState::Ok,
            points,
        };
        assert_eq!(
            h.clone().downsample(3),
            h,
            "few enough points stay as they are"
        );
        let d = h.downsample(2);
        assert_eq!(d.resolution_ms, 120_000);
        assert_eq!(d.points.len(), 2);
        let first = &d.points[0];
        assert_eq!(first.t_ms, 0);
        assert_eq!(first.samples, 40);
        assert_eq!(first.cpu_pct.min, 0.0);
        assert_eq!(first.cpu_pct.max, 99.0);
        // (20·30 + 60·10) / 40
        assert!((first.cpu_pct.mean - 30.0).abs() < 1e-9);
        assert_eq!(first.top_cpu.as_ref().unwrap().name, "b");
        assert_eq!(first.volumes.len(), 1, "one volume, merged by mount");
        assert_eq!(first.volumes[0].used_bytes.max, 60_000.0);
        assert_eq!(d.points[1].t_ms, 120_000);
        assert_eq!(d.points[1].samples, 60);
    }
}
