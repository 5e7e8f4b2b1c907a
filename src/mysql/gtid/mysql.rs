//! MySQL GTID sets: `uuid:1-5:7-9,uuid2:1-3` with real interval-set arithmetic. Each source
//! uuid (and, on 8.4, each tag of it: `uuid:tag:1-5`) owns a normalized list of closed intervals,
//! sorted, non-overlapping and non-adjacent. Uuids and tags are case-insensitive and kept in
//! lowercase; whitespace and newlines after commas (as the server prints them) are accepted.
//! Pure; no I/O.

use std::collections::BTreeMap;
use std::fmt;

use crate::mysql::DbError;

/// Highest transaction number MySQL accepts (GNO_END - 1).
const MAX_GNO: u64 = i64::MAX as u64 - 1;
/// Longest GTID tag (MySQL 8.4).
const MAX_TAG_LEN: usize = 32;

/// A closed interval of transaction numbers, `start..=end`, `1 <= start <= end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    pub start: u64,
    pub end: u64,
}

impl Interval {
    fn len(self) -> u64 {
        self.end - self.start + 1
    }
}

/// A MySQL GTID set: per (source uuid, tag) the executed transaction numbers. The untagged
/// transactions of a uuid have the empty tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MySqlGtids {
    sets: BTreeMap<(String, String), Vec<Interval>>,
}

impl MySqlGtids {
    pub fn new() -> MySqlGtids {
        MySqlGtids::default()
    }

    /// Parses the server's text form; the empty string is the empty set.
    pub fn parse(text: &str) -> Result<MySqlGtids, DbError> {
        let mut out = MySqlGtids::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let mut parts = item.split(':').map(str::trim);
            let uuid = normalize_uuid(parts.next().unwrap_or_default())
                .ok_or_else(|| DbError::invalid_gtid(text, format!("bad uuid in {item:?}")))?;
            let mut tag = String::new();
            let mut tag_has_interval = true;
            let mut intervals = 0usize;
            for part in parts {
                if part.starts_with(|c: char| c.is_ascii_digit()) {
                    let interval = parse_interval(part).ok_or_else(|| {
                        DbError::invalid_gtid(text, format!("bad interval {part:?} in {item:?}"))
                    })?;
                    out.add(&uuid, &tag, interval);
                    tag_has_interval = true;
                    intervals += 1;
                } else {
                    if !tag_has_interval {
                        return Err(DbError::invalid_gtid(
                            text,
                            format!("tag without interval in {item:?}"),
                        ));
                    }
                    tag = normalize_tag(part).ok_or_else(|| {
                        DbError::invalid_gtid(text, format!("bad tag {part:?} in {item:?}"))
                    })?;
                    tag_has_interval = false;
                }
            }
            if !tag_has_interval || intervals == 0 {
                return Err(DbError::invalid_gtid(
                    text,
                    format!("no interval in {item:?}"),
                ));
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Adds transactions `start..=end` of (uuid, tag). The uuid and tag must be normalized
    /// (lowercase; the tag empty for untagged transactions).
    pub fn add(&mut self, uuid: &str, tag: &str, interval: Interval) {
        let list = self
            .sets
            .entry((uuid.to_string(), tag.to_string()))
            .or_default();
        list.push(interval);
        normalize(list);
    }

    /// The intervals of (uuid, tag), normalized.
    pub fn intervals(&self, uuid: &str, tag: &str) -> &[Interval] {
        self.sets
            .get(&(uuid.to_ascii_lowercase(), tag.to_ascii_lowercase()))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The transactions of every source uuid but `uuid` (all tags of it removed).
    pub fn without_uuid(&self, uuid: &str) -> MySqlGtids {
        let uuid = normalize_uuid(uuid.trim()).unwrap_or_else(|| uuid.to_ascii_lowercase());
        let sets = self
            .sets
            .iter()
            .filter(|((u, _), _)| *u != uuid)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        MySqlGtids { sets }
    }

    /// Number of transactions in the set (saturating).
    pub fn transaction_count(&self) -> u64 {
        self.sets
            .values()
            .flatten()
            .fold(0u64, |acc, iv| acc.saturating_add(iv.len()))
    }

    pub fn is_subset_of(&self, other: &MySqlGtids) -> bool {
        self.sets.iter().all(|(key, list)| {
            let theirs = other.sets.get(key).map(Vec::as_slice).unwrap_or_default();
            list.iter().all(|iv| covers(theirs, *iv))
        })
    }

    /// The transactions of self that other lacks.
    pub fn difference(&self, other: &MySqlGtids) -> MySqlGtids {
        let mut out = MySqlGtids::new();
        for (key, list) in &self.sets {
            let rest = match other.sets.get(key) {
                Some(theirs) => subtract(list, theirs),
                None => list.clone(),
            };
            if !rest.is_empty() {
                out.sets.insert(key.clone(), rest);
            }
        }
        out
    }

    pub fn union(&self, other: &MySqlGtids) -> MySqlGtids {
        let mut out = self.clone();
        for (key, list) in &other.sets {
            let mine = out.sets.entry(key.clone()).or_default();
            mine.extend_from_slice(list);
            normalize(mine);
        }
        out
    }
}

/// Sorts and merges overlapping or adjacent intervals.
fn normalize(list: &mut Vec<Interval>) {
    list.sort();
    let mut merged: Vec<Interval> = Vec::with_capacity(list.len());
    for iv in list.drain(..) {
        match merged.last_mut() {
            Some(last) if iv.start <= last.end.saturating_add(1) => last.end = last.end.max(iv.end),
            _ => merged.push(iv),
        }
    }
    *list = merged;
}

/// Whether one interval of a normalized list contains `iv` entirely.
fn covers(list: &[Interval], iv: Interval) -> bool {
    let idx = list.partition_point(|x| x.start <= iv.start);
    idx > 0 && list[idx - 1].end >= iv.end
}

/// `a - b` for normalized lists.
fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    for &iv in a {
        let mut start = iv.start;
        let mut done = false;
        for cut in b.iter().filter(|c| c.end >= iv.start && c.start <= iv.end) {
            if cut.start > start {
                out.push(Interval {
                    start,
                    end: cut.start - 1,
                });
            }
            if cut.end >= iv.end {
                done = true;
                break;
            }
            start = cut.end + 1;
        }
        if !done {
            out.push(Interval { start, end: iv.end });
        }
    }
    out
}

fn parse_interval(text: &str) -> Option<Interval> {
    let num = |v: &str| -> Option<u64> {
        let v = v.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.parse().ok().filter(|n| (1..=MAX_GNO).contains(n))
    };
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let n = num(text)?;
            (n, n)
        }
    };
    (start <= end).then_some(Interval { start, end })
}

/// Lowercase dashed form of a uuid given dashed, undashed or in braces.
fn normalize_uuid(text: &str) -> Option<String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let hex: String = match inner.len() {
        36 => {
            let dashes_ok = inner
                .char_indices()
                .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
            if !dashes_ok {
                return None;
            }
            inner.chars().filter(|c| *c != '-').collect()
        }
        32 => inner.to_string(),
        _ => return None,
    };
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// A MySQL 8.4 tag: a letter or underscore, then up to 31 letters, digits or underscores.
fn normalize_tag(text: &str) -> Option<String> {
    let mut chars = text.chars();
    let first = chars.next()?;
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && text.len() <= MAX_TAG_LEN;
    ok.then(|| text.to_ascii_lowercase())
}

impl fmt::Display for MySqlGtids {
    /// Uuids in ascending order separated by `,` (the server prints `,\n`; both parse), untagged
    /// intervals first, then each tag in ascending order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut current: Option<&str> = None;
        for ((uuid, tag), list) in &self.sets {
            if current != Some(uuid.as_str()) {
                if current.is_some() {
                    f.write_str(",")?;
                }
                f.write_str(uuid)?;
                current = Some(uuid);
            }
            if !tag.is_empty() {
                write!(f, ":{tag}")?;
            }
            for iv in list {
                if iv.start == iv.end {
                    write!(f, ":{}", iv.start)?;
                } else {
                    write!(f, ":{}-{}", iv.start, iv.end)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "8a94f357-aab4-11df-86ab-c80aa9429562";

    fn s(text: &str) -> MySqlGtids {
        MySqlGtids::parse(&text.replace("@A", A).replace("@B", B)).unwrap()
    }

    fn show(set: &MySqlGtids) -> String {
        set.to_string().replace(A, "@A").replace(B, "@B")
    }

    #[test]
    fn parse_and_display() {
        let cases = [
            ("", ""),
            ("@A:1-5", "@A:1-5"),
            ("@A:5", "@A:5"),
            ("@A:1-5:7-9", "@A:1-5:7-9"),
            ("@A:7-9:1-5", "@A:1-5:7-9"),
            ("@A:1-5:6-9", "@A:1-9"),
            ("@A:1-5:3-7", "@A:1-7"),
            ("@A:1-5:2-3", "@A:1-5"),
            ("@A:1-5,@A:6", "@A:1-6"),
            ("@B:1-3,@A:1-5", "@A:1-5,@B:1-3"),
            ("@A:1-5,\n@B:1-3", "@A:1-5,@B:1-3"),
            ("@A:1-5, \n @B:1-3\n", "@A:1-5,@B:1-3"),
            ("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-2", "@A:1-2"),
            ("3e11fa4771ca11e19e33c80aa9429562:1-2", "@A:1-2"),
            ("{3e11fa47-71ca-11e1-9e33-c80aa9429562}:1-2", "@A:1-2"),
            ("@A:1-5:ETL:1-3", "@A:1-5:etl:1-3"),
            ("@A:etl:1-3", "@A:etl:1-3"),
            ("@A:etl:2:1,@A:1-3", "@A:1-3:etl:1-2"),
            ("@A:zz:1:aa:2:4", "@A:aa:2:4:zz:1"),
            ("@A:_x_1:7", "@A:_x_1:7"),
            ("@A:1-9223372036854775806", "@A:1-9223372036854775806"),
        ];
        for (text, want) in cases {
            assert_eq!(show(&s(text)), want, "{text:?}");
        }
    }

    #[test]
    fn parse_rejects() {
        let cases = [
            "@A",
            "@A:",
            "@A:0",
            "@A:0-3",
            "@A:5-3",
            "@A:1-",
            "@A:-3",
            "@A:1-2-3",
            "@A:x-3",
            "@A:9223372036854775807",
            "@A:etl",
            "@A:1-3:etl",
            "@A:etl:x:1",
            "@A:1x:1",
            "@A:a23456789012345678901234567890123:1",
            "3e11fa47-71ca-11e1-9e33-c80aa942956:1",
            "3e11fa47-71ca-11e1-9e33-c80aa942956g:1",
            "3e11fa4771ca-11e1-9e33-c80aa9429562a:1",
            "0-1-5",
        ];
        for text in cases {
            let text = text.replace("@A", A);
            let err = MySqlGtids::parse(&text).unwrap_err();
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
            ("", "@A:1-5", true),
            ("@A:1-5", "", false),
            ("@A:1-5", "@A:1-5", true),
            ("@A:2-4", "@A:1-5", true),
            ("@A:1-5", "@A:2-4", false),
            ("@A:1-5", "@A:1-3:4-5", true),
            ("@A:1-6", "@A:1-3:5-6", false),
            ("@A:1-3:5-6", "@A:1-6", true),
            ("@A:1-5", "@B:1-5", false),
            ("@A:1-5,@B:1", "@A:1-10", false),
            ("@A:1-5", "@A:1-10,@B:1", true),
            ("@A:etl:1", "@A:1", false),
            ("@A:etl:1", "@A:1:etl:1-2", true),
            ("@A:7", "@A:1-5:8-9", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(s(a).is_subset_of(&s(b)), want, "{a:?} ⊆ {b:?}");
        }
    }

    #[test]
    fn difference_union() {
        // (a, b, a - b, a ∪ b)
        let cases = [
            ("", "", "", ""),
            ("@A:1-5", "", "@A:1-5", "@A:1-5"),
            ("", "@A:1-5", "", "@A:1-5"),
            ("@A:1-10", "@A:3-4", "@A:1-2:5-10", "@A:1-10"),
            ("@A:1-10", "@A:1-4", "@A:5-10", "@A:1-10"),
            ("@A:1-10", "@A:8-12", "@A:1-7", "@A:1-12"),
            ("@A:1-10", "@A:1-10", "", "@A:1-10"),
            ("@A:1-10", "@A:2:4:6-7", "@A:1:3:5:8-10", "@A:1-10"),
            ("@A:1-3:7-9", "@A:2-8", "@A:1:9", "@A:1-9"),
            ("@A:1-5,@B:1-3", "@A:1-5", "@B:1-3", "@A:1-5,@B:1-3"),
            ("@A:1-5", "@A:6-7", "@A:1-5", "@A:1-7"),
            ("@A:1-5:t:1-2", "@A:t:2", "@A:1-5:t:1", "@A:1-5:t:1-2"),
        ];
        for (a, b, diff, union) in cases {
            assert_eq!(show(&s(a).difference(&s(b))), diff, "{a:?} - {b:?}");
            assert_eq!(show(&s(a).union(&s(b))), union, "{a:?} ∪ {b:?}");
        }
    }

    #[test]
    fn transaction_count() {
        let cases = [
            ("", 0),
            ("@A:1", 1),
            ("@A:1-5:7-9", 8),
            ("@A:1-5,@B:1-100", 105),
            (
                "@A:1-9223372036854775806,@B:1-9223372036854775806:t:1-9223372036854775806",
                u64::MAX,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(s(text).transaction_count(), want, "{text:?}");
        }
    }
}
