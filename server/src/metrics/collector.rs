//! The sampler: owns the `sysinfo` handles and turns one tick into one [`Snapshot`], refreshing
//! only what is due so the idle host stays well under 1 % of a core.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use app::model::{
    AppleExtras, Battery, CpuStats, DiskStats, HostInfo, MemoryStats, NetStats, ProcessInfo,
    ProcessLists, SensorReading, Snapshot,
};
use sysinfo::{
    Components, CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, Pid,
    ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System,
};

use super::rates::{rate, CounterRates};
use super::{battery, macos};

/// File systems that hold no user data (kernel interfaces, RAM disks, read-only snap images);
/// listing them would bury the real disks.
const PSEUDO_FILE_SYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "nullfs",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "securityfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

pub(crate) fn is_pseudo_fs(file_system: &str) -> bool {
    PSEUDO_FILE_SYSTEMS.contains(&file_system)
}

/// Only what the UI shows: CPU time and resident memory. Command lines, environment, executable
/// path and cwd are never read (privacy), and Linux threads are not listed as processes.
fn process_refresh_kind() -> ProcessRefreshKind {
    ProcessRefreshKind::nothing()
        .with_cpu()
        .with_memory()
        .without_tasks()
}

fn disk_refresh_kind() -> DiskRefreshKind {
    DiskRefreshKind::nothing().with_storage().with_io_usage()
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What the sampler needs from [`super::MetricsConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cadence {
    pub process_every: u64,
    pub sensor_every: u64,
    pub top_n: usize,
}

pub(crate) struct Collector {
    cadence: Cadence,
    tick: u64,
    system: System,
    disks: Disks,
    networks: Networks,
    components: Components,
    /// Fixed facts, read once; only `uptime_s` changes per tick.
    host: HostInfo,
    disk_rates: CounterRates<2>,
    net_rates: CounterRates<2>,
    /// Accumulated CPU milliseconds per process at the previous process refresh.
    proc_cpu_ms: HashMap<Pid, u64>,
    proc_refreshed_at: Option<Instant>,
    // Results of the slower cadences, reused between their refreshes.
    processes: ProcessLists,
    frequency_mhz: Option<u64>,
    temperatures: Option<Vec<SensorReading>>,
    battery: Option<Battery>,
    apple: Option<AppleExtras>,
    /// macOS P/E core counts: they never change, so `sysctl` runs once.
    perf_cores: Option<(Option<u32>, Option<u32>)>,
}

impl Collector {
    pub(crate) fn new(cadence: Cadence) -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::everything())
                .with_memory(MemoryRefreshKind::everything()),
        );
        let cpu_brand = system
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_owned())
            .filter(|b| !b.is_empty());
        let host = HostInfo {
            hostname: System::host_name(),
            // sysinfo says "Darwin" (the kernel); people know their Mac's OS as macOS.
            os_name: if cfg!(target_os = "macos") {
                Some("macOS".to_owned())
            } else {
                System::name()
            },
            os_version: System::os_version(),
            kernel: System::kernel_version(),
            uptime_s: System::uptime(),
            cpu_brand,
            physical_cores: System::physical_core_count(),
            logical_cores: system.cpus().len(),
        };
        Self {
            cadence: Cadence {
                process_every: cadence.process_every.max(1),
                sensor_every: cadence.sensor_every.max(1),
                top_n: cadence.top_n,
            },
            tick: 0,
            system,
            disks: Disks::new_with_refreshed_list_specifics(disk_refresh_kind()),
            networks: Networks::new_with_refreshed_list(),
            components: Components::new_with_refreshed_list(),
            host,
            disk_rates: CounterRates::new(),
            net_rates: CounterRates::new(),
            proc_cpu_ms: HashMap::new(),
            proc_refreshed_at: None,
            processes: ProcessLists::default(),
            frequency_mhz: None,
            temperatures: None,
            battery: None,
            apple: None,
            perf_cores: None,
        }
    }

    /// Takes one sample. Tick 0 refreshes everything; processes are also refreshed on tick 1 so
    /// their CPU column is real after one interval rather than after `process_every`.
    pub(crate) fn sample(&mut self) -> Snapshot {
        let tick = self.tick;
        self.tick += 1;
        let first = tick == 0;
        let processes_due = tick.is_multiple_of(self.cadence.process_every) || tick == 1;
        let sensors_due = tick.is_multiple_of(self.cadence.sensor_every);

        self.system.refresh_cpu_usage();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::everything());
        if !first {
            // The lists were just built in `new`.
            self.networks.refresh(true);
            self.disks.refresh_specifics(true, disk_refresh_kind());
        }
        let now = Instant::now();

        if processes_due {
            self.refresh_processes(now);
        }
        if sensors_due {
            self.refresh_sensors(first);
        }

        let memory = MemoryStats {
            total_bytes: self.system.total_memory(),
            used_bytes: self.system.used_memory(),
            available_bytes: self.system.available_memory(),
            swap_total_bytes: self.system.total_swap(),
            swap_used_bytes: self.system.used_swap(),
        };
        let cpu = CpuStats {
            total_pct: self.system.global_cpu_usage(),
            per_core_pct: self.system.cpus().iter().map(|c| c.cpu_usage()).collect(),
            load_avg: if cfg!(windows) {
                None
            } else {
                let l = System::load_average();
                Some([l.one, l.five, l.fifteen])
            },
            frequency_mhz: self.frequency_mhz,
        };
        let host = HostInfo {
            uptime_s: System::uptime(),
            ..self.host.clone()
        };

        Snapshot {
            taken_at_ms: now_ms(),
            host,
            cpu,
            memory,
            disks: self.disk_stats(now),
            networks: self.net_stats(now),
            processes: self.processes.clone(),
            temperatures: self.temperatures.clone(),
            battery: self.battery.clone(),
            apple: self.apple.clone(),
        }
    }

    /// One row per real mount. I/O counters belong to the device, so a device mounted twice
    /// (bind mounts, container files) reports its rates on its first mount only; the others get
    /// `None` so that summing rows does not count the same bytes twice.
    fn disk_stats(&mut self, now: Instant) -> Vec<DiskStats> {
        let mut mounts = HashSet::new();
        let mut devices: HashSet<OsString> = HashSet::new();
        let mut out = Vec::new();
        for disk in self.disks.list() {
            let file_system = disk.file_system().to_string_lossy().into_owned();
            if is_pseudo_fs(&file_system) {
                continue;
            }
            let mount = disk.mount_point().to_string_lossy().into_owned();
            if !mounts.insert(mount.clone()) {
                continue;
            }
            let usage = disk.usage();
            let [read, write] = self.disk_rates.observe(
                &mount,
                now,
                [usage.total_read_bytes, usage.total_written_bytes],
            );
            let (read_bps, write_bps) = if devices.insert(disk.name().to_os_string()) {
                (read, write)
            } else {
                (None, None)
            };
            out.push(DiskStats {
                mount,
                file_system,
                total_bytes: disk.total_space(),
                available_bytes: disk.available_space(),
                read_bps,
                write_bps,
            });
        }
        self.disk_rates.end_pass();
        out
    }

    fn net_stats(&mut self, now: Instant) -> Vec<NetStats> {
        let mut out: Vec<NetStats> = self
            .networks
            .list()
            .iter()
            .map(|(name, data)| {
                let rx = data.total_received();
                let tx = data.total_transmitted();
                let [rx_bps, tx_bps] = self.net_rates.observe(name, now, [rx, tx]);
                NetStats {
                    interface: name.clone(),
                    rx_bps,
                    tx_bps,
                    rx_total_bytes: rx,
                    tx_total_bytes: tx,
                }
            })
            .collect();
        self.net_rates.end_pass();
        // The OS hands them over in hash order; a stable order keeps the UI from reshuffling.
        out.sort_by(|a, b| a.interface.cmp(&b.interface));
        out
    }

    /// Refreshes the process table and rebuilds the top lists.
    ///
    /// CPU % is computed here from accumulated CPU time over the wall time between *process*
    /// refreshes. sysinfo's own `cpu_usage()` divides by the time since the last *CPU* refresh,
    /// which runs every tick, so with `process_every` > 1 it would overstate by that factor.
    /// Same unit as sysinfo: 100 = one core busy, may exceed 100.
    fn refresh_processes(&mut self, now: Instant) {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            process_refresh_kind(),
        );
        let elapsed = self
            .proc_refreshed_at
            .map(|t| now.saturating_duration_since(t));
        self.proc_refreshed_at = Some(now);
        let max_pct = 100.0 * self.host.logical_cores.max(1) as f32;

        let processes = self.system.processes();
        let mut cpu_ms = HashMap::with_capacity(processes.len());
        let rows: Vec<ProcessInfo> = processes
            .iter()
            .map(|(pid, p)| {
                let ms = p.accumulated_cpu_time();
                cpu_ms.insert(*pid, ms);
                let cpu_pct = match (self.proc_cpu_ms.get(pid), elapsed) {
                    (Some(&prev), Some(dt)) => cpu_pct(prev, ms, dt, max_pct),
                    // New process (or first refresh): no interval to measure over yet.
                    _ => 0.0,
                };
                let name = p.name().to_string_lossy();
                ProcessInfo {
                    pid: pid.as_u32(),
                    name: if name.is_empty() {
                        format!("pid {}", pid.as_u32())
                    } else {
                        name.into_owned()
                    },
                    cpu_pct,
                    memory_bytes: p.memory(),
                }
            })
            .collect();
        self.proc_cpu_ms = cpu_ms;
        self.processes = top_lists(rows, self.cadence.top_n);
    }

    fn refresh_sensors(&mut self, first: bool) {
        self.system.refresh_cpu_frequency();
        self.frequency_mhz = self
            .system
            .cpus()
            .first()
            .map(|c| c.frequency())
            .filter(|&f| f > 0);

        if !first {
            self.components.refresh(true);
        }
        let readings: Vec<SensorReading> = self
            .components
            .list()
            .iter()
            .filter_map(|c| {
                let celsius = c.temperature().filter(|t| t.is_finite())?;
                Some(SensorReading {
                    label: c.label().to_owned(),
                    celsius,
                    critical_celsius: c.critical().filter(|t| t.is_finite()),
                })
            })
            .collect();
        // An empty list would read as "sensors, all absent"; `None` says "not available".
        self.temperatures = (!readings.is_empty()).then_some(readings);

        self.battery = read_battery();
        if cfg!(target_os = "macos") {
            self.apple = Some(self.read_apple());
        }
    }

    /// macOS extras via `sysctl` / `vm_stat`. Failures leave fields `None` (logged at debug: a
    /// missing tool would otherwise log every few seconds).
    fn read_apple(&mut self) -> AppleExtras {
        let (performance_cores, efficiency_cores) =
            *self
                .perf_cores
                .get_or_insert_with(|| match macos::read_perf_cores() {
                    Ok(cores) => cores,
                    Err(err) => {
                        tracing::warn!(%err, "cannot read performance/efficiency core counts");
                        (None, None)
                    }
                });
        let vm = macos::read_vm_stat()
            .inspect_err(|err| tracing::debug!(%err, "vm_stat failed"))
            .ok();
        let total = self.system.total_memory();
        AppleExtras {
            performance_cores,
            efficiency_cores,
            memory_pressure_pct: vm.as_ref().and_then(|v| v.pressure_pct(total)),
            compressed_bytes: vm.as_ref().and_then(|v| v.compressed_bytes()),
        }
    }
}

/// CPU share of a process whose accumulated CPU time went from `prev_ms` to `now_ms` over `dt`;
/// 0 when unknown (pid reused, no time passed), capped at all cores busy.
pub(crate) fn cpu_pct(prev_ms: u64, now_ms: u64, dt: std::time::Duration, max_pct: f32) -> f32 {
    // CPU-ms per wall second / 1000 * 100.
    rate(prev_ms, now_ms, dt)
        .map(|ms_per_s| (ms_per_s / 10.0) as f32)
        .unwrap_or(0.0)
        .min(max_pct)
}

/// The `n` busiest processes by CPU and by resident memory (ties broken by pid, so the order is
/// stable between refreshes), plus the total count.
pub(crate) fn top_lists(mut rows: Vec<ProcessInfo>, n: usize) -> ProcessLists {
    let count = rows.len();
    rows.sort_unstable_by(|a, b| b.cpu_pct.total_cmp(&a.cpu_pct).then(a.pid.cmp(&b.pid)));
    let by_cpu = rows.iter().take(n).cloned().collect();
    rows.sort_unstable_by(|a, b| b.memory_bytes.cmp(&a.memory_bytes).then(a.pid.cmp(&b.pid)));
    rows.truncate(n);
    ProcessLists {
        by_cpu,
        by_memory: rows,
        count,
    }
}

fn read_battery() -> Option<Battery> {
    if cfg!(target_os = "macos") {
        macos::read_pmset_battery()
            .inspect_err(|err| tracing::debug!(%err, "pmset failed"))
            .ok()
            .flatten()
    } else if cfg!(target_os = "linux") {
        battery::read_sysfs_battery(Path::new("/sys/class/power_supply"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn proc(pid: u32, cpu_pct: f32, memory_bytes: u64) -> ProcessInfo {
        ProcessInfo {
            pid,
            name: format!("p{pid}"),
            cpu_pct,
            memory_bytes,
        }
    }

    #[test]
    fn top_lists_sort_and_cut() {
        let rows = vec![
            proc(1, 0.5, 900),
            proc(2, 150.0, 10),
            proc(3, 20.0, 5_000),
            proc(4, 20.0, 1),
            proc(5, 0.0, 300),
        ];
        let lists = top_lists(rows, 3);
        assert_eq!(lists.count, 5);
        let pids = |v: &[ProcessInfo]| v.iter().map(|p| p.pid).collect::<Vec<_>>();
        assert_eq!(pids(&lists.by_cpu), [2, 3, 4]);
        assert_eq!(pids(&lists.by_memory), [3, 1, 5]);
        // Multi-core usage is kept as is.
        assert_eq!(lists.by_cpu[0].cpu_pct, 150.0);

        let empty = top_lists(Vec::new(), 8);
        assert_eq!((empty.count, empty.by_cpu.len()), (0, 0));
    }

    #[test]
    fn process_cpu_from_accumulated_time() {
        let five_s = Duration::from_secs(5);
        // 2.5 s of CPU over 5 s wall = half a core.
        assert_eq!(cpu_pct(10_000, 12_500, five_s, 800.0), 50.0);
        // Two cores busy.
        assert_eq!(cpu_pct(0, 10_000, five_s, 800.0), 200.0);
        // Capped at every core busy.
        assert_eq!(cpu_pct(0, 100_000, five_s, 800.0), 800.0);
        // Pid reused by a younger process: unknown, shown as idle.
        assert_eq!(cpu_pct(50_000, 10, five_s, 800.0), 0.0);
        assert_eq!(cpu_pct(0, 10, Duration::ZERO, 800.0), 0.0);
    }

    #[test]
    fn samples_this_machine_with_rates_from_the_second_sample() {
        let mut c = Collector::new(Cadence {
            process_every: 5,
            sensor_every: 10,
            top_n: 3,
        });
        let s1 = c.sample();
        assert!(s1.host.logical_cores > 0);
        assert_eq!(s1.cpu.per_core_pct.len(), s1.host.logical_cores);
        assert!(s1.memory.total_bytes > 0);
        assert!(s1.memory.used_bytes <= s1.memory.total_bytes);
        assert!(s1.processes.count > 0);
        #[cfg(unix)]
        assert!(s1.cpu.load_avg.is_some());
        if let Some(t) = &s1.temperatures {
            assert!(!t.is_empty());
            assert!(t.iter().all(|r| r.celsius.is_finite()));
        }
        if !cfg!(target_os = "macos") {
            assert_eq!(s1.apple, None);
        }
        // Nothing to compare counters with yet.
        assert!(s1
            .networks
            .iter()
            .all(|n| n.rx_bps.is_none() && n.tx_bps.is_none()));
        assert!(s1
            .disks
            .iter()
            .all(|d| d.read_bps.is_none() && d.write_bps.is_none()));

        std::thread::sleep(Duration::from_millis(30));
        let s2 = c.sample();
        assert!(s2.taken_at_ms >= s1.taken_at_ms);
        for net in &s2.networks {
            if s1.networks.iter().any(|n| n.interface == net.interface) {
                assert!(net.rx_bps.is_some(), "{} has no rx rate", net.interface);
                assert!(net.tx_bps.is_some(), "{} has no tx rate", net.interface);
            }
        }
        let mut mounts = HashSet::new();
        for d in &s2.disks {
            assert!(!is_pseudo_fs(&d.file_system), "{} listed", d.file_system);
            assert!(mounts.insert(&d.mount), "{} twice", d.mount);
            assert!(d.available_bytes <= d.total_bytes);
        }
        // Tick 1 refreshes processes (so CPU % is measured), capped to top_n.
        assert!(s2.processes.by_cpu.len() <= 3 && !s2.processes.by_cpu.is_empty());
        assert_eq!(s2.processes.by_memory.len(), s2.processes.by_cpu.len());
        assert!(s2
            .processes
            .by_cpu
            .iter()
            .all(|p| !p.name.is_empty() && p.cpu_pct >= 0.0));
    }

    #[test]
    fn pseudo_file_systems() {
        for fs in ["tmpfs", "devtmpfs", "squashfs", "proc", "devfs", "autofs"] {
            assert!(is_pseudo_fs(fs), "{fs}");
        }
        for fs in [
            "apfs", "ext4", "overlay", "btrfs", "xfs", "hfs", "exfat", "msdos",
        ] {
            assert!(!is_pseudo_fs(fs), "{fs}");
        }
    }
}
