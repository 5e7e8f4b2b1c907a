//! The members' credential without TLS: a secret every member reads from the same file
//! (`cluster_secret_file`). Members send it on every members-only call; the members' servers refuse
//! a call without it. A client token, even an admin's, is never a member credential.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::tokens::constant_time_eq;

/// Metadata key of the cluster secret on members-only gRPC calls.
pub const MEMBER_SECRET_METADATA: &str = "x-shardkeeper-member-secret";

/// Shortest secret accepted: `openssl rand -hex 32` gives 64 characters.
const MIN_SECRET_CHARS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ClusterSecretError {
    #[error("cannot read cluster secret file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cluster secret in {path} must be at least {MIN_SECRET_CHARS} printable ASCII characters, no spaces")]
    Weak { path: PathBuf },
}

/// The cluster secret; its value never appears in Debug output, logs or errors.
#[derive(Clone)]
pub struct ClusterSecret {
    value: Arc<str>,
    sha256: [u8; 32],
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ClusterSecret(redacted)")
    }
}

impl ClusterSecret {
    /// The secret in `path` (surrounding whitespace ignored).
    pub fn read(path: &Path) -> Result<ClusterSecret, ClusterSecretError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ClusterSecretError::Read { path: path.to_path_buf(), source })?;
        ClusterSecret::new(text.trim()).ok_or_else(|| ClusterSecretError::Weak { path: path.to_path_buf() })
    }

    /// The secret of `cluster_secret_file`, or none when it is not set.
    pub fn load(path: Option<&Path>) -> Result<Option<ClusterSecret>, ClusterSecretError> {
        path.map(ClusterSecret::read).transpose()
    }

    fn new(value: &str) -> Option<ClusterSecret> {
        let printable = value.bytes().all(|byte| byte.is_ascii_graphic());
        (printable && value.len() >= MIN_SECRET_CHARS)
            .then(|| ClusterSecret { value: Arc::from(value), sha256: Sha256::digest(value.as_bytes()).into() })
    }

    /// What a member sends (ASCII, so it is valid metadata).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// True when `presented` is this secret; constant time in where they differ. A missing one
    /// hashes like an empty one, which `new` never accepts, so it cannot match.
    pub fn matches(&self, presented: Option<&[u8]>) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.unwrap_or_default()).into();
        constant_time_eq(&self.sha256, &presented)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_only_itself_and_never_shows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, format!("{}\n", "k".repeat(40))).unwrap();
        let secret = ClusterSecret::read(&path).unwrap();
        assert!(secret.matches(Some("k".repeat(40).as_bytes())));
        assert!(!secret.matches(Some("k".repeat(39).as_bytes())));
        assert!(!secret.matches(None));
        assert!(!format!("{secret:?}").contains("kkkk"));
        std::fs::write(&path, "short").unwrap();
        let error = ClusterSecret::read(&path).unwrap_err().to_string();
        assert!(error.contains("at least") && !error.contains("short"), "{error}");
        assert!(ClusterSecret::load(None).unwrap().is_none());
    }
}
