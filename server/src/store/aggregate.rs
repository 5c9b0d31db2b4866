//! Pure aggregation: snapshots → one minute's [`Bucket`], buckets → a longer one (an hour, or
//! two halves of one minute). No I/O, no clock: the store and the tests drive it.

use std::collections::HashMap;

use app::model::{is_loopback, HistoryPoint, Snapshot};

use app::history::{Bucket, Stat, TopCpu, TopMemory, VolumeStat};

/// Running min / sum / max of one quantity.
#[derive(Clone, Copy, Debug)]
struct Acc {
    n: u32,
    min: f64,
    sum: f64,
    max: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            n: 0,
            min: f64::INFINITY,
            sum: 0.0,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Acc {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        self.n += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
    }

    fn add_opt(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.add(v);
        }
    }

    /// Zeros when nothing was seen (an unknown rate charts as 0, as in the live charts).
    fn stat(&self) -> Stat {
        if self.n == 0 {
            return Stat::default();
        }
        Stat {
            min: self.min,
            mean: self.sum / f64::from(self.n),
            max: self.max,
        }
    }
}

/// `start` rounded down to a multiple of `len_ms`.
pub fn bucket_start(t_ms: u64, len_ms: u64) -> u64 {
    t_ms - t_ms % len_ms.max(1)
}

/// One bucket being filled with snapshots (the writer's current minute).
#[derive(Debug)]
pub struct Accumulator {
    len_ms: u64,
    start_ms: u64,
    samples: u32,
    cpu: Acc,
    mem_pct: Acc,
    mem_used: Acc,
    swap: Acc,
    rx: Acc,
    tx: Acc,
    read: Acc,
    write: Acc,
    /// In order of first appearance; a handful of entries, so a scan beats a map.
    volumes: Vec<(String, Acc, u64)>,
    /// Per program name: the sum over samples of its CPU share, and of its memory.
    cpu_by_name: HashMap<String, f64>,
    mem_by_name: HashMap<String, f64>,
}

impl Accumulator {
    /// An empty bucket of `len_ms` (a minute: 60 000).
    pub fn new(len_ms: u64) -> Self {
        Accumulator {
            len_ms: len_ms.max(1),
            start_ms: 0,
            samples: 0,
            cpu: Acc::default(),
            mem_pct: Acc::default(),
            mem_used: Acc::default(),
            swap: Acc::default(),
            rx: Acc::default(),
            tx: Acc::default(),
            read: Acc::default(),
            write: Acc::default(),
            volumes: Vec::new(),
            cpu_by_name: HashMap::new(),
            mem_by_name: HashMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// Folds `s` in. A snapshot of another bucket (the next minute, or an earlier one after the
    /// clock stepped back) first closes this one, which is returned.
    pub fn push(&mut self, s: &Snapshot) -> Option<Bucket> {
        let start = bucket_start(s.taken_at_ms, self.len_ms);
        let closed = if !self.is_empty() && start != self.start_ms {
            self.take()
        } else {
            None
        };
        if self.is_empty() {
            self.start_ms = start;
        }
        self.samples += 1;
        // The same quantities as the live charts (`HistoryPoint::from_snapshot`), except that an
        // unknown rate (the first sample) is left out rather than counted as 0.
        self.cpu.add(f64::from(s.cpu.total_pct));
        self.mem_pct.add(f64::from(s.memory.used_pct()));
        self.mem_used.add(s.memory.used_bytes as f64);
        self.swap.add(s.memory.swap_used_bytes as f64);
        let nets = || s.networks.iter().filter(|n| !is_loopback(&n.interface));
        self.rx.add_opt(known_sum(nets().map(|n| n.rx_bps)));
        self.tx.add_opt(known_sum(nets().map(|n| n.tx_bps)));
        self.read
            .add_opt(known_sum(s.disks.iter().map(|d| d.read_bps)));
        self.write
            .add_opt(known_sum(s.disks.iter().map(|d| d.write_bps)));
        for d in &s.disks {
            let used = d.total_bytes.saturating_sub(d.available_bytes) as f64;
            match self.volumes.iter_mut().find(|(m, ..)| *m == d.mount) {
                Some((_, acc, total)) => {
                    acc.add(used);
                    *total = d.total_bytes;
                }
                None => {
                    let mut acc = Acc::default();
                    acc.add(used);
                    self.volumes.push((d.mount.clone(), acc, d.total_bytes));
                }
            }
        }
        for p in &s.processes.by_cpu {
            add_to(&mut self.cpu_by_name, &p.name, f64::from(p.cpu_pct));
        }
        for p in &s.processes.by_memory {
            add_to(&mut self.mem_by_name, &p.name, p.memory_bytes as f64);
        }
        closed
    }

    /// The bucket so far (`None` when empty), leaving this one empty.
    pub fn take(&mut self) -> Option<Bucket> {
        if self.is_empty() {
            return None;
        }
        let n = f64::from(self.samples);
        let bucket = Bucket {
            t_ms: self.start_ms,
            samples: self.samples,
            cpu_pct: self.cpu.stat(),
            mem_pct: self.mem_pct.stat(),
            swap_used_bytes: self.swap.stat(),
            net_rx_bps: self.rx.stat(),
            net_tx_bps: self.tx.stat(),
            disk_read_bps: self.read.stat(),
            disk_write_bps: self.write.stat(),
            mem_used_bytes: Some(self.mem_used.stat()),
            volumes: self
                .volumes
                .iter()
                .map(|(mount, acc, total)| VolumeStat {
                    mount: mount.clone(),
                    used_bytes: acc.stat(),
                    total_bytes: *total,
                })
                .collect(),
            top_cpu: top(&self.cpu_by_name).map(|(name, sum)| TopCpu {
                name,
                cpu_pct: sum / n,
            }),
            top_memory: top(&self.mem_by_name).map(|(name, sum)| TopMemory {
                name,
                memory_bytes: sum / n,
            }),
        };
        *self = Accumulator::new(self.len_ms);
        Some(bucket)
    }
}

/// The sum of the known values; `None` when none is known.
fn known_sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

fn add_to(map: &mut HashMap<String, f64>, name: &str, v: f64) {
    match map.get_mut(name) {
        Some(sum) => *sum += v,
        None => {
            map.insert(name.to_owned(), v);
        }
    }
}

/// The largest entry; a tie goes to the first name in byte order, so the result never depends on
/// the map's iteration order.
fn top(map: &HashMap<String, f64>) -> Option<(String, f64)> {
    map.iter()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(k, v)| (k.clone(), *v))
}

/// Buckets `parts` (minutes of one hour, or two halves of one minute) as one bucket starting at
/// `t_ms`: min of the mins, max of the maxes, means weighted by samples.
///
/// The top program of the whole is the one with the most CPU (memory) × samples summed over the
/// parts it led, and its figure is that sum over all the samples: its mean over the whole,
/// counting the parts where another program led as zero — a lower bound of its true mean (the
/// parts only keep their leader).
pub fn merge(t_ms: u64, parts: &[Bucket]) -> Option<Bucket> {
    let samples: u32 = parts.iter().map(|b| b.samples).sum();
    if samples == 0 {
        return None;
    }
    let total = f64::from(samples);
    let stat = |get: &dyn Fn(&Bucket) -> Option<Stat>| -> Option<Stat> {
        let mut out: Option<Stat> = None;
        let mut sum = 0.0;
        let mut weight = 0.0;
        for b in parts {
            let Some(s) = get(b) else { continue };
            let w = f64::from(b.samples);
            sum += s.mean * w;
            weight += w;
            out = Some(match out {
                None => s,
                Some(o) => Stat {
                    min: o.min.min(s.min),
                    mean: 0.0,
                    max: o.max.max(s.max),
                },
            });
        }
        out.map(|s| Stat {
            mean: if weight > 0.0 { sum / weight } else { 0.0 },
            ..s
        })
    };
    let all = |get: fn(&Bucket) -> Stat| stat(&|b| Some(get(b))).unwrap_or_default();

    let mut volumes: Vec<VolumeStat> = Vec::new();
    for b in parts {
        for v in &b.volumes {
            if !volumes.iter().any(|o| o.mount == v.mount) {
                let mount = v.mount.clone();
                let used = stat(&|b| {
                    b.volumes
                        .iter()
                        .find(|x| x.mount == mount)
                        .map(|x| x.used_bytes)
                })
                .unwrap_or_default();
                // The newest part's size (a volume can be resized).
                let total_bytes = parts
                    .iter()
                    .rev()
                    .find_map(|b| b.volumes.iter().find(|x| x.mount == v.mount))
                    .map_or(v.total_bytes, |x| x.total_bytes);
                volumes.push(VolumeStat {
                    mount: v.mount.clone(),
                    used_bytes: used,
                    total_bytes,
                });
            }
        }
    }

    let mut cpu: HashMap<String, f64> = HashMap::new();
    let mut mem: HashMap<String, f64> = HashMap::new();
    for b in parts {
        let w = f64::from(b.samples);
        if let Some(t) = &b.top_cpu {
            add_to(&mut cpu, &t.name, t.cpu_pct * w);
        }
        if let Some(t) = &b.top_memory {
            add_to(&mut mem, &t.name, t.memory_bytes * w);
        }
    }

    Some(Bucket {
        t_ms,
        samples,
        cpu_pct: all(|b| b.cpu_pct),
        mem_pct: all(|b| b.mem_pct),
        swap_used_bytes: all(|b| b.swap_used_bytes),
        net_rx_bps: all(|b| b.net_rx_bps),
        net_tx_bps: all(|b| b.net_tx_bps),
        disk_read_bps: all(|b| b.disk_read_bps),
        disk_write_bps: all(|b| b.disk_write_bps),
        mem_used_bytes: stat(&|b| b.mem_used_bytes),
        volumes,
        top_cpu: top(&cpu).map(|(name, sum)| TopCpu {
            name,
            cpu_pct: sum / total,
        }),
        top_memory: top(&mem).map(|(name, sum)| TopMemory {
            name,
            memory_bytes: sum / total,
        }),
    })
}

/// A live point (the 2-second ring) as a one-sample bucket.
pub fn from_point(p: &HistoryPoint) -> Bucket {
    Bucket {
        t_ms: p.t_ms,
        samples: 1,
        cpu_pct: Stat::one(f64::from(p.cpu_pct)),
        mem_pct: Stat::one(f64::from(p.mem_pct)),
        swap_used_bytes: Stat::one(p.swap_used_bytes as f64),
        net_rx_bps: Stat::one(p.net_rx_bps),
        net_tx_bps: Stat::one(p.net_tx_bps),
        disk_read_bps: Stat::one(p.disk_read_bps),
        disk_write_bps: Stat::one(p.disk_write_bps),
        mem_used_bytes: None,
        volumes: Vec::new(),
        top_cpu: None,
        top_memory: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{DiskStats, MemoryStats, NetStats, ProcessInfo, ProcessLists};

    const MIN: u64 = 60_000;

    fn proc(name: &str, cpu_pct: f32, memory_bytes: u64) -> ProcessInfo {
        ProcessInfo {
            pid: 1,
            name: name.into(),
            cpu_pct,
            memory_bytes,
        }
    }

    /// Sample `i` of a synthetic series: CPU `i` %, memory used `100 + i`, swap `2 i`, rx `10 i`,
    /// one disk growing by 1 byte a sample, and two programs whose lead changes at `i = 30`.
    fn sample(t_ms: u64, i: u32) -> Snapshot {
        let f = f64::from(i);
        let (a, b) = if i < 30 { (50.0, 10.0) } else { (5.0, 20.0) };
        Snapshot {
            taken_at_ms: t_ms,
            cpu: app::model::CpuStats {
                total_pct: i as f32,
                ..Default::default()
            },
            memory: MemoryStats {
                total_bytes: 1_000,
                used_bytes: 100 + u64::from(i),
                swap_used_bytes: 2 * u64::from(i),
                ..Default::default()
            },
            networks: vec![
                NetStats {
                    interface: "en0".into(),
                    rx_bps: (i > 0).then_some(10.0 * f),
                    tx_bps: (i > 0).then_some(1.0),
                    ..Default::default()
                },
                NetStats {
                    interface: "lo0".into(),
                    rx_bps: Some(1e9),
                    tx_bps: Some(1e9),
                    ..Default::default()
                },
            ],
            disks: vec![DiskStats {
                mount: "/".into(),
                total_bytes: 10_000,
                available_bytes: 10_000 - 1_000 - u64::from(i),
                ..Default::default()
            }],
            processes: ProcessLists {
                by_cpu: vec![proc("alpha", a, 0), proc("beta", b, 0), proc("beta", b, 0)],
                by_memory: vec![proc("alpha", 0.0, 300), proc("gamma", 0.0, 200)],
                count: 3,
            },
            ..Default::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_minute_of_a_synthetic_series() {
        let mut acc = Accumulator::new(MIN);
        let t0 = 1_700_000_040_000 - 1_700_000_040_000 % MIN;
        for i in 0..60 {
            assert!(acc.push(&sample(t0 + u64::from(i) * 1_000, i)).is_none());
        }
        // The first sample of the next minute closes this one.
        let b = acc.push(&sample(t0 + MIN, 0)).expect("a closed minute");
        assert_eq!((b.t_ms, b.samples), (t0, 60));
        assert_eq!(
            b.cpu_pct,
            Stat {
                min: 0.0,
                mean: 29.5,
                max: 59.0
            }
        );
        let used = b.mem_used_bytes.unwrap();
        assert_eq!((used.min, used.mean, used.max), (100.0, 129.5, 159.0));
        // (`mem_pct` is an f32 on the wire of the live charts.)
        assert!((b.mem_pct.mean - 12.95).abs() < 1e-4, "{:?}", b.mem_pct);
        assert_eq!(b.swap_used_bytes.max, 118.0);
        // The first sample had no rate: left out, not counted as 0; loopback never counts.
        assert_eq!(
            b.net_rx_bps,
            Stat {
                min: 10.0,
                mean: 300.0,
                max: 590.0
            }
        );
        assert_eq!(b.net_tx_bps, Stat::one(1.0));
        assert_eq!(b.disk_read_bps, Stat::default(), "no rate at all: zeros");
        assert_eq!(b.volumes.len(), 1);
        assert_eq!(b.volumes[0].mount, "/");
        assert_eq!(b.volumes[0].total_bytes, 10_000);
        assert_eq!(
            b.volumes[0].used_bytes,
            Stat {
                min: 1_000.0,
                mean: 1_029.5,
                max: 1_059.0
            }
        );
        // alpha: 30 × 50 + 30 × 5 = 1650 → 27.5 % mean; beta (two processes, one name):
        // 30 × 20 + 30 × 40 = 1800 → 30 %. beta leads the minute.
        let top = b.top_cpu.unwrap();
        assert_eq!(top.name, "beta");
        assert!(close(top.cpu_pct, 30.0), "{top:?}");
        let top = b.top_memory.unwrap();
        assert_eq!((top.name.as_str(), top.memory_bytes), ("alpha", 300.0));
        // The next minute started with the sample that closed this one.
        assert_eq!(acc.take().unwrap().samples, 1);
        assert!(acc.take().is_none());
    }

    #[test]
    fn a_clock_step_back_closes_the_bucket() {
        let mut acc = Accumulator::new(MIN);
        acc.push(&sample(10 * MIN + 5, 1));
        let closed = acc.push(&sample(3 * MIN, 2)).unwrap();
        assert_eq!(closed.t_ms, 10 * MIN);
        assert_eq!(acc.take().unwrap().t_ms, 3 * MIN);
    }

    #[test]
    fn merging_minutes_into_an_hour_weighs_by_samples() {
        let mut a = Accumulator::new(MIN);
        for i in 0..30 {
            a.push(&sample(u64::from(i) * 1_000, i));
        }
        let first = a.take().unwrap();
        for i in 30..40 {
            a.push(&sample(MIN + u64::from(i) * 1_000, i));
        }
        let second = a.take().unwrap();
        let h = merge(0, &[first.clone(), second.clone()]).unwrap();
        assert_eq!((h.t_ms, h.samples), (0, 40));
        // The same as one bucket over all 40 samples.
        assert_eq!(
            h.cpu_pct,
            Stat {
                min: 0.0,
                mean: 19.5,
                max: 39.0
            }
        );
        assert_eq!(h.mem_used_bytes.unwrap().mean, 119.5);
        assert_eq!(h.volumes[0].used_bytes.max, 1_039.0);
        // Leaders: alpha (50 % × 30 samples) then beta (40 % × 10): alpha, over 40 samples.
        assert_eq!(first.top_cpu.as_ref().unwrap().name, "alpha");
        assert_eq!(second.top_cpu.as_ref().unwrap().name, "beta");
        let top = h.top_cpu.unwrap();
        assert_eq!(top.name, "alpha");
        assert!(close(top.cpu_pct, 50.0 * 30.0 / 40.0), "{top:?}");
        assert!(merge(0, &[]).is_none());
        assert_eq!(
            merge(7, std::slice::from_ref(&first)).unwrap().cpu_pct,
            first.cpu_pct
        );
    }

    #[test]
    fn a_live_point_is_a_one_sample_bucket() {
        let p = HistoryPoint {
            t_ms: 5,
            cpu_pct: 12.5,
            net_rx_bps: 3.0,
            ..Default::default()
        };
        let b = from_point(&p);
        assert_eq!((b.t_ms, b.samples), (5, 1));
        assert_eq!(b.cpu_pct, Stat::one(12.5));
        assert_eq!(b.net_rx_bps.max, 3.0);
        assert!(b.mem_used_bytes.is_none() && b.volumes.is_empty() && b.top_cpu.is_none());
    }
}
