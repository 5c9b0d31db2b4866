//! Proof with a real Prometheus: two real hosts with remote scraping on, scraped by Debian's
//! `prometheus` (installed when missing) through the shipped `deploy/prometheus.yml` with the
//! token, then asked through Prometheus' own query API: `up` is 1 for both, each has its CPU
//! series, a third target with a wrong token is `up == 0`, and every query of the shipped
//! Grafana dashboard is valid PromQL that Prometheus accepts.
//!
//! Everything runs on free loopback ports, with Prometheus' data in a temporary folder, and is
//! killed at the end (no daemon is left running).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mac-status");

fn free_addr() -> String {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().to_string()
}

/// A child process killed (and reaped) when dropped, whatever the test's outcome.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The `prometheus` binary; Debian's package is installed when it is missing (as root, or
/// through `sudo -n`), without its recommends (node_exporter is not wanted here).
fn prometheus_binary() -> PathBuf {
    if let Some(p) = which("prometheus") {
        return p;
    }
    if which("apt-get").is_some() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let apt = |args: &[&str]| {
            let mut cmd = if root {
                Command::new("apt-get")
            } else {
                let mut c = Command::new("sudo");
                c.args(["-n", "apt-get"]);
                c
            };
            cmd.args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let install = [
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "prometheus",
        ];
        if !apt(&install) {
            apt(&["update", "-qq"]);
            apt(&install);
        }
    }
    which("prometheus").expect(
        "no `prometheus` binary and it could not be installed: `apt-get install prometheus` \
         (Debian), `brew install prometheus` (macOS), or run `scripts/setup.sh --test`",
    )
}

/// A dashboard-only host with remote scraping on `remote`, token in `token_file`.
fn host(remote: &str, token_file: &Path) -> (Killed, String) {
    let addr = free_addr();
    let child = Command::new(BIN)
        .args(["--addr", &addr, "--remote-listen", remote, "--token-file"])
        .arg(token_file)
        .args(["--no-model", "--no-history"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the host starts");
    let child = Killed(child);
    wait_for(&format!("http://{addr}/healthz"), "the host");
    (child, addr)
}

fn wait_for(url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while ureq::get(url).call().is_err() {
        assert!(Instant::now() < deadline, "{what} did not start ({url})");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes `text` to `path` readable by its owner only (the token's rules).
fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// `GET /api/v1/query?query=…` on Prometheus: the `data.result` vector.
fn query(prometheus: &str, q: &str) -> Vec<Value> {
    let mut res = ureq::get(&format!("http://{prometheus}/api/v1/query"))
        .query("query", q)
        .call()
        .unwrap_or_else(|e| panic!("query {q:?} failed: {e}"));
    let body: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["status"], "success", "{q}: {body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `instance` → value of an instant vector.
fn by_instance(result: &[Value]) -> std::collections::HashMap<String, f64> {
    result
        .iter()
        .map(|s| {
            let instance = s["metric"]["instance"].as_str().unwrap_or("").to_owned();
            let v = s["value"][1].as_str().unwrap().parse().unwrap();
            (instance, v)
        })
        .collect()
}

#[test]
fn a_real_prometheus_scrapes_two_hosts_with_the_token() {
    let prometheus_bin = prometheus_binary();
    let dir = tempfile::tempdir().unwrap();

    // Mac A makes its token; Mac B gets a copy of it (the README's "same token on every
    // Mac"), and Prometheus reads it as its credentials file.
    let token_a = dir.path().join("a.token");
    let token_b = dir.path().join("b.token");
    let out = Command::new(BIN)
        .args(["token", "show", "--token-file"])
        .arg(&token_a)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    write_private(&token_b, &token);
    let credentials = dir.path().join("prometheus.token");
    write_private(&credentials, &token);
    let wrong = dir.path().join("wrong.token");
    write_private(&wrong, &"0".repeat(64));

    let (remote_a, remote_b) = (free_addr(), free_addr());
    let _a = host(&remote_a, &token_a);
    let (_b, _) = host(&remote_b, &token_b);

    // The shipped config, pointed at these hosts; plus one target with a wrong token. That
    // job scrapes every 3 s, so it fails fewer than 10 times a minute and the host's
    // per-client block (Prometheus is one client) never hides the good scrapes.
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus.yml"),
    )
    .unwrap();
    let mut config = shipped.clone();
    for (from, to) in [
        ("scrape_interval: 15s", "scrape_interval: 1s"),
        ("scrape_timeout: 5s", "scrape_timeout: 1s"),
        (
            "/etc/prometheus/mac-status.token",
            credentials.to_str().unwrap(),
        ),
        ("macbook-air.local:9101", remote_a.as_str()),
        ("mac-mini.local:9101", remote_b.as_str()),
    ] {
        assert!(config.contains(from), "deploy/prometheus.yml lost {from:?}");
        config = config.replace(from, to);
    }
    config.push_str(&format!(
        "  - job_name: wrong-token\n    scrape_interval: 3s\n    authorization:\n      \
         credentials_file: {}\n    static_configs:\n      - targets: [\"{remote_a}\"]\n",
        wrong.display()
    ));
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(&config_file, &config).unwrap();

    let web = free_addr();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let prometheus = Killed(
        Command::new(&prometheus_bin)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts"),
    );
    wait_for(&format!("http://{web}/-/ready"), "Prometheus");

    // Two scrapes of each good target, one of the wrong one.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let good = by_instance(&query(&web, "count_over_time(up{job=\"mac-status\"}[1m])"));
        let bad = by_instance(&query(&web, "count_over_time(up{job=\"wrong-token\"}[1m])"));
        let enough = [&remote_a, &remote_b]
            .iter()
            .all(|i| good.get(i.as_str()).is_some_and(|n| *n >= 2.0))
            && bad.get(remote_a.as_str()).is_some_and(|n| *n >= 1.0);
        if enough {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap();
            panic!("no two scrapes within 60 s: {good:?} {bad:?}\n{log}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    let up = by_instance(&query(&web, "up{job=\"mac-status\"}"));
    assert_eq!(up.get(&remote_a), Some(&1.0), "{up:?}");
    assert_eq!(up.get(&remote_b), Some(&1.0), "{up:?}");
    let up_wrong = by_instance(&query(&web, "up{job=\"wrong-token\"}"));
    assert_eq!(
        up_wrong.get(&remote_a),
        Some(&0.0),
        "the token is checked: {up_wrong:?}"
    );

    let cpu = by_instance(&query(&web, "mac_status_cpu_usage_ratio"));
    for instance in [&remote_a, &remote_b] {
        let v = cpu
            .get(instance.as_str())
            .unwrap_or_else(|| panic!("no CPU series for {instance}: {cpu:?}"));
        assert!((0.0..=1.0).contains(v), "{v}");
    }
    assert!(
        query(&web, "mac_status_cpu_core_usage_ratio{cpu=\"0\"}").len() >= 2,
        "a per-core series per instance"
    );
    let mem = by_instance(&query(&web, "node_memory_total_bytes"));
    assert!(mem.get(&remote_a).is_some_and(|v| *v > 0.0), "{mem:?}");

    // Every query of the dashboard is valid PromQL here, the core panels with data.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana-dashboard.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut with_data = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$instance", ".+")
                .replace("$__rate_interval", "1m");
            if !query(&web, &expr).is_empty() {
                with_data += 1;
            }
        }
    }
    // No battery, sensors or memory pressure on a Linux build machine; the rest has data.
    assert!(
        with_data >= 10,
        "only {with_data} dashboard queries returned data"
    );
    drop(prometheus);
}
