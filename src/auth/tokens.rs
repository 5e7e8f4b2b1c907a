//! Named tokens, each with a role, from the config file (`[[auth.tokens]]`) and an optional file of
//! the same entries (`auth.tokens_file`). Only a token's SHA-256 is ever stored; a presented token
//! is hashed and compared in constant time with every entry.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{is_valid_principal_name, Principal, Role};
use crate::error::{ErrorCode, ServiceError};

/// `[auth]` in the config file (docs/security.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Named tokens with their roles. With none here nor in `tokens_file`, authentication is off
    /// and the node binds loopback addresses only (unless `insecure`).
    pub tokens: Vec<TokenEntry>,
    /// A TOML file of more `[[tokens]]` entries, same keys. Default none.
    pub tokens_file: Option<PathBuf>,
    /// Ask for a viewer token on /metrics too. Default false (open, like /healthz).
    pub protect_metrics: bool,
}

/// One token: who holds it, what it may do, and the hex SHA-256 of the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    /// `printf %s "$TOKEN" | sha256sum`: 64 hex digits.
    pub token_sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read tokens file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("tokens file {path} is invalid: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("token name \"{0}\" is not 1-64 letters, digits or ._-@")]
    Name(String),
    #[error("token \"{0}\": token_sha256 is not 64 hex digits")]
    Hash(String),
    #[error("token name \"{0}\" appears twice")]
    Duplicate(String),
}

/// Why a request was not let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credentials, or credentials no entry matches: 401.
    Unauthenticated(&'static str),
    /// A known principal whose role is too small: 403.
    Forbidden { principal: String, role: Role, required: Role },
}

impl AuthFailure {
    /// The message a client sees; names the roles, never a token.
    pub fn message(&self) -> String {
        match self {
            AuthFailure::Unauthenticated(reason) => reason.to_string(),
            AuthFailure::Forbidden { principal, role, required } => format!(
                "{principal} has role {}; this needs role {} or higher",
                role.as_str(),
                required.as_str()
            ),
        }
    }
}

impl From<AuthFailure> for ServiceError {
    fn from(failure: AuthFailure) -> Self {
        let code = match failure {
            AuthFailure::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AuthFailure::Forbidden { .. } => ErrorCode::PermissionDenied,
        };
        ServiceError::new(code, failure.message())
    }
}

struct LoadedToken {
    name: String,
    role: Role,
    sha256: [u8; 32],
}

/// Every token this node accepts.
#[derive(Default)]
pub struct TokenTable {
    tokens: Vec<LoadedToken>,
}

impl TokenTable {
    /// The entries of `config` and of its tokens file, checked.
    pub fn load(config: &AuthConfig) -> Result<TokenTable, TokenError> {
        let mut entries = config.tokens.clone();
        if let Some(path) = &config.tokens_file {
            entries.extend(read_tokens_file(path)?);
        }
        let mut tokens: Vec<LoadedToken> = Vec::with_capacity(entries.len());
        for entry in entries {
            if !is_valid_principal_name(&entry.name) {
                return Err(TokenError::Name(entry.name));
            }
            if tokens.iter().any(|token| token.name == entry.name) {
                return Err(TokenError::Duplicate(entry.name));
            }
            let sha256 = parse_sha256_hex(&entry.token_sha256).ok_or_else(|| TokenError::Hash(entry.name.clone()))?;
            tokens.push(LoadedToken { name: entry.name, role: entry.role, sha256 });
        }
        Ok(TokenTable { tokens })
    }

    /// False when no token is configured: authentication is off.
    pub fn is_enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The principal of an `Authorization` header value: `Bearer TOKEN`, or `Basic` of
    /// `NAME:TOKEN` when `allow_basic`. Checks `required` too.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        allow_basic: bool,
        required: Role,
    ) -> Result<Principal, AuthFailure> {
        let principal = self.authenticate(authorization, allow_basic)?;
        if principal.role < required {
            return Err(AuthFailure::Forbidden { principal: principal.name, role: principal.role, required });
        }
        Ok(principal)
    }

    fn authenticate(&self, authorization: Option<&str>, allow_basic: bool) -> Result<Principal, AuthFailure> {
        let header = authorization.ok_or(AuthFailure::Unauthenticated("credentials required"))?;
        let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
        let matched = if scheme.eq_ignore_ascii_case("bearer") {
            self.by_token(value.trim())
        } else if scheme.eq_ignore_ascii_case("basic") && allow_basic {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(AuthFailure::Unauthenticated("malformed basic credentials"))?;
            let (name, token) =
                decoded.split_once(':').ok_or(AuthFailure::Unauthenticated("malformed basic credentials"))?;
            self.by_name_and_token(name, token)
        } else if allow_basic {
            return Err(AuthFailure::Unauthenticated("use Bearer or Basic credentials"));
        } else {
            return Err(AuthFailure::Unauthenticated("use Bearer credentials"));
        };
        let token = matched.ok_or(AuthFailure::Unauthenticated("invalid credentials"))?;
        Ok(Principal { name: token.name.clone(), role: token.role })
    }

    /// Compares with every entry (no early exit), so timing says nothing about which matched.
    fn by_token(&self, token: &str) -> Option<&LoadedToken> {
        let presented = sha256(token.as_bytes());
        let mut found = None;
        for entry in &self.tokens {
            if constant_time_eq(&entry.sha256, &presented) {
                found = Some(entry);
            }
        }
        found
    }

    fn by_name_and_token(&self, name: &str, token: &str) -> Option<&LoadedToken> {
        let presented = sha256(token.as_bytes());
        let entry = self.tokens.iter().find(|entry| entry.name == name);
        let expected = entry.map(|entry| entry.sha256).unwrap_or([0; 32]);
        let equal = constant_time_eq(&expected, &presented);
        entry.filter(|_| equal)
    }
}

fn read_tokens_file(path: &Path) -> Result<Vec<TokenEntry>, TokenError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| TokenError::Read { path: path.to_path_buf(), source })?;
    parse_tokens_file(path, &text)
}

/// The entries of a tokens file's text (`path` only names it in errors), not yet checked.
pub fn parse_tokens_file(path: &Path, text: &str) -> Result<Vec<TokenEntry>, TokenError> {
    let file: TokensFile =
        toml::from_str(text).map_err(|source| TokenError::Parse { path: path.to_path_buf(), source })?;
    Ok(file.tokens)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The lowercase hex SHA-256 of `token`: what `token_sha256` holds.
pub fn sha256_hex(token: &str) -> String {
    sha256(token.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// 64 hex digits and nothing else (`u8::from_str_radix` alone would also take a `+` sign).
fn parse_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (index, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16).ok()?;
    }
    Some(digest)
}

/// Equal digests, in time that does not depend on where they differ.
pub(super) fn constant_time_eq(left: &[u8; 32], right: &[u8; 32]) -> bool {
    let difference = left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TokenTable {
        let entry = |name: &str, role, token: &str| TokenEntry {
            name: name.to_string(),
            role,
            token_sha256: sha256_hex(token),
        };
        let config = AuthConfig {
            tokens: vec![entry("vera", Role::Viewer, "v-token"), entry("otto", Role::Operator, "o-token")],
            ..AuthConfig::default()
        };
        TokenTable::load(&config).unwrap()
    }

    fn basic(user_and_token: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_and_token))
    }

    #[test]
    fn bearer_and_basic_credentials_map_to_principals_and_roles() {
        let table = table();
        // (Authorization header, Basic allowed, role needed, principal or refusal)
        type Case = (Option<String>, bool, Role, Result<&'static str, &'static str>);
        let cases: Vec<Case> = vec![
            (None, false, Role::Viewer, Err("401")),
            (Some("Bearer v-token".into()), false, Role::Viewer, Ok("vera")),
            (Some("bearer  o-token ".into()), false, Role::Operator, Ok("otto")),
            (Some("Bearer v-token".into()), false, Role::Operator, Err("403")),
            (Some("Bearer o-token".into()), false, Role::Admin, Err("403")),
            (Some("Bearer wrong".into()), false, Role::Viewer, Err("401")),
            (Some(basic("otto:o-token")), true, Role::Operator, Ok("otto")),
            (Some(basic("otto:o-token")), false, Role::Viewer, Err("401")),
            (Some(basic("vera:o-token")), true, Role::Viewer, Err("401")),
            (Some(basic("nobody:o-token")), true, Role::Viewer, Err("401")),
            (Some("Basic !!!".into()), true, Role::Viewer, Err("401")),
            (Some("Token v-token".into()), true, Role::Viewer, Err("401")),
        ];
        for (header, allow_basic, required, expected) in cases {
            let outcome = table.authorize(header.as_deref(), allow_basic, required);
            let got = match &outcome {
                Ok(principal) => Ok(principal.name.as_str()),
                Err(AuthFailure::Unauthenticated(_)) => Err("401"),
                Err(AuthFailure::Forbidden { .. }) => Err("403"),
            };
            assert_eq!(got, expected, "{header:?} basic={allow_basic} needs {required:?}");
        }
    }

    #[test]
    fn bad_entries_are_refused_at_load() {
        let load = |name: &str, hash: String| {
            let entry = TokenEntry { name: name.to_string(), role: Role::Admin, token_sha256: hash };
            TokenTable::load(&AuthConfig { tokens: vec![entry.clone(), entry], ..AuthConfig::default() })
        };
        assert!(matches!(load("ok", sha256_hex("x")), Err(TokenError::Duplicate(_))));
        assert!(matches!(load("bad name", sha256_hex("x")), Err(TokenError::Name(_))));
        assert!(matches!(load("ok", "abc".into()), Err(TokenError::Hash(_))));
        assert!(matches!(load("ok", "g".repeat(64)), Err(TokenError::Hash(_))));
        // The key file's `+` sign (fuzz target secrets_key_file) was taken here too.
        assert!(matches!(load("ok", format!("+a{}", &sha256_hex("x")[2..])), Err(TokenError::Hash(_))));
        assert!(!TokenTable::load(&AuthConfig::default()).unwrap().is_enabled());
    }

    #[test]
    fn a_tokens_file_adds_entries_and_the_message_never_holds_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        let file = format!("[[tokens]]\nname = \"ci\"\nrole = \"admin\"\ntoken_sha256 = \"{}\"\n", sha256_hex("ci-secret"));
        std::fs::write(&path, file).unwrap();
        let table = TokenTable::load(&AuthConfig { tokens_file: Some(path), ..AuthConfig::default() }).unwrap();
        assert_eq!(table.authorize(Some("Bearer ci-secret"), false, Role::Admin).unwrap().role, Role::Admin);
        let failure = table.authorize(Some("Bearer ci-secrex"), false, Role::Viewer).unwrap_err();
        assert!(!failure.message().contains("ci-secre"), "{}", failure.message());
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
