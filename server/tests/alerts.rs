//! Alerts on the real router over real HTTP, fed by the real collector: a level that holds
//! is listed in `/api/v1/alerts`, reaches an open page as an `alert` event on the live stream,
//! and reaches the system's notifications only when no page is open.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::alert::{AlertEvent, Resource};
use app::model::Level;
use mac_status::alerts::notify::Recorded;
use mac_status::alerts::{AlertFile, AlertHub};
use mac_status::routes::router;

mod common;

/// Memory thresholds every machine is above (a few percent used), held for `hold_s`.
fn settings(hold_s: u64) -> mac_status::alerts::AlertSettings {
    let f: AlertFile = toml::from_str(&format!(
        "hold_s = {hold_s}\nmemory = [0.001, 0.002, 0.003]"
    ))
    .unwrap();
    f.resolve().unwrap()
}

fn host(hold_s: u64) -> (SocketAddr, Arc<Recorded>, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let metrics = common::metrics(Duration::from_millis(200));
    let assistant = common::assistant(Err(mac_status::engine::EngineError::Disabled), &metrics);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded = Arc::new(Recorded::default());
    let mut state = common::state(assistant, metrics.clone(), &addr.to_string());
    state.alerts = AlertHub::start(settings(hold_s), &metrics, Some(recorded.clone()));
    rt.spawn(async move { axum::serve(listener, router(state)).await });
    (addr, recorded, rt)
}

/// The host's memory alerts. Only memory is pushed over its thresholds here; the machine
/// running the tests may have a real alert of its own (a disk at 90 % is a warning), which
/// these tests must not trip on.
fn alerts(addr: SocketAddr) -> Vec<app::alert::Alert> {
    let body = ureq::get(&format!("http://{addr}/api/v1/alerts"))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let v: mac_status::routes::api::AlertList = serde_json::from_str(&body).unwrap();
    v.alerts
        .into_iter()
        .filter(|a| a.resource == Resource::Memory)
        .collect()
}

#[test]
fn with_no_page_open_the_host_notifies() {
    let (addr, recorded, _rt) = host(1);
    assert!(alerts(addr).is_empty(), "nothing before the level held");
    let t0 = Instant::now();
    while alerts(addr).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(10), "no alert raised");
        std::thread::sleep(Duration::from_millis(100));
    }
    let list = alerts(addr);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0].resource, list[0].level),
        (Resource::Memory, Level::Critical)
    );
    assert!(list[0].ended_at_ms.is_none());
    std::thread::sleep(Duration::from_millis(300));
    let shown: Vec<_> = (recorded.0.lock().unwrap().clone().into_iter())
        .filter(|n| n.body.starts_with("Memory"))
        .collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].body.contains("Memory at"), "{}", shown[0].body);
}

#[test]
fn an_open_page_gets_the_alert_on_its_stream_and_no_notification_is_shown() {
    let (addr, recorded, _rt) = host(2);
    let resp = ureq::get(&format!("http://{addr}/api/v1/stream"))
        .call()
        .unwrap();
    let mut lines = BufReader::new(resp.into_body().into_reader()).lines();
    let t0 = Instant::now();
    let mut snapshots = 0;
    let event = loop {
        assert!(t0.elapsed() < Duration::from_secs(15), "no alert event");
        let line = lines.next().unwrap().unwrap();
        if line.starts_with("data: ") {
            snapshots += 1;
        }
        if line == "event: alert" {
            let data = lines.next().unwrap().unwrap();
            let ev =
                serde_json::from_str::<AlertEvent>(data.strip_prefix("data: ").unwrap()).unwrap();
            // The machine's own alerts (a fuller disk) may come too; ours is memory's.
            if ev.alert().resource == Resource::Memory {
                break ev;
            }
        }
    };
    assert!(
        snapshots >= 5,
        "snapshots still flow on the same stream ({snapshots})"
    );
    match event {
        AlertEvent::Raised { alert } => assert_eq!(alert.resource, Resource::Memory),
        other => panic!("expected raised, got {other:?}"),
    }
    assert!(
        recorded.0.lock().unwrap().is_empty(),
        "the page shows alerts, not the system"
    );
}
