//! The machine's readings in `/metrics`, beside the chat counters: a Prometheus
//! [`Collector`] that reads the latest snapshot at scrape time, so nothing is sampled or stored
//! twice and a scrape costs one pointer copy plus the text encoding.
//!
//! Names follow node_exporter where a reading means the same thing (`node_load1`,
//! `node_memory_total_bytes`, `node_filesystem_avail_bytes`, `node_network_receive_bytes_total`
//! …), so existing dashboards and alert rules work; the rest are `mac_status_*` with their unit
//! in the name (bytes, seconds, ratios 0–1, celsius). Where the snapshot has a rate and no
//! counter (disk I/O, CPU busy share) the metric is a gauge that says so in its name, never a
//! fake `_total`.
//!
//! Label values are names other programs choose (volumes, interfaces, sensors, processes).
//! `prometheus-client`'s text encoder writes label values verbatim, so [`Escaped`] escapes
//! them as the exposition format requires: one bad name must not break the whole scrape.

use std::fmt::Write as _;
use std::sync::Arc;

use app::model::{BatteryState, Snapshot};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, MetricEncoder,
    NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::metrics::MetricsHub;
use crate::telemetry::ChatTelemetry;

/// A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl EncodeLabelValue for Escaped<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let escaped = match c {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                _ => continue,
            };
            encoder.write_str(&s[start..i])?;
            encoder.write_str(escaped)?;
            start = i + c.len_utf8();
        }
        encoder.write_str(&s[start..])
    }
}

/// Where the collector reads its snapshot: the live sampler, or a fixed one (tests, benches).
#[derive(Clone)]
enum Source {
    Hub(MetricsHub),
    Fixed(Arc<Snapshot>),
}

/// The host's readings, encoded at each scrape from the newest snapshot.
#[derive(Clone)]
pub struct HostCollector {
    source: Source,
}

impl std::fmt::Debug for HostCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCollector").finish_non_exhaustive()
    }
}

impl HostCollector {
    /// Reads `hub.latest()` at every scrape, and the sampler's own health.
    pub fn live(hub: MetricsHub) -> Self {
        Self {
            source: Source::Hub(hub),
        }
    }

    /// Always the same snapshot (a recorded one): for tests and the scrape benchmark.
    pub fn fixed(snapshot: Snapshot) -> Self {
        Self {
            source: Source::Fixed(Arc::new(snapshot)),
        }
    }
}

const RATIO: &str = "ratio";

/// A gauge family, written only when it has samples (an absent reading is no series, not 0).
fn gauges<S: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (S, f64)>,
) -> std::fmt::Result {
    let mut samples = samples.into_iter().peekable();
    if samples.peek().is_none() {
        return Ok(());
    }
    let mut metric = enc.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, v) in samples {
        metric.encode_family(&labels)?.encode_gauge(&v)?;
    }
    Ok(())
}

/// One unlabelled gauge, skipped when `None`.
fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: Option<f64>,
) -> std::fmt::Result {
    if let Some(v) = v {
        let mut metric: MetricEncoder =
            enc.encode_descriptor(name, help, unit, MetricType::Gauge)?;
        metric.encode_gauge(&v)?;
    }
    Ok(())
}

/// A counter family (`_total` is added by the encoder).
fn counters<S: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (S, u64)>,
) -> std::fmt::Result {
    let mut samples = samples.into_iter().peekable();
    if samples.peek().is_none() {
        return Ok(());
    }
    let mut metric = enc.encode_descriptor(name, help, unit, MetricType::Counter)?;
    for (labels, v) in samples {
        metric
            .encode_family(&labels)?
            .encode_counter::<NoLabelSet, _, u64>(&v, None)?;
    }
    Ok(())
}

fn pct_to_ratio(pct: f32) -> f64 {
    f64::from(pct) / 100.0
}

/// Sensor labels may repeat (several chips name a sensor alike): a repeated label gets ` #2`,
/// ` #3`… so that every series stays distinct (Prometheus drops duplicate series).
fn distinct(labels: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, u32>::new();
    labels
        .map(|l| {
            let n = seen.entry(l.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                l
            } else {
                format!("{l} #{n}")
            }
        })
        .collect()
}

/// A volume's labels, as node_exporter names them.
fn volume(d: &app::model::DiskStats) -> [(&'static str, Escaped<'_>); 2] {
    [
        ("mountpoint", Escaped(&d.mount)),
        ("fstype", Escaped(&d.file_system)),
    ]
}

/// Every machine reading of `s`.
pub fn encode_snapshot(s: &Snapshot, enc: &mut DescriptorEncoder) -> std::fmt::Result {
    let bytes = Unit::Bytes;
    let seconds = Unit::Seconds;
    let ratio = Unit::Other(RATIO.into());
    let celsius = Unit::Celsius;
    let bps = Unit::Other("bytes_per_second".into());

    // Host.
    let h = &s.host;
    let info = |v: &Option<String>| v.as_deref().unwrap_or("").to_owned();
    let (hostname, os, os_version, kernel, cpu_brand) = (
        info(&h.hostname),
        info(&h.os_name),
        info(&h.os_version),
        info(&h.kernel),
        info(&h.cpu_brand),
    );
    gauges(
        enc,
        "mac_status_host_info",
        "The machine: host name, OS, kernel and CPU model (always 1)",
        None,
        [(
            [
                ("hostname", Escaped(&hostname)),
                ("os", Escaped(&os)),
                ("os_version", Escaped(&os_version)),
                ("kernel", Escaped(&kernel)),
                ("cpu", Escaped(&cpu_brand)),
            ],
            1.0,
        )],
    )?;
    let boot = (s.taken_at_ms / 1000).saturating_sub(h.uptime_s);
    gauge(
        enc,
        "node_boot_time",
        "Unix time the machine booted",
        Some(&seconds),
        (s.taken_at_ms > 0).then_some(boot as f64),
    )?;
    let cores = [
        ("logical", Some(h.logical_cores as f64)),
        ("physical", h.physical_cores.map(|c| c as f64)),
        (
            "performance",
            s.apple
                .as_ref()
                .and_then(|a| a.performance_cores)
                .map(f64::from),
        ),
        (
            "efficiency",
            s.apple
                .as_ref()
                .and_then(|a| a.efficiency_cores)
                .map(f64::from),
        ),
    ];
    gauges(
        enc,
        "mac_status_cpu_cores",
        "CPU cores by kind (logical, physical; performance and efficiency on Apple silicon)",
        None,
        cores
            .into_iter()
            .filter_map(|(kind, n)| Some(([("kind", kind)], n?))),
    )?;

    // CPU.
    gauge(
        enc,
        "mac_status_cpu_usage",
        "Whole-machine CPU busy share over the last sampling interval, 0-1",
        Some(&ratio),
        Some(pct_to_ratio(s.cpu.total_pct)),
    )?;
    let core_names: Vec<String> = (0..s.cpu.per_core_pct.len())
        .map(|i| i.to_string())
        .collect();
    gauges(
        enc,
        "mac_status_cpu_core_usage",
        "CPU busy share of each logical core over the last sampling interval, 0-1",
        Some(&ratio),
        core_names
            .iter()
            .zip(&s.cpu.per_core_pct)
            .map(|(cpu, pct)| ([("cpu", cpu.as_str())], pct_to_ratio(*pct))),
    )?;
    gauge(
        enc,
        "mac_status_cpu_frequency",
        "CPU clock frequency",
        Some(&Unit::Other("hertz".into())),
        s.cpu.frequency_mhz.map(|m| m as f64 * 1e6),
    )?;
    if let Some([l1, l5, l15]) = s.cpu.load_avg {
        gauge(enc, "node_load1", "1-minute load average", None, Some(l1))?;
        gauge(enc, "node_load5", "5-minute load average", None, Some(l5))?;
        gauge(
            enc,
            "node_load15",
            "15-minute load average",
            None,
            Some(l15),
        )?;
    }

    // Memory and swap.
    let m = &s.memory;
    gauge(
        enc,
        "node_memory_total",
        "Physical memory",
        Some(&bytes),
        Some(m.total_bytes as f64),
    )?;
    gauge(
        enc,
        "mac_status_memory_used",
        "Memory in use (as Activity Monitor's \"Memory Used\")",
        Some(&bytes),
        Some(m.used_bytes as f64),
    )?;
    gauge(
        enc,
        "mac_status_memory_available",
        "Memory available to new work without swapping",
        Some(&bytes),
        Some(m.available_bytes as f64),
    )?;
    gauge(
        enc,
        "node_memory_swap_total",
        "Swap space",
        Some(&bytes),
        Some(m.swap_total_bytes as f64),
    )?;
    gauge(
        enc,
        "node_memory_swap_used",
        "Swap space in use",
        Some(&bytes),
        Some(m.swap_used_bytes as f64),
    )?;
    let apple = s.apple.as_ref();
    gauge(
        enc,
        "node_memory_compressed",
        "Memory held by the compressor (macOS)",
        Some(&bytes),
        apple.and_then(|a| a.compressed_bytes).map(|b| b as f64),
    )?;
    gauge(
        enc,
        "mac_status_memory_pressure",
        "Share of memory the kernel considers under pressure, wired + compressed, 0-1 (macOS)",
        Some(&ratio),
        apple.and_then(|a| a.memory_pressure_pct).map(pct_to_ratio),
    )?;

    // Volumes.
    gauges(
        enc,
        "node_filesystem_size",
        "Volume size",
        Some(&bytes),
        s.disks.iter().map(|d| (volume(d), d.total_bytes as f64)),
    )?;
    gauges(
        enc,
        "node_filesystem_avail",
        "Volume space available to the user",
        Some(&bytes),
        s.disks
            .iter()
            .map(|d| (volume(d), d.available_bytes as f64)),
    )?;
    gauges(
        enc,
        "mac_status_disk_read",
        "Bytes read per second over the last sampling interval, per volume (one volume per device)",
        Some(&bps),
        s.disks
            .iter()
            .filter_map(|d| Some(([("mountpoint", Escaped(&d.mount))], d.read_bps?))),
    )?;
    gauges(
        enc,
        "mac_status_disk_written",
        "Bytes written per second over the last sampling interval, per volume (one volume per device)",
        Some(&bps),
        s.disks.iter().filter_map(|d| {
            Some(([("mountpoint", Escaped(&d.mount))], d.write_bps?))
        }),
    )?;

    // Network interfaces.
    counters(
        enc,
        "node_network_receive",
        "Bytes received by the interface",
        Some(&bytes),
        s.networks
            .iter()
            .map(|n| ([("device", Escaped(&n.interface))], n.rx_total_bytes)),
    )?;
    counters(
        enc,
        "node_network_transmit",
        "Bytes sent by the interface",
        Some(&bytes),
        s.networks
            .iter()
            .map(|n| ([("device", Escaped(&n.interface))], n.tx_total_bytes)),
    )?;

    // Battery.
    if let Some(b) = &s.battery {
        gauge(
            enc,
            "mac_status_battery_charge",
            "Battery charge, 0-1",
            Some(&ratio),
            Some(pct_to_ratio(b.percent)),
        )?;
        gauge(
            enc,
            "mac_status_battery_time_remaining",
            "Time to empty (discharging) or full (charging), as the OS estimates it",
            Some(&seconds),
            b.minutes_remaining.map(|m| f64::from(m) * 60.0),
        )?;
        let states = [
            (BatteryState::Charging, "charging"),
            (BatteryState::Discharging, "discharging"),
            (BatteryState::Full, "full"),
            (BatteryState::Unknown, "unknown"),
        ];
        gauges(
            enc,
            "mac_status_battery_state",
            "Battery state: 1 for the current one, 0 for the others",
            None,
            states
                .into_iter()
                .map(|(st, name)| ([("state", name)], f64::from(u8::from(b.state == st)))),
        )?;
    }

    // Temperatures.
    if let Some(sensors) = &s.temperatures {
        let names = distinct(sensors.iter().map(|t| t.label.clone()));
        gauges(
            enc,
            "mac_status_temperature",
            "Sensor temperature",
            Some(&celsius),
            names
                .iter()
                .zip(sensors)
                .map(|(n, t)| ([("sensor", Escaped(n))], f64::from(t.celsius))),
        )?;
        gauges(
            enc,
            "mac_status_temperature_critical",
            "Temperature the sensor's hardware calls critical",
            Some(&celsius),
            names.iter().zip(sensors).filter_map(|(n, t)| {
                Some(([("sensor", Escaped(n))], f64::from(t.critical_celsius?)))
            }),
        )?;
    }

    // Processes: the top lists only (their names and pids; never a command line).
    let p = &s.processes;
    let pids: Vec<String> = p.by_cpu.iter().map(|p| p.pid.to_string()).collect();
    gauges(
        enc,
        "mac_status_top_process_cpu",
        "CPU use of the busiest processes, in cores (1 = one core fully busy)",
        Some(&ratio),
        p.by_cpu.iter().zip(&pids).map(|(p, pid)| {
            (
                [("pid", Escaped(pid)), ("name", Escaped(&p.name))],
                pct_to_ratio(p.cpu_pct),
            )
        }),
    )?;
    let pids: Vec<String> = p.by_memory.iter().map(|p| p.pid.to_string()).collect();
    gauges(
        enc,
        "mac_status_top_process_memory",
        "Resident memory of the largest processes",
        Some(&bytes),
        p.by_memory.iter().zip(&pids).map(|(p, pid)| {
            (
                [("pid", Escaped(pid)), ("name", Escaped(&p.name))],
                p.memory_bytes as f64,
            )
        }),
    )?;
    gauge(
        enc,
        "mac_status_processes",
        "Processes running",
        None,
        Some(p.count as f64),
    )?;
    Ok(())
}

impl Collector for HostCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        match &self.source {
            Source::Fixed(s) => encode_snapshot(s, &mut enc),
            Source::Hub(hub) => {
                let snapshot = hub.latest();
                encode_snapshot(&snapshot, &mut enc)?;
                gauge(
                    &mut enc,
                    "mac_status_snapshot_age",
                    "Time since the newest sample was taken (a stuck sampler grows it)",
                    Some(&Unit::Seconds),
                    Some(hub.age().as_secs_f64()),
                )?;
                enc.encode_descriptor(
                    "mac_status_sampler_restarts",
                    "Samples that failed and restarted the sampler",
                    None,
                    MetricType::Counter,
                )?
                .encode_counter::<NoLabelSet, _, u64>(&hub.sampler_restarts(), None)
            }
        }
    }
}

/// The whole `/metrics` body: the chat counters, then the machine's readings, then `# EOF`.
pub struct Exposition {
    host: Registry,
}

impl Exposition {
    pub fn new(collector: HostCollector) -> Self {
        let mut host = Registry::default();
        host.register_collector(Box::new(collector));
        Self { host }
    }

    /// The OpenMetrics text for one scrape.
    pub fn encode(&self, chat: &ChatTelemetry) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail; a collector error would leave a partial text,
        // which `encode_eof` still closes.
        let _ = chat.encode_registry(&mut out);
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.host);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: &str = include_str!("../tests/fixtures/snapshots/busy.json");

    fn busy() -> Snapshot {
        serde_json::from_str(BUSY).unwrap()
    }

    fn text(s: Snapshot) -> String {
        Exposition::new(HostCollector::fixed(s)).encode(&ChatTelemetry::new())
    }

    /// The sample lines of a metric (no comments), for exact checks.
    fn samples<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['{', ' ']))
            })
            .collect()
    }

    #[test]
    fn a_recorded_snapshot_gives_node_exporter_names_units_and_labels() {
        let t = text(busy());
        for line in [
            "node_load1 1.4",
            "node_load15 2.17",
            "node_memory_total_bytes 25276514304",
            "node_memory_swap_used_bytes 0",
            "mac_status_cpu_usage_ratio 1.0",
            "mac_status_cpu_core_usage_ratio{cpu=\"1\"} 1.0",
            "mac_status_cpu_frequency_hertz 2596000000.0",
            "node_filesystem_size_bytes{mountpoint=\"/\",fstype=\"ext4\"} 270553174016",
            "node_filesystem_avail_bytes{mountpoint=\"/\",fstype=\"ext4\"} 76626948096",
            "mac_status_disk_read_bytes_per_second{mountpoint=\"/\"} 0.0",
            "node_network_receive_bytes_total{device=\"eth0\"} 889345741",
            "node_network_transmit_bytes_total{device=\"lo\"} 354640",
            "mac_status_top_process_cpu_ratio{pid=\"28874\",name=\"sha256sum\"} 0.9960339",
            "mac_status_top_process_memory_bytes{pid=\"23569\",name=\"mac-status\"} 13488128",
            "node_boot_time_seconds 1795800261",
            "# TYPE node_network_receive_bytes counter",
            "# UNIT node_network_receive_bytes bytes",
            "# UNIT mac_status_cpu_usage_ratio ratio",
            "# HELP node_load1 1-minute load average",
        ] {
            assert!(
                t.lines().any(|l| l.starts_with(line)),
                "missing {line:?} in\n{t}"
            );
        }
        // Chat counters first, one EOF at the very end.
        assert!(t.contains("mac_status_chat_answers_total") || t.contains("mac_status_chat"));
        assert_eq!(t.matches("# EOF").count(), 1);
        assert!(t.ends_with("# EOF\n"), "{t}");
        // No battery, sensors or Apple extras on that machine: no series, not zeros.
        for absent in [
            "mac_status_battery",
            "mac_status_temperature",
            "mac_status_memory_pressure",
            "node_memory_compressed",
        ] {
            assert!(!t.contains(absent), "{absent} in\n{t}");
        }
    }

    /// A snapshot with every optional reading present (Apple extras, battery, sensors).
    fn everything() -> Snapshot {
        let mut s = busy();
        s.apple = Some(app::model::AppleExtras {
            performance_cores: Some(8),
            efficiency_cores: Some(4),
            memory_pressure_pct: Some(25.0),
            compressed_bytes: Some(1024),
        });
        s.battery = Some(app::model::Battery {
            percent: 80.0,
            state: BatteryState::Discharging,
            minutes_remaining: Some(90),
            source: None,
        });
        s.temperatures = Some(vec![
            app::model::SensorReading {
                label: "CPU".into(),
                celsius: 50.0,
                critical_celsius: Some(100.0),
            },
            app::model::SensorReading {
                label: "CPU".into(),
                celsius: 52.0,
                critical_celsius: None,
            },
        ]);
        s
    }

    #[test]
    fn apple_battery_and_sensors_show_up_when_present() {
        let t = text(everything());
        for line in [
            "mac_status_memory_pressure_ratio 0.25",
            "node_memory_compressed_bytes 1024",
            "mac_status_cpu_cores{kind=\"performance\"} 8",
            "mac_status_battery_charge_ratio 0.8",
            "mac_status_battery_time_remaining_seconds 5400.0",
            "mac_status_battery_state{state=\"discharging\"} 1",
            "mac_status_battery_state{state=\"charging\"} 0",
            "mac_status_temperature_celsius{sensor=\"CPU\"} 50.0",
            "mac_status_temperature_celsius{sensor=\"CPU #2\"} 52.0",
            "mac_status_temperature_critical_celsius{sensor=\"CPU\"} 100.0",
        ] {
            assert!(
                t.lines().any(|l| l.starts_with(line)),
                "missing {line:?} in\n{t}"
            );
        }
        assert_eq!(
            samples(&t, "mac_status_temperature_critical_celsius").len(),
            1
        );
    }

    #[test]
    fn names_chosen_by_other_programs_are_escaped() {
        let mut s = busy();
        for name in s.names_mut() {
            *name = "a\"b\\c\nd".into();
        }
        let t = text(s);
        assert!(
            t.contains("node_network_receive_bytes_total{device=\"a\\\"b\\\\c\\nd\"}"),
            "{t}"
        );
        assert!(t.contains("mountpoint=\"a\\\"b\\\\c\\nd\""), "{t}");
        assert!(t.contains("name=\"a\\\"b\\\\c\\nd\""), "{t}");
        // Every sample stays on one line: name, optional labels, one value.
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            assert!(
                line.starts_with("mac_status_") || line.starts_with("node_"),
                "a label broke the line: {line:?}"
            );
        }
    }

    #[test]
    fn escaping_leaves_other_text_alone() {
        let mut out = String::new();
        let mut reg = Registry::default();
        #[derive(Debug)]
        struct One;
        impl Collector for One {
            fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
                gauges(
                    &mut enc,
                    "x",
                    "x",
                    None,
                    [([("l", Escaped("ボリューム {x}=1,"))], 1.0)],
                )
            }
        }
        reg.register_collector(Box::new(One));
        prometheus_client::encoding::text::encode(&mut out, &reg).unwrap();
        assert!(out.contains("x{l=\"ボリューム {x}=1,\"} 1.0"), "{out}");
    }

    #[test]
    fn the_live_collector_adds_the_sampler_health() {
        let hub = MetricsHub::start(crate::metrics::MetricsConfig::default());
        let t = Exposition::new(HostCollector::live(hub)).encode(&ChatTelemetry::new());
        assert!(t.contains("\nmac_status_snapshot_age_seconds "), "{t}");
        assert!(t.contains("\nmac_status_sampler_restarts_total 0\n"), "{t}");
        assert!(t.contains("\nmac_status_cpu_usage_ratio "), "{t}");
    }

    /// The metric names in a PromQL expression that this host exports (`node_*`,
    /// `mac_status_*`), leaving Prometheus' own (`up`) and functions aside.
    fn exported_names(expr: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = expr;
        while let Some(i) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let word = &tail[..end];
            // A word right after `$` is a dashboard variable; inside quotes, a label value.
            let quoted = rest[..i].matches('"').count() % 2 == 1;
            if !quoted && (word.starts_with("node_") || word.starts_with("mac_status_")) {
                out.push(word);
            }
            rest = &tail[end..];
        }
        out
    }

    #[test]
    fn every_metric_the_dashboard_queries_is_exported() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana-dashboard.json")).unwrap();
        let t = text(everything());
        let live = Exposition::new(HostCollector::live(MetricsHub::start(Default::default())))
            .encode(&ChatTelemetry::new());
        let mut checked = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for name in exported_names(expr) {
                    let exported = |text: &str| {
                        text.lines().any(|l| {
                            l.strip_prefix(name)
                                .is_some_and(|r| r.starts_with(['{', ' ']))
                        })
                    };
                    assert!(
                        exported(&t) || exported(&live),
                        "{name} (in {expr:?}) is not exported"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 14, "{checked}");
        assert_eq!(
            exported_names(r#"rate(node_x_total{instance=~"$instance",device!~"lo_x"}[1m]) / up"#),
            ["node_x_total"]
        );
    }
}
