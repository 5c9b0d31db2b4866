//! What the benchmarks that drive the real host share: starting the release binary on a free
//! loopback port and stopping it on every exit path, its resident memory, and a description
//! of the machine and the build the figures came from.
//!
//! Included by each bench with `#[path = "common.rs"] mod common;` (the bins have no library).

#![allow(dead_code)] // each bench uses its own subset

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// How long the host may take to answer `/healthz` (it loads the model before it listens).
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A loopback port nobody listens on now (the OS picks it; we release it for the host).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(l.local_addr()?.port())
}

/// How to start the host.
#[derive(Clone, Debug)]
pub struct HostSpec {
    pub binary: PathBuf,
    /// `--site-root`; `None`: the site inside the binary, as users get it.
    pub site_root: Option<PathBuf>,
    /// `--model`; `None` leaves the host's default (or a `--model` in `extra`).
    pub model: Option<PathBuf>,
    /// `--no-model`: a dashboard-only host.
    pub no_model: bool,
    /// More flags for the host, passed through verbatim.
    pub extra: Vec<String>,
}

impl HostSpec {
    /// The same host without a model (`--no-model`): the dashboard only.
    pub fn dashboard_only(&self) -> HostSpec {
        HostSpec {
            model: None,
            no_model: true,
            ..self.clone()
        }
    }
}

// The flags every bench that starts the host takes (flattened into its `Args`). A plain
// comment: a doc comment here would become the `--help` text of a bench without its own.
#[derive(clap::Args, Debug)]
pub struct HostArgs {
    /// The host binary (built by `cargo leptos build --release`).
    #[arg(long, default_value = "target/release/mac-status")]
    pub binary: PathBuf,
    /// Serve the site from this folder instead of the one built into the binary.
    #[arg(long)]
    pub site_root: Option<PathBuf>,
    /// More host flags, passed through verbatim, e.g. `--host-arg=--model-languages=ja,en`.
    #[arg(long, allow_hyphen_values = true)]
    pub host_arg: Vec<String>,
}

impl HostArgs {
    /// How to start the host these flags describe, with `model` (or none: `no_model`).
    pub fn spec(&self, model: Option<PathBuf>, no_model: bool) -> HostSpec {
        HostSpec {
            binary: self.binary.clone(),
            site_root: self.site_root.clone(),
            model,
            no_model,
            extra: self.host_arg.clone(),
        }
    }
}

/// The running host; killed (and reaped) when dropped, so an error or a panic in the bench
/// never leaves it behind.
pub struct Host {
    child: Child,
    pub port: u16,
    /// From spawn to the first `/healthz` answer.
    pub started_in: Duration,
}

impl Host {
    /// Starts the host and waits for `/healthz`. `on_wait` runs every few milliseconds while
    /// waiting, with the child's pid (to sample its memory as it loads the model).
    pub fn start(spec: &HostSpec, mut on_wait: impl FnMut(u32, Duration)) -> Result<Host> {
        if !spec.binary.is_file() {
            bail!(
                "{} not found: build it with `cargo leptos build --release`",
                spec.binary.display()
            );
        }
        let port = free_port()?;
        let mut cmd = Command::new(&spec.binary);
        cmd.arg("--addr").arg(format!("127.0.0.1:{port}"));
        if let Some(root) = &spec.site_root {
            cmd.arg("--site-root").arg(root);
        }
        if let Some(m) = &spec.model {
            cmd.arg("--model").arg(m);
        }
        if spec.no_model {
            cmd.arg("--no-model");
        }
        let child = cmd
            .args(&spec.extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", spec.binary.display()))?;
        let mut host = Host {
            child,
            port,
            started_in: Duration::ZERO,
        };
        let t0 = Instant::now();
        loop {
            on_wait(host.pid(), t0.elapsed());
            if get(port, "/healthz").is_ok() {
                break;
            }
            if let Some(status) = host.child.try_wait()? {
                bail!("the host exited during start-up ({status})");
            }
            if t0.elapsed() > START_TIMEOUT {
                bail!("the host did not answer /healthz within {START_TIMEOUT:?}");
            }
            thread::sleep(Duration::from_millis(20));
        }
        host.started_in = t0.elapsed();
        Ok(host)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        rss_kib(self.pid())
    }

    /// A graceful stop (SIGTERM, as a service manager would), then the kill of `Drop`.
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg(self.pid().to_string()).status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `GET path` on the host, the body as text.
pub fn get(port: u16, path: &str) -> Result<String> {
    let mut resp = ureq::get(&format!("http://127.0.0.1:{port}{path}")).call()?;
    Ok(resp.body_mut().read_to_string()?)
}

/// Resident memory of a process in KiB: `/proc/<pid>/status` `VmRSS` on Linux.
#[cfg(target_os = "linux")]
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vmrss(&status).context("no VmRSS in /proc/<pid>/status")
}

/// Resident memory of a process in KiB: `ps -o rss=` (already KiB) elsewhere.
#[cfg(not(target_os = "linux"))]
pub fn rss_kib(pid: u32) -> Result<u64> {
    let out = Command::new("ps")
        .args(["-o", "rss=", "-p", &pid.to_string()])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// The `VmRSS:  12345 kB` line of a `/proc/<pid>/status` text.
pub fn parse_vmrss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The machine the figures came from.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub logical_cores: usize,
    pub memory_gib: Option<f64>,
    pub os: String,
    pub arch: &'static str,
}

impl Machine {
    pub fn detect() -> Machine {
        let (cpu, memory_gib) = cpu_and_memory();
        Machine {
            cpu,
            logical_cores: thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib,
            os: os_name(),
            arch: std::env::consts::ARCH,
        }
    }

    /// One line for a report header.
    pub fn line(&self) -> String {
        let mem = self
            .memory_gib
            .map_or(String::new(), |g| format!(", {g:.0} GiB"));
        format!(
            "{}, {} logical cores{mem}, {} {}",
            self.cpu, self.logical_cores, self.os, self.arch
        )
    }
}

#[cfg(target_os = "linux")]
fn cpu_and_memory() -> (String, Option<f64>) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kib| kib / 1024.0 / 1024.0);
    (cpu, mem)
}

#[cfg(not(target_os = "linux"))]
fn cpu_and_memory() -> (String, Option<f64>) {
    let cpu = sysctl("machdep.cpu.brand_string").unwrap_or_else(|| "unknown CPU".into());
    let mem = sysctl("hw.memsize")
        .and_then(|b| b.parse::<f64>().ok())
        .map(|b| b / 1024f64.powi(3));
    (cpu, mem)
}

#[cfg(not(target_os = "linux"))]
fn sysctl(name: &str) -> Option<String> {
    let out = Command::new("sysctl").args(["-n", name]).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned()).filter(|s| !s.is_empty())
}

fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        });
    let mac = || {
        let out = Command::new("sw_vers")
            .arg("-productVersion")
            .output()
            .ok()?;
        Some(format!(
            "macOS {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    };
    pretty
        .or_else(mac)
        .unwrap_or_else(|| std::env::consts::OS.into())
}

/// The commit the bench ran at, `+dirty` when the tree had changes.
pub fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if hash.is_empty() {
        return None;
    }
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{hash}+dirty") } else { hash })
}

/// The file's size in MB, for the report.
pub fn file_mb(path: &Path) -> Option<f64> {
    Some(std::fs::metadata(path).ok()?.len() as f64 / 1e6)
}

/// CPU seconds (user + system) a process has used.
#[cfg(target_os = "linux")]
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu(&stat, clock_ticks()).context("unexpected /proc/<pid>/stat")
}

/// CPU seconds (user + system) a process has used: `ps -o time=` elsewhere.
#[cfg(not(target_os = "linux"))]
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let out = Command::new("ps")
        .args(["-o", "time=", "-p", &pid.to_string()])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // [[dd-]hh:]mm:ss.cc
    let (days, rest) = match text.trim().split_once('-') {
        Some((d, r)) => (d.parse::<f64>()?, r.to_owned()),
        None => (0.0, text.trim().to_owned()),
    };
    let secs = rest.split(':').try_fold(0.0, |acc, part| {
        Ok::<f64, anyhow::Error>(acc * 60.0 + part.parse::<f64>()?)
    })?;
    Ok(days * 86_400.0 + secs)
}

#[cfg(target_os = "linux")]
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime (fields 14 and 15) in seconds; the command name (field 2) may hold spaces
/// and parentheses, so fields are counted after its last `)`.
pub fn parse_stat_cpu(stat: &str, ticks_per_s: f64) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): utime is field 14 → index 11.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmrss_is_read_in_kib() {
        let status = "Name:\tmac-status\nVmPeak:\t  900 kB\nVmRSS:\t   51234 kB\nThreads: 9\n";
        assert_eq!(parse_vmrss(status), Some(51234));
        assert_eq!(parse_vmrss("Name: x\n"), None);
    }

    #[test]
    fn free_ports_are_bindable() {
        let p = free_port().unwrap();
        assert!(p > 0);
        TcpListener::bind(("127.0.0.1", p)).unwrap();
    }
}
