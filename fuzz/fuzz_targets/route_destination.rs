//! A route's `destinations` URI (`shard://NAMESPACE/CLUSTER/SHARD-INDEX?role=ROLE`) as an operator
//! or a config generator writes it: what parses gives a canonical URI that parses back to the same
//! destination.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardkeeper::router::{Destination, RouteRole};

fuzz_target!(|text: &str| {
    let _ = RouteRole::parse(text);
    if let Ok(destination) = Destination::parse(text) {
        let uri = destination.uri();
        assert_eq!(Destination::parse(&uri).as_ref(), Ok(&destination), "{uri:?} does not parse back");
        assert!(uri.ends_with(destination.role.as_str()) && uri.contains(&destination.shard_path()));
    }
});
