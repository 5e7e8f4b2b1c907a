//! `GtidSet`: the transactions a server has, in either flavor's form, with the set operations the
//! failover logic needs (subset for errant-transaction and "most advanced" checks, difference
//! for reporting, union for merging a server's positions). Pure; no I/O.
//!
//! A MariaDB set and a MySQL set never compare: `is_subset_of` is false between them unless one
//! side is empty, and two empty sets are equal whatever their flavor.

mod mariadb;
mod mysql;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use self::mariadb::{MariaDbGtid, MariaDbGtids};
pub use self::mysql::{Interval, MySqlGtids};
use crate::mysql::{DbError, Flavor};

/// The transactions a server has executed (or received), in its flavor's form.
#[derive(Clone, Debug, Eq)]
pub enum GtidSet {
    MariaDb(MariaDbGtids),
    MySql(MySqlGtids),
}

impl GtidSet {
    /// The empty set of a flavor.
    pub fn empty(flavor: Flavor) -> GtidSet {
        match flavor {
            Flavor::MariaDb => GtidSet::MariaDb(MariaDbGtids::new()),
            Flavor::MySql80 | Flavor::MySql84 => GtidSet::MySql(MySqlGtids::new()),
        }
    }

    /// Parses the server's text form for its flavor; the empty string is the empty set.
    pub fn parse(flavor: Flavor, text: &str) -> Result<GtidSet, DbError> {
        match flavor {
            Flavor::MariaDb => MariaDbGtids::parse(text).map(GtidSet::MariaDb),
            Flavor::MySql80 | Flavor::MySql84 => MySqlGtids::parse(text).map(GtidSet::MySql),
        }
    }

    /// Parses text of either flavor, telling them apart by the `:` every MySQL GTID has.
    /// Empty text is an (empty) MariaDB set, which equals any empty set.
    pub fn parse_any(text: &str) -> Result<GtidSet, DbError> {
        if text.contains(':') {
            MySqlGtids::parse(text).map(GtidSet::MySql)
        } else {
            MariaDbGtids::parse(text).map(GtidSet::MariaDb)
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            GtidSet::MariaDb(g) => g.is_empty(),
            GtidSet::MySql(g) => g.is_empty(),
        }
    }

    /// Whether the set is in MariaDB form.
    pub fn is_mariadb(&self) -> bool {
        matches!(self, GtidSet::MariaDb(_))
    }

    pub fn as_mariadb(&self) -> Option<&MariaDbGtids> {
        match self {
            GtidSet::MariaDb(g) => Some(g),
            GtidSet::MySql(_) => None,
        }
    }

    pub fn as_mysql(&self) -> Option<&MySqlGtids> {
        match self {
            GtidSet::MySql(g) => Some(g),
            GtidSet::MariaDb(_) => None,
        }
    }

    /// Every transaction of self is in other (MariaDB: per (domain, server) seq; MySQL: interval
    /// containment). Across flavors only the empty set is a subset.
    pub fn is_subset_of(&self, other: &GtidSet) -> bool {
        match (self, other) {
            (GtidSet::MariaDb(a), GtidSet::MariaDb(b)) => a.is_subset_of(b),
            (GtidSet::MySql(a), GtidSet::MySql(b)) => a.is_subset_of(b),
            _ => self.is_empty(),
        }
    }

    /// What self has that other lacks. Across flavors that is all of self.
    pub fn difference(&self, other: &GtidSet) -> GtidSet {
        match (self, other) {
            (GtidSet::MariaDb(a), GtidSet::MariaDb(b)) => GtidSet::MariaDb(a.difference(b)),
            (GtidSet::MySql(a), GtidSet::MySql(b)) => GtidSet::MySql(a.difference(b)),
            _ => self.clone(),
        }
    }

    /// Everything either set has. Across flavors, an empty side is ignored; when both sides
    /// are non-empty the result is self (use `try_union` to get an error instead).
    pub fn union(&self, other: &GtidSet) -> GtidSet {
        self.try_union(other).unwrap_or_else(|_| self.clone())
    }

    /// `union`, failing when the sets are of different flavors and both non-empty.
    pub fn try_union(&self, other: &GtidSet) -> Result<GtidSet, DbError> {
        match (self, other) {
            (GtidSet::MariaDb(a), GtidSet::MariaDb(b)) => Ok(GtidSet::MariaDb(a.union(b))),
            (GtidSet::MySql(a), GtidSet::MySql(b)) => Ok(GtidSet::MySql(a.union(b))),
            _ if other.is_empty() => Ok(self.clone()),
            _ if self.is_empty() => Ok(other.clone()),
            _ => Err(DbError::invalid_gtid(
                &format!("{self} + {other}"),
                "cannot merge a mariadb gtid set with a mysql one",
            )),
        }
    }

    /// The transactions that did not originate on the given server: MariaDB drops the entries
    /// of `server_id`; MySQL drops the intervals of `server_uuid` (nothing when it is `None`).
    pub fn without_origin(&self, server_id: u32, server_uuid: Option<&str>) -> GtidSet {
        match (self, server_uuid) {
            (GtidSet::MariaDb(g), _) => GtidSet::MariaDb(g.without_server(server_id)),
            (GtidSet::MySql(g), Some(uuid)) => GtidSet::MySql(g.without_uuid(uuid)),
            (GtidSet::MySql(_), None) => self.clone(),
        }
    }

    /// How advanced the set is, to rank failover candidates of one shard: MySQL counts the
    /// transactions; MariaDB sums the highest seq of each domain. Only meaningful between sets of
    /// the same replication stream; containment (`is_subset_of`) is the real test.
    pub fn transaction_count(&self) -> u64 {
        match self {
            GtidSet::MariaDb(g) => g.seq_sum(),
            GtidSet::MySql(g) => g.transaction_count(),
        }
    }

    /// The argument a wait function takes to wait for this set: MariaDB's `MASTER_GTID_WAIT`
    /// wants one GTID per domain (the highest seq), MySQL's `WAIT_FOR_EXECUTED_GTID_SET` the set.
    pub fn wait_position(&self) -> String {
        match self {
            GtidSet::MariaDb(g) => g.domain_positions().to_string(),
            GtidSet::MySql(g) => g.to_string(),
        }
    }
}

impl PartialEq for GtidSet {
    fn eq(&self, other: &GtidSet) -> bool {
        match (self, other) {
            (GtidSet::MariaDb(a), GtidSet::MariaDb(b)) => a == b,
            (GtidSet::MySql(a), GtidSet::MySql(b)) => a == b,
            _ => self.is_empty() && other.is_empty(),
        }
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidSet::MariaDb(g) => g.fmt(f),
            GtidSet::MySql(g) => g.fmt(f),
        }
    }
}

impl Serialize for GtidSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GtidSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<GtidSet, D::Error> {
        let text = String::deserialize(deserializer)?;
        GtidSet::parse_any(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    fn maria(text: &str) -> GtidSet {
        GtidSet::parse(Flavor::MariaDb, text).unwrap()
    }

    fn my(text: &str) -> GtidSet {
        GtidSet::parse(Flavor::MySql84, &text.replace('U', U)).unwrap()
    }

    #[test]
    fn parse_by_flavor() {
        assert!(maria("0-1-5").is_mariadb());
        assert!(!my("U:1-5").is_mariadb());
        assert_eq!(
            GtidSet::parse(Flavor::MySql80, &format!("{U}:1")).unwrap(),
            my("U:1")
        );
        assert!(GtidSet::parse(Flavor::MariaDb, &format!("{U}:1")).is_err());
        assert!(GtidSet::parse(Flavor::MySql80, "0-1-5").is_err());
        assert!(GtidSet::empty(Flavor::MySql80).is_empty());
        assert_eq!(
            GtidSet::empty(Flavor::MariaDb),
            GtidSet::empty(Flavor::MySql84)
        );
    }

    #[test]
    fn across_flavors() {
        let empty_m = GtidSet::empty(Flavor::MariaDb);
        let empty_y = GtidSet::empty(Flavor::MySql84);
        // (a, b, a ⊆ b)
        let cases = [
            (maria("0-1-5"), my("U:1-5"), false),
            (my("U:1-5"), maria("0-1-5"), false),
            (empty_m.clone(), my("U:1-5"), true),
            (empty_y.clone(), maria("0-1-5"), true),
            (maria("0-1-5"), empty_y.clone(), false),
            (empty_m.clone(), empty_y.clone(), true),
        ];
        for (a, b, want) in cases {
            assert_eq!(a.is_subset_of(&b), want, "{a} ⊆ {b}");
        }
        assert_eq!(maria("0-1-5").difference(&my("U:1")), maria("0-1-5"));
        assert_eq!(maria("0-1-5").union(&empty_y), maria("0-1-5"));
        assert_eq!(empty_y.union(&maria("0-1-5")), maria("0-1-5"));
        assert_eq!(maria("0-1-5").union(&my("U:1")), maria("0-1-5"));
        assert!(maria("0-1-5").try_union(&my("U:1")).is_err());
        assert_ne!(maria("0-1-5"), my("U:1"));
    }

    #[test]
    fn same_flavor_ops_dispatch() {
        assert!(maria("0-1-5").is_subset_of(&maria("0-1-6")));
        assert!(my("U:1-5").is_subset_of(&my("U:1-6")));
        assert_eq!(
            maria("0-1-5,0-2-3").difference(&maria("0-1-9")),
            maria("0-2-3")
        );
        assert_eq!(my("U:1-9").difference(&my("U:1-5")), my("U:6-9"));
        assert_eq!(my("U:1-3").union(&my("U:4-5")), my("U:1-5"));
        assert_eq!(maria("0-1-100,0-2-120").transaction_count(), 120);
        assert_eq!(my("U:1-5:7").transaction_count(), 6);
    }

    #[test]
    fn without_origin() {
        // (set, server id, server uuid, remaining)
        let cases = [
            (maria("0-1-5,0-2-7,1-2-3"), 2, None, maria("0-1-5")),
            (maria("0-1-5,0-2-7"), 3, Some(U), maria("0-1-5,0-2-7")),
            (maria(""), 1, None, maria("")),
            (
                my("U:1-5,8a94f357-aab4-11df-86ab-c80aa9429562:1"),
                1,
                Some(U),
                my("8a94f357-aab4-11df-86ab-c80aa9429562:1"),
            ),
            (
                my("U:1-5:t:1"),
                1,
                Some("3E11FA47-71CA-11E1-9E33-C80AA9429562"),
                maria(""),
            ),
            (my("U:1-5"), 1, None, my("U:1-5")),
            (
                my("U:1-5"),
                1,
                Some("8a94f357-aab4-11df-86ab-c80aa9429562"),
                my("U:1-5"),
            ),
        ];
        for (set, id, uuid, want) in cases {
            assert_eq!(
                set.without_origin(id, uuid),
                want,
                "{set} without {id} {uuid:?}"
            );
        }
    }

    #[test]
    fn wait_position() {
        let cases = [
            (maria(""), ""),
            (maria("0-1-100,0-2-120,1-1-4"), "0-2-120,1-1-4"),
            (my("U:1-5:7"), "U:1-5:7"),
        ];
        for (set, want) in cases {
            assert_eq!(set.wait_position().replace(U, "U"), want);
        }
    }

    #[test]
    fn serde_as_display_string() {
        let cases = [
            (maria("0-2-7,0-1-5"), "\"0-1-5,0-2-7\""),
            (my("U:1-5,\nU:6"), "\"U:1-6\""),
            (maria(""), "\"\""),
        ];
        for (set, want) in cases {
            let json = serde_json::to_string(&set).unwrap();
            assert_eq!(json.replace(U, "U"), want);
            let back: GtidSet = serde_json::from_str(&json).unwrap();
            assert_eq!(back, set);
        }
        assert!(serde_json::from_str::<GtidSet>("\"x-y\"").is_err());
    }
}
