//! `mlgate-registry`: where a workspace keeps what mlgate has seen — builds and their
//! lineage, benchmark results with their raw samples, accuracy checks, tags and baselines,
//! the command history — plus the content-addressed artifact store and the committed
//! `budget.toml` / `config.toml`.
//!
//! Depends on `mlgate-ir` only among mlgate crates (for content hashes); it never measures
//! anything and never runs a model: results arrive as plain records.
//!
//! Invariants:
//! - SQLite in WAL mode with a busy timeout and foreign keys on; every multi-row change is one
//!   transaction, and writers take the write lock up front (`BEGIN IMMEDIATE`) so two
//!   processes never deadlock upgrading a read lock.
//! - The schema only moves forward: [`schema::MIGRATIONS`] keeps the SQL of every version so
//!   a database made by any earlier mlgate opens and upgrades.
//! - An artifact is written under a temporary name and renamed into place, so
//!   `artifacts/sha256/<hash>` is either absent or complete; a build row is inserted only
//!   after its artifact is in place, so no row points at a missing artifact, and every read
//!   checks the bytes against the hash.
//! - A build id is a hash of what the build is (source hash, configuration, id scheme): the
//!   same model imported twice with the same settings is the same build, on any machine.
//! - User-supplied names and paths are data: every query is parameterized.

mod benchmarks;
mod builds;
pub mod config;
mod error;
mod history;
pub mod hook;
mod layout;
mod machine;
pub mod remote;
pub mod schema;
pub mod store;
mod tags;
pub mod time;
mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use benchmarks::{
    AccuracyCheck, Benchmark, Comparison, LatestMetric, NewBenchmark, StoredAccuracyCheck,
    StoredComparison,
};
pub use builds::{
    build_id, method_label, Build, BuildConfig, BuildFilter, BuildSummary, NewBuild,
    BUILD_ID_SCHEME,
};
pub use config::{
    pick, AccuracySection, Budget, CiConfig, CiSection, Constraint, Limit, LimitSource, ResolvedCi,
    Sourced,
};
pub use error::{RegistryError, Result};
pub use history::{CommandEntry, CommandKind, HistoryFilter, NewCommand};
pub use layout::{discover, Layout, WORKSPACE_DIR_NAME};
pub use machine::Machine;
pub use store::{ArtifactKind, ArtifactState, ArtifactStore, StoredArtifact};
pub use tags::{Tag, TagChange, TagEvent, BASELINE_TAG};
pub use verify::{Problem, RepairOutcome, Severity, VerifyReport};

/// How long a writer waits for another process's write lock before giving up. Parallel CI
/// jobs on one machine queue up behind each other; none should fail for waiting.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// An open workspace registry: the database, the artifact store and this machine's identity.
pub struct Registry {
    conn: Connection,
    layout: Layout,
    store: ArtifactStore,
    machine: Machine,
}

impl Registry {
    /// Whether the workspace directory `dir` holds a registry (what [`Registry::open`]
    /// without `create` needs).
    pub fn exists(dir: &Path) -> bool {
        dir.join(layout::DB_FILE).exists()
    }

    /// Open the registry of the workspace directory `dir` (the `.mlgate` folder), creating
    /// the directory, database and artifact store when `create` is set. Returns whether this
    /// call created the workspace directory. Safe to call from many processes at once.
    pub fn open(dir: &Path, create: bool) -> Result<(Registry, bool)> {
        let layout = Layout::new(dir);
        let mut created = false;
        if !Registry::exists(dir) {
            if !create {
                return Err(RegistryError::NoRegistry {
                    dir: dir.to_path_buf(),
                });
            }
            created = layout.create()?;
        }
        let machine = Machine::load_or_create(&layout.machine_id_file())?;
        let conn = open_connection(&layout.db(), create)?;
        let store = ArtifactStore::new(layout.artifacts());
        let mut reg = Registry {
            conn,
            layout,
            store,
            machine,
        };
        schema::migrate(&mut reg.conn)?;
        Ok((reg, created))
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn dir(&self) -> &Path {
        self.layout.dir()
    }

    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// A write transaction that holds the write lock from its first statement.
    fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Number of rows in the main tables: (builds, benchmarks).
    pub fn counts(&self) -> Result<(u64, u64)> {
        let builds: i64 = self
            .conn
            .query_row("SELECT count(*) FROM builds", [], |r| r.get(0))?;
        let benches: i64 = self
            .conn
            .query_row("SELECT count(*) FROM benchmarks", [], |r| r.get(0))?;
        Ok((builds as u64, benches as u64))
    }
}

/// Open the database with the settings every connection needs. Several processes may be
/// creating the same database at this moment: switching to WAL takes a lock that SQLite's
/// busy handler does not always wait for, so that step retries on `SQLITE_BUSY` itself.
fn open_connection(path: &Path, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| RegistryError::Database {
        path: path.to_path_buf(),
        source: e,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0));
        match mode {
            Ok(_) => break,
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(RegistryError::Database {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        }
    }
    // WAL + NORMAL survives a killed process without losing committed work; only a power
    // cut can drop the last transactions, and never corrupts the file.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::DatabaseBusy
                || f.code == rusqlite::ErrorCode::DatabaseLocked
    )
}

/// Where the registry database of a workspace directory lives.
pub fn db_path(dir: &Path) -> PathBuf {
    Layout::new(dir).db()
}
