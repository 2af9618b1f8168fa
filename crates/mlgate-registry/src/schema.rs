//! The registry schema and its forward-only migrations.
//!
//! `MIGRATIONS[i]` turns a database at version `i` into version `i + 1` (SQLite's
//! `user_version` holds the version). A released entry is never edited: a change is a new
//! entry, and the test below builds a database at every earlier version and upgrades it.
//! Times are Unix milliseconds; ids are lowercase hex.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{RegistryError, Result};

/// The schema version this mlgate writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

pub const MIGRATIONS: &[&str] = &[
    // v1: builds with lineage, benchmarks with raw samples, tags with their history, the
    // command history.
    r#"
CREATE TABLE builds (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    source_path   TEXT NOT NULL,
    source_hash   TEXT NOT NULL,
    artifact_hash TEXT NOT NULL,
    artifact_kind TEXT NOT NULL,
    format        TEXT NOT NULL,
    target        TEXT NOT NULL,
    backend       TEXT,
    task          TEXT,
    size_bytes    INTEGER NOT NULL,
    parent_id     TEXT REFERENCES builds(id),
    root_id       TEXT NOT NULL REFERENCES builds(id),
    method        TEXT,
    imported      INTEGER NOT NULL,
    notes         TEXT,
    created_at    INTEGER NOT NULL,
    machine_id    TEXT NOT NULL,
    hostname      TEXT NOT NULL
);
-- `log` lists builds newest first, filtered by substrings of source path or name and by
-- format, target, task or lineage. This index holds every filtered column in that order, so
-- a filter is checked on the index alone (no table lookup per row) and `--tree` finds its
-- roots with an index-only scan: fast at any history size.
CREATE INDEX builds_listing ON builds(created_at, source_path, name, format, target, task,
    parent_id, root_id);
CREATE INDEX builds_root ON builds(root_id);
CREATE INDEX builds_parent ON builds(parent_id);
CREATE INDEX builds_artifact ON builds(artifact_hash);

CREATE TABLE benchmarks (
    id            INTEGER PRIMARY KEY,
    build_id      TEXT NOT NULL REFERENCES builds(id),
    backend       TEXT NOT NULL,
    p50_ms        REAL NOT NULL,
    p95_ms        REAL,
    memory_mb     REAL,
    n             INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    machine_id    TEXT NOT NULL,
    hostname      TEXT NOT NULL,
    statistics    TEXT NOT NULL,
    settings      TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    samples_count INTEGER NOT NULL,
    samples       BLOB
);
CREATE INDEX benchmarks_build ON benchmarks(build_id, created_at);
CREATE INDEX benchmarks_created ON benchmarks(created_at);

CREATE TABLE tags (
    name       TEXT PRIMARY KEY,
    build_id   TEXT NOT NULL REFERENCES builds(id),
    updated_at INTEGER NOT NULL
);
CREATE INDEX tags_build ON tags(build_id);

CREATE TABLE tag_events (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    build_id          TEXT REFERENCES builds(id),
    previous_build_id TEXT REFERENCES builds(id),
    at                INTEGER NOT NULL,
    machine_id        TEXT NOT NULL,
    hostname          TEXT NOT NULL
);
CREATE INDEX tag_events_name ON tag_events(name, at);

CREATE TABLE command_history (
    id          TEXT PRIMARY KEY,
    command     TEXT NOT NULL,
    args        TEXT NOT NULL,
    exit_code   INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    cwd         TEXT NOT NULL,
    machine_id  TEXT NOT NULL,
    hostname    TEXT NOT NULL
);
CREATE INDEX command_history_started ON command_history(started_at);

CREATE TABLE command_builds (
    history_id TEXT NOT NULL REFERENCES command_history(id) ON DELETE CASCADE,
    build_id   TEXT NOT NULL,
    PRIMARY KEY (history_id, build_id)
);
CREATE INDEX command_builds_build ON command_builds(build_id);
"#,
    // v2: accuracy checks between two builds (filled by the accuracy issue).
    r#"
CREATE TABLE accuracy_checks (
    id                 INTEGER PRIMARY KEY,
    baseline_build_id  TEXT NOT NULL REFERENCES builds(id),
    candidate_build_id TEXT NOT NULL REFERENCES builds(id),
    passed             INTEGER NOT NULL,
    metrics            TEXT NOT NULL,
    settings           TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    machine_id         TEXT NOT NULL,
    hostname           TEXT NOT NULL
);
CREATE INDEX accuracy_checks_candidate ON accuracy_checks(candidate_build_id, created_at);
"#,
    // v3: interleaved latency comparisons between two builds (what `explore` measured), so
    // `insights` can say which technique pays off from side-by-side figures.
    r#"
CREATE TABLE comparisons (
    id                 INTEGER PRIMARY KEY,
    baseline_build_id  TEXT NOT NULL REFERENCES builds(id),
    candidate_build_id TEXT NOT NULL REFERENCES builds(id),
    backend            TEXT NOT NULL,
    metric             TEXT NOT NULL,
    relative_delta     REAL,
    ci_low             REAL,
    ci_high            REAL,
    significant        INTEGER NOT NULL,
    result             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    machine_id         TEXT NOT NULL,
    hostname           TEXT NOT NULL
);
CREATE INDEX comparisons_candidate ON comparisons(candidate_build_id, created_at);
"#,
];

pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring the database to [`CURRENT_VERSION`]. Each step runs in its own write transaction
/// that re-reads the version first, so processes racing to upgrade apply each step once.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, CURRENT_VERSION)
}

/// Bring the database to `target` (tests build databases of earlier versions with it).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(RegistryError::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    if found >= target {
        return Ok(());
    }
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let v = version(&tx)?;
        if v >= target {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[v as usize])?;
        // The version is part of the same transaction: a step is applied whole or not at all.
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows an mlgate at schema version `v` could have written; each later version must keep
    /// them readable.
    fn seed(conn: &Connection, v: i64) {
        if v >= 1 {
            conn.execute_batch(
                "INSERT INTO builds VALUES ('aa', 'old', '/m.onnx', 'h', 'h', 'file', 'onnx', \
                 'onnxruntime_cpu', NULL, NULL, 10, NULL, 'aa', NULL, 1, NULL, 1, 'm', 'host');
                 INSERT INTO benchmarks (build_id, backend, p50_ms, n, created_at, machine_id,
                    hostname, statistics, settings, fingerprint, samples_count)
                 VALUES ('aa', 'tract', 1.5, 10, 2, 'm', 'host', '{}', '{}', '{}', 0);
                 INSERT INTO tags VALUES ('main', 'aa', 3);
                 INSERT INTO command_history VALUES ('0123456789abcdef', 'import', '[]', 0, 5,
                    4, '/', 'm', 'host');",
            )
            .unwrap();
        }
    }

    #[test]
    fn every_earlier_version_migrates_to_the_current_one() {
        for start in 0..CURRENT_VERSION {
            let mut conn = Connection::open_in_memory().unwrap();
            conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
            migrate_to(&mut conn, start).unwrap();
            assert_eq!(version(&conn).unwrap(), start);
            seed(&conn, start);
            migrate(&mut conn).unwrap();
            assert_eq!(version(&conn).unwrap(), CURRENT_VERSION, "from v{start}");
            if start >= 1 {
                let name: String = conn
                    .query_row("SELECT name FROM builds WHERE id = 'aa'", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(name, "old");
                let tag: String = conn
                    .query_row("SELECT build_id FROM tags WHERE name = 'main'", [], |r| {
                        r.get(0)
                    })
                    .unwrap();
                assert_eq!(tag, "aa");
            }
            // Every table of the current schema exists.
            for table in [
                "builds",
                "benchmarks",
                "tags",
                "tag_events",
                "command_history",
                "command_builds",
                "accuracy_checks",
            ] {
                let n: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                        [table],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(n, 1, "{table} after migrating from v{start}");
            }
            let fk: i64 = conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(fk, 0);
            // Migrating again is a no-op.
            migrate(&mut conn).unwrap();
        }
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("newer mlgate"), "{err}");
    }
}
