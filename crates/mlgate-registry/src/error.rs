use std::path::PathBuf;

/// What went wrong in the registry, with the value or file involved and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "no mlgate workspace found in {} or any parent directory: run `mlgate init` there, \
         or pass --workspace DIR (or set MLGATE_WORKSPACE)",
        start.display()
    )]
    NoWorkspace { start: PathBuf },

    #[error(
        "{} is not an mlgate workspace (no registry.db): run `mlgate init`, or point \
         --workspace / MLGATE_WORKSPACE at the `.mlgate` directory",
        dir.display()
    )]
    NoRegistry { dir: PathBuf },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("registry database {}: {source}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error("registry database: {0}")]
    Sql(#[from] rusqlite::Error),

    #[error(
        "the registry was written by a newer mlgate (schema version {found}; this mlgate \
         knows versions up to {supported}): upgrade mlgate"
    )]
    SchemaTooNew { found: i64, supported: i64 },

    #[error(
        "no build matches `{reference}`: pass a tag, a full build id, or a build id prefix of \
         at least 4 characters (`mlgate log` lists builds, `mlgate tag list` tags)"
    )]
    UnknownBuild { reference: String },

    #[error(
        "build id prefix `{reference}` matches {} builds ({}): use more characters",
        candidates.len(),
        candidates.join(", ")
    )]
    AmbiguousBuild {
        reference: String,
        candidates: Vec<String>,
    },

    #[error(
        "build {build}: artifact {} is corrupted (expected sha256 {expected}, found \
         {actual}): run `mlgate verify` to see every damaged build, then `mlgate verify \
         --repair` or re-import the model",
        path.display()
    )]
    CorruptArtifact {
        build: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },

    #[error(
        "build {build}: artifact {} is missing: run `mlgate verify`, then `mlgate verify \
         --repair` or re-import the model",
        path.display()
    )]
    MissingArtifact { build: String, path: PathBuf },

    #[error("invalid {what} `{value}`: {hint}")]
    Invalid {
        what: &'static str,
        value: String,
        hint: String,
    },

    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },

    #[error("no tag named `{0}` (`mlgate tag list` shows the tags)")]
    UnknownTag(String),

    #[error(
        "tag `{name}` already points at build {build}: pass --force to move it (its history \
         is kept)"
    )]
    TagExists { name: String, build: String },

    #[error(
        "`{0}` is reserved for the baseline: use `mlgate baseline set BUILD` / `mlgate \
         baseline unset`"
    )]
    ReservedTag(String),

    #[error("no history entry matches `{0}` (`mlgate history` lists entries)")]
    UnknownHistoryEntry(String),

    #[error(
        "history id prefix `{reference}` matches {} entries ({}): use more characters",
        candidates.len(),
        candidates.join(", ")
    )]
    AmbiguousHistoryEntry {
        reference: String,
        candidates: Vec<String>,
    },

    #[error(transparent)]
    Model(#[from] mlgate_ir::IrError),

    #[error(
        "no remote named `{name}` ({}): `mlgate remote add {name} --backend s3 --bucket B` \
         adds one",
        if known.is_empty() { "none is configured".to_string() } else { format!("known: {}", known.join(", ")) }
    )]
    UnknownRemote { name: String, known: Vec<String> },

    #[error(
        "which remote? {}",
        if known.is_empty() {
            "none is configured: `mlgate remote add NAME --backend s3 --bucket B` adds one".to_string()
        } else {
            format!("pass --remote NAME ({}) or pick a default with `mlgate remote set-default NAME`", known.join(", "))
        }
    )]
    NoDefaultRemote { known: Vec<String> },

    /// A remote could not be reached or refused a request. `message` has been scrubbed of
    /// every credential; `hint` says what to check.
    #[error("remote `{remote}`: {message}: {hint}")]
    Remote {
        remote: String,
        message: String,
        hint: String,
        /// The configuration or credentials are at fault (wrong bucket, endpoint, key).
        user: bool,
    },

    #[error(
        "remote `{remote}`: object {key} failed its integrity check (expected sha256 \
         {expected}, got {actual}); nothing from it was made visible. The copy on the server \
         is damaged: delete it there and push again from a machine that has the build"
    )]
    RemoteIntegrity {
        remote: String,
        key: String,
        expected: String,
        actual: String,
    },

    #[error(
        "remote `{remote}` has no build or tag matching `{reference}` (`mlgate push` it from \
         the machine that has it, or check the name)"
    )]
    RemoteNotFound { remote: String, reference: String },
}

impl RegistryError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RegistryError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        what: &'static str,
        value: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        RegistryError::Invalid {
            what,
            value: value.into(),
            hint: hint.into(),
        }
    }

    /// True when the user's input is at fault (a reference, a name, a value, a file they
    /// edit), false when the environment is (I/O, the database, a damaged artifact).
    pub fn is_user_error(&self) -> bool {
        match self {
            RegistryError::NoWorkspace { .. }
            | RegistryError::NoRegistry { .. }
            | RegistryError::UnknownBuild { .. }
            | RegistryError::AmbiguousBuild { .. }
            | RegistryError::Invalid { .. }
            | RegistryError::BadFile { .. }
            | RegistryError::UnknownTag(_)
            | RegistryError::TagExists { .. }
            | RegistryError::ReservedTag(_)
            | RegistryError::UnknownHistoryEntry(_)
            | RegistryError::AmbiguousHistoryEntry { .. }
            | RegistryError::UnknownRemote { .. }
            | RegistryError::NoDefaultRemote { .. }
            | RegistryError::RemoteNotFound { .. } => true,
            RegistryError::Remote { user, .. } => *user,
            RegistryError::RemoteIntegrity { .. } => false,
            RegistryError::Model(e) => !matches!(e, mlgate_ir::IrError::Io { .. }),
            RegistryError::Io { .. }
            | RegistryError::Database { .. }
            | RegistryError::Sql(_)
            | RegistryError::SchemaTooNew { .. }
            | RegistryError::CorruptArtifact { .. }
            | RegistryError::MissingArtifact { .. } => false,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
