//! Path segments and query strings of the orchestrator v2 flavor (`/api/v2`) from any client: a
//! `{name}` hint, an instance key's host and port, the `/recoveries` query.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use shardkeeper::fuzzing::parse_orchestrator_request;

#[derive(Arbitrary, Debug)]
struct Input {
    hint: String,
    host: String,
    port: String,
    query: String,
}

fuzz_target!(|input: Input| {
    parse_orchestrator_request(&input.hint, &input.host, &input.port, &input.query);
});
