//! Attacker-supplied stored bytes holding sealed passwords (`{"sealed_with": ID, "ciphertext":
//! BASE64}`): decoded as storage decodes a log entry (a `Command`) and a snapshot (a `MetaState`)
//! with a key ring in scope, and as a lone `Secret` outside any scope. Decoding must fail cleanly,
//! never panic.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use shardkeeper::meta::{with_secret_codec, Command, MetaState, SealedSecret, Secret, SecretCodec};
use shardkeeper::storage::sealing::KeyRing;

const KEYS: &str = "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
                    k2 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n";

fuzz_target!(|data: &[u8]| {
    let ring = KeyRing::parse(Path::new("keys"), KEYS).expect("the fixed keys parse");
    let codec: Arc<dyn SecretCodec> = Arc::new(ring);
    let _ = serde_json::from_slice::<Secret>(data);
    let (_, _) = with_secret_codec(&codec, || serde_json::from_slice::<Secret>(data).map(drop));
    let (_, _) = with_secret_codec(&codec, || serde_json::from_slice::<Command>(data).map(drop));
    let (_, _) = with_secret_codec(&codec, || serde_json::from_slice::<MetaState>(data).map(drop));
    if let Ok(sealed) = serde_json::from_slice::<SealedSecret>(data) {
        let _ = codec.open(&sealed).map_err(|failure| failure.to_string());
    }
});
