//! Remotes: a workspace's builds, benchmarks, accuracy checks and tags shared through an
//! S3-compatible object store, so CI runners and laptops see one history.
//!
//! `layout.rs` says what lives under which key and the tag rule; `config.rs` the
//! `[remote.NAME]` tables; `credentials.rs` the AWS chain. The S3 client is `object_store`
//! (request signing, retries with backoff, conditional puts); its async calls run on a
//! current-thread tokio runtime owned by [`RemoteClient`], so everything here is blocking.
//!
//! Guarantees:
//! - **Push order**: artifacts first, then build records (parents before children), then
//!   benchmarks and accuracy checks, then tag events — so a reader never finds a record
//!   whose artifact or parent is missing, and a push killed midway leaves only records a
//!   re-run completes. Every key is written create-only; an object or record already there
//!   is skipped, never sent again.
//! - **Pull integrity**: an artifact is downloaded to `artifacts/tmp/`, checked against its
//!   sha256, and only then renamed into the store; every record is checked against the hash
//!   (or build id) in its name. All rows of one pull go in one transaction, after every
//!   check passed: a failed pull makes nothing visible.
//! - **Credentials** never leave memory: not in the config, the registry, a report or an
//!   error message (messages from the server are scrubbed of them).

pub mod config;
pub mod credentials;
pub mod layout;
mod pack;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig,
};
use rusqlite::{params, OptionalExtension};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use config::{NamedRemote, RemoteBackend, RemoteSpec};
pub use layout::TagConflict;

use crate::benchmarks::Benchmark;
use crate::builds::{build_from_row, Build, BUILD_COLS};
use crate::error::{RegistryError, Result};
use crate::store::{ArtifactKind, ArtifactState};
use crate::Registry;
use layout::{AccuracyRecord, BenchmarkRecord, BuildRecord, TagRecord};

/// Parts of large artifacts are this big; smaller artifacts go in one request.
const PART_BYTES: usize = 8 << 20;
/// Artifacts up to this size are fetched many at a time, whole, into memory.
const SMALL_ARTIFACT: u64 = 1 << 20;
/// Small records in flight at once: enough to hide a round trip, few enough for any server.
const CONCURRENT_REQUESTS: usize = 16;

/// Progress of the large transfers (artifacts). The CLI draws a bar on a terminal; the
/// library never prints.
pub trait TransferProgress {
    /// A transfer of `total_bytes` starts; `label` names it (`upload 3f2a…`).
    fn start(&mut self, label: &str, total_bytes: u64);
    /// `bytes` more were moved.
    fn advance(&mut self, bytes: u64);
    /// The transfer ended (done or failed).
    fn finish(&mut self);
}

/// No progress reporting.
pub struct NoProgress;

impl TransferProgress for NoProgress {
    fn start(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// How many of one kind of thing were sent or fetched, and how many were already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// Sent (push) or fetched (pull).
    pub transferred: u64,
    /// Already on the other side: not sent or fetched again.
    pub skipped: u64,
}

/// What one push or pull moved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransferReport {
    /// The remote's name.
    pub remote: String,
    /// Artifacts (content-addressed objects).
    pub objects: Counts,
    /// Artifact bytes moved.
    pub bytes: u64,
    pub builds: Counts,
    pub benchmarks: Counts,
    pub accuracy_checks: Counts,
    pub tag_events: Counts,
    /// The builds this transfer covered (asked for, their ancestors), oldest first.
    pub build_ids: Vec<String>,
    /// Tags whose current build changed locally (pull).
    pub tags_updated: Vec<String>,
    /// Concurrent moves of a tag, resolved by the tag rule (pull, sync).
    pub conflicts: Vec<TagConflict>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// What to push.
#[derive(Debug, Clone)]
pub enum PushSelection {
    /// A build or tag (with the build's ancestors; a tag with its history).
    Reference(String),
    /// Every build, benchmark, check and tag event of the workspace.
    All,
}

/// An open connection to one remote.
pub struct RemoteClient {
    name: String,
    spec: RemoteSpec,
    store: Arc<AmazonS3>,
    prefix: Option<String>,
    rt: tokio::runtime::Runtime,
    /// Every credential value in use, scrubbed from any text that leaves this module.
    secrets: Vec<String>,
}

impl std::fmt::Debug for RemoteClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteClient")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

/// What the remote's keys held when a transfer began.
#[derive(Default)]
struct Listing {
    builds: HashSet<String>,
    /// (owner, record hash) — owner: build id or hex tag name.
    benchmarks: Vec<(String, String)>,
    accuracy: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

impl RemoteClient {
    /// Connect to `remote` with credentials from the standard AWS chain, reading variables
    /// through `env` (the process environment, for the CLI). Checks the bucket can be
    /// listed, so a wrong bucket, endpoint, region or key fails here with what to check.
    pub fn connect(remote: &NamedRemote, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let spec = &remote.spec;
        spec.check()?;
        let mut secrets = Vec::new();
        let mut builder = match credentials::resolve(env) {
            credentials::Resolved::Static(c) => {
                secrets.push(c.access_key_id.clone());
                secrets.push(c.secret_access_key.clone());
                let mut b = AmazonS3Builder::new()
                    .with_access_key_id(c.access_key_id)
                    .with_secret_access_key(c.secret_access_key);
                if let Some(t) = c.session_token {
                    secrets.push(t.clone());
                    b = b.with_token(t);
                }
                b
            }
            // Web identity and container credentials: the client reads their variables
            // and fetches short-lived keys itself.
            credentials::Resolved::Delegated => AmazonS3Builder::from_env(),
            credentials::Resolved::Missing => {
                return Err(RegistryError::Remote {
                    remote: remote.name.clone(),
                    message: "no AWS credentials found".into(),
                    hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in \
                           ~/.aws/credentials or ~/.aws/config (AWS_PROFILE picks it; \
                           AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE move the files), or \
                           web identity / container credentials"
                        .into(),
                    user: true,
                })
            }
        };
        let region = spec
            .region
            .clone()
            .or_else(|| credentials::region_from_chain(env))
            .unwrap_or_else(|| "us-east-1".into());
        builder = builder
            .with_bucket_name(&spec.bucket)
            .with_region(region)
            .with_allow_http(spec.allow_http)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: 4,
                retry_timeout: Duration::from_secs(60),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(spec.allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(300)),
            );
        if let Some(e) = &spec.endpoint {
            // S3-compatible servers are addressed by path (`endpoint/bucket/key`): it needs
            // no DNS entry per bucket.
            builder = builder
                .with_endpoint(e.trim_end_matches('/'))
                .with_virtual_hosted_style_request(false);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RegistryError::io(Path::new("tokio runtime"), e))?;
        let store = builder
            .build()
            .map_err(|e| classify(&remote.name, spec, &secrets, "set up the S3 client", e))?;
        let client = RemoteClient {
            name: remote.name.clone(),
            spec: spec.clone(),
            store: Arc::new(store),
            prefix: spec.prefix.clone(),
            rt,
            secrets,
        };
        // One cheap request proves bucket, endpoint, region and credentials.
        let probe = client.path(layout::BUILDS);
        let store = client.store.clone();
        client
            .rt
            .block_on(async move { store.list_with_delimiter(Some(&probe)).await })
            .map_err(|e| client.error("list the bucket", e))?;
        Ok(client)
    }

    /// The remote's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn path(&self, key: &str) -> ObjectPath {
        match &self.prefix {
            Some(p) => ObjectPath::from(format!("{p}/{key}")),
            None => ObjectPath::from(key),
        }
    }

    fn error(&self, what: &str, e: object_store::Error) -> RegistryError {
        classify(&self.name, &self.spec, &self.secrets, what, e)
    }

    /// File names under `dir/` (one level), with sizes.
    fn list(&self, dir: &str) -> Result<Vec<String>> {
        let path = self.path(dir);
        let store = self.store.clone();
        let listed = self
            .rt
            .block_on(async move { store.list_with_delimiter(Some(&path)).await })
            .map_err(|e| self.error(&format!("list {dir}/"), e))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|m| m.location.filename().map(str::to_string))
            .collect())
    }

    fn listing(&self) -> Result<Listing> {
        let records = |dir: &str| -> Result<Vec<(String, String)>> {
            Ok(self
                .list(dir)?
                .into_iter()
                .filter_map(|f| match layout::parse_record_name(&f) {
                    Some((owner, Some(hash))) => Some((owner, hash)),
                    _ => None,
                })
                .collect())
        };
        let builds = self
            .list(layout::BUILDS)?
            .into_iter()
            .filter_map(|f| match layout::parse_record_name(&f) {
                Some((id, None)) => Some(id),
                _ => None,
            })
            .collect();
        Ok(Listing {
            builds,
            benchmarks: records(layout::BENCHMARKS)?,
            accuracy: records(layout::ACCURACY)?,
            tags: records(layout::TAGS)?,
        })
    }

    /// Whether an object exists (HEAD).
    fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path(key);
        let store = self.store.clone();
        match self.rt.block_on(async move { store.head(&path).await }) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(&format!("check {key}"), e)),
        }
    }

    /// Write small records create-only, many at once. Returns how many were new; a key
    /// already there (another writer, an earlier run) is skipped.
    fn put_records(&self, items: Vec<(String, Vec<u8>)>) -> Result<(Counts, u64)> {
        let mut counts = Counts::default();
        let mut bytes_sent = 0u64;
        let store = self.store.clone();
        let jobs: Vec<(String, ObjectPath, Vec<u8>)> = items
            .into_iter()
            .map(|(k, b)| {
                let p = self.path(&k);
                (k, p, b)
            })
            .collect();
        let results = self.rt.block_on(bounded(jobs, move |(key, path, bytes)| {
            let store = store.clone();
            async move {
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                };
                let len = bytes.len() as u64;
                let r = store.put_opts(&path, PutPayload::from(bytes), opts).await;
                (key, len, r)
            }
        }));
        for (key, len, r) in results {
            match r {
                Ok(_) => {
                    counts.transferred += 1;
                    bytes_sent += len;
                }
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => counts.skipped += 1,
                Err(e) => return Err(self.error(&format!("write {key}"), e)),
            }
        }
        Ok((counts, bytes_sent))
    }

    /// Read small records, many at once.
    fn get_records(&self, keys: Vec<String>) -> Result<Vec<(String, Vec<u8>)>> {
        let store = self.store.clone();
        let jobs: Vec<(String, ObjectPath)> = keys
            .into_iter()
            .map(|k| (k.clone(), self.path(&k)))
            .collect();
        let results = self.rt.block_on(bounded(jobs, move |(key, path)| {
            let store = store.clone();
            async move {
                let r = match store.get_opts(&path, GetOptions::default()).await {
                    Ok(g) => g.bytes().await.map(|b| b.to_vec()),
                    Err(e) => Err(e),
                };
                (key, r)
            }
        }));
        let mut out = Vec::with_capacity(results.len());
        for (key, r) in results {
            match r {
                Ok(b) => out.push((key, b)),
                Err(e) => return Err(self.error(&format!("read {key}"), e)),
            }
        }
        Ok(out)
    }

    /// Upload a file to `key`: one request up to [`PART_BYTES`], a multipart upload above.
    fn upload_file(
        &self,
        file: &Path,
        key: &str,
        progress: &mut dyn TransferProgress,
    ) -> Result<u64> {
        let size = std::fs::metadata(file)
            .map_err(|e| RegistryError::io(file, e))?
            .len();
        let path = self.path(key);
        let store = self.store.clone();
        let mut f = std::fs::File::open(file).map_err(|e| RegistryError::io(file, e))?;
        progress.start(&format!("upload {}", short(key)), size);
        let result = if size <= PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            f.read_to_end(&mut bytes)
                .map_err(|e| RegistryError::io(file, e))?;
            let opts = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            let r = self.rt.block_on(async move {
                store.put_opts(&path, PutPayload::from(bytes), opts).await
            });
            progress.advance(size);
            match r {
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                Err(object_store::Error::Precondition { .. }) => Ok(()),
                Err(e) => Err(self.error(&format!("upload {key}"), e)),
            }
        } else {
            self.rt.block_on(async {
                let mut upload = store
                    .put_multipart(&path)
                    .await
                    .map_err(|e| self.error(&format!("upload {key}"), e))?;
                let mut buf = vec![0u8; PART_BYTES];
                loop {
                    let n = read_full(&mut f, &mut buf).map_err(|e| RegistryError::io(file, e))?;
                    if n == 0 {
                        break;
                    }
                    if let Err(e) = upload.put_part(PutPayload::from(buf[..n].to_vec())).await {
                        let _ = upload.abort().await;
                        return Err(self.error(&format!("upload {key}"), e));
                    }
                    progress.advance(n as u64);
                }
                upload
                    .complete()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.error(&format!("upload {key}"), e))
            })
        };
        progress.finish();
        result.map(|()| size)
    }

    /// Download `key` into `dest`, hashing what is written. Returns (sha256, size).
    fn download(
        &self,
        key: &str,
        dest: &Path,
        progress: &mut dyn TransferProgress,
    ) -> Result<(String, u64)> {
        let path = self.path(key);
        let store = self.store.clone();
        let meta = self
            .rt
            .block_on(async { store.head(&path).await })
            .map_err(|e| self.error(&format!("read {key}"), e))?;
        let mut out = std::fs::File::create(dest).map_err(|e| RegistryError::io(dest, e))?;
        let mut hasher = Sha256::new();
        progress.start(&format!("download {}", short(key)), meta.size);
        let result =
            self.fetch_ranges(key, &path, meta.size, dest, &mut out, &mut hasher, progress);
        progress.finish();
        let offset = result?;
        Ok((hex::encode(hasher.finalize()), offset))
    }
}

/// Every credential value replaced by `***`: server messages can quote the access key.
fn scrub(secrets: &[String], text: &str) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// An object_store error as a registry error: scrubbed, shortened, classified, with what to
/// check.
fn classify(
    name: &str,
    spec: &RemoteSpec,
    secrets: &[String],
    what: &str,
    e: object_store::Error,
) -> RegistryError {
    let raw = scrub(secrets, &e.to_string());
    let mut message: String = raw.chars().take(400).collect();
    if raw.chars().count() > 400 {
        message.push('…');
    }
    let where_ = match &spec.endpoint {
        Some(e) => format!("endpoint {e}"),
        None => format!(
            "AWS region {}",
            spec.region
                .as_deref()
                .unwrap_or("from AWS_REGION or the profile")
        ),
    };
    let has = |needle: &str| raw.contains(needle);
    let (hint, user) = if has("NoSuchBucket") {
        (
            format!(
                "bucket `{}` does not exist at {where_}: check the remote's bucket, region \
                 and endpoint (`mlgate remote list`), or create the bucket",
                spec.bucket
            ),
            true,
        )
    } else if has("InvalidAccessKeyId")
        || has("SignatureDoesNotMatch")
        || has("AccessDenied")
        || has("403")
        || has("ExpiredToken")
        || has("InvalidToken")
    {
        (
            format!(
                "the server refused the credentials: check AWS_ACCESS_KEY_ID / \
                 AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that they may read and write \
                 bucket `{}`",
                spec.bucket
            ),
            true,
        )
    } else if has("PermanentRedirect") || has("AuthorizationHeaderMalformed") || has("301") {
        (
            format!(
                "bucket `{}` is in another region: add the remote again with --region R \
                 (or set AWS_REGION)",
                spec.bucket
            ),
            true,
        )
    } else if has("error sending request") || has("onnect") || has("dns error") || has("timed out")
    {
        (
            format!("cannot reach {where_}: check the endpoint URL and the network"),
            true,
        )
    } else {
        (
            "transient failures were retried with backoff; run the command again".into(),
            false,
        )
    };
    RegistryError::Remote {
        remote: name.to_string(),
        message: format!("cannot {what}: {message}"),
        hint,
        user,
    }
}

impl RemoteClient {
    /// The object in [`PART_BYTES`] ranges, each hashed and written as it arrives.
    #[allow(clippy::too_many_arguments)]
    fn fetch_ranges(
        &self,
        key: &str,
        path: &ObjectPath,
        size: u64,
        dest: &Path,
        out: &mut std::fs::File,
        hasher: &mut Sha256,
        progress: &mut dyn TransferProgress,
    ) -> Result<u64> {
        let mut offset = 0u64;
        while offset < size {
            let end = (offset + PART_BYTES as u64).min(size);
            let store = self.store.clone();
            let bytes = self
                .rt
                .block_on(async move { store.get_range(path, offset..end).await })
                .map_err(|e| self.error(&format!("read {key}"), e))?;
            if bytes.is_empty() {
                break;
            }
            hasher.update(&bytes);
            out.write_all(&bytes)
                .map_err(|e| RegistryError::io(dest, e))?;
            progress.advance(bytes.len() as u64);
            offset += bytes.len() as u64;
        }
        out.sync_all().map_err(|e| RegistryError::io(dest, e))?;
        Ok(offset)
    }
}

fn short(key: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    file.chars().take(12).collect()
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Run `f` over `items` with at most [`CONCURRENT_REQUESTS`] in flight; results in any order.
async fn bounded<I, F, Fut, T>(items: Vec<I>, f: F) -> Vec<T>
where
    F: Fn(I) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if set.len() >= CONCURRENT_REQUESTS {
            if let Some(Ok(r)) = set.join_next().await {
                out.push(r);
            }
        }
        set.spawn(f(item));
    }
    while let Some(r) = set.join_next().await {
        if let Ok(r) = r {
            out.push(r);
        }
    }
    out
}

/// The local side's rows, as remote records.
impl Registry {
    fn all_builds(&self) -> Result<Vec<Build>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BUILD_COLS} FROM builds b ORDER BY b.created_at, b.id"
        ))?;
        let rows = stmt
            .query_map([], build_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn all_benchmarks(&self, build_id: &str) -> Result<Vec<Benchmark>> {
        // LIMIT -1 is SQLite's "no limit".
        self.benchmarks(build_id, usize::MAX)
    }

    fn all_tag_records(&self) -> Result<Vec<TagRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, build_id, previous_build_id, at, machine_id, hostname FROM tag_events",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TagRecord {
                    schema: layout::TAG_RECORD.into(),
                    name: r.get(0)?,
                    build_id: r.get(1)?,
                    previous_build_id: r.get(2)?,
                    at: r.get(3)?,
                    machine_id: r.get(4)?,
                    hostname: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// `id` and its ancestors, root first.
    fn with_ancestors(&self, id: &str) -> Result<Vec<Build>> {
        let mut chain = Vec::new();
        let mut next = Some(id.to_string());
        while let Some(id) = next {
            let b = self
                .build(&id)?
                .ok_or(RegistryError::UnknownBuild { reference: id })?;
            next = b.parent_id.clone();
            chain.push(b);
        }
        chain.reverse();
        Ok(chain)
    }

    /// Push builds (with their ancestors), their benchmarks and accuracy checks, and tag
    /// events to `remote`, in the order that keeps readers consistent.
    pub fn push(
        &mut self,
        remote: &RemoteClient,
        selection: &PushSelection,
        progress: &mut dyn TransferProgress,
    ) -> Result<TransferReport> {
        let started = Instant::now();
        let mut report = TransferReport {
            remote: remote.name.clone(),
            ..TransferReport::default()
        };
        let all_events = self.all_tag_records()?;
        let (builds, tag_names): (Vec<Build>, Option<Vec<String>>) = match selection {
            PushSelection::All => (self.all_builds()?, None),
            PushSelection::Reference(r) => {
                let build = self.resolve(r)?;
                let chain = self.with_ancestors(&build.id)?;
                // The tags that point at the build now travel with it (with their history).
                let mut names = self.tags_of_build(&build.id)?;
                if self.tag(r.trim())?.is_some() && !names.contains(&r.trim().to_string()) {
                    names.push(r.trim().to_string());
                }
                (chain, Some(names))
            }
        };
        let listing = remote.listing()?;
        let selected: HashSet<&str> = builds.iter().map(|b| b.id.as_str()).collect();
        let known = |id: &str| selected.contains(id) || listing.builds.contains(id);

        // 1. Artifacts, skipping those a pushed build record already vouches for and those
        // already there (one listing when there are many to check, else a HEAD each).
        let mut seen = HashSet::new();
        let mut needed: Vec<&Build> = Vec::new();
        for b in &builds {
            if !seen.insert(b.artifact_hash.clone()) {
                continue;
            }
            let vouched = builds
                .iter()
                .any(|o| o.artifact_hash == b.artifact_hash && listing.builds.contains(&o.id));
            if vouched {
                report.objects.skipped += 1;
            } else {
                needed.push(b);
            }
        }
        let present: Option<HashSet<String>> = if needed.len() > 8 {
            Some(remote.list(layout::OBJECTS)?.into_iter().collect())
        } else {
            None
        };
        let mut small: Vec<(String, Vec<u8>)> = Vec::new();
        for b in needed {
            let key = layout::object_key(&b.artifact_hash);
            let there = match &present {
                Some(set) => set.contains(&b.artifact_hash),
                None => remote.exists(&key)?,
            };
            if there {
                report.objects.skipped += 1;
                continue;
            }
            // Never upload damaged bytes: the local copy is checked against its name first.
            let local = self.store.verified_path(&b.artifact_hash, &b.id)?;
            if b.artifact_kind == ArtifactKind::File && b.size_bytes <= SMALL_ARTIFACT {
                let bytes = std::fs::read(&local).map_err(|e| RegistryError::io(&local, e))?;
                small.push((key, bytes));
                if small.len() >= CONCURRENT_REQUESTS * 4 {
                    let (c, sent) = remote.put_records(std::mem::take(&mut small))?;
                    report.objects.transferred += c.transferred;
                    report.objects.skipped += c.skipped;
                    report.bytes += sent;
                }
                continue;
            }
            let sent = match b.artifact_kind {
                ArtifactKind::File => remote.upload_file(&local, &key, progress)?,
                ArtifactKind::Directory => {
                    let tmp = self.store.new_tmp_path()?;
                    let r = pack::pack(&local, &tmp)
                        .and_then(|()| remote.upload_file(&tmp, &key, progress));
                    crate::store::remove_any(&tmp);
                    r?
                }
            };
            report.objects.transferred += 1;
            report.bytes += sent;
        }
        let (c, sent) = remote.put_records(small)?;
        report.objects.transferred += c.transferred;
        report.objects.skipped += c.skipped;
        report.bytes += sent;

        // 2. Build records, parents before children (a chain or the creation order keeps
        // every parent ahead of its children; each depth is written before the next).
        let depth_of = depths(&builds);
        let max_depth = depth_of.values().copied().max().unwrap_or(0);
        for depth in 0..=max_depth {
            let items: Vec<(String, Vec<u8>)> = builds
                .iter()
                .filter(|b| depth_of.get(b.id.as_str()) == Some(&depth))
                .filter(|b| {
                    let there = listing.builds.contains(&b.id);
                    if there {
                        report.builds.skipped += 1;
                    }
                    !there
                })
                .map(|b| {
                    let (bytes, _) = layout::encode(&BuildRecord::of(b));
                    (layout::build_key(&b.id), bytes)
                })
                .collect();
            let (c, _) = remote.put_records(items)?;
            report.builds.transferred += c.transferred;
            report.builds.skipped += c.skipped;
        }

        // 3. Benchmarks and accuracy checks of those builds.
        let on_remote: HashSet<String> = listing
            .benchmarks
            .iter()
            .chain(&listing.accuracy)
            .map(|(o, h)| format!("{o}.{h}"))
            .collect();
        let mut items = Vec::new();
        for b in &builds {
            for bench in self.all_benchmarks(&b.id)? {
                let (bytes, hash) = layout::encode(&BenchmarkRecord::of(&bench));
                if on_remote.contains(&format!("{}.{hash}", b.id)) {
                    report.benchmarks.skipped += 1;
                } else {
                    items.push((layout::benchmark_key(&b.id, &hash), bytes));
                }
            }
        }
        let (c, _) = remote.put_records(items)?;
        report.benchmarks.transferred += c.transferred;
        report.benchmarks.skipped += c.skipped;
        let ids: Vec<String> = builds.iter().map(|b| b.id.clone()).collect();
        let mut items = Vec::new();
        for check in self.accuracy_checks(&ids)? {
            let c = &check.check;
            if !(known(&c.baseline_build_id) && known(&c.candidate_build_id)) {
                continue;
            }
            let record = AccuracyRecord {
                schema: layout::ACCURACY_RECORD.into(),
                check: c.clone(),
                created_at: check.created_at,
                machine_id: check.machine_id.clone(),
                hostname: check.hostname.clone(),
            };
            let (bytes, hash) = layout::encode(&record);
            if on_remote.contains(&format!("{}.{hash}", c.candidate_build_id)) {
                report.accuracy_checks.skipped += 1;
            } else {
                items.push((layout::accuracy_key(&c.candidate_build_id, &hash), bytes));
            }
        }
        let (c, _) = remote.put_records(items)?;
        report.accuracy_checks.transferred += c.transferred;
        report.accuracy_checks.skipped += c.skipped;

        // 4. Tag events last: a tag never names a build a reader cannot fetch.
        let remote_tags: HashSet<String> = listing
            .tags
            .iter()
            .map(|(o, h)| format!("{o}.{h}"))
            .collect();
        let mut items = Vec::new();
        for e in &all_events {
            if let Some(names) = &tag_names {
                if !names.contains(&e.name) {
                    continue;
                }
            }
            if e.build_id.as_deref().is_some_and(|b| !known(b)) {
                continue;
            }
            let (bytes, hash) = layout::encode(e);
            let key = layout::tag_key(&e.name, &hash);
            let name = key
                .trim_start_matches("tags/")
                .trim_end_matches(".json")
                .to_string();
            if remote_tags.contains(&name) {
                report.tag_events.skipped += 1;
            } else {
                items.push((key, bytes));
            }
        }
        let (c, _) = remote.put_records(items)?;
        report.tag_events.transferred += c.transferred;
        report.tag_events.skipped += c.skipped;

        report.build_ids = ids;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Fetch a build or tag (a tag's current build by the tag rule, with the tag's history),
    /// the build's ancestors, artifacts, benchmarks and accuracy checks from `remote`.
    pub fn pull(
        &mut self,
        remote: &RemoteClient,
        reference: &str,
        progress: &mut dyn TransferProgress,
    ) -> Result<TransferReport> {
        let started = Instant::now();
        let listing = remote.listing()?;
        let r = reference.trim();
        let tag_hex = hex::encode(r.as_bytes());
        let tag_keys: Vec<String> = listing
            .tags
            .iter()
            .filter(|(o, _)| *o == tag_hex)
            .map(|(o, h)| format!("{}/{o}.{h}.json", layout::TAGS))
            .collect();
        let (root, tag) = if !tag_keys.is_empty() {
            let events = fetch_tag_events(remote, tag_keys.clone())?;
            let winner = layout::resolve_tag(&events).map(|res| res.winner.build_id);
            match winner {
                Some(Some(id)) => (id, Some(r.to_string())),
                _ => {
                    return Err(RegistryError::RemoteNotFound {
                        remote: remote.name.clone(),
                        reference: format!("{r} (the tag was deleted)"),
                    })
                }
            }
        } else {
            (match_build(&listing, remote, r)?, None)
        };
        let want = vec![root];
        let scope = match tag {
            Some(t) => TagScope::One(t),
            None => TagScope::None,
        };
        let mut report = self.pull_builds(remote, &listing, want, scope, progress)?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Pull everything the remote has that this workspace lacks, then push everything this
    /// workspace has that the remote lacks. Returns (pulled, pushed).
    pub fn sync(
        &mut self,
        remote: &RemoteClient,
        progress: &mut dyn TransferProgress,
    ) -> Result<(TransferReport, TransferReport)> {
        let started = Instant::now();
        let listing = remote.listing()?;
        let want: Vec<String> = listing.builds.iter().cloned().collect();
        let mut pulled = self.pull_builds(remote, &listing, want, TagScope::All, progress)?;
        pulled.seconds = started.elapsed().as_secs_f64();
        let pushed = self.push(remote, &PushSelection::All, progress)?;
        Ok((pulled, pushed))
    }

    /// The shared half of pull and sync: builds `want` with their ancestors, their
    /// artifacts (verified), benchmarks, accuracy checks and the tag events of `scope`,
    /// made visible in one transaction after every check passed.
    fn pull_builds(
        &mut self,
        remote: &RemoteClient,
        listing: &Listing,
        want: Vec<String>,
        scope: TagScope,
        progress: &mut dyn TransferProgress,
    ) -> Result<TransferReport> {
        let mut report = TransferReport {
            remote: remote.name.clone(),
            ..TransferReport::default()
        };
        // Build records: what is wanted and not local, then their missing parents.
        let mut records: BTreeMap<String, BuildRecord> = BTreeMap::new();
        let mut queue: Vec<String> = want.clone();
        let mut local_ids: HashSet<String> = HashSet::new();
        while !queue.is_empty() {
            let mut fetch = Vec::new();
            for id in std::mem::take(&mut queue) {
                if records.contains_key(&id) || local_ids.contains(&id) {
                    continue;
                }
                if self.build(&id)?.is_some() {
                    local_ids.insert(id);
                    report.builds.skipped += 1;
                    continue;
                }
                if !listing.builds.contains(&id) {
                    return Err(RegistryError::RemoteNotFound {
                        remote: remote.name.clone(),
                        reference: id,
                    });
                }
                fetch.push(layout::build_key(&id));
            }
            for (key, bytes) in remote.get_records(fetch)? {
                let id = key
                    .trim_start_matches("builds/")
                    .trim_end_matches(".json")
                    .to_string();
                let rec: BuildRecord = layout::decode(&key, &bytes, None)?;
                rec.check(&id)?;
                if let Some(p) = &rec.parent_id {
                    queue.push(p.clone());
                }
                records.insert(id, rec);
            }
        }
        report.builds.transferred = records.len() as u64;

        // Artifacts: downloaded, verified, then renamed into the store. Small files come
        // many at a time (one round trip each would dominate a sync of many builds), large
        // ones and directory packs one at a time, streamed to disk with progress.
        let mut done = HashSet::new();
        let mut small: Vec<&BuildRecord> = Vec::new();
        let mut large: Vec<&BuildRecord> = Vec::new();
        for rec in records.values() {
            if !done.insert(rec.artifact_hash.clone()) {
                continue;
            }
            if self.store.state(&rec.artifact_hash)? == ArtifactState::Ok {
                report.objects.skipped += 1;
                continue;
            }
            if rec.artifact_kind == ArtifactKind::File && rec.size_bytes <= SMALL_ARTIFACT {
                small.push(rec);
            } else {
                large.push(rec);
            }
        }
        for batch in small.chunks(CONCURRENT_REQUESTS * 4) {
            let keys = batch
                .iter()
                .map(|r| layout::object_key(&r.artifact_hash))
                .collect();
            for (key, bytes) in remote.get_records(keys)? {
                let expected = key
                    .trim_start_matches(layout::OBJECTS)
                    .trim_start_matches('/');
                let actual = hex::encode(Sha256::digest(&bytes));
                if actual != expected {
                    return Err(RegistryError::RemoteIntegrity {
                        remote: remote.name.clone(),
                        key: remote.path(&key).to_string(),
                        expected: expected.to_string(),
                        actual,
                    });
                }
                let tmp = self.store.new_tmp_path()?;
                let written = std::fs::File::create(&tmp)
                    .and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()));
                if let Err(e) = written {
                    crate::store::remove_any(&tmp);
                    return Err(RegistryError::io(&tmp, e));
                }
                self.store
                    .commit(tmp, Ok((actual, ArtifactKind::File, bytes.len() as u64)))?;
                report.bytes += bytes.len() as u64;
                report.objects.transferred += 1;
            }
        }
        for rec in large {
            let key = layout::object_key(&rec.artifact_hash);
            let tmp = self.store.new_tmp_path()?;
            let fetched = remote.download(&key, &tmp, progress);
            let staged = fetched.and_then(|(sha, size)| {
                report.bytes += size;
                match rec.artifact_kind {
                    ArtifactKind::File => Ok((tmp.clone(), sha, size)),
                    ArtifactKind::Directory => {
                        let dir = self.store.new_tmp_path()?;
                        let r = pack::unpack(&tmp, &dir, &key).and_then(|()| {
                            let h = mlgate_ir::content_hash(&dir)?;
                            Ok((dir.clone(), h, size))
                        });
                        crate::store::remove_any(&tmp);
                        if r.is_err() {
                            crate::store::remove_any(&dir);
                        }
                        r
                    }
                }
            });
            let (path, actual, size) = match staged {
                Ok(s) => s,
                Err(e) => {
                    crate::store::remove_any(&tmp);
                    return Err(e);
                }
            };
            if actual != rec.artifact_hash {
                crate::store::remove_any(&path);
                return Err(RegistryError::RemoteIntegrity {
                    remote: remote.name.clone(),
                    key: remote.path(&key).to_string(),
                    expected: rec.artifact_hash.clone(),
                    actual,
                });
            }
            self.store
                .commit(path, Ok((actual, rec.artifact_kind, size)))?;
            report.objects.transferred += 1;
        }

        // Benchmarks and checks of every build this pull covers.
        let covered: HashSet<String> = records
            .keys()
            .cloned()
            .chain(local_ids.iter().cloned())
            .collect();
        let mut local_hashes: HashSet<String> = HashSet::new();
        for id in &local_ids {
            for b in self.all_benchmarks(id)? {
                local_hashes.insert(layout::encode(&BenchmarkRecord::of(&b)).1);
            }
        }
        let mut keys = Vec::new();
        for (owner, hash) in &listing.benchmarks {
            if !covered.contains(owner) {
                continue;
            }
            if local_hashes.contains(hash) {
                report.benchmarks.skipped += 1;
            } else {
                keys.push(layout::benchmark_key(owner, hash));
            }
        }
        let mut benches = Vec::new();
        for (key, bytes) in remote.get_records(keys)? {
            let hash = record_hash(&key);
            let rec: BenchmarkRecord = layout::decode(&key, &bytes, hash.as_deref())?;
            benches.push(rec);
        }
        report.benchmarks.transferred = benches.len() as u64;

        let ids: Vec<String> = local_ids.iter().cloned().collect();
        let local_checks: HashSet<String> = self
            .accuracy_checks(&ids)?
            .into_iter()
            .map(|c| {
                layout::encode(&AccuracyRecord {
                    schema: layout::ACCURACY_RECORD.into(),
                    check: c.check,
                    created_at: c.created_at,
                    machine_id: c.machine_id,
                    hostname: c.hostname,
                })
                .1
            })
            .collect();
        let mut keys = Vec::new();
        for (owner, hash) in &listing.accuracy {
            if !covered.contains(owner) {
                continue;
            }
            if local_checks.contains(hash) {
                report.accuracy_checks.skipped += 1;
            } else {
                keys.push(layout::accuracy_key(owner, hash));
            }
        }
        let mut checks = Vec::new();
        for (key, bytes) in remote.get_records(keys)? {
            let hash = record_hash(&key);
            let rec: AccuracyRecord = layout::decode(&key, &bytes, hash.as_deref())?;
            checks.push(rec);
        }

        // Tag events of the scope, and the tags they resolve to.
        let local_events = self.all_tag_records()?;
        let local_event_hashes: HashSet<String> =
            local_events.iter().map(|e| layout::encode(e).1).collect();
        let mut keys = Vec::new();
        for (owner, hash) in &listing.tags {
            let in_scope = match &scope {
                TagScope::None => false,
                TagScope::All => true,
                TagScope::One(name) => *owner == hex::encode(name.as_bytes()),
            };
            if !in_scope {
                continue;
            }
            if local_event_hashes.contains(hash) {
                report.tag_events.skipped += 1;
            } else {
                keys.push(format!("{}/{owner}.{hash}.json", layout::TAGS));
            }
        }
        let new_events = fetch_tag_events(remote, keys)?;
        report.tag_events.transferred = new_events.len() as u64;
        let new_hashes: HashSet<String> = new_events.iter().map(|e| layout::encode(e).1).collect();
        let mut union = local_events;
        union.extend(new_events.iter().cloned());
        let touched: HashSet<&str> = new_events.iter().map(|e| e.name.as_str()).collect();
        let mut states = Vec::new();
        for (name, events) in layout::by_tag(union) {
            if !touched.contains(name.as_str()) {
                continue;
            }
            let Some(res) = layout::resolve_tag(&events) else {
                continue;
            };
            for c in res.conflicts {
                // Only conflicts this pull brought in; older ones were reported when met.
                let involves_new = events.iter().any(|e| {
                    new_hashes.contains(&layout::encode(e).1)
                        && ((e.machine_id == c.kept_machine_id && e.at == c.kept_at)
                            || (e.machine_id == c.overridden_machine_id && e.at == c.overridden_at))
                });
                if involves_new {
                    report.conflicts.push(c);
                }
            }
            states.push((name, res.winner));
        }

        // Everything checked: make it visible at once.
        let ordered = parents_first(records.into_values().collect());
        report.build_ids = want;
        report.tags_updated = self.apply_pull(&ordered, &benches, &checks, &new_events, &states)?;
        report.accuracy_checks.transferred = checks.len() as u64;
        Ok(report)
    }

    /// Insert pulled rows in one write transaction (rows whose builds are absent — a tag
    /// event naming a build this pull did not fetch — are left out). Returns the tags whose
    /// current build changed.
    fn apply_pull(
        &mut self,
        builds: &[BuildRecord],
        benches: &[BenchmarkRecord],
        checks: &[AccuracyRecord],
        events: &[TagRecord],
        states: &[(String, TagRecord)],
    ) -> Result<Vec<String>> {
        let tx = self.write_tx()?;
        let mut changed = Vec::new();
        {
            let mut insert_build = tx.prepare_cached(
                "INSERT INTO builds (id, name, source_path, source_hash, artifact_hash, \
                 artifact_kind, format, target, backend, task, size_bytes, parent_id, root_id, \
                 method, imported, notes, created_at, machine_id, hostname) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17, ?18, ?19) ON CONFLICT(id) DO NOTHING",
            )?;
            for b in builds {
                insert_build.execute(params![
                    b.id,
                    b.name,
                    b.source_path,
                    b.source_hash,
                    b.artifact_hash,
                    b.artifact_kind.as_str(),
                    b.format,
                    b.target,
                    b.backend,
                    b.task,
                    b.size_bytes as i64,
                    b.parent_id,
                    b.root_id,
                    b.method,
                    b.imported,
                    b.notes,
                    b.created_at,
                    b.machine_id,
                    b.hostname,
                ])?;
            }
            let mut exists = tx.prepare_cached("SELECT 1 FROM builds WHERE id = ?1")?;
            let mut insert_bench = tx.prepare_cached(
                "INSERT INTO benchmarks (build_id, backend, p50_ms, p95_ms, memory_mb, n, \
                 created_at, machine_id, hostname, statistics, settings, fingerprint, \
                 samples_count, samples) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
                 ?12, ?13, ?14)",
            )?;
            for b in benches {
                if !exists.exists([&b.build_id])? {
                    continue;
                }
                let blob = (!b.samples_ms.is_empty())
                    .then(|| crate::benchmarks::compress_samples(&b.samples_ms));
                insert_bench.execute(params![
                    b.build_id,
                    b.backend,
                    b.p50_ms,
                    b.p95_ms,
                    b.memory_mb,
                    b.n as i64,
                    b.created_at,
                    b.machine_id,
                    b.hostname,
                    b.statistics.to_string(),
                    b.settings.to_string(),
                    b.fingerprint.to_string(),
                    b.samples_ms.len() as i64,
                    blob,
                ])?;
            }
            let mut insert_check = tx.prepare_cached(
                "INSERT INTO accuracy_checks (baseline_build_id, candidate_build_id, passed, \
                 metrics, settings, created_at, machine_id, hostname) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for c in checks {
                let k = &c.check;
                if !exists.exists([&k.baseline_build_id])?
                    || !exists.exists([&k.candidate_build_id])?
                {
                    continue;
                }
                insert_check.execute(params![
                    k.baseline_build_id,
                    k.candidate_build_id,
                    k.passed,
                    k.metrics.to_string(),
                    k.settings.to_string(),
                    c.created_at,
                    c.machine_id,
                    c.hostname,
                ])?;
            }
            let mut insert_event = tx.prepare_cached(
                "INSERT INTO tag_events (name, build_id, previous_build_id, at, machine_id, \
                 hostname) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for e in events {
                let mut present = |id: &Option<String>| -> rusqlite::Result<bool> {
                    match id {
                        None => Ok(true),
                        Some(id) => exists.exists([id]),
                    }
                };
                if !present(&e.build_id)? || !present(&e.previous_build_id)? {
                    continue;
                }
                insert_event.execute(params![
                    e.name,
                    e.build_id,
                    e.previous_build_id,
                    e.at,
                    e.machine_id,
                    e.hostname
                ])?;
            }
            let mut current = tx.prepare_cached("SELECT build_id FROM tags WHERE name = ?1")?;
            for (name, winner) in states {
                let now: Option<String> = current.query_row([name], |r| r.get(0)).optional()?;
                match &winner.build_id {
                    Some(b) => {
                        if now.as_deref() == Some(b.as_str()) || !exists.exists([b])? {
                            continue;
                        }
                        tx.execute(
                            "INSERT INTO tags (name, build_id, updated_at) VALUES (?1, ?2, ?3) \
                             ON CONFLICT(name) DO UPDATE SET build_id = excluded.build_id, \
                             updated_at = excluded.updated_at",
                            params![name, b, winner.at],
                        )?;
                    }
                    None => {
                        if now.is_none() {
                            continue;
                        }
                        tx.execute("DELETE FROM tags WHERE name = ?1", [name])?;
                    }
                }
                changed.push(name.clone());
            }
        }
        tx.commit()?;
        Ok(changed)
    }
}

enum TagScope {
    None,
    One(String),
    All,
}

/// The hash part of a record key.
fn record_hash(key: &str) -> Option<String> {
    let file = key.rsplit('/').next()?;
    layout::parse_record_name(file).and_then(|(_, h)| h)
}

fn fetch_tag_events(remote: &RemoteClient, keys: Vec<String>) -> Result<Vec<TagRecord>> {
    let mut out = Vec::new();
    for (key, bytes) in remote.get_records(keys)? {
        let rec: TagRecord = layout::decode(&key, &bytes, record_hash(&key).as_deref())?;
        out.push(rec);
    }
    Ok(out)
}

/// A build id from a full id or a unique prefix of at least 4 hex digits, among the
/// remote's builds.
fn match_build(listing: &Listing, remote: &RemoteClient, r: &str) -> Result<String> {
    let lower = r.to_ascii_lowercase();
    let not_found = || RegistryError::RemoteNotFound {
        remote: remote.name.clone(),
        reference: r.to_string(),
    };
    if lower.len() < 4 || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let mut found: Vec<&String> = listing
        .builds
        .iter()
        .filter(|id| id.starts_with(&lower))
        .collect();
    found.sort();
    match found.len() {
        0 => Err(not_found()),
        1 => Ok(found[0].clone()),
        _ => Err(RegistryError::AmbiguousBuild {
            reference: r.to_string(),
            candidates: found
                .iter()
                .take(10)
                .map(|id| id[..16].to_string())
                .collect(),
        }),
    }
}

/// Depth of each build within `builds` (0: its parent is not among them).
fn depths(builds: &[Build]) -> HashMap<&str, usize> {
    let parent: HashMap<&str, Option<&str>> = builds
        .iter()
        .map(|b| (b.id.as_str(), b.parent_id.as_deref()))
        .collect();
    let mut out = HashMap::new();
    for b in builds {
        let mut d = 0;
        let mut cur = b.parent_id.as_deref();
        while let Some(p) = cur {
            match parent.get(p) {
                Some(next) => {
                    d += 1;
                    cur = *next;
                }
                None => break,
            }
            if d > builds.len() {
                break;
            }
        }
        out.insert(b.id.as_str(), d);
    }
    out
}

/// Records ordered so each parent precedes its children.
fn parents_first(mut records: Vec<BuildRecord>) -> Vec<BuildRecord> {
    let mut out: Vec<BuildRecord> = Vec::with_capacity(records.len());
    let mut placed: HashSet<String> = HashSet::new();
    let ids: HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
    while !records.is_empty() {
        let before = records.len();
        let (ready, rest): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| {
            r.parent_id
                .as_ref()
                .is_none_or(|p| !ids.contains(p) || placed.contains(p))
        });
        for r in ready {
            placed.insert(r.id.clone());
            out.push(r);
        }
        records = rest;
        if records.len() == before {
            // A cycle cannot come from real ids (a child's id hashes its parent's); keep
            // the rest as they are rather than loop.
            out.append(&mut records);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, parent: Option<&str>) -> BuildRecord {
        BuildRecord {
            schema: layout::BUILD_RECORD.into(),
            id: id.into(),
            name: id.into(),
            source_path: String::new(),
            source_hash: String::new(),
            artifact_hash: String::new(),
            artifact_kind: ArtifactKind::File,
            format: "onnx".into(),
            target: "t".into(),
            backend: None,
            task: None,
            size_bytes: 0,
            parent_id: parent.map(String::from),
            root_id: String::new(),
            method: None,
            imported: true,
            notes: None,
            created_at: 0,
            machine_id: String::new(),
            hostname: String::new(),
        }
    }

    #[test]
    fn parents_are_inserted_before_children() {
        let ordered = parents_first(vec![
            rec("c", Some("b")),
            rec("b", Some("a")),
            rec("x", Some("elsewhere")),
            rec("a", None),
        ]);
        let pos = |id: &str| ordered.iter().position(|r| r.id == id).unwrap();
        assert!(pos("a") < pos("b") && pos("b") < pos("c"));
        assert_eq!(ordered.len(), 4);
    }

    #[test]
    fn server_errors_are_scrubbed_and_say_what_to_check() {
        let spec = RemoteSpec {
            backend: RemoteBackend::S3,
            bucket: "ml-perf".into(),
            prefix: None,
            region: None,
            endpoint: Some("https://s3.example.com".into()),
            allow_http: false,
            default: false,
        };
        let secrets = vec!["AKIAEXAMPLEKEY".to_string(), "s3cr3t-value".to_string()];
        let generic = |text: &str| object_store::Error::Generic {
            store: "S3",
            source: text.to_string().into(),
        };
        let cases = [
            (
                "<Code>InvalidAccessKeyId</Code><AWSAccessKeyId>AKIAEXAMPLEKEY</AWSAccessKeyId>",
                "refused the credentials",
                true,
            ),
            (
                "<Code>NoSuchBucket</Code>",
                "bucket `ml-perf` does not exist at endpoint https://s3.example.com",
                true,
            ),
            (
                "error sending request: tcp connect error: Connection refused",
                "cannot reach endpoint",
                true,
            ),
            ("<Code>PermanentRedirect</Code>", "another region", true),
            (
                "500 Internal Server Error s3cr3t-value",
                "retried with backoff",
                false,
            ),
        ];
        for (raw, hint_part, user_error) in cases {
            let e = classify("origin", &spec, &secrets, "list the bucket", generic(raw));
            let text = e.to_string();
            assert!(text.contains(hint_part), "{text}");
            assert!(
                text.starts_with("remote `origin`: cannot list the bucket"),
                "{text}"
            );
            assert!(
                !text.contains("AKIAEXAMPLEKEY") && !text.contains("s3cr3t-value"),
                "{text}"
            );
            assert_eq!(e.is_user_error(), user_error, "{text}");
        }
    }

    #[test]
    fn record_keys_give_back_their_hash() {
        let h = "b".repeat(64);
        assert_eq!(
            record_hash(&layout::benchmark_key("id", &h)).as_deref(),
            Some(h.as_str())
        );
        assert_eq!(record_hash(&layout::build_key("id")), None);
    }
}
