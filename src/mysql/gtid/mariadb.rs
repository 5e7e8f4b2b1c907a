//! MariaDB GTID state: `domain-server-seq` entries, at most one per (domain, server id), the one
//! with the highest sequence number. This is the shape of `@@gtid_binlog_state`; positions such
//! as `@@gtid_slave_pos`, `@@gtid_binlog_pos` and `Gtid_IO_Pos` (one entry per domain) parse into
//! the same type.
//!
//! Containment is per (domain, server): A ⊆ B iff every (d, s, q) of A has an entry (d, s, q')
//! in B with q' >= q. Sequence numbers grow monotonically within a domain across servers, and
//! with `log_slave_updates` the binlog state keeps the last seq of every server that wrote to a
//! domain, so a replica's local write shows up as an entry for its own server id that the
//! primary lacks: an errant transaction. Pure; no I/O.

use std::collections::BTreeMap;
use std::fmt;

use crate::mysql::DbError;

/// One MariaDB GTID, `domain-server-seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MariaDbGtid {
    pub domain: u32,
    pub server_id: u32,
    pub seq: u64,
}

impl fmt::Display for MariaDbGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server_id, self.seq)
    }
}

/// A MariaDB GTID state: the highest seq per (domain, server id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MariaDbGtids {
    seqs: BTreeMap<(u32, u32), u64>,
}

impl MariaDbGtids {
    pub fn new() -> MariaDbGtids {
        MariaDbGtids::default()
    }

    /// Parses a comma-separated list of `domain-server-seq` (whitespace around entries allowed;
    /// the empty string is the empty state). Duplicate (domain, server) pairs keep the highest seq.
    pub fn parse(text: &str) -> Result<MariaDbGtids, DbError> {
        let mut out = MariaDbGtids::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            out.insert(parse_one(text, item)?);
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Adds a GTID, keeping the highest seq for its (domain, server id).
    pub fn insert(&mut self, gtid: MariaDbGtid) {
        let seq = self
            .seqs
            .entry((gtid.domain, gtid.server_id))
            .or_insert(gtid.seq);
        *seq = (*seq).max(gtid.seq);
    }

    /// The highest seq recorded for (domain, server id).
    pub fn get(&self, domain: u32, server_id: u32) -> Option<u64> {
        self.seqs.get(&(domain, server_id)).copied()
    }

    /// Entries ordered by (domain, server id).
    pub fn iter(&self) -> impl Iterator<Item = MariaDbGtid> + '_ {
        self.seqs
            .iter()
            .map(|(&(domain, server_id), &seq)| MariaDbGtid {
                domain,
                server_id,
                seq,
            })
    }

    /// Every (d, s, q) of self has (d, s, q') in other with q' >= q.
    pub fn is_subset_of(&self, other: &MariaDbGtids) -> bool {
        self.iter()
            .all(|g| other.get(g.domain, g.server_id).is_some_and(|q| q >= g.seq))
    }

    /// The entries of self that other does not cover (missing pair or lower seq in other).
    pub fn difference(&self, other: &MariaDbGtids) -> MariaDbGtids {
        let seqs = self
            .seqs
            .iter()
            .filter(|(key, seq)| other.seqs.get(*key).is_none_or(|q| q < *seq))
            .map(|(key, seq)| (*key, *seq))
            .collect();
        MariaDbGtids { seqs }
    }

    /// Per (domain, server) the higher seq of the two.
    pub fn union(&self, other: &MariaDbGtids) -> MariaDbGtids {
        let mut out = self.clone();
        for gtid in other.iter() {
            out.insert(gtid);
        }
        out
    }

    /// The entries written by servers other than `server_id`.
    pub fn without_server(&self, server_id: u32) -> MariaDbGtids {
        let seqs = self
            .seqs
            .iter()
            .filter(|((_, server), _)| *server != server_id)
            .map(|(key, seq)| (*key, *seq))
            .collect();
        MariaDbGtids { seqs }
    }

    /// The position form (one GTID per domain, the one with the highest seq), as
    /// `MASTER_GTID_WAIT` and `gtid_slave_pos` expect it.
    pub fn domain_positions(&self) -> MariaDbGtids {
        let mut best: BTreeMap<u32, MariaDbGtid> = BTreeMap::new();
        for gtid in self.iter() {
            match best.get(&gtid.domain) {
                Some(b) if b.seq >= gtid.seq => {}
                _ => {
                    best.insert(gtid.domain, gtid);
                }
            }
        }
        let mut out = MariaDbGtids::new();
        for gtid in best.into_values() {
            out.insert(gtid);
        }
        out
    }

    /// The highest seq in a domain, whichever server wrote it.
    pub fn domain_seq(&self, domain: u32) -> Option<u64> {
        self.iter()
            .filter(|g| g.domain == domain)
            .map(|g| g.seq)
            .max()
    }

    /// True when self has, in some domain, a higher seq than anything other has in that domain
    /// (or a domain other lacks): self has transactions other has not seen.
    pub fn is_ahead_of(&self, other: &MariaDbGtids) -> bool {
        self.domain_positions()
            .iter()
            .any(|g| other.domain_seq(g.domain).is_none_or(|q| q < g.seq))
    }

    /// Sum over domains of the highest seq: a rough "how advanced" figure to rank candidates.
    pub fn seq_sum(&self) -> u64 {
        self.domain_positions()
            .iter()
            .fold(0u64, |acc, g| acc.saturating_add(g.seq))
    }
}

fn parse_one(text: &str, item: &str) -> Result<MariaDbGtid, DbError> {
    let mut parts = item.split('-');
    let (Some(d), Some(s), Some(q), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DbError::invalid_gtid(
            text,
            format!("{item:?} is not domain-server-seq"),
        ));
    };
    let num = |what: &str, v: &str| -> Result<u64, DbError> {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DbError::invalid_gtid(
                text,
                format!("bad {what} {v:?} in {item:?}"),
            ));
        }
        v.parse::<u64>()
            .map_err(|_| DbError::invalid_gtid(text, format!("{what} out of range in {item:?}")))
    };
    let to_u32 = |what: &str, v: u64| {
        u32::try_from(v)
            .map_err(|_| DbError::invalid_gtid(text, format!("{what} out of range in {item:?}")))
    };
    Ok(MariaDbGtid {
        domain: to_u32("domain", num("domain", d)?)?,
        server_id: to_u32("server id", num("server id", s)?)?,
        seq: num("seq", q)?,
    })
}

impl fmt::Display for MariaDbGtids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, gtid) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{gtid}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(text: &str) -> MariaDbGtids {
        MariaDbGtids::parse(text).unwrap()
    }

    #[test]
    fn parse_and_display() {
        let cases = [
            ("", ""),
            ("  ", ""),
            ("0-1-5", "0-1-5"),
            ("0-1-5,0-2-7", "0-1-5,0-2-7"),
            ("0-2-7, 0-1-5", "0-1-5,0-2-7"),
            ("1-1-3,\n0-1-5", "0-1-5,1-1-3"),
            ("0-1-5,0-1-9,0-1-7", "0-1-9"),
            ("0-1-18446744073709551615", "0-1-18446744073709551615"),
            ("4294967295-4294967295-1", "4294967295-4294967295-1"),
            ("0-1-5,", "0-1-5"),
        ];
        for (text, want) in cases {
            assert_eq!(g(text).to_string(), want, "{text:?}");
        }
    }

    #[test]
    fn parse_rejects() {
        for text in [
            "0-1",
            "0-1-2-3",
            "a-1-2",
            "0--2",
            "0-1-x",
            "-1-1-2",
            "4294967296-1-1",
            "0-1-18446744073709551616",
            "0-1-+5",
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
        ] {
            let err = MariaDbGtids::parse(text).unwrap_err();
            assert!(
                matches!(err, DbError::InvalidGtid { .. }),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn subset() {
        // (a, b, a ⊆ b)
        let cases = [
            ("", "", true),
            ("", "0-1-5", true),
            ("0-1-5", "", false),
            ("0-1-5", "0-1-5", true),
            ("0-1-5", "0-1-9", true),
            ("0-1-9", "0-1-5", false),
            // a replica's own write: an entry for its server id the primary lacks
            ("0-1-100,0-2-101", "0-1-150", false),
            // a primary that wrote more than the new primary received before failover
            ("0-1-100", "0-1-98,0-2-105", false),
            ("0-1-98", "0-1-98,0-2-105", true),
            ("0-1-5,1-1-3", "0-1-5", false),
            ("0-1-5", "0-1-5,1-1-3", true),
            ("0-1-5", "0-2-5", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(g(a).is_subset_of(&g(b)), want, "{a:?} ⊆ {b:?}");
        }
    }

    #[test]
    fn difference_union() {
        // (a, b, a - b, a ∪ b)
        let cases = [
            ("", "", "", ""),
            ("0-1-5", "", "0-1-5", "0-1-5"),
            ("", "0-1-5", "", "0-1-5"),
            ("0-1-5", "0-1-9", "", "0-1-9"),
            ("0-1-9", "0-1-5", "0-1-9", "0-1-9"),
            ("0-1-100,0-2-101", "0-1-150", "0-2-101", "0-1-150,0-2-101"),
            ("0-1-5,1-3-4", "1-3-4,2-1-1", "0-1-5", "0-1-5,1-3-4,2-1-1"),
        ];
        for (a, b, diff, union) in cases {
            assert_eq!(g(a).difference(&g(b)).to_string(), diff, "{a:?} - {b:?}");
            assert_eq!(g(a).union(&g(b)).to_string(), union, "{a:?} ∪ {b:?}");
        }
    }

    #[test]
    fn positions_and_ranking() {
        // (state, positions, seq_sum)
        let cases = [
            ("", "", 0),
            ("0-1-5", "0-1-5", 5),
            ("0-1-100,0-2-105", "0-2-105", 105),
            ("0-1-100,0-2-99,1-3-7", "0-1-100,1-3-7", 107),
        ];
        for (state, positions, sum) in cases {
            assert_eq!(
                g(state).domain_positions().to_string(),
                positions,
                "{state:?}"
            );
            assert_eq!(g(state).seq_sum(), sum, "{state:?}");
        }
    }

    #[test]
    fn ahead_of() {
        // (binlog_pos, slave_pos, binlog has something slave_pos lacks)
        let cases = [
            ("", "", false),
            ("", "0-1-5", false),
            ("0-1-5", "", true),
            ("0-1-5", "0-1-5", false),
            ("0-2-7", "0-1-5", true),
            ("0-1-80", "0-2-200", false),
            ("0-1-5,1-1-1", "0-1-5", true),
        ];
        for (a, b, want) in cases {
            assert_eq!(g(a).is_ahead_of(&g(b)), want, "{a:?} ahead of {b:?}");
        }
    }
}
