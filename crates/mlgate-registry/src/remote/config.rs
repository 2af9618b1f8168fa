//! Remotes in `config.toml`: one `[remote.NAME]` table each. Only where the data lives is
//! written there — never a credential (those come from the AWS chain at run time).
//!
//! ```toml
//! [remote.origin]
//! backend = "s3"
//! bucket = "ml-perf"
//! prefix = "team-a"
//! region = "eu-west-1"
//! endpoint = "https://s3.example.com"   # S3-compatible stores (MinIO, R2, B2, Ceph)
//! default = true
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::CiConfig;
use crate::error::{RegistryError, Result};

/// The kind of object store. Only S3 and S3-compatible stores for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemoteBackend {
    S3,
}

/// Where a remote's data lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteSpec {
    pub backend: RemoteBackend,
    pub bucket: String,
    /// Keys live under this path inside the bucket (no leading or trailing `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Default: `AWS_REGION`, the profile's region, else `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// An S3-compatible endpoint (`https://host[:port]`); default: AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Allow an `http://` endpoint (unencrypted; loopback test servers).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
    /// The remote push, pull and sync use without `--remote`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// A remote with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NamedRemote {
    pub name: String,
    #[serde(flatten)]
    pub spec: RemoteSpec,
}

pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(RegistryError::invalid(
            "remote name",
            name,
            "use 1-64 letters, digits, `-`, `_` or `.` (e.g. `origin`)",
        ))
    }
}

impl RemoteSpec {
    /// Check every field; the error names the value and what would be accepted.
    pub fn check(&self) -> Result<()> {
        let b = &self.bucket;
        let bucket_ok = (3..=63).contains(&b.len())
            && b.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
            && b.starts_with(|c: char| c.is_ascii_alphanumeric())
            && b.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !bucket_ok {
            return Err(RegistryError::invalid(
                "bucket",
                b.as_str(),
                "an S3 bucket name is 3-63 lowercase letters, digits, `-` or `.`, starting \
                 and ending with a letter or digit",
            ));
        }
        if let Some(p) = &self.prefix {
            let ok = !p.is_empty()
                && !p.starts_with('/')
                && !p.ends_with('/')
                && p.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
                && !p.chars().any(char::is_control);
            if !ok {
                return Err(RegistryError::invalid(
                    "prefix",
                    p.as_str(),
                    "a path inside the bucket such as `team-a/mlgate`: no leading or \
                     trailing `/`, no empty, `.` or `..` parts",
                ));
            }
        }
        if let Some(r) = &self.region {
            if r.is_empty() || !r.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
                return Err(RegistryError::invalid(
                    "region",
                    r.as_str(),
                    "a region name such as `us-east-1` or `auto`",
                ));
            }
        }
        if let Some(e) = &self.endpoint {
            let rest = e
                .strip_prefix("https://")
                .or_else(|| e.strip_prefix("http://"));
            let host_ok = rest.is_some_and(|r| {
                let host = r.split('/').next().unwrap_or("");
                !host.is_empty()
                    && host.bytes().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']')
                    })
            });
            if !host_ok {
                return Err(RegistryError::invalid(
                    "endpoint",
                    e.as_str(),
                    "a URL such as `https://s3.example.com` or `http://127.0.0.1:9000`",
                ));
            }
            if e.starts_with("http://") && !self.allow_http {
                return Err(RegistryError::invalid(
                    "endpoint",
                    e.as_str(),
                    "an http:// endpoint sends data unencrypted: pass --allow-http if that \
                     is intended (a loopback or private test server), else use https://",
                ));
            }
        }
        Ok(())
    }
}

/// The remotes configured in `config.toml`, by name.
pub fn load(path: &Path) -> Result<Vec<NamedRemote>> {
    Ok(CiConfig::load(path)?
        .remote
        .into_iter()
        .map(|(name, spec)| NamedRemote { name, spec })
        .collect())
}

/// Checks `CiConfig::load` applies to the `[remote.*]` tables.
pub(crate) fn check_all(remotes: &BTreeMap<String, RemoteSpec>, path: &Path) -> Result<()> {
    let bad = |message: String| RegistryError::BadFile {
        path: path.to_path_buf(),
        message,
    };
    for (name, spec) in remotes {
        check_name(name).map_err(|e| bad(format!("[remote.{name}]: {e}")))?;
        spec.check()
            .map_err(|e| bad(format!("[remote.{name}]: {e}")))?;
    }
    let defaults: Vec<&String> = remotes
        .iter()
        .filter(|(_, s)| s.default)
        .map(|(n, _)| n)
        .collect();
    if defaults.len() > 1 {
        return Err(bad(format!(
            "more than one remote has `default = true` ({}): keep one, or run `mlgate remote \
             set-default NAME`",
            defaults
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// The remote named `name`, or the default one (the only one when there is exactly one).
pub fn pick(path: &Path, name: Option<&str>) -> Result<NamedRemote> {
    let remotes = load(path)?;
    let names = || remotes.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    match name {
        Some(n) => remotes
            .iter()
            .find(|r| r.name == n)
            .cloned()
            .ok_or_else(|| RegistryError::UnknownRemote {
                name: n.to_string(),
                known: names(),
            }),
        None => {
            if let Some(d) = remotes.iter().find(|r| r.spec.default) {
                return Ok(d.clone());
            }
            if remotes.len() == 1 {
                return Ok(remotes[0].clone());
            }
            Err(RegistryError::NoDefaultRemote { known: names() })
        }
    }
}

fn edit(path: &Path, f: impl FnOnce(&mut toml_edit::DocumentMut) -> Result<()>) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(RegistryError::io(path, e)),
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| RegistryError::BadFile {
                path: path.to_path_buf(),
                message: format!("{}; fix or remove the file", e.message()),
            })?;
    f(&mut doc)?;
    let out = doc.to_string();
    // What is written must read back: never leave a config.toml later commands refuse.
    let parsed: CiConfig = toml::from_str(&out).map_err(|e| RegistryError::BadFile {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })?;
    check_all(&parsed.remote, path)?;
    crate::store::write_atomic(path, out.as_bytes())
}

fn remotes_table(doc: &mut toml_edit::DocumentMut) -> Result<&mut toml_edit::Table> {
    let item = doc.entry("remote").or_insert_with(|| {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        toml_edit::Item::Table(t)
    });
    item.as_table_mut().ok_or_else(|| {
        RegistryError::invalid(
            "config.toml",
            "remote",
            "`remote` must be a table of remotes",
        )
    })
}

/// Add a remote (an existing name is an error). With `spec.default`, the others lose it.
pub fn add(path: &Path, name: &str, spec: &RemoteSpec) -> Result<NamedRemote> {
    check_name(name)?;
    spec.check()?;
    if load(path)?.iter().any(|r| r.name == name) {
        return Err(RegistryError::invalid(
            "remote name",
            name,
            "a remote with this name exists: `mlgate remote remove NAME` first, or pick \
             another name",
        ));
    }
    edit(path, |doc| {
        let remotes = remotes_table(doc)?;
        if spec.default {
            for (_, item) in remotes.iter_mut() {
                if let Some(t) = item.as_table_mut() {
                    t.remove("default");
                }
            }
        }
        let mut t = toml_edit::Table::new();
        t["backend"] = toml_edit::value("s3");
        t["bucket"] = toml_edit::value(spec.bucket.as_str());
        if let Some(p) = &spec.prefix {
            t["prefix"] = toml_edit::value(p.as_str());
        }
        if let Some(r) = &spec.region {
            t["region"] = toml_edit::value(r.as_str());
        }
        if let Some(e) = &spec.endpoint {
            t["endpoint"] = toml_edit::value(e.as_str());
        }
        if spec.allow_http {
            t["allow_http"] = toml_edit::value(true);
        }
        if spec.default {
            t["default"] = toml_edit::value(true);
        }
        remotes.insert(name, toml_edit::Item::Table(t));
        Ok(())
    })?;
    Ok(NamedRemote {
        name: name.to_string(),
        spec: spec.clone(),
    })
}

/// Remove a remote from the configuration (nothing on the server is touched).
pub fn remove(path: &Path, name: &str) -> Result<NamedRemote> {
    let found = pick(path, Some(name))?;
    edit(path, |doc| {
        let remotes = remotes_table(doc)?;
        remotes.remove(name);
        if remotes.is_empty() {
            doc.remove("remote");
        }
        Ok(())
    })?;
    Ok(found)
}

/// Make `name` the default remote.
pub fn set_default(path: &Path, name: &str) -> Result<NamedRemote> {
    let mut found = pick(path, Some(name))?;
    edit(path, |doc| {
        let remotes = remotes_table(doc)?;
        for (key, item) in remotes.iter_mut() {
            if let Some(t) = item.as_table_mut() {
                if key.get() == name {
                    t["default"] = toml_edit::value(true);
                } else {
                    t.remove("default");
                }
            }
        }
        Ok(())
    })?;
    found.spec.default = true;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(bucket: &str) -> RemoteSpec {
        RemoteSpec {
            backend: RemoteBackend::S3,
            bucket: bucket.into(),
            prefix: None,
            region: None,
            endpoint: None,
            allow_http: false,
            default: false,
        }
    }

    #[test]
    fn remotes_are_added_listed_defaulted_and_removed_keeping_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "# team settings\n[ci]\nlatency_regression_pct = 7.0\n",
        )
        .unwrap();
        add(&path, "origin", &spec("bucket-a")).unwrap();
        let mut b = spec("bucket-b");
        b.endpoint = Some("http://127.0.0.1:9000".into());
        b.allow_http = true;
        b.prefix = Some("team/x".into());
        b.default = true;
        add(&path, "local", &b).unwrap();
        assert_eq!(pick(&path, None).unwrap().name, "local");
        set_default(&path, "origin").unwrap();
        assert_eq!(pick(&path, None).unwrap().name, "origin");
        assert_eq!(
            pick(&path, Some("local")).unwrap().spec.prefix.as_deref(),
            Some("team/x")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# team settings\n[ci]"), "{text}");
        assert_eq!(
            CiConfig::load(&path).unwrap().ci.latency_regression_pct,
            Some(7.0)
        );
        assert!(matches!(
            pick(&path, Some("nope")),
            Err(RegistryError::UnknownRemote { .. })
        ));
        remove(&path, "origin").unwrap();
        remove(&path, "local").unwrap();
        assert!(load(&path).unwrap().is_empty());
        assert!(matches!(
            pick(&path, None),
            Err(RegistryError::NoDefaultRemote { .. })
        ));
    }

    #[test]
    fn bad_values_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for (field, s) in [
            ("Bad_Bucket", spec("Bad_Bucket")),
            (
                "ftp://x",
                RemoteSpec {
                    endpoint: Some("ftp://x".into()),
                    ..spec("okay")
                },
            ),
            (
                "http://1.2.3.4",
                RemoteSpec {
                    endpoint: Some("http://1.2.3.4".into()),
                    ..spec("okay")
                },
            ),
            (
                "/lead",
                RemoteSpec {
                    prefix: Some("/lead".into()),
                    ..spec("okay")
                },
            ),
        ] {
            let err = add(&path, "r", &s).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
        assert!(add(&path, "bad name", &spec("okay")).is_err());
        // A hand-edited file with two defaults is refused, naming them.
        std::fs::write(
            &path,
            "[remote.a]\nbackend = \"s3\"\nbucket = \"aaa\"\ndefault = true\n\
             [remote.b]\nbackend = \"s3\"\nbucket = \"bbb\"\ndefault = true\n",
        )
        .unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("a, b"), "{err}");
    }
}
