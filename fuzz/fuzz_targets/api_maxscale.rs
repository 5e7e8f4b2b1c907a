//! Request bodies and query strings of the MaxScale flavor (`/v1/servers`) from any client: the
//! body read as a server document for a POST and a PATCH, the text as the query of `/set` and
//! `/clear`. The body and the text are split at the first NUL byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardkeeper::fuzzing::parse_maxscale_request;

fuzz_target!(|data: &[u8]| {
    let (body, query) = match data.iter().position(|byte| *byte == 0) {
        Some(at) => (&data[..at], String::from_utf8_lossy(&data[at + 1..])),
        None => (data, "".into()),
    };
    parse_maxscale_request(body, &query);
});
