//! GTID sets as servers print them (`@@gtid_executed`, `Gtid_IO_Pos`, `Retrieved_Gtid_Set`): two
//! sets, split at the first `|`, parsed in each flavor; what parses prints back to itself, and the
//! set operations keep their laws (subset, union, difference).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardkeeper::mysql::{Flavor, GtidSet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (left, right) = text.split_once('|').unwrap_or((&text, ""));
    let _ = GtidSet::parse_any(left);
    for flavor in [Flavor::MariaDb, Flavor::MySql80, Flavor::MySql84] {
        let (Ok(a), Ok(b)) = (GtidSet::parse(flavor, left), GtidSet::parse(flavor, right)) else { continue };
        for set in [&a, &b] {
            let printed = set.to_string();
            assert_eq!(GtidSet::parse(flavor, &printed).as_ref(), Ok(set), "{printed:?} does not parse back");
            assert_eq!(GtidSet::parse_any(&printed).as_ref(), Ok(set), "{printed:?} does not parse back as any");
            let _ = (set.wait_position(), set.transaction_count(), set.without_origin(1, Some(right)));
        }
        let union = a.union(&b);
        assert!(a.is_subset_of(&union) && b.is_subset_of(&union), "{a} and {b} not in their union {union}");
        assert_eq!(union, b.union(&a), "union of {a} and {b} is not symmetric");
        let difference = a.difference(&b);
        assert!(difference.is_subset_of(&a), "{a} - {b} = {difference} is not in {a}");
        assert_eq!(difference.difference(&b), difference, "{a} - {b} still meets {b}");
        assert_eq!(a.is_subset_of(&b), difference.is_empty(), "{a} ⊆ {b} disagrees with {a} - {b} = {difference}");
        assert!(a.is_subset_of(&a) && a.difference(&a).is_empty());
    }
});
