//! What a remote holds and under which keys, the records' wire format, and the rule that
//! decides where a tag points.
//!
//! Under the remote's prefix:
//! - `objects/sha256/<hash>`: an artifact's bytes (a directory artifact as one pack, see
//!   `pack.rs`), named by its content hash, so an object already there is never sent again.
//! - `builds/<build id>.json`: one immutable record per build, lineage included.
//! - `benchmarks/<build id>.<record hash>.json`, `accuracy/<candidate id>.<record hash>.json`:
//!   one immutable record per benchmark (raw samples and fingerprint included) or accuracy
//!   check.
//! - `tags/<hex of the tag name>.<record hash>.json`: one immutable record per tag event
//!   (set, moved, deleted). Tags are never a file rewritten in place: two machines moving
//!   one tag at once both append, and [`resolve_tag`] decides.
//!
//! A record's hash is sha256 of its JSON bytes, so writing the same record twice (from any
//! machine) lands on the same key, and a reader can check a record against its name.
//! Nothing is ever overwritten; every key is written create-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::benchmarks::{AccuracyCheck, Benchmark};
use crate::builds::{build_id, Build, BuildConfig};
use crate::error::{RegistryError, Result};
use crate::store::ArtifactKind;
use crate::tags::TagEvent;

/// Version of the layout and record format, written in every record.
pub const BUILD_RECORD: &str = "mlgate.remote-build/v1";
pub const BENCHMARK_RECORD: &str = "mlgate.remote-benchmark/v1";
pub const ACCURACY_RECORD: &str = "mlgate.remote-accuracy/v1";
pub const TAG_RECORD: &str = "mlgate.remote-tag-event/v1";

pub const OBJECTS: &str = "objects/sha256";
pub const BUILDS: &str = "builds";
pub const BENCHMARKS: &str = "benchmarks";
pub const ACCURACY: &str = "accuracy";
pub const TAGS: &str = "tags";

/// A build as stored on a remote: every column, times as Unix ms (no display format in a
/// wire format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildRecord {
    pub schema: String,
    pub id: String,
    pub name: String,
    pub source_path: String,
    pub source_hash: String,
    pub artifact_hash: String,
    pub artifact_kind: ArtifactKind,
    pub format: String,
    pub target: String,
    pub backend: Option<String>,
    pub task: Option<String>,
    pub size_bytes: u64,
    pub parent_id: Option<String>,
    pub root_id: String,
    pub method: Option<String>,
    pub imported: bool,
    pub notes: Option<String>,
    pub created_at: i64,
    pub machine_id: String,
    pub hostname: String,
}

impl BuildRecord {
    pub fn of(b: &Build) -> BuildRecord {
        BuildRecord {
            schema: BUILD_RECORD.into(),
            id: b.id.clone(),
            name: b.name.clone(),
            source_path: b.source_path.clone(),
            source_hash: b.source_hash.clone(),
            artifact_hash: b.artifact_hash.clone(),
            artifact_kind: b.artifact_kind,
            format: b.format.clone(),
            target: b.target.clone(),
            backend: b.backend.clone(),
            task: b.task.clone(),
            size_bytes: b.size_bytes,
            parent_id: b.parent_id.clone(),
            root_id: b.root_id.clone(),
            method: b.method.clone(),
            imported: b.imported,
            notes: b.notes.clone(),
            created_at: b.created_at,
            machine_id: b.machine_id.clone(),
            hostname: b.hostname.clone(),
        }
    }

    pub fn to_build(&self) -> Build {
        Build {
            id: self.id.clone(),
            name: self.name.clone(),
            source_path: self.source_path.clone(),
            source_hash: self.source_hash.clone(),
            artifact_hash: self.artifact_hash.clone(),
            artifact_kind: self.artifact_kind,
            format: self.format.clone(),
            target: self.target.clone(),
            backend: self.backend.clone(),
            task: self.task.clone(),
            size_bytes: self.size_bytes,
            parent_id: self.parent_id.clone(),
            root_id: self.root_id.clone(),
            method: self.method.clone(),
            imported: self.imported,
            notes: self.notes.clone(),
            created_at: self.created_at,
            machine_id: self.machine_id.clone(),
            hostname: self.hostname.clone(),
        }
    }

    /// A record must be what its key says: its id recomputed from its content, hashes that
    /// are hashes. A damaged or forged record is refused, never inserted.
    pub fn check(&self, key_id: &str) -> Result<()> {
        let config = BuildConfig {
            format: self.format.clone(),
            target: self.target.clone(),
            method: self.method.clone(),
            parent_id: self.parent_id.clone(),
        };
        let ok = self.schema == BUILD_RECORD
            && self.id == key_id
            && build_id(&self.source_hash, &config.hash()) == self.id
            && crate::store::is_sha256_hex(&self.artifact_hash);
        if ok {
            Ok(())
        } else {
            Err(RegistryError::invalid(
                "remote build record",
                key_id,
                "its content does not match its id (damaged or not written by mlgate); \
                 remove it from the remote and push the build again",
            ))
        }
    }
}

/// A benchmark as stored on a remote: the row without its local id, raw samples included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkRecord {
    pub schema: String,
    pub build_id: String,
    pub backend: String,
    pub p50_ms: f64,
    pub p95_ms: Option<f64>,
    pub memory_mb: Option<f64>,
    pub n: u64,
    pub created_at: i64,
    pub machine_id: String,
    pub hostname: String,
    pub statistics: serde_json::Value,
    pub settings: serde_json::Value,
    pub fingerprint: serde_json::Value,
    pub samples_ms: Vec<f64>,
}

impl BenchmarkRecord {
    pub fn of(b: &Benchmark) -> BenchmarkRecord {
        BenchmarkRecord {
            schema: BENCHMARK_RECORD.into(),
            build_id: b.build_id.clone(),
            backend: b.backend.clone(),
            p50_ms: b.p50_ms,
            p95_ms: b.p95_ms,
            memory_mb: b.memory_mb,
            n: b.n,
            created_at: b.created_at,
            machine_id: b.machine_id.clone(),
            hostname: b.hostname.clone(),
            statistics: b.statistics.clone(),
            settings: b.settings.clone(),
            fingerprint: b.fingerprint.clone(),
            samples_ms: b.samples_ms.clone(),
        }
    }
}

/// An accuracy check as stored on a remote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyRecord {
    pub schema: String,
    pub check: AccuracyCheck,
    pub created_at: i64,
    pub machine_id: String,
    pub hostname: String,
}

/// A tag event as stored on a remote (`build_id` `None`: the tag was deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    pub schema: String,
    pub name: String,
    pub build_id: Option<String>,
    pub previous_build_id: Option<String>,
    pub at: i64,
    pub machine_id: String,
    pub hostname: String,
}

impl TagRecord {
    pub fn of(e: &TagEvent) -> TagRecord {
        TagRecord {
            schema: TAG_RECORD.into(),
            name: e.name.clone(),
            build_id: e.build_id.clone(),
            previous_build_id: e.previous_build_id.clone(),
            at: e.at,
            machine_id: e.machine_id.clone(),
            hostname: e.hostname.clone(),
        }
    }
}

/// The bytes of a record and their sha256 (hex): what is uploaded, and the hash in its key.
pub fn encode<T: Serialize>(record: &T) -> (Vec<u8>, String) {
    // Serializing plain records to a Vec cannot fail.
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    let hash = hex::encode(Sha256::digest(&bytes));
    (bytes, hash)
}

/// Parse a downloaded record and check it against the hash in its key (when it has one).
pub fn decode<T: for<'de> Deserialize<'de>>(
    key: &str,
    bytes: &[u8],
    hash: Option<&str>,
) -> Result<T> {
    if let Some(h) = hash {
        let actual = hex::encode(Sha256::digest(bytes));
        if actual != h {
            return Err(RegistryError::invalid(
                "remote record",
                key,
                format!(
                    "its sha256 is {actual}, not the {h} its name says (damaged on the \
                     server); remove it and push again from a machine that has it"
                ),
            ));
        }
    }
    serde_json::from_slice(bytes).map_err(|e| {
        RegistryError::invalid(
            "remote record",
            key,
            format!("not an mlgate record ({e}); remove it from the remote"),
        )
    })
}

pub fn object_key(hash: &str) -> String {
    format!("{OBJECTS}/{hash}")
}

pub fn build_key(id: &str) -> String {
    format!("{BUILDS}/{id}.json")
}

pub fn benchmark_key(build_id: &str, hash: &str) -> String {
    format!("{BENCHMARKS}/{build_id}.{hash}.json")
}

pub fn accuracy_key(candidate_id: &str, hash: &str) -> String {
    format!("{ACCURACY}/{candidate_id}.{hash}.json")
}

/// Tag names are free text (spaces, slashes, any script): hex keeps the key one plain path
/// segment on every S3 implementation.
pub fn tag_key(name: &str, hash: &str) -> String {
    format!("{TAGS}/{}.{hash}.json", hex::encode(name.as_bytes()))
}

/// The parts of a record key's file name: `<owner>.<hash>.json` → (owner, hash), where the
/// owner is a build id or a hex tag name. `builds/<id>.json` → (id, None).
pub fn parse_record_name(file: &str) -> Option<(String, Option<String>)> {
    let stem = file.strip_suffix(".json")?;
    match stem.split_once('.') {
        Some((owner, hash)) if crate::store::is_sha256_hex(hash) => {
            Some((owner.to_string(), Some(hash.to_string())))
        }
        Some(_) => None,
        None => Some((stem.to_string(), None)),
    }
}

/// The tag name a `tags/` key's owner part stands for.
pub fn tag_name_of(owner_hex: &str) -> Option<String> {
    String::from_utf8(hex::decode(owner_hex).ok()?).ok()
}

/// Two moves of one tag made without seeing each other: the later one (by the rule) won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TagConflict {
    pub tag: String,
    /// Where the tag points now (`None`: deleted).
    pub kept_build_id: Option<String>,
    pub kept_machine_id: String,
    pub kept_hostname: String,
    #[serde(with = "crate::time::rfc3339")]
    #[schemars(with = "crate::time::Rfc3339")]
    pub kept_at: i64,
    /// Where the other machine had moved it.
    pub overridden_build_id: Option<String>,
    pub overridden_machine_id: String,
    pub overridden_hostname: String,
    #[serde(with = "crate::time::rfc3339")]
    #[schemars(with = "crate::time::Rfc3339")]
    pub overridden_at: i64,
}

/// Where a tag points after all its events, and the conflicts among them.
#[derive(Debug, Clone, PartialEq)]
pub struct TagResolution {
    /// The winning event (`build_id` `None`: the tag is deleted).
    pub winner: TagRecord,
    pub conflicts: Vec<TagConflict>,
}

/// The order of events: by recorded time, then machine id, then the build id (deletions
/// first), so every machine sorts the same set of events the same way.
fn order_key(e: &TagRecord) -> (i64, &str, &str, &str) {
    (
        e.at,
        e.machine_id.as_str(),
        e.build_id.as_deref().unwrap_or(""),
        e.previous_build_id.as_deref().unwrap_or(""),
    )
}

/// **The tag rule.** Events of one tag are ordered by recorded time (`at`, Unix ms), then
/// machine id, then build id; the tag is what the last event says. An event whose
/// `previous_build_id` differs from what the events before it resolve to was made without
/// seeing the one before it — two machines moved the tag concurrently — and is reported as a
/// conflict (the earlier move is overridden, never silently). `None` for no events.
pub fn resolve_tag(events: &[TagRecord]) -> Option<TagResolution> {
    let mut sorted: Vec<&TagRecord> = events.iter().collect();
    sorted.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    sorted.dedup_by(|a, b| a == b);
    let mut conflicts = Vec::new();
    let mut state: Option<&TagRecord> = None;
    for e in &sorted {
        if let Some(prev) = state {
            let current = prev.build_id.as_deref();
            if e.previous_build_id.as_deref() != current
                && e.machine_id != prev.machine_id
                && e.build_id.as_deref() != current
            {
                conflicts.push(TagConflict {
                    tag: e.name.clone(),
                    kept_build_id: e.build_id.clone(),
                    kept_machine_id: e.machine_id.clone(),
                    kept_hostname: e.hostname.clone(),
                    kept_at: e.at,
                    overridden_build_id: prev.build_id.clone(),
                    overridden_machine_id: prev.machine_id.clone(),
                    overridden_hostname: prev.hostname.clone(),
                    overridden_at: prev.at,
                });
            }
        }
        state = Some(e);
    }
    state.map(|w| TagResolution {
        winner: (*w).clone(),
        conflicts,
    })
}

/// Events grouped by tag name.
pub fn by_tag(events: Vec<TagRecord>) -> BTreeMap<String, Vec<TagRecord>> {
    let mut out: BTreeMap<String, Vec<TagRecord>> = BTreeMap::new();
    for e in events {
        out.entry(e.name.clone()).or_default().push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(build: Option<&str>, prev: Option<&str>, at: i64, machine: &str) -> TagRecord {
        TagRecord {
            schema: TAG_RECORD.into(),
            name: "main".into(),
            build_id: build.map(String::from),
            previous_build_id: prev.map(String::from),
            at,
            machine_id: machine.into(),
            hostname: format!("host-{machine}"),
        }
    }

    #[test]
    fn keys_are_flat_and_parse_back() {
        let h = "a".repeat(64);
        assert_eq!(object_key(&h), format!("objects/sha256/{h}"));
        assert_eq!(build_key("b1"), "builds/b1.json");
        assert_eq!(
            parse_record_name(&format!("b1.{h}.json")),
            Some(("b1".into(), Some(h.clone())))
        );
        assert_eq!(parse_record_name("b1.json"), Some(("b1".into(), None)));
        assert_eq!(parse_record_name("b1.short.json"), None);
        assert_eq!(parse_record_name("b1.txt"), None);
        let key = tag_key("release/v1 ü", &h);
        let file = key.strip_prefix("tags/").unwrap();
        let (owner, hash) = parse_record_name(file).unwrap();
        assert_eq!(tag_name_of(&owner).as_deref(), Some("release/v1 ü"));
        assert_eq!(hash.as_deref(), Some(h.as_str()));
    }

    #[test]
    fn records_are_checked_against_their_names() {
        let rec = ev(Some("b"), None, 1, "m");
        let (bytes, hash) = encode(&rec);
        let back: TagRecord = decode("k", &bytes, Some(&hash)).unwrap();
        assert_eq!(back, rec);
        let mut tampered = bytes.clone();
        tampered[10] ^= 1;
        let err = decode::<TagRecord>("k", &tampered, Some(&hash)).unwrap_err();
        assert!(err.to_string().contains("sha256"), "{err}");
        // The same record encodes to the same key on every machine.
        assert_eq!(encode(&rec.clone()).1, hash);
    }

    #[test]
    fn a_linear_history_resolves_to_its_last_move_without_conflict() {
        let events = vec![
            ev(Some("b2"), Some("b1"), 20, "m2"),
            ev(Some("b1"), None, 10, "m1"),
            ev(None, Some("b2"), 30, "m1"),
            ev(Some("b3"), None, 40, "m1"),
        ];
        let r = resolve_tag(&events).unwrap();
        assert_eq!(r.winner.build_id.as_deref(), Some("b3"));
        assert!(r.conflicts.is_empty(), "{:?}", r.conflicts);
        assert!(resolve_tag(&[]).is_none());
    }

    #[test]
    fn concurrent_moves_resolve_newest_first_and_are_reported() {
        // Both machines saw b1 and moved the tag without seeing each other's move.
        let events = vec![
            ev(Some("b1"), None, 10, "m1"),
            ev(Some("bA"), Some("b1"), 20, "mA"),
            ev(Some("bB"), Some("b1"), 25, "mB"),
        ];
        let r = resolve_tag(&events).unwrap();
        assert_eq!(r.winner.build_id.as_deref(), Some("bB"));
        assert_eq!(r.conflicts.len(), 1);
        let c = &r.conflicts[0];
        assert_eq!(c.overridden_build_id.as_deref(), Some("bA"));
        assert_eq!(
            (c.kept_machine_id.as_str(), c.overridden_machine_id.as_str()),
            ("mB", "mA")
        );
        // The same instant: the machine id decides, the same way everywhere.
        let tie = vec![
            ev(Some("bZ"), None, 10, "m9"),
            ev(Some("bY"), None, 10, "m1"),
        ];
        let mut reversed = tie.clone();
        reversed.reverse();
        assert_eq!(
            resolve_tag(&tie).unwrap().winner,
            resolve_tag(&reversed).unwrap().winner
        );
        assert_eq!(resolve_tag(&tie).unwrap().winner.machine_id, "m9");
        assert_eq!(resolve_tag(&tie).unwrap().conflicts.len(), 1);
        // Two machines making the same move is agreement, not a conflict.
        let same = vec![
            ev(Some("b1"), None, 10, "m1"),
            ev(Some("b1"), None, 11, "m2"),
        ];
        assert!(resolve_tag(&same).unwrap().conflicts.is_empty());
    }
}
