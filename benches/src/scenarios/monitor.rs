//! Issue 9, part 5: what the monitor costs, beside Glances (the bench venv's pinned `glances`,
//! its REST server on loopback: `glances -w --disable-webui -B 127.0.0.1 -p PORT`).
//!
//! 1. **Polled**: our host with its model loaded (what a user runs), our host with
//!    `--no-model` (the dashboard alone) and Glances run at the same time for `seconds`, each
//!    polled for its full status every `poll_every` by one client (ours: `GET /api/v1/status`;
//!    Glances: `GET /api/4/all`). Per process: CPU time over the window as % of one core
//!    (`/proc/<pid>/stat` utime + stime), resident memory sampled every second, the poll's
//!    latency and the body's size.
//! 2. **Under load**: each alone in turn, `connections` loopback clients (keep-alive, one
//!    thread each) asking the same endpoint back to back for `load_seconds`: requests/s,
//!    p50/p99 latency, and the CPU it took meanwhile.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::report::fmt_ms;
use super::stats::{percentile, Summary};
use crate::common::{self, Host, HostSpec};

/// Glances' full status: every plugin's latest values (REST API v4).
pub const GLANCES_ENDPOINT: &str = "/api/4/all";
/// Ours: the whole snapshot the dashboard draws.
pub const OUR_ENDPOINT: &str = "/api/v1/status";

/// How the run was shaped.
pub struct Plan {
    pub seconds: u64,
    pub poll_every: Duration,
    pub connections: usize,
    pub load_seconds: u64,
}

/// CPU and memory of one process over the polled window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Polled {
    pub cpu_pct_of_core: Option<f64>,
    pub rss_mean_kib: Option<u64>,
    pub rss_max_kib: Option<u64>,
    pub polls: usize,
    pub poll_errors: usize,
    pub poll_ms: Summary,
    pub body_bytes: Option<usize>,
}

/// The status endpoint under bounded load.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Loaded {
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub requests_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cpu_pct_of_core: Option<f64>,
    pub rss_max_kib: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    pub name: String,
    pub endpoint: &'static str,
    pub polled: Polled,
    pub loaded: Loaded,
}

#[derive(Clone, Debug, Serialize)]
pub struct MonitorOverhead {
    pub seconds: u64,
    pub poll_every_s: f64,
    pub connections: usize,
    pub load_seconds: u64,
    pub glances_version: String,
    pub glances_command: String,
    pub monitors: Vec<Figures>,
}

/// Glances' REST server, killed on drop.
struct Glances {
    child: Child,
    port: u16,
}

impl Drop for Glances {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn glances_args(port: u16) -> Vec<String> {
    [
        "-w",
        "--disable-webui",
        "-B",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

impl Glances {
    fn start(venv: &Path) -> Result<Glances> {
        let port = common::free_port()?;
        let child = Command::new(venv.join("bin/glances"))
            .args(glances_args(port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting glances")?;
        let mut g = Glances { child, port };
        let t0 = Instant::now();
        // It answers once its first refresh is done.
        while common::get(port, GLANCES_ENDPOINT).is_err() {
            if let Some(status) = g.child.try_wait()? {
                bail!("glances exited during start-up ({status})");
            }
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("glances did not answer {GLANCES_ENDPOINT} within 60 s");
            }
            thread::sleep(Duration::from_millis(200));
        }
        Ok(g)
    }
}

pub use crate::common::cpu_seconds;
#[cfg(test)]
use crate::common::parse_stat_cpu;

/// One monitor under test.
struct Target {
    name: String,
    pid: u32,
    port: u16,
    endpoint: &'static str,
}

/// `GET` the whole body; its size.
fn fetch(agent: &ureq::Agent, port: u16, path: &str) -> Result<usize> {
    let mut resp = agent
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .call()?;
    let mut body = Vec::new();
    resp.body_mut().as_reader().read_to_end(&mut body)?;
    Ok(body.len())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn cpu_pct(pid: u32, before: Option<f64>, wall: Duration) -> Option<f64> {
    let after = cpu_seconds(pid).ok()?;
    Some((after - before?) / wall.as_secs_f64() * 100.0)
}

/// Every target at once, one poller each, for `plan.seconds`.
fn polled(targets: &[Target], plan: &Plan) -> Vec<Polled> {
    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<_> = targets
        .iter()
        .map(|t| {
            let (port, path, stop, every) = (t.port, t.endpoint, stop.clone(), plan.poll_every);
            thread::spawn(move || {
                let agent = agent();
                let (mut times, mut errors, mut bytes) = (Vec::new(), 0, None);
                let start = Instant::now();
                let mut k = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    match fetch(&agent, port, path) {
                        Ok(n) => {
                            times.push(t0.elapsed().as_secs_f64() * 1e3);
                            bytes = Some(n);
                        }
                        Err(_) => errors += 1,
                    }
                    k += 1;
                    let next = start + every * k;
                    while Instant::now() < next && !stop.load(Ordering::Relaxed) {
                        thread::sleep(Duration::from_millis(20));
                    }
                }
                (times, errors, bytes)
            })
        })
        .collect();
    let t0 = Instant::now();
    let before: Vec<Option<f64>> = targets.iter().map(|t| cpu_seconds(t.pid).ok()).collect();
    let mut rss: Vec<Vec<u64>> = vec![Vec::new(); targets.len()];
    while t0.elapsed() < Duration::from_secs(plan.seconds) {
        for (t, v) in targets.iter().zip(&mut rss) {
            if let Ok(kib) = common::rss_kib(t.pid) {
                v.push(kib);
            }
        }
        thread::sleep(
            Duration::from_secs(1)
                .min(Duration::from_secs(plan.seconds).saturating_sub(t0.elapsed())),
        );
    }
    let wall = t0.elapsed();
    let cpu: Vec<Option<f64>> = targets
        .iter()
        .zip(&before)
        .map(|(t, b)| cpu_pct(t.pid, *b, wall))
        .collect();
    stop.store(true, Ordering::Relaxed);
    pollers
        .into_iter()
        .zip(cpu)
        .zip(rss)
        .map(|((h, cpu), rss)| {
            let (times, errors, bytes) = h.join().unwrap_or_default();
            Polled {
                cpu_pct_of_core: cpu,
                rss_mean_kib: (!rss.is_empty()).then(|| rss.iter().sum::<u64>() / rss.len() as u64),
                rss_max_kib: rss.iter().max().copied(),
                polls: times.len(),
                poll_errors: errors,
                poll_ms: Summary::of(times),
                body_bytes: bytes,
            }
        })
        .collect()
}

/// `plan.connections` clients asking back to back for `plan.load_seconds`.
fn loaded(t: &Target, plan: &Plan) -> Loaded {
    let deadline = Instant::now() + Duration::from_secs(plan.load_seconds);
    let before = cpu_seconds(t.pid).ok();
    let t0 = Instant::now();
    let clients: Vec<_> = (0..plan.connections)
        .map(|_| {
            let (port, path) = (t.port, t.endpoint);
            thread::spawn(move || {
                let agent = agent();
                let (mut times, mut errors) = (Vec::new(), 0usize);
                while Instant::now() < deadline {
                    let s = Instant::now();
                    match fetch(&agent, port, path) {
                        Ok(_) => times.push(s.elapsed().as_secs_f64() * 1e3),
                        Err(_) => errors += 1,
                    }
                }
                (times, errors)
            })
        })
        .collect();
    let mut rss_max = None;
    while clients.iter().any(|c| !c.is_finished()) {
        if let Ok(kib) = common::rss_kib(t.pid) {
            rss_max = rss_max.max(Some(kib));
        }
        thread::sleep(Duration::from_millis(200));
    }
    let wall = t0.elapsed();
    let cpu = cpu_pct(t.pid, before, wall);
    let (mut times, mut errors) = (Vec::new(), 0);
    for c in clients {
        let (t, e) = c.join().unwrap_or_default();
        times.extend(t);
        errors += e;
    }
    times.sort_by(f64::total_cmp);
    Loaded {
        requests: times.len(),
        errors,
        seconds: wall.as_secs_f64(),
        requests_per_s: times.len() as f64 / wall.as_secs_f64(),
        p50_ms: percentile(&times, 50.0),
        p99_ms: percentile(&times, 99.0),
        cpu_pct_of_core: cpu,
        rss_max_kib: rss_max,
    }
}

/// Runs both parts; see the module docs.
pub fn run(
    spec: &HostSpec,
    venv: &Path,
    glances_version: &str,
    plan: &Plan,
) -> Result<MonitorOverhead> {
    let ours = Host::start(spec, |_, _| {})?;
    let dash = Host::start(&spec.dashboard_only(), |_, _| {})?;
    let glances = Glances::start(venv)?;
    // A couple of refreshes behind each before anything is measured.
    thread::sleep(Duration::from_secs(3));
    let targets = [
        Target {
            name: "Mac Status, model loaded".into(),
            pid: ours.pid(),
            port: ours.port,
            endpoint: OUR_ENDPOINT,
        },
        Target {
            name: "Mac Status, `--no-model`".into(),
            pid: dash.pid(),
            port: dash.port,
            endpoint: OUR_ENDPOINT,
        },
        Target {
            name: format!("Glances {glances_version}"),
            pid: glances.child.id(),
            port: glances.port,
            endpoint: GLANCES_ENDPOINT,
        },
    ];
    // Make sure each answers on this endpoint before timing anything.
    for t in &targets {
        TcpStream::connect(("127.0.0.1", t.port))
            .with_context(|| format!("{} is not listening", t.name))?;
        fetch(&agent(), t.port, t.endpoint)
            .with_context(|| format!("{} {}", t.name, t.endpoint))?;
    }
    eprintln!(
        "[monitor] {} s, each polled every {:.0} s: {}",
        plan.seconds,
        plan.poll_every.as_secs_f64(),
        targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let polled = polled(&targets, plan);
    let mut monitors = Vec::new();
    for (t, p) in targets.iter().zip(polled) {
        eprintln!(
            "[monitor] {} connections for {} s on {} {}",
            plan.connections, plan.load_seconds, t.name, t.endpoint
        );
        let l = loaded(t, plan);
        monitors.push(Figures {
            name: t.name.clone(),
            endpoint: t.endpoint,
            polled: p,
            loaded: l,
        });
    }
    drop(glances);
    ours.stop();
    dash.stop();
    Ok(MonitorOverhead {
        seconds: plan.seconds,
        poll_every_s: plan.poll_every.as_secs_f64(),
        connections: plan.connections,
        load_seconds: plan.load_seconds,
        glances_version: glances_version.to_owned(),
        glances_command: "glances -w --disable-webui -B 127.0.0.1 -p PORT".into(),
        monitors,
    })
}

fn fmt_pct(p: Option<f64>) -> String {
    p.map_or("—".into(), |p| format!("{p:.1} %"))
}

fn fmt_mib(kib: Option<u64>) -> String {
    kib.map_or("—".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn fmt_kb(bytes: Option<usize>) -> String {
    bytes.map_or("—".into(), |b| format!("{:.1} kB", b as f64 / 1000.0))
}

impl MonitorOverhead {
    pub fn markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut md = format!(
            "#### Monitor overhead beside Glances\n\n\
             All three ran at once for {} s, each polled for its full status every {:.0} s by one client \
             (ours `{OUR_ENDPOINT}`, Glances `{GLANCES_ENDPOINT}`; Glances as `{}`). CPU is the \
             process's user + system time over the window, as % of one core; memory is resident, \
             sampled every second.\n\n\
             | monitor | CPU (% of a core) | RSS mean | RSS max | poll p50 | status body |\n\
             |---|---:|---:|---:|---:|---:|\n",
            self.seconds, self.poll_every_s, self.glances_command
        );
        for m in &self.monitors {
            let p = &m.polled;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                m.name,
                fmt_pct(p.cpu_pct_of_core),
                fmt_mib(p.rss_mean_kib),
                fmt_mib(p.rss_max_kib),
                fmt_ms(p.poll_ms.p50),
                fmt_kb(p.body_bytes),
            );
        }
        let _ = write!(
            md,
            "\nThe status endpoint under load, each alone: {} loopback connections (keep-alive), back to back for {} s.\n\n\
             | monitor | requests/s | p50 | p99 | errors | CPU meanwhile (% of a core) | RSS max |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
            self.connections, self.load_seconds
        );
        for m in &self.monitors {
            let l = &m.loaded;
            let _ = writeln!(
                md,
                "| {} | {:.0} | {} | {} | {} | {} | {} |",
                m.name,
                l.requests_per_s,
                fmt_ms(l.p50_ms),
                fmt_ms(l.p99_ms),
                l.errors,
                fmt_pct(l.cpu_pct_of_core),
                fmt_mib(l.rss_max_kib),
            );
        }
        md.push('\n');
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        // A name with a space and a parenthesis; utime 250, stime 50 ticks.
        let stat =
            "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_cpu(stat, 100.0), Some(3.0));
        assert_eq!(parse_stat_cpu("garbage", 100.0), None);
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        // Spin until the kernel's tick-grained counter moves (or give up after 5 s).
        let t0 = Instant::now();
        let before = cpu_seconds(std::process::id()).unwrap();
        let mut x = 0u64;
        while cpu_seconds(std::process::id()).unwrap() <= before {
            for i in 0..1_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            assert!(t0.elapsed() < Duration::from_secs(5), "no CPU time counted");
        }
    }
}
