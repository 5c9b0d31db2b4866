//! The store on real files in a temporary folder.

use super::aggregate::Accumulator;
use super::writer::{Pending, MAX_PENDING};
use super::*;
use app::history::{Stat, TopCpu, VolumeStat};

const MIN: u64 = 60_000;
const HOUR: u64 = 3_600_000;
/// A Monday at 00:00 UTC, so minutes and hours line up with the grid.
const T0: u64 = 1_767_571_200_000;

fn minute(t_ms: u64, cpu: f64, samples: u32) -> Bucket {
    Bucket {
        t_ms,
        samples,
        cpu_pct: Stat {
            min: cpu - 1.0,
            mean: cpu,
            max: cpu + 1.0,
        },
        mem_used_bytes: Some(Stat::one(1e9)),
        volumes: vec![VolumeStat {
            mount: "/".into(),
            used_bytes: Stat::one(5e9),
            total_bytes: 10_000_000_000,
        }],
        top_cpu: Some(TopCpu {
            name: "rustc".into(),
            cpu_pct: cpu,
        }),
        ..Default::default()
    }
}

fn open(dir: &tempfile::TempDir) -> (Store, Opened) {
    Store::open(&dir.path().join("h.db"), Layout::default()).unwrap()
}

#[test]
fn minutes_round_trip_and_roll_into_their_hour() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, opened) = open(&dir);
    assert_eq!(opened, Opened::Created);
    let first = minute(T0, 10.0, 60);
    store.write(std::slice::from_ref(&first), T0).unwrap();
    store
        .write(
            &[minute(T0 + MIN, 30.0, 20), minute(T0 + HOUR, 50.0, 60)],
            T0,
        )
        .unwrap();

    let minutes = store.read(Resolution::Minute, T0, T0 + 2 * HOUR).unwrap();
    assert_eq!(minutes.len(), 3);
    assert_eq!(minutes[0], first, "a row reads back as it was written");
    let hours = store.read(Resolution::Hour, T0, T0 + 2 * HOUR).unwrap();
    assert_eq!(hours.len(), 2);
    assert_eq!((hours[0].t_ms, hours[0].samples), (T0, 80));
    // Weighted: (10 × 60 + 30 × 20) / 80 = 15.
    assert_eq!(
        hours[0].cpu_pct,
        Stat {
            min: 9.0,
            mean: 15.0,
            max: 31.0
        }
    );
    assert_eq!(hours[0].volumes[0].total_bytes, 10_000_000_000);
    assert_eq!(hours[1].cpu_pct.mean, 50.0);
    assert_eq!(store.counts().unwrap(), (3, 2));
}

#[test]
fn a_minute_written_twice_is_merged_not_replaced() {
    // A graceful stop writes the minute so far; the restarted host writes the rest.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open(&dir);
    store.write(&[minute(T0, 10.0, 20)], T0).unwrap();
    store.write(&[minute(T0, 40.0, 40)], T0).unwrap();
    let rows = store.read(Resolution::Minute, T0, T0 + MIN).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].samples, 60);
    assert_eq!(
        rows[0].cpu_pct,
        Stat {
            min: 9.0,
            mean: 30.0,
            max: 41.0
        }
    );
    assert_eq!(rows[0].volumes.len(), 1);
}

#[test]
fn retention_prunes_minutes_after_7_days_and_hours_after_90() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open(&dir);
    let old = T0 - 100 * DAY_MS;
    let rows: Vec<Bucket> = [old, T0 - 30 * DAY_MS, T0 - 8 * DAY_MS, T0 - 6 * DAY_MS]
        .into_iter()
        .map(|t| minute(t, 5.0, 60))
        .collect();
    // Written as of 100 days ago, nothing is old yet.
    store.write(&rows, old).unwrap();
    assert_eq!(store.counts().unwrap(), (4, 4));
    store.write(&[minute(T0, 5.0, 60)], T0).unwrap();
    let minutes: Vec<u64> = store
        .read(Resolution::Minute, 0, u64::MAX / 2)
        .unwrap()
        .iter()
        .map(|b| b.t_ms)
        .collect();
    assert_eq!(
        minutes,
        [T0 - 6 * DAY_MS, T0],
        "minutes older than 7 days are gone"
    );
    let hours: Vec<u64> = store
        .read(Resolution::Hour, 0, u64::MAX / 2)
        .unwrap()
        .iter()
        .map(|b| b.t_ms)
        .collect();
    assert_eq!(
        hours,
        [T0 - 30 * DAY_MS, T0 - 8 * DAY_MS, T0 - 6 * DAY_MS, T0],
        "hours older than 90 days are gone"
    );
    // The volume rows went with their buckets.
    let volumes: i64 = store
        .conn
        .query_row("SELECT count(*) FROM volume", [], |r| r.get(0))
        .unwrap();
    assert_eq!(volumes, 6);
}

#[test]
fn history_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut store, _) = open(&dir);
        store.write(&[minute(T0, 12.0, 60)], T0).unwrap();
    }
    let (store, opened) = open(&dir);
    assert_eq!(opened, Opened::Existing);
    assert_eq!(store.read(Resolution::Minute, T0, T0 + 1).unwrap().len(), 1);
}

#[cfg(unix)]
#[test]
fn the_folder_and_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/folder/h.db");
    let (mut store, _) = Store::open(&path, Layout::default()).unwrap();
    store.write(&[minute(T0, 1.0, 1)], T0).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        mode(&path.with_extension("db-wal")),
        0o600,
        "SQLite copies the mode"
    );
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    drop(store);
    // A file someone made readable to all is made owner-only again.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _ = Store::open(&path, Layout::default()).unwrap();
    assert_eq!(mode(&path), 0o600);
}

/// Opens `path`, expecting it moved aside as `kind` with its bytes intact and a fresh file in
/// its place.
fn expect_moved_aside(path: &Path, kind: &str) -> String {
    let before = std::fs::read(path).unwrap();
    let (mut store, opened) = Store::open(path, Layout::default()).unwrap();
    let Opened::Replaced { aside, reason } = opened else {
        panic!("{kind}: not moved aside: {opened:?}");
    };
    let name = aside.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("h.db.{kind}-")), "{name}");
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        before,
        "the bad file is kept as it was"
    );
    store.write(&[minute(T0, 1.0, 1)], T0).unwrap();
    assert_eq!(store.counts().unwrap().0, 1, "the fresh file works");
    reason
}

#[test]
fn a_file_that_is_not_a_database_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    std::fs::write(&path, b"these are my notes, not a database\n".repeat(200)).unwrap();
    let reason = expect_moved_aside(&path, "corrupt");
    assert!(reason.contains("not a database"), "{reason}");
}

#[test]
fn another_programs_database_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('kei');")
            .unwrap();
    }
    let reason = expect_moved_aside(&path, "foreign");
    assert!(reason.contains("contacts"), "{reason}");
}

#[test]
fn a_file_from_a_newer_build_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    drop(open(&dir));
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", schema::VERSION + 1)
        .unwrap();
    let reason = expect_moved_aside(&path, "newer");
    assert!(reason.contains("newer"), "{reason}");
}

#[test]
fn a_damaged_history_file_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let (mut store, _) = open(&dir);
        let rows: Vec<Bucket> = (0..2_000).map(|i| minute(T0 + i * MIN, 5.0, 60)).collect();
        store.write(&rows, T0).unwrap();
        // Everything into the main file, so the damage below hits real pages.
        store
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 64 * 1024, "{} bytes", bytes.len());
    // Garbage over pages 3 to 12 (the header page stays valid).
    for b in &mut bytes[2 * 4096..12 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let reason = expect_moved_aside(&path, "corrupt");
    assert!(!reason.is_empty());
}

#[test]
fn an_empty_file_is_used_as_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    std::fs::write(&path, b"").unwrap();
    let (store, opened) = Store::open(&path, Layout::default()).unwrap();
    assert_eq!(opened, Opened::Existing, "not moved aside");
    assert_eq!(store.counts().unwrap(), (0, 0));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("corrupt") || n.contains("foreign")),
        "{names:?}"
    );
}

#[test]
fn a_path_that_cannot_be_a_file_is_an_error_not_a_move() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be: left alone, the error says where.
    let path = dir.path().join("h.db");
    std::fs::create_dir(&path).unwrap();
    let err = Store::open(&path, Layout::default()).err().unwrap();
    assert!(err.to_string().contains("h.db"), "{err}");
    assert!(path.is_dir());
}

#[test]
fn a_full_disk_keeps_minutes_in_memory_and_writes_them_later() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let pages: i64 = store
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    // No room for one more page: a write that needs one fails as on a full disk (SQLITE_FULL).
    store.cap_pages(pages as u64).unwrap();
    let mut w = Pending::new(store);
    for i in 0..100 {
        w.push(minute(T0 + i * MIN, 5.0, 60));
    }
    assert_eq!(w.flush(T0), StoreState::Failing);
    w.push(minute(T0 + 100 * MIN, 5.0, 60));
    assert_eq!(w.flush(T0), StoreState::Failing);
    assert_eq!(w.pending.len(), 101, "nothing lost while failing");
    assert_eq!(w.store.counts().unwrap(), (0, 0), "all or nothing");
    // Space again: the next minute's write takes the ones waiting with it.
    w.store.cap_pages(1 << 30).unwrap();
    w.push(minute(T0 + 101 * MIN, 5.0, 60));
    assert_eq!(w.flush(T0), StoreState::Ok);
    assert!(w.pending.is_empty());
    assert_eq!(w.store.counts().unwrap(), (102, 2));

    // A very long failure keeps only the newest minutes.
    let (store, _) = Store::open(&dir.path().join("other.db"), Layout::default()).unwrap();
    let mut w = Pending::new(store);
    for i in 0..(MAX_PENDING as u64 + 5) {
        w.push(minute(T0 + i * MIN, 5.0, 1));
    }
    assert_eq!(w.pending.len(), MAX_PENDING);
    assert_eq!(w.dropped, 5);
    assert_eq!(w.pending.front().unwrap().t_ms, T0 + 5 * MIN);
}

#[test]
fn the_accumulator_feeds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open(&dir);
    let mut acc = Accumulator::new(MIN);
    let mut closed = Vec::new();
    for s in 0..180u64 {
        let snap = app::model::Snapshot {
            taken_at_ms: T0 + s * 1_000,
            cpu: app::model::CpuStats {
                total_pct: (s % 60) as f32,
                ..Default::default()
            },
            ..Default::default()
        };
        closed.extend(acc.push(&snap));
    }
    closed.extend(acc.take());
    store.write(&closed, T0).unwrap();
    let rows = store.read(Resolution::Minute, T0, T0 + HOUR).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r.samples == 60 && r.cpu_pct.mean == 29.5));
}

/// A full week of minutes (10 080 rows, three volumes each): how long `range=7d` takes to read
/// and encode, and its size. Ignored by default; run with
/// `cargo test --release -p server --lib week_of_minutes -- --ignored --nocapture`.
#[test]
#[ignore]
fn week_of_minutes_read_cost() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open(&dir);
    let week = 7 * 24 * 60;
    let rows: Vec<Bucket> = (0..week)
        .map(|i| {
            let mut b = minute(T0 + i * MIN, (i % 100) as f64, 60);
            for m in ["/System/Volumes/Data", "/Volumes/Backup"] {
                b.volumes.push(VolumeStat {
                    mount: m.into(),
                    ..b.volumes[0].clone()
                });
            }
            b.top_memory = Some(app::history::TopMemory {
                name: "com.apple.WebKit.WebContent".into(),
                memory_bytes: 1.5e9,
            });
            b
        })
        .collect();
    for chunk in rows.chunks(1440) {
        store.write(chunk, T0 + week * MIN).unwrap();
    }
    let t = std::time::Instant::now();
    let read = store.read(Resolution::Minute, T0, T0 + week * MIN).unwrap();
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = std::time::Instant::now();
    let json = serde_json::to_string(&read).unwrap();
    let json_ms = t.elapsed().as_secs_f64() * 1e3;
    let csv = super::csv::render(&read);
    // What a chart asks for: `points=240`.
    let n = read.len();
    let t = std::time::Instant::now();
    let chart = app::history::RangeHistory {
        range: app::history::Range::Week,
        resolution: Resolution::Minute,
        resolution_ms: MIN,
        from_ms: T0,
        to_ms: T0 + week * MIN,
        store: app::history::StoreState::Ok,
        points: read.clone(),
    }
    .downsample(240);
    let chart_json = serde_json::to_string(&chart).unwrap();
    let chart_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "points=240: {} points, JSON {:.0} KB, downsampled and encoded in {chart_ms:.1} ms",
        chart.points.len(),
        chart_json.len() as f64 / 1e3
    );
    assert_eq!(chart.points.len(), 240);
    assert!(
        chart
            .points
            .iter()
            .map(|b| u64::from(b.samples))
            .sum::<u64>()
            == n as u64 * 60
    );
    let size: u64 = ["h.db", "h.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "a week of minutes: {} rows read in {read_ms:.0} ms, JSON {:.1} MB in {json_ms:.0} ms, \
         CSV {:.1} MB; file and WAL {:.1} MB",
        read.len(),
        json.len() as f64 / 1e6,
        csv.len() as f64 / 1e6,
        size as f64 / 1e6
    );
    assert_eq!(read.len() as u64, week);
}
