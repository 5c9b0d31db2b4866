//! What `/api/v1/history?range=…` answers: serde types only, no host code, so the file can move
//! to `app::model` unchanged when the browser reads them (ARCHITECTURE rule 2).

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
}
