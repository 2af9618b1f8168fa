//! Which machine wrote a row: a random id kept in the workspace, plus the hostname.
//! Every stored result carries both, so results from different machines are never mixed up.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{RegistryError, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// 32 hex characters, created once per workspace.
    pub id: String,
    pub hostname: String,
}

impl Machine {
    /// Read the machine id file, or create it. Several processes may race here: each writes
    /// its candidate to a temporary file and hard-links it into place, which fails if another
    /// got there first — then everyone reads the winner's id.
    pub(crate) fn load_or_create(path: &Path) -> Result<Machine> {
        let hostname = hostname();
        if let Some(id) = read_id(path) {
            return Ok(Machine { id, hostname });
        }
        let candidate = random_hex(16);
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".machine-id.{}.tmp", random_hex(6)));
        std::fs::write(&tmp, format!("{candidate}\n")).map_err(|e| RegistryError::io(&tmp, e))?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Machine {
                id: candidate,
                hostname,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_id(path) {
                Some(id) => Ok(Machine { id, hostname }),
                None => Err(RegistryError::BadFile {
                    path: path.to_path_buf(),
                    message: "the machine id file is unreadable: delete it and run again".into(),
                }),
            },
            Err(e) => Err(RegistryError::io(path, e)),
        }
    }
}

fn read_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.trim();
    (id.len() >= 8 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// `n` random bytes as hex, from the OS where it offers them; otherwise a hash of the time,
/// process and hostname, which is unique enough for an identifier that is not a secret.
pub(crate) fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !from_os {
        let mut h = Sha256::new();
        h.update(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
                .to_le_bytes(),
        );
        h.update(std::process::id().to_le_bytes());
        h.update(hostname().as_bytes());
        let digest = h.finalize();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = digest[i % digest.len()];
        }
    }
    hex::encode(buf)
}

#[cfg(unix)]
pub(crate) fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success
    // (and we stop at the buffer's end if it did not).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into())
}

#[cfg(not(unix))]
pub(crate) fn hostname() -> String {
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
