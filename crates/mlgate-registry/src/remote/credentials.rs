//! Credentials for a remote, from the standard AWS chain only: environment variables, then
//! the shared credentials and config files (`~/.aws/credentials`, `~/.aws/config`, or where
//! `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` point) for the profile `AWS_PROFILE`
//! (default `default`), then web identity and container credentials, which the S3 client
//! reads from the environment itself.
//!
//! object_store's builder reads the environment but not the shared files, so the files are
//! parsed here (a small INI reader: sections, `key = value`, `#`/`;` comments). Nothing
//! here is ever written anywhere or formatted into a message: [`AwsCredentials`]' `Debug`
//! hides the secret, and the error names only which sources were looked at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where credentials were found (named in messages; never the values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    Environment,
    /// A profile in a shared file.
    SharedFile { path: PathBuf, profile: String },
    /// Web identity or container credentials, resolved by the S3 client at request time.
    Delegated,
}

/// A static key pair (and session token), held only in memory.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub source: CredentialSource,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What the chain found: a key pair, delegation to the client (web identity / container
/// variables are set), or nothing.
#[derive(Debug, Clone)]
pub enum Resolved {
    Static(AwsCredentials),
    Delegated,
    Missing,
}

/// The region named by the environment or the profile's config section, if any.
pub fn region_from_chain(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(r) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
        return Some(r);
    }
    let profile = profile_name(env);
    let (path, _) = config_file(env)?;
    let text = std::fs::read_to_string(path).ok()?;
    let ini = parse_ini(&text);
    config_section(&ini, &profile)?.get("region").cloned()
}

/// The standard chain, reading variables through `env` (the process environment in use;
/// tests pass their own).
pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Resolved {
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Resolved::Static(AwsCredentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: env("AWS_SESSION_TOKEN"),
            source: CredentialSource::Environment,
        });
    }
    let profile = profile_name(env);
    if let Some((path, _)) = credentials_file(env) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let ini = parse_ini(&text);
            if let Some(c) = ini
                .get(&profile)
                .and_then(|s| from_section(s, &path, &profile))
            {
                return Resolved::Static(c);
            }
        }
    }
    if let Some((path, _)) = config_file(env) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let ini = parse_ini(&text);
            if let Some(c) =
                config_section(&ini, &profile).and_then(|s| from_section(s, &path, &profile))
            {
                return Resolved::Static(c);
            }
        }
    }
    let web_identity =
        env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() && env("AWS_ROLE_ARN").is_some();
    let container = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || (env("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
            && env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").is_some());
    if web_identity || container {
        Resolved::Delegated
    } else {
        Resolved::Missing
    }
}

/// `AWS_PROFILE`, else `default`.
pub fn profile_name(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("AWS_PROFILE")
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "default".to_string())
}

fn home(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

/// The shared credentials file and whether it was named explicitly.
pub fn credentials_file(env: &dyn Fn(&str) -> Option<String>) -> Option<(PathBuf, bool)> {
    match env("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => Some((PathBuf::from(p), true)),
        None => home(env).map(|h| (h.join(".aws/credentials"), false)),
    }
}

/// The shared config file and whether it was named explicitly.
pub fn config_file(env: &dyn Fn(&str) -> Option<String>) -> Option<(PathBuf, bool)> {
    match env("AWS_CONFIG_FILE") {
        Some(p) => Some((PathBuf::from(p), true)),
        None => home(env).map(|h| (h.join(".aws/config"), false)),
    }
}

fn from_section(
    section: &BTreeMap<String, String>,
    path: &Path,
    profile: &str,
) -> Option<AwsCredentials> {
    Some(AwsCredentials {
        access_key_id: section.get("aws_access_key_id")?.clone(),
        secret_access_key: section.get("aws_secret_access_key")?.clone(),
        session_token: section.get("aws_session_token").cloned(),
        source: CredentialSource::SharedFile {
            path: path.to_path_buf(),
            profile: profile.to_string(),
        },
    })
}

/// In the config file a profile's section is `[profile NAME]`, except `[default]`.
fn config_section<'a>(
    ini: &'a BTreeMap<String, BTreeMap<String, String>>,
    profile: &str,
) -> Option<&'a BTreeMap<String, String>> {
    ini.get(&format!("profile {profile}"))
        .or_else(|| (profile == "default").then(|| ini.get("default")).flatten())
}

/// Sections of an AWS-style INI file: `[name]` headers (inner spaces collapsed), `key =
/// value` lines (keys lowercased), full-line `#` / `;` comments. Indented continuation lines
/// (nested `s3 =` settings) are skipped: no credential lives there.
pub fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        if raw.starts_with([' ', '\t']) {
            continue;
        }
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = inner.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let (Some(section), Some((key, value))) = (&current, line.split_once('=')) else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        out.entry(section.clone())
            .or_default()
            .insert(key.trim().to_ascii_lowercase(), value.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn ini_sections_keys_and_comments() {
        let ini = parse_ini(
            "# top\n[default]\naws_access_key_id = AKIA1\nAWS_Secret_Access_Key=s1 \n\n\
             [profile  ci]\n; note\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 4\n",
        );
        assert_eq!(ini["default"]["aws_access_key_id"], "AKIA1");
        assert_eq!(ini["default"]["aws_secret_access_key"], "s1");
        assert_eq!(ini["profile ci"]["region"], "eu-west-1");
        assert!(!ini["profile ci"].contains_key("max_concurrent_requests"));
        assert!(!ini["profile ci"].contains_key("s3"));
    }

    #[test]
    fn environment_wins_then_profiles_in_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id=K0\naws_secret_access_key=S0\n\
             [team]\naws_access_key_id=K1\naws_secret_access_key=S1\naws_session_token=T1\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[profile other]\naws_access_key_id=K2\naws_secret_access_key=S2\nregion=ap-1\n",
        )
        .unwrap();
        let c = creds.to_str().unwrap();
        let f = config.to_str().unwrap();
        let files = [("AWS_SHARED_CREDENTIALS_FILE", c), ("AWS_CONFIG_FILE", f)];

        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars: Vec<(&str, &str)> = files.to_vec();
            vars.extend_from_slice(extra);
            resolve(&env_of(&vars))
        };
        let Resolved::Static(e) =
            with(&[("AWS_ACCESS_KEY_ID", "KE"), ("AWS_SECRET_ACCESS_KEY", "SE")])
        else {
            panic!("environment credentials not found");
        };
        assert_eq!(
            (e.access_key_id.as_str(), e.source),
            ("KE", CredentialSource::Environment)
        );
        let Resolved::Static(d) = with(&[]) else {
            panic!()
        };
        assert_eq!(d.access_key_id, "K0");
        let Resolved::Static(t) = with(&[("AWS_PROFILE", "team")]) else {
            panic!()
        };
        assert_eq!(t.session_token.as_deref(), Some("T1"));
        let Resolved::Static(o) = with(&[("AWS_PROFILE", "other")]) else {
            panic!()
        };
        assert_eq!(o.secret_access_key, "S2");
        assert!(matches!(
            with(&[("AWS_PROFILE", "none")]),
            Resolved::Missing
        ));
        assert!(matches!(
            with(&[
                ("AWS_PROFILE", "none"),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
                ("AWS_ROLE_ARN", "arn")
            ]),
            Resolved::Delegated
        ));
        let mut vars: Vec<(&str, &str)> = files.to_vec();
        vars.push(("AWS_PROFILE", "other"));
        assert_eq!(region_from_chain(&env_of(&vars)).as_deref(), Some("ap-1"));
        vars.push(("AWS_REGION", "us-west-2"));
        assert_eq!(
            region_from_chain(&env_of(&vars)).as_deref(),
            Some("us-west-2")
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = AwsCredentials {
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: "very-secret".into(),
            session_token: Some("tok".into()),
            source: CredentialSource::Environment,
        };
        let text = format!("{c:?}");
        assert!(
            !text.contains("very-secret") && !text.contains("tok\""),
            "{text}"
        );
    }
}
