//! The MySQL Router flavor (`/api/20190715`) from any client: it takes no body, so a request path
//! (echoed in a 404) and the `host:port` split of its views; a split keeps the address's text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardkeeper::fuzzing::parse_mysql_router_request;

fuzz_target!(|text: &str| {
    let (host, port) = parse_mysql_router_request(text, text);
    if port == 0 {
        assert_eq!(host, text, "an address without a port keeps its text");
    } else {
        assert!(text.contains(&host), "{host:?} is not part of {text:?}");
    }
});
