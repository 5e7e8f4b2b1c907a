//! Request bodies, path segments and headers of the native flavor (`/api/v1`) from any client:
//! the body decoded as every native body and turned into its service request, the text parsed as a
//! shard index, a recovery id, an `If-Match` value and a `consistency` parameter. The body and
//! the text are split at the first NUL byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardkeeper::fuzzing::parse_native_request;

fuzz_target!(|data: &[u8]| {
    let (body, text) = match data.iter().position(|byte| *byte == 0) {
        Some(at) => (&data[..at], String::from_utf8_lossy(&data[at + 1..])),
        None => (data, "".into()),
    };
    parse_native_request(body, &text);
});
