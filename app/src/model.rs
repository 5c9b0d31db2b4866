//! Wire types shared by the host (serialises) and the WASM app (deserialises).
//!
//! `Option` means "this platform cannot tell": the UI shows "not available" for `None`,
//! never a zero that would look like a real reading.

use serde::{Deserialize, Serialize};

/// One sample of the whole machine, as pushed to the browser and returned by `/api/v1/status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Milliseconds since the Unix epoch when the sample was taken.
    pub taken_at_ms: u64,
    pub host: HostInfo,
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub disks: Vec<DiskStats>,
    pub networks: Vec<NetStats>,
    pub processes: ProcessLists,
    /// `None`: no temperature sensors readable on this platform.
    pub temperatures: Option<Vec<SensorReading>>,
    /// `None`: no battery (desktop, server) or not readable.
    pub battery: Option<Battery>,
    /// Apple-only readings; `None` on other platforms.
    pub apple: Option<AppleExtras>,
}

impl Snapshot {
    /// Every name in the snapshot that another program chooses (process names, volume mount
    /// points, interface and sensor labels): the text the prompt must treat as data. Tests and
    /// fuzzers forge them through this one list.
    pub fn names_mut(&mut self) -> impl Iterator<Item = &mut String> {
        let p = &mut self.processes;
        p.by_cpu
            .iter_mut()
            .chain(p.by_memory.iter_mut())
            .map(|p| &mut p.name)
            .chain(self.disks.iter_mut().map(|d| &mut d.mount))
            .chain(self.networks.iter_mut().map(|n| &mut n.interface))
            .chain(self.temperatures.iter_mut().flatten().map(|t| &mut t.label))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub kernel: Option<String>,
    pub uptime_s: u64,
    pub cpu_brand: Option<String>,
    pub physical_cores: Option<usize>,
    pub logical_cores: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuStats {
    /// Whole-machine busy share, 0-100.
    pub total_pct: f32,
    pub per_core_pct: Vec<f32>,
    /// 1, 5 and 15 minute load averages; `None` where the OS has none (Windows).
    pub load_avg: Option<[f64; 3]>,
    pub frequency_mhz: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryStats {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
}

impl MemoryStats {
    /// Share of memory in use, 0-100 (0 when the total is unknown).
    pub fn used_pct(&self) -> f32 {
        pct(self.used_bytes, self.total_bytes)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskStats {
    pub mount: String,
    pub file_system: String,
    pub total_bytes: u64,
    pub available_bytes: u64,
    /// Bytes per second since the previous sample; `None` on the first sample or where unsupported.
    pub read_bps: Option<f64>,
    pub write_bps: Option<f64>,
}

impl DiskStats {
    pub fn used_pct(&self) -> f32 {
        pct(
            self.total_bytes.saturating_sub(self.available_bytes),
            self.total_bytes,
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetStats {
    pub interface: String,
    pub rx_bps: Option<f64>,
    pub tx_bps: Option<f64>,
    pub rx_total_bytes: u64,
    pub tx_total_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessLists {
    pub by_cpu: Vec<ProcessInfo>,
    pub by_memory: Vec<ProcessInfo>,
    /// Processes seen in total (not only the top lists).
    pub count: usize,
}

/// A process as the UI and the model may see it: never its command line or environment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub name: String,
    pub cpu_pct: f32,
    pub memory_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SensorReading {
    pub label: String,
    pub celsius: f32,
    pub critical_celsius: Option<f32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Battery {
    pub percent: f32,
    pub state: BatteryState,
    /// Minutes to empty or full, when the OS estimates it.
    pub minutes_remaining: Option<u32>,
    pub source: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatteryState {
    Charging,
    Discharging,
    Full,
    #[default]
    Unknown,
}

/// macOS-only readings (memory pressure, performance vs efficiency cores).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AppleExtras {
    pub performance_cores: Option<u32>,
    pub efficiency_cores: Option<u32>,
    /// Share of memory the kernel considers under pressure (wired + compressed), 0-100.
    pub memory_pressure_pct: Option<f32>,
    pub compressed_bytes: Option<u64>,
}

/// One point of the bounded in-memory history (charts, `/api/v1/history`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub t_ms: u64,
    pub cpu_pct: f32,
    pub mem_pct: f32,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub disk_read_bps: f64,
    pub disk_write_bps: f64,
    /// Swap in use: the diagnosis reads its growth over the last minute. Absent in points a
    /// browser stored before it existed.
    #[serde(default)]
    pub swap_used_bytes: u64,
}

impl HistoryPoint {
    /// The chart point for one sample, the same on the host (history) and in the browser (live
    /// stream): rates summed over disks and interfaces, an unknown rate as 0, and loopback left
    /// out — the page's own stream runs over it and would otherwise chart itself.
    pub fn from_snapshot(s: &Snapshot) -> Self {
        let sum = |it: &mut dyn Iterator<Item = Option<f64>>| it.flatten().sum::<f64>();
        let nets = || s.networks.iter().filter(|n| !is_loopback(&n.interface));
        HistoryPoint {
            t_ms: s.taken_at_ms,
            cpu_pct: s.cpu.total_pct,
            mem_pct: s.memory.used_pct(),
            net_rx_bps: sum(&mut nets().map(|n| n.rx_bps)),
            net_tx_bps: sum(&mut nets().map(|n| n.tx_bps)),
            disk_read_bps: sum(&mut s.disks.iter().map(|d| d.read_bps)),
            disk_write_bps: sum(&mut s.disks.iter().map(|d| d.write_bps)),
            swap_used_bytes: s.memory.swap_used_bytes,
        }
    }
}

/// Loopback interface names: Linux `lo`, macOS `lo0` (and further `loN`).
pub fn is_loopback(interface: &str) -> bool {
    interface
        .strip_prefix("lo")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
}

/// How worried the UI should look; shown with colour *and* text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Normal,
    Careful,
    Warning,
    Critical,
}

/// Three ascending thresholds in percent: careful, warning, critical.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub careful: f32,
    pub warning: f32,
    pub critical: f32,
}

impl Thresholds {
    pub const CPU: Thresholds = Thresholds::new(65.0, 75.0, 85.0);
    pub const MEMORY: Thresholds = Thresholds::new(50.0, 70.0, 90.0);
    pub const DISK: Thresholds = Thresholds::new(80.0, 90.0, 95.0);

    pub const fn new(careful: f32, warning: f32, critical: f32) -> Self {
        Self {
            careful,
            warning,
            critical,
        }
    }

    pub fn level(&self, pct: f32) -> Level {
        if pct >= self.critical {
            Level::Critical
        } else if pct >= self.warning {
            Level::Warning
        } else if pct >= self.careful {
            Level::Careful
        } else {
            Level::Normal
        }
    }
}

fn pct(part: u64, whole: u64) -> f32 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_mut_reaches_every_chosen_name() {
        let mut s = Snapshot::default();
        let proc = |name: &str| ProcessInfo {
            name: name.into(),
            ..Default::default()
        };
        s.processes.by_cpu = vec![proc("a"), proc("b")];
        s.processes.by_memory = vec![proc("c")];
        s.disks = vec![DiskStats {
            mount: "/".into(),
            ..Default::default()
        }];
        s.networks = vec![NetStats {
            interface: "en0".into(),
            ..Default::default()
        }];
        s.temperatures = Some(vec![SensorReading {
            label: "die".into(),
            ..Default::default()
        }]);
        let seen: Vec<String> = s.names_mut().map(|n| n.clone()).collect();
        assert_eq!(seen, ["a", "b", "c", "/", "en0", "die"]);
        s.names_mut().for_each(|n| n.push('!'));
        assert_eq!(s.processes.by_memory[0].name, "c!");
        assert_eq!(s.temperatures.unwrap()[0].label, "die!");
    }

    #[test]
    fn levels_follow_thresholds_at_their_edges() {
        let t = Thresholds::CPU;
        assert_eq!(t.level(64.9), Level::Normal);
        assert_eq!(t.level(65.0), Level::Careful);
        assert_eq!(t.level(75.0), Level::Warning);
        assert_eq!(t.level(84.9), Level::Warning);
        assert_eq!(t.level(85.0), Level::Critical);
        assert_eq!(Thresholds::MEMORY.level(69.0), Level::Careful);
        assert_eq!(Thresholds::DISK.level(96.0), Level::Critical);
    }

    #[test]
    fn percentages_handle_unknown_totals() {
        let m = MemoryStats {
            total_bytes: 0,
            used_bytes: 5,
            ..Default::default()
        };
        assert_eq!(m.used_pct(), 0.0);
        let d = DiskStats {
            total_bytes: 200,
            available_bytes: 50,
            ..Default::default()
        };
        assert_eq!(d.used_pct(), 75.0);
    }
}
