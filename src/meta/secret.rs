//! `Secret`, a database password, and the hook through which storage seals it at rest.
//!
//! Owns: the `Secret` type (its `Debug` hides it), its two serialized forms and the codec scope.
//! The forms: a plain JSON string (API request bodies, messages between members, everything written
//! by builds before sealing) and a sealed object `{"sealed_with": KEY_ID, "ciphertext": BASE64}`.
//! Must not touch: cryptography, keys, randomness or I/O. Those belong to the codec that storage
//! supplies (`storage::sealing`). `with_secret_codec` puts a codec in scope on the current thread
//! for one synchronous piece of work (encoding a log entry or a snapshot): every `Secret` serialized
//! meanwhile is sealed and every sealed one deserialized is opened, so `MetaState::apply` only ever
//! sees plain values and stays deterministic. Outside a scope a `Secret` serializes as a plain
//! string and a sealed form is refused.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret (MySQL password). Stored through raft so the leader can use it, but its `Debug` never
/// shows it and the API layer never serializes it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the code that logs in to MySQL. Never log or return it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The stored form of a sealed secret: the id of the key that sealed it and the codec's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedSecret {
    pub sealed_with: String,
    pub ciphertext: String,
}

/// Why a secret could not be sealed or opened. Never holds the secret or a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretCodecError {
    #[error(
        "a stored database password is sealed with key \"{key_id}\", but no secrets.key_file is configured: \
         configure the key file that holds key \"{key_id}\""
    )]
    NoKeyFile { key_id: String },
    #[error(
        "a stored database password is sealed with key \"{key_id}\", which secrets.key_file does not hold: \
         add key \"{key_id}\" to the key file"
    )]
    UnknownKey { key_id: String },
    #[error(
        "a stored database password sealed with key \"{key_id}\" does not open: the key file holds a different \
         key under id \"{key_id}\", or the stored value is damaged"
    )]
    Undecryptable { key_id: String },
    #[error("a sealed password is accepted only from shardkeeper's own storage")]
    OutsideStorage,
    #[error("cannot seal a database password: {0}")]
    Seal(String),
}

/// Seals and opens secrets for storage; implemented above `meta` (`storage::sealing`).
pub trait SecretCodec: Send + Sync {
    /// The stored form of `plain`, or `None` to store it as a plain string (no key configured).
    fn seal(&self, plain: &str) -> Result<Option<SealedSecret>, SecretCodecError>;
    fn open(&self, sealed: &SealedSecret) -> Result<String, SecretCodecError>;
}

struct Scope {
    codec: Arc<dyn SecretCodec>,
    /// The first codec failure inside the scope, so the caller reports it rather than serde's
    /// wrapping of it.
    failure: Option<SecretCodecError>,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `work` (synchronous: serde encoding or decoding) with `codec` sealing and opening every
/// `Secret` it meets on this thread. Returns its result and the first codec failure, if any.
pub fn with_secret_codec<R>(codec: &Arc<dyn SecretCodec>, work: impl FnOnce() -> R) -> (R, Option<SecretCodecError>) {
    /// Puts back the enclosing scope (usually none), also when `work` panics.
    struct Restore(Option<Scope>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SCOPE.with(|scope| *scope.borrow_mut() = previous);
        }
    }
    let previous = SCOPE.with(|scope| scope.replace(Some(Scope { codec: codec.clone(), failure: None })));
    let restore = Restore(previous);
    let result = work();
    let failure = SCOPE.with(|scope| scope.borrow_mut().as_mut().and_then(|scope| scope.failure.take()));
    drop(restore);
    (result, failure)
}

fn codec_in_scope() -> Option<Arc<dyn SecretCodec>> {
    SCOPE.with(|scope| scope.borrow().as_ref().map(|scope| scope.codec.clone()))
}

fn record_failure(failure: SecretCodecError) -> SecretCodecError {
    SCOPE.with(|scope| {
        if let Some(scope) = scope.borrow_mut().as_mut() {
            scope.failure.get_or_insert_with(|| failure.clone());
        }
    });
    failure
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(codec) = codec_in_scope() else { return serializer.serialize_str(&self.0) };
        match codec.seal(&self.0) {
            Ok(None) => serializer.serialize_str(&self.0),
            Ok(Some(sealed)) => sealed.serialize(serializer),
            Err(failure) => Err(serde::ser::Error::custom(record_failure(failure))),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        Ok(Secret(value.to_string()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Secret, E> {
        Ok(Secret(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Secret, A::Error> {
        let sealed = SealedSecret::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let opened = match codec_in_scope() {
            Some(codec) => codec.open(&sealed),
            None => Err(SecretCodecError::OutsideStorage),
        };
        opened.map(Secret).map_err(|failure| de::Error::custom(record_failure(failure)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in codec: "seals" by reversing, under key "k1"; opens only "k1".
    struct Reversing;

    impl SecretCodec for Reversing {
        fn seal(&self, plain: &str) -> Result<Option<SealedSecret>, SecretCodecError> {
            Ok(Some(SealedSecret { sealed_with: "k1".into(), ciphertext: plain.chars().rev().collect() }))
        }
        fn open(&self, sealed: &SealedSecret) -> Result<String, SecretCodecError> {
            match sealed.sealed_with.as_str() {
                "k1" => Ok(sealed.ciphertext.chars().rev().collect()),
                other => Err(SecretCodecError::UnknownKey { key_id: other.to_string() }),
            }
        }
    }

    fn reversing() -> Arc<dyn SecretCodec> {
        Arc::new(Reversing)
    }

    #[test]
    fn outside_a_scope_a_secret_is_a_plain_string_and_a_sealed_form_is_refused() {
        let secret = Secret::new("hunter2");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"hunter2\"");
        assert_eq!(serde_json::from_str::<Secret>("\"hunter2\"").unwrap(), secret);
        let sealed = r#"{"sealed_with":"k1","ciphertext":"2retnuh"}"#;
        let refused = serde_json::from_str::<Secret>(sealed).unwrap_err().to_string();
        assert!(refused.contains("only from shardkeeper's own storage"), "{refused}");
        let wrong_type = serde_json::from_str::<Secret>("5").unwrap_err().to_string();
        assert!(wrong_type.contains("expected a string"), "{wrong_type}");
    }

    #[test]
    fn in_a_scope_secrets_are_sealed_and_opened_and_plain_ones_still_read() {
        let codec = reversing();
        let values = vec![Secret::new("hunter2"), Secret::new("s3cret")];
        let (encoded, failure) = with_secret_codec(&codec, || serde_json::to_string(&values).unwrap());
        assert_eq!(failure, None);
        assert!(!encoded.contains("hunter2") && encoded.contains("\"sealed_with\":\"k1\""), "{encoded}");
        let (decoded, _) = with_secret_codec(&codec, || serde_json::from_str::<Vec<Secret>>(&encoded).unwrap());
        assert_eq!(decoded, values);
        let (legacy, _) = with_secret_codec(&codec, || serde_json::from_str::<Secret>("\"plain\"").unwrap());
        assert_eq!(legacy.expose(), "plain");
        assert!(codec_in_scope().is_none(), "the scope ends with the work");
    }

    #[test]
    fn a_failure_inside_the_scope_is_reported_by_name() {
        let codec = reversing();
        let stored = r#"["x", {"sealed_with":"k9","ciphertext":"abc"}]"#;
        let (decoded, failure) = with_secret_codec(&codec, || serde_json::from_str::<Vec<Secret>>(stored));
        assert!(decoded.is_err());
        assert_eq!(failure, Some(SecretCodecError::UnknownKey { key_id: "k9".into() }));
    }
}
