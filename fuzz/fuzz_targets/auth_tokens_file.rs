//! An `auth.tokens_file` (TOML `[[tokens]]` entries) as an operator or a secrets tool writes it:
//! parsed and checked as a starting node loads it; only 64-hex-digit hashes are accepted, and a
//! loaded table answers for every entry.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use shardkeeper::auth::{AuthConfig, Role, TokenTable};
use shardkeeper::fuzzing::parse_tokens_file;

fuzz_target!(|text: &str| {
    let Ok(tokens) = parse_tokens_file(Path::new("tokens.toml"), text) else { return };
    if let Ok(table) = TokenTable::load(&AuthConfig { tokens: tokens.clone(), ..AuthConfig::default() }) {
        assert_eq!(table.is_enabled(), !tokens.is_empty());
        for entry in &tokens {
            let hash = entry.token_sha256.trim();
            assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "accepted token_sha256 {hash:?}");
        }
        for entry in &tokens {
            let basic = format!("{}:{}", entry.name, entry.token_sha256);
            let _ = table.authorize(Some(&format!("Basic {basic}")), true, Role::Viewer);
        }
    }
});
