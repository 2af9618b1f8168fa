//! Remotes: share a workspace's builds, benchmarks, accuracy checks and tags through an
//! S3-compatible object store (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Ceph), so a
//! baseline tagged by one CI job is usable by every other runner and laptop.
//!
//! Remotes are configured in `.mlgate/config.toml` ([`Workspace::remote_add`]);
//! credentials come only from the standard AWS chain, read from the [`AwsEnv`] the caller
//! passes, and are never written or printed. [`Workspace::push`] sends artifacts first and
//! the records that point at them last; [`Workspace::pull`] verifies every artifact's
//! sha256 before anything becomes visible; [`Workspace::sync`] does both. The layout on
//! the server and the tag rule are in `docs/remote.md`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mlgate_registry::remote::{config, RemoteClient};
pub use mlgate_registry::remote::{
    Counts, NamedRemote, NoProgress, PushSelection, RemoteBackend, RemoteSpec, TagConflict,
    TransferProgress, TransferReport,
};
use mlgate_registry::RegistryError;

use crate::{Result, Workspace};

/// The variables the AWS credential chain reads (`AWS_*`, `HOME`), captured once by the
/// caller, so nothing in the facade reads the environment mid-call. Its `Debug` shows
/// names only, never values.
#[derive(Clone, Default)]
pub struct AwsEnv {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsEnv")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AwsEnv {
    /// The `AWS_*` variables and `HOME` of this process.
    pub fn from_process() -> AwsEnv {
        AwsEnv {
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("AWS_") || k == "HOME")
                .collect(),
        }
    }

    /// Exactly these variables (tests, programs holding credentials of their own).
    pub fn from_vars<I, K, V>(vars: I) -> AwsEnv
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        AwsEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// `mlgate sync`: what came in, then what went out.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SyncOutcome {
    /// The remote's name.
    pub remote: String,
    /// Fetched from the remote.
    pub pulled: TransferReport,
    /// Sent to the remote.
    pub pushed: TransferReport,
}

impl Workspace {
    fn connect(&self, remote: Option<&str>, env: &AwsEnv) -> Result<RemoteClient> {
        let named = config::pick(&self.config_path(), remote)?;
        Ok(RemoteClient::connect(&named, &|k| env.get(k))?)
    }

    /// The remotes in `config.toml`.
    ///
    /// # Errors
    /// [`crate::Error::Registry`] when `config.toml` cannot be read or is invalid.
    pub fn remotes(&self) -> Result<Vec<NamedRemote>> {
        Ok(config::load(&self.config_path())?)
    }

    /// Add a remote to `config.toml` (with `spec.default`, it becomes the default). Nothing
    /// is contacted and no credential is written.
    ///
    /// # Errors
    /// [`crate::Error::Registry`] for an invalid or taken name, or an invalid bucket,
    /// prefix, region or endpoint (an `http://` endpoint needs `allow_http`).
    pub fn remote_add(&self, name: &str, spec: &RemoteSpec) -> Result<NamedRemote> {
        Ok(config::add(&self.config_path(), name, spec)?)
    }

    /// Remove a remote from `config.toml`; nothing on the server is touched.
    ///
    /// # Errors
    /// [`crate::Error::Registry`] for an unknown remote.
    pub fn remote_remove(&self, name: &str) -> Result<NamedRemote> {
        Ok(config::remove(&self.config_path(), name)?)
    }

    /// Make `name` the remote used without `--remote`.
    ///
    /// # Errors
    /// [`crate::Error::Registry`] for an unknown remote.
    pub fn remote_set_default(&self, name: &str) -> Result<NamedRemote> {
        Ok(config::set_default(&self.config_path(), name)?)
    }

    /// Push a build or tag (with the build's ancestors, benchmarks, accuracy checks and the
    /// tags pointing at it), or everything, to `remote` (default: the default remote).
    /// Artifacts go first and tag events last; anything already on the remote is skipped.
    ///
    /// # Errors
    /// [`crate::Error::Registry`]: an unknown build or remote, no credentials, the server
    /// refusing or unreachable (the message says what to check), a damaged local artifact.
    pub fn push(
        &self,
        remote: Option<&str>,
        what: &PushSelection,
        env: &AwsEnv,
        progress: &mut dyn TransferProgress,
    ) -> Result<TransferReport> {
        let client = self.connect(remote, env)?;
        let report = self.registry().push(&client, what, progress)?;
        for id in &report.build_ids {
            self.touch_build(id);
        }
        Ok(report)
    }

    /// Pull a build or tag (the tag's current build by the tag rule, and the tag) from
    /// `remote`, with its ancestors, artifacts, benchmarks and accuracy checks. Every
    /// artifact is checked against its sha256 before it becomes visible; all rows go in
    /// one transaction.
    ///
    /// # Errors
    /// [`crate::Error::Registry`]: the remote has no such build or tag, an object failed
    /// its integrity check (nothing was made visible), or the server failed.
    pub fn pull(
        &self,
        remote: Option<&str>,
        reference: &str,
        env: &AwsEnv,
        progress: &mut dyn TransferProgress,
    ) -> Result<TransferReport> {
        let client = self.connect(remote, env)?;
        let report = self.registry().pull(&client, reference, progress)?;
        for id in &report.build_ids {
            self.touch_build(id);
        }
        Ok(report)
    }

    /// Pull what the remote has and this workspace lacks, then push the reverse. Concurrent
    /// tag moves are resolved by the tag rule and listed in the pulled report's conflicts.
    ///
    /// # Errors
    /// As [`Workspace::pull`] and [`Workspace::push`].
    pub fn sync(
        &self,
        remote: Option<&str>,
        env: &AwsEnv,
        progress: &mut dyn TransferProgress,
    ) -> Result<SyncOutcome> {
        let client = self.connect(remote, env)?;
        let (pulled, pushed) = self.registry().sync(&client, progress)?;
        Ok(SyncOutcome {
            remote: client.name().to_string(),
            pulled,
            pushed,
        })
    }

    /// For `ci --remote`: when `reference` (a tag or build id) is not in this workspace,
    /// pull it from `remote`. `None` when it was already here or the remote lacks it too
    /// (the gate then reports a missing baseline as it would without a remote).
    ///
    /// # Errors
    /// As [`Workspace::pull`], except a reference the remote lacks.
    pub fn pull_if_missing(
        &self,
        remote: Option<&str>,
        reference: &str,
        env: &AwsEnv,
        progress: &mut dyn TransferProgress,
    ) -> Result<Option<TransferReport>> {
        match self.registry().resolve(reference) {
            Ok(_) => return Ok(None),
            Err(RegistryError::UnknownBuild { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        match self.pull(remote, reference, env, progress) {
            Ok(r) => Ok(Some(r)),
            Err(crate::Error::Registry(RegistryError::RemoteNotFound { .. })) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
