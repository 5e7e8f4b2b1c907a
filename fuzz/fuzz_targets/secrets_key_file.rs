//! A `secrets.key_file` (`KEY_ID HEX` a line) as an operator writes it: parsed as a starting node
//! parses it; only ids of `[A-Za-z0-9._-]` and keys of 64 hex digits are accepted, and a parsed
//! ring seals and opens.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use shardkeeper::meta::SecretCodec;
use shardkeeper::storage::sealing::KeyRing;

fuzz_target!(|text: &str| {
    let Ok(ring) = KeyRing::parse(Path::new("keys"), text) else { return };
    let ids: Vec<&str> = ring.key_ids().collect();
    assert!(!ids.is_empty());
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
        let hex = line.split_whitespace().nth(1).unwrap_or_default();
        assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "accepted key {hex:?}");
    }
    let sealed = ring.seal("pw").expect("a key seals").expect("a ring with keys seals");
    assert_eq!(ring.open(&sealed).as_deref(), Ok("pw"));
});
