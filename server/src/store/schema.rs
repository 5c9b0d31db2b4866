//! The database file: opening it safely (owner-only, WAL, checked, a bad file moved aside) and
//! the rows of its two tables.
//!
//! `bucket` holds one row per (resolution, start): minutes and hours alike, with min/mean/max
//! columns for each quantity and the bucket's top programs. `volume` holds each volume's used
//! space for the same keys. Both are `WITHOUT ROWID` tables clustered on their key, so a range
//! read and the retention delete are one index seek each.

use std::fs::{self, OpenOptions};
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, Row, Transaction, TransactionBehavior};
use thiserror::Error;

use app::history::{Bucket, Stat, TopCpu, TopMemory, VolumeStat};

/// `PRAGMA application_id` of our files ("MSHT"): another program's SQLite file is told apart.
pub const APPLICATION_ID: i32 = 0x4D53_4854;
/// `PRAGMA user_version`: the schema below. A file from a newer build is moved aside, not read.
pub const VERSION: i32 = 1;
/// How long a statement waits for another connection's lock (a second host on the same file,
/// or a reader) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The stat columns, in the order of [`stats`]: `<name>_min`, `<name>_mean`, `<name>_max`.
const STATS: [&str; 8] = [
    "cpu_pct",
    "mem_pct",
    "swap_used",
    "net_rx",
    "net_tx",
    "disk_read",
    "disk_write",
    "mem_used",
];

fn stats(b: &Bucket) -> [Option<Stat>; 8] {
    [
        Some(b.cpu_pct),
        Some(b.mem_pct),
        Some(b.swap_used_bytes),
        Some(b.net_rx_bps),
        Some(b.net_tx_bps),
        Some(b.disk_read_bps),
        Some(b.disk_write_bps),
        b.mem_used_bytes,
    ]
}

fn schema_sql() -> String {
    let mut cols = String::new();
    for name in STATS {
        // Only `mem_used` may be missing (a bucket that never had it).
        let null = if name == "mem_used" { "" } else { " NOT NULL" };
        for part in ["min", "mean", "max"] {
            cols.push_str(&format!("    {name}_{part} REAL{null},\n"));
        }
    }
    format!(
        "CREATE TABLE IF NOT EXISTS bucket (
    res_ms INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    samples INTEGER NOT NULL,
{cols}    top_cpu_name TEXT,
    top_cpu_pct REAL,
    top_mem_name TEXT,
    top_mem_bytes REAL,
    PRIMARY KEY (res_ms, t_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS volume (
    res_ms INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    mount TEXT NOT NULL,
    used_min REAL NOT NULL,
    used_mean REAL NOT NULL,
    used_max REAL NOT NULL,
    total_bytes INTEGER NOT NULL,
    PRIMARY KEY (res_ms, t_ms, mount)
) WITHOUT ROWID;"
    )
}

/// `res_ms, t_ms, samples, <stats…>, top_cpu_name, top_cpu_pct, top_mem_name, top_mem_bytes`.
fn bucket_columns() -> String {
    let mut cols = vec!["res_ms".to_string(), "t_ms".into(), "samples".into()];
    for name in STATS {
        for part in ["min", "mean", "max"] {
            cols.push(format!("{name}_{part}"));
        }
    }
    cols.extend(
        [
            "top_cpu_name",
            "top_cpu_pct",
            "top_mem_name",
            "top_mem_bytes",
        ]
        .map(String::from),
    );
    cols.join(", ")
}

/// What opening found.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// A new, empty file.
    Created,
    /// Our file, with the history it had.
    Existing,
    /// The file at the path could not be used (`reason`); it now lies at `aside`, and a fresh
    /// file took its place.
    Replaced { aside: PathBuf, reason: String },
}

#[derive(Debug, Error)]
pub enum OpenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the fresh file is unusable too: {0}")]
    StillUnusable(String),
}

/// Why a file is not used as it is.
enum Problem {
    /// Move it aside and start afresh: `kind` names the aside copy (`corrupt`, `foreign`,
    /// `newer`), `reason` is for the log.
    Unusable { kind: &'static str, reason: String },
    /// Leave it alone (a permission, a lock, an I/O error): the history is off this run.
    Failed(OpenError),
}

impl From<rusqlite::Error> for Problem {
    fn from(e: rusqlite::Error) -> Self {
        if is_corruption(&e) {
            Problem::Unusable {
                kind: "corrupt",
                reason: e.to_string(),
            }
        } else {
            Problem::Failed(e.into())
        }
    }
}

/// SQLite's answer for a file that is not a database, or a damaged one.
pub fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Opens (or creates) the history file at `path` for writing. Its folder is created owner-only
/// (0700) if missing, the file owner-only (0600). A file that is not ours, is damaged, or comes
/// from a newer build is renamed aside (with its `-wal`/`-shm`) and a fresh one created.
pub fn open(path: &Path) -> Result<(Connection, Opened), OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let problem = match connect(path) {
        Ok((conn, created)) => {
            let opened = if created {
                Opened::Created
            } else {
                Opened::Existing
            };
            return Ok((conn, opened));
        }
        Err(Problem::Failed(e)) => return Err(e),
        Err(Problem::Unusable { kind, reason }) => (kind, reason),
    };
    let (kind, reason) = problem;
    let aside = move_aside(path, kind)?;
    match connect(path) {
        Ok((conn, _)) => Ok((conn, Opened::Replaced { aside, reason })),
        Err(Problem::Failed(e)) => Err(e),
        Err(Problem::Unusable { reason, .. }) => Err(OpenError::StillUnusable(reason)),
    }
}

/// A second connection to an existing file, for reads (never creates one).
pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Returns the connection and whether the file was created now.
fn connect(path: &Path) -> Result<(Connection, bool), Problem> {
    let created = create_private_file(path)?;
    // The file exists now (with our permissions): SQLite must not create it with its own.
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Reads first: a file that turns out not to be ours is moved aside as it was found.
    let check: Vec<String> = conn
        .prepare("PRAGMA quick_check")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if check != ["ok"] {
        return Err(Problem::Unusable {
            kind: "corrupt",
            reason: format!(
                "damaged ({})",
                check.first().map_or("no answer", |s| s.as_str())
            ),
        });
    }
    let identify = |conn: &Connection| -> rusqlite::Result<(i32, i32, Vec<String>)> {
        let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tables = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok((app, version, tables))
    };
    let (app, version, tables) = identify(&conn)?;
    if app == 0 && tables.is_empty() {
        // New (or empty): create the schema. Another host may race us to it, hence the check
        // again inside the write transaction and `IF NOT EXISTS`.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (app, _, tables) = identify(&tx)?;
        if app == 0 && tables.is_empty() || app == APPLICATION_ID {
            tx.execute_batch(&schema_sql())?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", VERSION)?;
        }
        tx.commit()?;
    } else if app != APPLICATION_ID {
        return Err(Problem::Unusable {
            kind: "foreign",
            reason: format!(
                "not a Mac Status history file (application_id {app:#x}, tables: {})",
                if tables.is_empty() {
                    "none".to_string()
                } else {
                    tables.join(", ")
                }
            ),
        });
    } else if version > VERSION {
        return Err(Problem::Unusable {
            kind: "newer",
            reason: format!(
                "written by a newer Mac Status (schema {version}; this build reads {VERSION})"
            ),
        });
    }
    // WAL: a write is appended and committed atomically, so a kill at any moment leaves the
    // last committed minute whole; FULL syncs each commit (once a minute) so a power cut does
    // not undo it either.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "the history database is not in WAL mode");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok((conn, created))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create_private_dir(dir: &Path) -> Result<(), OpenError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir).map_err(io(dir))
}

/// `path` plus `suffix` (`history.db` → `history.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Creates the file owner-only if it is missing (then returns `true`); an existing file
/// readable by others is made owner-only.
fn create_private_file(path: &Path) -> Result<bool, Problem> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path) {
        Ok(_) => {
            // A journal left from a file deleted by hand would be replayed into the new one.
            for suffix in ["-wal", "-shm", "-journal"] {
                let _ = fs::remove_file(with_suffix(path, suffix));
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            for p in [
                path.to_path_buf(),
                with_suffix(path, "-wal"),
                with_suffix(path, "-shm"),
            ] {
                if let Ok(meta) = fs::metadata(&p) {
                    if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                        if let Err(e) = fs::set_permissions(&p, fs::Permissions::from_mode(0o600)) {
                            tracing::warn!(path = %p.display(), %e, "cannot make the history file owner-only");
                        }
                    }
                }
            }
            Ok(false)
        }
        Err(e) => Err(Problem::Failed(io(path)(e))),
    }
}

/// Renames `path` (and its `-wal`, `-shm`) to `<path>.<kind>-<unix seconds>`; returns the new
/// name.
fn move_aside(path: &Path, kind: &str) -> Result<PathBuf, OpenError> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = with_suffix(path, &format!(".{kind}-{secs}"));
    let mut n = 1;
    while aside.exists() {
        aside = with_suffix(path, &format!(".{kind}-{secs}-{n}"));
        n += 1;
    }
    fs::rename(path, &aside).map_err(io(path))?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let from = with_suffix(path, suffix);
        if from.exists() {
            fs::rename(&from, with_suffix(&aside, suffix)).map_err(io(&from))?;
        }
    }
    Ok(aside)
}

static INSERT_BUCKET: LazyLock<String> = LazyLock::new(|| {
    let placeholders = (1..=3 + STATS.len() * 3 + 4)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT OR REPLACE INTO bucket ({}) VALUES ({placeholders})",
        bucket_columns()
    )
});

static SELECT_BUCKETS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM bucket WHERE res_ms = ?1 AND t_ms >= ?2 AND t_ms < ?3 ORDER BY t_ms",
        bucket_columns()
    )
});

/// Inserts `b` as the row (res_ms, b.t_ms), replacing any row there.
pub fn put(tx: &Transaction, res_ms: u64, b: &Bucket) -> rusqlite::Result<()> {
    let mut values: Vec<rusqlite::types::Value> = vec![
        (res_ms as i64).into(),
        (b.t_ms as i64).into(),
        i64::from(b.samples).into(),
    ];
    for s in stats(b) {
        match s {
            Some(s) => values.extend([s.min.into(), s.mean.into(), s.max.into()]),
            None => values.extend(std::iter::repeat_n(rusqlite::types::Value::Null, 3)),
        }
    }
    let text = |s: Option<&String>| s.map_or(rusqlite::types::Value::Null, |s| s.clone().into());
    let real = |v: Option<f64>| v.map_or(rusqlite::types::Value::Null, Into::into);
    values.extend([
        text(b.top_cpu.as_ref().map(|t| &t.name)),
        real(b.top_cpu.as_ref().map(|t| t.cpu_pct)),
        text(b.top_memory.as_ref().map(|t| &t.name)),
        real(b.top_memory.as_ref().map(|t| t.memory_bytes)),
    ]);
    tx.prepare_cached(&INSERT_BUCKET)?
        .execute(rusqlite::params_from_iter(values))?;
    tx.prepare_cached("DELETE FROM volume WHERE res_ms = ?1 AND t_ms = ?2")?
        .execute(params![res_ms as i64, b.t_ms as i64])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO volume (res_ms, t_ms, mount, used_min, used_mean, used_max, total_bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for v in &b.volumes {
        insert.execute(params![
            res_ms as i64,
            b.t_ms as i64,
            v.mount,
            v.used_bytes.min,
            v.used_bytes.mean,
            v.used_bytes.max,
            v.total_bytes as i64
        ])?;
    }
    Ok(())
}

/// Rows of resolution `res_ms` starting in `from_ms..to_ms`, oldest first.
pub fn get(
    conn: &Connection,
    res_ms: u64,
    from_ms: u64,
    to_ms: u64,
) -> rusqlite::Result<Vec<Bucket>> {
    let range = params![res_ms as i64, from_ms as i64, to_ms as i64];
    let mut buckets: Vec<Bucket> = conn
        .prepare_cached(&SELECT_BUCKETS)?
        .query_map(range, bucket_from_row)?
        .collect::<Result<_, _>>()?;
    let mut volumes = conn.prepare_cached(
        "SELECT t_ms, mount, used_min, used_mean, used_max, total_bytes FROM volume
         WHERE res_ms = ?1 AND t_ms >= ?2 AND t_ms < ?3 ORDER BY t_ms, mount",
    )?;
    let mut rows = volumes.query(range)?;
    // Both come ordered by time: one pass pairs them.
    let mut i = 0;
    while let Some(r) = rows.next()? {
        let t = r.get::<_, i64>(0)? as u64;
        while i < buckets.len() && buckets[i].t_ms < t {
            i += 1;
        }
        if let Some(b) = buckets.get_mut(i).filter(|b| b.t_ms == t) {
            b.volumes.push(VolumeStat {
                mount: r.get(1)?,
                used_bytes: Stat {
                    min: r.get(2)?,
                    mean: r.get(3)?,
                    max: r.get(4)?,
                },
                total_bytes: r.get::<_, i64>(5)? as u64,
            });
        }
    }
    Ok(buckets)
}

fn bucket_from_row(r: &Row) -> rusqlite::Result<Bucket> {
    let stat = |i: usize| -> rusqlite::Result<Option<Stat>> {
        let base = 3 + i * 3;
        Ok(
            match (
                r.get::<_, Option<f64>>(base)?,
                r.get::<_, Option<f64>>(base + 1)?,
                r.get::<_, Option<f64>>(base + 2)?,
            ) {
                (Some(min), Some(mean), Some(max)) => Some(Stat { min, mean, max }),
                _ => None,
            },
        )
    };
    let s = |i| stat(i).map(Option::unwrap_or_default);
    let top = 3 + STATS.len() * 3;
    Ok(Bucket {
        t_ms: r.get::<_, i64>(1)? as u64,
        samples: r.get(2)?,
        cpu_pct: s(0)?,
        mem_pct: s(1)?,
        swap_used_bytes: s(2)?,
        net_rx_bps: s(3)?,
        net_tx_bps: s(4)?,
        disk_read_bps: s(5)?,
        disk_write_bps: s(6)?,
        mem_used_bytes: stat(7)?,
        volumes: Vec::new(),
        top_cpu: match (
            r.get::<_, Option<String>>(top)?,
            r.get::<_, Option<f64>>(top + 1)?,
        ) {
            (Some(name), Some(cpu_pct)) => Some(TopCpu { name, cpu_pct }),
            _ => None,
        },
        top_memory: match (
            r.get::<_, Option<String>>(top + 2)?,
            r.get::<_, Option<f64>>(top + 3)?,
        ) {
            (Some(name), Some(memory_bytes)) => Some(TopMemory { name, memory_bytes }),
            _ => None,
        },
    })
}

/// Deletes the rows of resolution `res_ms` that start before `before_ms`; returns how many.
pub fn prune(tx: &Transaction, res_ms: u64, before_ms: u64) -> rusqlite::Result<usize> {
    let args = params![res_ms as i64, before_ms as i64];
    tx.prepare_cached("DELETE FROM volume WHERE res_ms = ?1 AND t_ms < ?2")?
        .execute(args)?;
    tx.prepare_cached("DELETE FROM bucket WHERE res_ms = ?1 AND t_ms < ?2")?
        .execute(args)
}
