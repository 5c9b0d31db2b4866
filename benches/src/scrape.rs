//! What a Prometheus scrape costs the host: the `/metrics` encoding alone, in this process,
//! through the host's own code (a real snapshot of this machine); then real HTTP scrapes of the
//! real release binary, on the loopback listener and on the token-guarded remote one, timed
//! from the client, with the host's CPU time per scrape (its `/proc/<pid>/stat` CPU time over
//! the run, less its idle rate measured just before, divided by the scrapes).
//!
//!     cargo run --release -p benches --bin scrape -- --scrapes 3000

#[path = "common.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use common::{free_port, Host, HostArgs, Machine};
use mac_status::exporter::{Exposition, HostCollector};
use mac_status::metrics::{MetricsConfig, MetricsHub};
use mac_status::telemetry::ChatTelemetry;

#[derive(Parser)]
struct Args {
    /// HTTP scrapes per listener.
    #[arg(long, default_value_t = 3000)]
    scrapes: usize,
    /// In-process encodings.
    #[arg(long, default_value_t = 20000)]
    encodes: usize,
    /// Seconds of idle host measured first (the baseline subtracted from the scrape runs).
    #[arg(long, default_value_t = 10)]
    idle_seconds: u64,
    #[command(flatten)]
    host: HostArgs,
    #[arg(long, default_value = "benches/results/scrape.json")]
    out: PathBuf,
}

/// Median and 95th percentile, in microseconds.
fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.95))
}

struct HttpRun {
    median_us: f64,
    p95_us: f64,
    cpu_us_per_scrape: f64,
    bytes: usize,
}

fn scrape_run(
    host: &Host,
    url: &str,
    auth: Option<&str>,
    n: usize,
    idle_cpu_per_s: f64,
) -> Result<HttpRun> {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let get = || -> Result<String> {
        let mut req = agent.get(url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        Ok(req.call()?.body_mut().read_to_string()?)
    };
    let bytes = get()?.len(); // warm the connection
    let cpu0 = common::cpu_seconds(host.pid())?;
    let t0 = Instant::now();
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        get()?;
        times.push(t.elapsed());
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = common::cpu_seconds(host.pid())? - cpu0;
    let (median_us, p95_us) = percentiles(times);
    Ok(HttpRun {
        median_us,
        p95_us,
        cpu_us_per_scrape: (cpu - idle_cpu_per_s * wall).max(0.0) / n as f64 * 1e6,
        bytes,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();

    // 1. The encoding alone, on a real snapshot of this machine.
    let hub = MetricsHub::start(MetricsConfig::default());
    std::thread::sleep(Duration::from_millis(2500)); // rates and process CPU need two samples
    let snapshot = (*hub.latest()).clone();
    let chat = ChatTelemetry::new();
    let exposition = Exposition::new(HostCollector::fixed(snapshot));
    let text = exposition.encode(&chat);
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    let mut times = Vec::with_capacity(args.encodes);
    for _ in 0..args.encodes {
        let t = Instant::now();
        std::hint::black_box(exposition.encode(&chat));
        times.push(t.elapsed());
    }
    let (enc_median, enc_p95) = percentiles(times);
    drop(hub);

    // 2. Real scrapes of the real host.
    let scratch = tempfile_dir()?;
    let token_file = scratch.join("token");
    let remote = format!("127.0.0.1:{}", free_port()?);
    let mut spec = args.host.spec(None, true);
    spec.extra.extend([
        "--no-history".into(),
        "--remote-listen".into(),
        remote.clone(),
        "--token-file".into(),
        token_file.display().to_string(),
    ]);
    let host = Host::start(&spec, |_, _| {})?;
    let token = std::fs::read_to_string(&token_file)?;
    std::thread::sleep(Duration::from_secs(2));
    let c0 = common::cpu_seconds(host.pid())?;
    std::thread::sleep(Duration::from_secs(args.idle_seconds));
    let idle = (common::cpu_seconds(host.pid())? - c0) / args.idle_seconds as f64;
    let local = scrape_run(&host, &host.url("/metrics"), None, args.scrapes, idle)?;
    let auth = format!("Bearer {}", token.trim());
    let remote_run = scrape_run(
        &host,
        &format!("http://{remote}/metrics"),
        Some(&auth),
        args.scrapes,
        idle,
    )?;
    host.stop();
    let _ = std::fs::remove_dir_all(&scratch);

    let machine = Machine::detect();
    println!("\n/metrics scrape cost ({})\n", machine.line());
    println!(
        "encode only, in process ({} series, {} bytes, {} runs): median {enc_median:.1} µs, p95 {enc_p95:.1} µs",
        series,
        text.len(),
        args.encodes
    );
    for (name, r) in [("loopback", &local), ("remote + token", &remote_run)] {
        println!(
            "HTTP {name:<15} ({} scrapes, {} bytes): median {:.0} µs, p95 {:.0} µs, host CPU {:.0} µs a scrape",
            args.scrapes, r.bytes, r.median_us, r.p95_us, r.cpu_us_per_scrape
        );
    }
    println!("host idle: {:.2} % of a core (subtracted)", idle * 100.0);
    let run = |r: &HttpRun| {
        serde_json::json!({
            "median_us": r.median_us, "p95_us": r.p95_us,
            "host_cpu_us_per_scrape": r.cpu_us_per_scrape, "bytes": r.bytes,
        })
    };
    let json = serde_json::json!({
        "machine": machine,
        "encode": { "runs": args.encodes, "series": series, "bytes": text.len(),
                    "median_us": enc_median, "p95_us": enc_p95 },
        "scrapes": args.scrapes,
        "host_idle_cpu_pct_of_core": idle * 100.0,
        "http_loopback": run(&local),
        "http_remote_with_token": run(&remote_run),
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    println!("\nwritten to {}", args.out.display());
    Ok(())
}

/// A scratch folder for the host's token file.
fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("mac-status-scrape-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
