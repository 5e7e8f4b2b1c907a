//! `Authorization` header values from anyone who reaches the REST API (`Bearer TOKEN`, `Basic` of
//! `NAME:TOKEN`, garbage), against a table of three tokens, with the role the request's method and
//! path need; the right token always gets in, and no credential in the input is ever echoed.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use shardkeeper::auth::{grpc_required_role, http_access, sha256_hex, AuthConfig, HttpAccess, Role, TokenEntry, TokenTable};

#[derive(Arbitrary, Debug)]
struct Input {
    header: Option<String>,
    allow_basic: bool,
    method: String,
    path: String,
    protect_metrics: bool,
}

const TOKENS: [(&str, Role, &str); 3] =
    [("viewer", Role::Viewer, "v-token"), ("ops", Role::Operator, "o-token"), ("root", Role::Admin, "a-token")];

fuzz_target!(|input: Input| {
    let tokens = TOKENS
        .iter()
        .map(|(name, role, token)| TokenEntry { name: name.to_string(), role: *role, token_sha256: sha256_hex(token) })
        .collect();
    let table = TokenTable::load(&AuthConfig { tokens, ..AuthConfig::default() }).expect("the fixed tokens load");
    let required = match http_access(&input.method, &input.path, input.protect_metrics) {
        HttpAccess::Open => Role::Viewer,
        HttpAccess::Requires(role) => role,
    };
    let _ = grpc_required_role(&input.method);
    match table.authorize(input.header.as_deref(), input.allow_basic, required) {
        Ok(principal) => assert!(principal.role >= required, "{} let in below {required:?}", principal.name),
        Err(failure) => {
            let message = failure.message();
            for (_, _, token) in TOKENS {
                assert!(!message.contains(token), "a refusal echoes a token: {message}");
            }
        }
    }
    let admin = table.authorize(Some("Bearer a-token"), input.allow_basic, required);
    assert!(admin.is_ok_and(|principal| principal.name == "root"), "the admin token was refused");
});
