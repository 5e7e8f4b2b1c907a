//! The MySQL Router flavor (`/api/20190715`) from any client: it takes no body, so a request path
//! (echoed in a 404) and the `host:port` split of its views; the host split off is part of the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardkeeper::fuzzing::parse_mysql_router_request;

fuzz_target!(|text: &str| {
    let (host, _) = parse_mysql_router_request(text, text);
    assert!(text.contains(&host), "{host:?} is not part of {text:?}");
});
