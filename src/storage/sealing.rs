//! Database passwords sealed at rest: the key file and the AEAD codec storage encodes with.
//!
//! Owns: parsing and permission-checking `secrets.key_file`, and `KeyRing`, the
//! `meta::SecretCodec` that seals every `meta::Secret` written to the raft log or a snapshot with
//! XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`), a random 24-byte nonce per value and the key
//! id as associated data. The first key of the file seals; every key opens. With no key file the
//! ring is empty and passwords are stored as plain strings. Must not touch: sled, raft, the layout
//! of the data directory.
//!
//! Key file format: one key a line, `KEY_ID HEX`, where KEY_ID is 1-64 of `[A-Za-z0-9._-]` and HEX
//! is 64 hex digits (32 bytes); blank lines and lines starting with `#` are ignored. Generate one:
//! `printf 'k1 %s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > keys && chmod 600 keys`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::meta::{SealedSecret, SecretCodec, SecretCodecError};

const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
const MAX_KEY_ID_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read secrets key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("secrets key file {path} is readable by group or others (mode {mode:04o}): chmod 600 it")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("secrets key file {path}, line {line}: {reason}")]
    Syntax { path: PathBuf, line: usize, reason: &'static str },
    #[error("secrets key file {path} holds key id \"{key_id}\" twice")]
    DuplicateId { path: PathBuf, key_id: String },
    #[error("secrets key file {path} holds no key")]
    Empty { path: PathBuf },
}

struct NamedKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The keys of the key file, the sealing one first. Its `Debug` shows the ids only.
pub struct KeyRing {
    keys: Vec<NamedKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("key_ids", &self.keys.iter().map(|key| &key.id).collect::<Vec<_>>()).finish()
    }
}

impl KeyRing {
    /// No key: secrets are stored as plain strings and sealed ones cannot be read.
    pub fn plaintext() -> KeyRing {
        KeyRing { keys: Vec::new() }
    }

    /// Reads the key file, refusing one that group or others may read.
    pub fn load(path: &Path) -> Result<KeyRing, KeyFileError> {
        let read = |source| KeyFileError::Read { path: path.to_path_buf(), source };
        let mode = std::fs::metadata(path).map_err(read)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions { path: path.to_path_buf(), mode });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        KeyRing::parse(path, &text)
    }

    /// Parses key file text (`path` only names it in errors, which never quote a line).
    pub fn parse(path: &Path, text: &str) -> Result<KeyRing, KeyFileError> {
        let mut keys: Vec<NamedKey> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = |reason| KeyFileError::Syntax { path: path.to_path_buf(), line: number + 1, reason };
            let mut fields = line.split_whitespace();
            let (Some(id), Some(hex), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(syntax("expected KEY_ID HEX"));
            };
            if id.len() > MAX_KEY_ID_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
                return Err(syntax("a key id is 1-64 of A-Z a-z 0-9 . _ -"));
            }
            let key = decode_hex_key(hex).ok_or_else(|| syntax("a key is 64 hex digits (32 bytes)"))?;
            if keys.iter().any(|known| known.id == id) {
                return Err(KeyFileError::DuplicateId { path: path.to_path_buf(), key_id: id.to_string() });
            }
            keys.push(NamedKey { id: id.to_string(), cipher: XChaCha20Poly1305::new(&key.into()) });
        }
        if keys.is_empty() {
            return Err(KeyFileError::Empty { path: path.to_path_buf() });
        }
        Ok(KeyRing { keys })
    }

    /// The id of the key new values are sealed with; `None` without a key file.
    pub fn sealing_key_id(&self) -> Option<&str> {
        self.keys.first().map(|key| key.id.as_str())
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.id.as_str())
    }
}

/// 64 hex digits and nothing else (`u8::from_str_radix` alone would also take a `+` sign).
fn decode_hex_key(hex: &str) -> Option<[u8; KEY_LEN]> {
    if hex.len() != KEY_LEN * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut key = [0u8; KEY_LEN];
    for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(key)
}

/// Binds a ciphertext to its key id, so that it cannot be relabelled.
fn associated_data(key_id: &str) -> Vec<u8> {
    [b"shardkeeper-secret-v1:".as_slice(), key_id.as_bytes()].concat()
}

impl SecretCodec for KeyRing {
    fn seal(&self, plain: &str) -> Result<Option<SealedSecret>, SecretCodecError> {
        let Some(key) = self.keys.first() else { return Ok(None) };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(&key.id);
        let ciphertext = key
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: &aad })
            .map_err(|_| SecretCodecError::Seal("encryption failed".to_string()))?;
        let stored = [nonce.as_slice(), &ciphertext].concat();
        Ok(Some(SealedSecret {
            sealed_with: key.id.clone(),
            ciphertext: base64::engine::general_purpose::STANDARD.encode(stored),
        }))
    }

    fn open(&self, sealed: &SealedSecret) -> Result<String, SecretCodecError> {
        let key_id = sealed.sealed_with.clone();
        if self.keys.is_empty() {
            return Err(SecretCodecError::NoKeyFile { key_id });
        }
        let Some(key) = self.keys.iter().find(|key| key.id == key_id) else {
            return Err(SecretCodecError::UnknownKey { key_id });
        };
        let undecryptable = || SecretCodecError::Undecryptable { key_id: key_id.clone() };
        let stored = base64::engine::general_purpose::STANDARD.decode(&sealed.ciphertext).map_err(|_| undecryptable())?;
        if stored.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = stored.split_at(NONCE_LEN);
        let aad = associated_data(&key.id);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain).map_err(|_| undecryptable())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::meta::{with_secret_codec, Secret};

    const KEY_A: &str = "0001020304050607080910111213141516171819202122232425262728293031";
    const KEY_B: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

    fn ring(text: &str) -> Arc<dyn SecretCodec> {
        Arc::new(KeyRing::parse(Path::new("keys"), text).unwrap())
    }

    fn encode(codec: &Arc<dyn SecretCodec>, secret: &Secret) -> String {
        let (encoded, failure) = with_secret_codec(codec, || serde_json::to_string(secret).unwrap());
        assert_eq!(failure, None);
        encoded
    }

    fn decode(codec: &Arc<dyn SecretCodec>, stored: &str) -> Result<Secret, SecretCodecError> {
        match with_secret_codec(codec, || serde_json::from_str::<Secret>(stored)) {
            (Ok(secret), None) => Ok(secret),
            (_, Some(failure)) => Err(failure),
            (Err(error), None) => panic!("not a codec failure: {error}"),
        }
    }

    #[test]
    fn sealed_values_round_trip_with_a_fresh_nonce_each_time() {
        let codec = ring(&format!("# comment\n\nk1 {KEY_A}\n"));
        let secret = Secret::new("correct horse battery staple");
        let (first, second) = (encode(&codec, &secret), encode(&codec, &secret));
        assert!(!first.contains("horse") && first.contains("\"sealed_with\":\"k1\""), "{first}");
        assert_ne!(first, second, "a random nonce per value");
        assert_eq!(decode(&codec, &first).unwrap(), secret);
        assert_eq!(decode(&codec, &second).unwrap(), secret);
    }

    #[test]
    fn wrong_unknown_or_missing_keys_and_tampering_are_refused_by_key_id() {
        let sealed = encode(&ring(&format!("k1 {KEY_A}")), &Secret::new("pw"));
        let wrong = decode(&ring(&format!("k1 {KEY_B}")), &sealed).unwrap_err();
        assert_eq!(wrong, SecretCodecError::Undecryptable { key_id: "k1".into() });
        let unknown = decode(&ring(&format!("k2 {KEY_A}")), &sealed).unwrap_err();
        assert_eq!(unknown, SecretCodecError::UnknownKey { key_id: "k1".into() });
        assert!(unknown.to_string().contains("\"k1\""), "{unknown}");
        let none: Arc<dyn SecretCodec> = Arc::new(KeyRing::plaintext());
        assert_eq!(decode(&none, &sealed).unwrap_err(), SecretCodecError::NoKeyFile { key_id: "k1".into() });

        let mut stored: SealedSecret = serde_json::from_str(&sealed).unwrap();
        let mut bytes = base64::engine::general_purpose::STANDARD.decode(&stored.ciphertext).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        stored.ciphertext = base64::engine::general_purpose::STANDARD.encode(bytes);
        let tampered = serde_json::to_string(&stored).unwrap();
        assert!(matches!(decode(&ring(&format!("k1 {KEY_A}")), &tampered), Err(SecretCodecError::Undecryptable { .. })));
        let relabelled = sealed.replace("\"k1\"", "\"k2\"");
        let both = ring(&format!("k2 {KEY_A}\nk1 {KEY_A}"));
        assert!(matches!(decode(&both, &relabelled), Err(SecretCodecError::Undecryptable { .. })), "key id is bound");
    }

    #[test]
    fn plain_values_of_earlier_builds_read_and_no_key_stores_plain() {
        let codec = ring(&format!("k1 {KEY_A}"));
        assert_eq!(decode(&codec, "\"legacy\"").unwrap().expose(), "legacy");
        let none: Arc<dyn SecretCodec> = Arc::new(KeyRing::plaintext());
        assert_eq!(encode(&none, &Secret::new("pw")), "\"pw\"");
    }

    #[test]
    fn rotation_seals_with_the_first_key_and_opens_with_all() {
        let old = encode(&ring(&format!("old {KEY_A}")), &Secret::new("pw"));
        let rotated = ring(&format!("new {KEY_B}\nold {KEY_A}"));
        assert_eq!(decode(&rotated, &old).unwrap().expose(), "pw");
        let resealed = encode(&rotated, &decode(&rotated, &old).unwrap());
        assert!(resealed.contains("\"sealed_with\":\"new\""), "{resealed}");
        assert_eq!(decode(&ring(&format!("new {KEY_B}")), &resealed).unwrap().expose(), "pw");
    }

    #[test]
    fn bad_key_files_are_refused_without_quoting_them() {
        let path = Path::new("keys");
        let bad = |text: &str| KeyRing::parse(path, text).unwrap_err().to_string();
        assert!(bad("").contains("holds no key"));
        assert!(bad(&format!("k1 {}", &KEY_A[..60])).contains("line 1: a key is 64 hex digits"));
        assert!(!bad(&format!("k1 {}zz", &KEY_A[..62])).contains(&KEY_A[..62]));
        assert!(bad(&format!("k/1 {KEY_A}")).contains("a key id is"));
        assert!(bad(&format!("k1 {KEY_A} extra")).contains("expected KEY_ID HEX"));
        assert!(bad(&format!("k1 {KEY_A}\nk1 {KEY_B}")).contains("\"k1\" twice"));
        // Found by the fuzz target secrets_key_file: a `+` sign in a digit pair was read as hex.
        assert!(bad(&format!("k1 +a{}", &KEY_A[2..])).contains("a key is 64 hex digits"));
        let ring = KeyRing::parse(path, &format!("new {KEY_B}\nold {KEY_A}")).unwrap();
        assert_eq!(ring.sealing_key_id(), Some("new"));
        assert_eq!(format!("{ring:?}"), "KeyRing { key_ids: [\"new\", \"old\"] }");
    }

    #[test]
    fn a_key_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, format!("k1 {KEY_A}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let refused = KeyRing::load(&path).unwrap_err().to_string();
        assert!(refused.contains("readable by group or others (mode 0640)"), "{refused}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(KeyRing::load(&path).unwrap().sealing_key_id(), Some("k1"));
    }

    /// Cost of sealing and opening one password (printed; run with --nocapture).
    #[test]
    fn sealing_cost_per_value() {
        let codec = ring(&format!("k1 {KEY_A}"));
        let secret = Secret::new("a-typical-password-of-32-bytes!!");
        let rounds = 2000;
        let started = std::time::Instant::now();
        let sealed: Vec<String> = (0..rounds).map(|_| encode(&codec, &secret)).collect();
        let seal_micros = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        let started = std::time::Instant::now();
        for stored in &sealed {
            assert_eq!(decode(&codec, stored).unwrap(), secret);
        }
        let open_micros = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        println!("seal {seal_micros:.2} us, open {open_micros:.2} us, stored {} bytes vs 34", sealed[0].len());
    }
}
