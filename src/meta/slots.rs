//! Slot math: the 16384 hash slots, inclusive slot ranges, their text form ("0-8191", "5"), the
//! even split of a new cluster and the range-list arithmetic `apply` uses to move slots between
//! shards.
//!
//! Owns only arithmetic on slot numbers; knows nothing of shards, clusters or commands.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Number of hash slots; valid slots are `0..=SLOT_COUNT - 1`.
pub const SLOT_COUNT: u16 = 16384;

/// Highest valid slot.
const MAX_SLOT: u16 = SLOT_COUNT - 1;

/// Why a slot range was refused; the message says what is wrong with the concrete value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SlotRangeParseError(String);

impl SlotRangeParseError {
    fn outside(slot: impl fmt::Display) -> Self {
        SlotRangeParseError(format!("slot {slot} is outside 0..={MAX_SLOT}"))
    }
}

/// An inclusive range of slots, `start <= stop <= 16383`. Build it with [`SlotRange::new`] or
/// [`str::parse`]; values deserialized from elsewhere are re-checked by whoever trusts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotRange {
    pub start: u16,
    pub stop: u16,
}

impl SlotRange {
    pub fn new(start: u16, stop: u16) -> Result<Self, SlotRangeParseError> {
        if start > MAX_SLOT {
            return Err(SlotRangeParseError::outside(start));
        }
        if stop > MAX_SLOT {
            return Err(SlotRangeParseError::outside(stop));
        }
        if start > stop {
            return Err(SlotRangeParseError(format!(
                "slot range {start}-{stop} has start after stop"
            )));
        }
        Ok(SlotRange { start, stop })
    }

    pub fn single(slot: u16) -> Result<Self, SlotRangeParseError> {
        Self::new(slot, slot)
    }

    /// Number of slots in the range; never zero.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u32 {
        u32::from(self.stop) - u32::from(self.start) + 1
    }

    pub fn contains(&self, slot: u16) -> bool {
        self.start <= slot && slot <= self.stop
    }

    pub fn overlaps(&self, other: &SlotRange) -> bool {
        self.start <= other.stop && other.start <= self.stop
    }
}

impl fmt::Display for SlotRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.stop {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.stop)
        }
    }
}

impl FromStr for SlotRange {
    type Err = SlotRangeParseError;

    /// Accepts "5" and "0-8191", with optional whitespace around the whole text.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SlotRangeParseError("slot range is empty".to_string()));
        }
        match text.split_once('-') {
            None => {
                let slot = parse_slot(text)?;
                SlotRange::single(slot)
            }
            Some(("", rest)) if is_digits(rest) => {
                Err(SlotRangeParseError(format!("slot -{rest} is negative")))
            }
            Some(("", _)) => Err(SlotRangeParseError(format!(
                "slot range {text:?} is missing its start"
            ))),
            Some((_, "")) => Err(SlotRangeParseError(format!(
                "slot range {text:?} is missing its stop"
            ))),
            Some((start, stop)) => SlotRange::new(parse_slot(start)?, parse_slot(stop)?),
        }
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// One slot number: plain decimal digits (no sign), at most 16383.
fn parse_slot(text: &str) -> Result<u16, SlotRangeParseError> {
    if let Some(rest) = text.strip_prefix('-') {
        if is_digits(rest) {
            return Err(SlotRangeParseError(format!("slot {text} is negative")));
        }
    }
    if !is_digits(text) {
        return Err(SlotRangeParseError(format!(
            "slot {text:?} is not a number"
        )));
    }
    match text.parse::<u16>() {
        Ok(slot) if slot <= MAX_SLOT => Ok(slot),
        _ => Err(SlotRangeParseError::outside(text)),
    }
}

/// Slots 0..=16383 split into `shard_count` contiguous ranges, in order; the first
/// `16384 % shard_count` ranges hold one slot more than the others.
///
/// The caller validates `1 <= shard_count <= 16384`: debug builds assert it, release builds clamp
/// the count into that interval.
pub fn split_evenly(shard_count: usize) -> Vec<SlotRange> {
    debug_assert!(
        (1..=usize::from(SLOT_COUNT)).contains(&shard_count),
        "shard count {shard_count} is outside 1..={SLOT_COUNT}"
    );
    let count = shard_count.clamp(1, usize::from(SLOT_COUNT));
    let total = usize::from(SLOT_COUNT);
    let base = total / count;
    let remainder = total % count;
    let mut ranges = Vec::with_capacity(count);
    let mut start = 0usize;
    for index in 0..count {
        let size = base + usize::from(index < remainder);
        let stop = start + size - 1;
        // Both bounds are below SLOT_COUNT, so the narrowing cannot lose bits.
        ranges.push(SlotRange {
            start: start as u16,
            stop: stop as u16,
        });
        start = stop + 1;
    }
    ranges
}

/// `ranges` without the slots of `removed`, splitting a range that `removed` cuts in the middle.
/// Sorted, disjoint input gives sorted, disjoint output.
pub fn subtract_slots(ranges: &[SlotRange], removed: SlotRange) -> Vec<SlotRange> {
    let mut kept = Vec::with_capacity(ranges.len() + 1);
    for range in ranges {
        if !range.overlaps(&removed) {
            kept.push(*range);
            continue;
        }
        if range.start < removed.start {
            kept.push(SlotRange {
                start: range.start,
                stop: removed.start - 1,
            });
        }
        if range.stop > removed.stop {
            kept.push(SlotRange {
                start: removed.stop + 1,
                stop: range.stop,
            });
        }
    }
    kept
}

/// `ranges` plus `added`, as sorted ranges with overlapping and adjacent ones merged.
pub fn merge_slots(ranges: &[SlotRange], added: SlotRange) -> Vec<SlotRange> {
    let mut all = ranges.to_vec();
    all.push(added);
    normalize(all)
}

/// Whether every slot of `range` is in one of `ranges`.
pub fn covers_slots(ranges: &[SlotRange], range: SlotRange) -> bool {
    normalize(ranges.to_vec())
        .iter()
        .any(|owned| owned.start <= range.start && range.stop <= owned.stop)
}

/// Sorted, with overlapping and adjacent ranges merged: the minimal form of a set of slots.
fn normalize(mut ranges: Vec<SlotRange>) -> Vec<SlotRange> {
    ranges.sort_unstable();
    let mut merged: Vec<SlotRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if u32::from(range.start) <= u32::from(last.stop) + 1 => {
                last.stop = last.stop.max(range.stop);
            }
            _ => merged.push(range),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u16, stop: u16) -> SlotRange {
        SlotRange::new(start, stop).expect("test range is valid")
    }

    fn texts(ranges: &[SlotRange]) -> Vec<String> {
        ranges.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parses_and_displays() {
        let cases = [
            ("single slot", "5", range(5, 5), "5"),
            ("first slot", "0", range(0, 0), "0"),
            ("last slot", "16383", range(16383, 16383), "16383"),
            ("range", "0-8191", range(0, 8191), "0-8191"),
            ("whole space", "0-16383", range(0, 16383), "0-16383"),
            (
                "surrounding whitespace",
                "  10-20\t\n",
                range(10, 20),
                "10-20",
            ),
            (
                "degenerate range prints as one slot",
                "7-7",
                range(7, 7),
                "7",
            ),
            ("leading zeros", "007-010", range(7, 10), "7-10"),
        ];
        for (name, text, expected, shown) in cases {
            let parsed: SlotRange = text.parse().unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(parsed, expected, "{name}");
            assert_eq!(parsed.to_string(), shown, "{name}");
            assert_eq!(
                shown.parse::<SlotRange>(),
                Ok(expected),
                "{name}: round trip"
            );
        }
    }

    #[test]
    fn rejects_bad_text() {
        let cases = [
            ("empty", "", "slot range is empty"),
            ("blank", "   ", "slot range is empty"),
            ("word", "abc", "slot \"abc\" is not a number"),
            ("plus sign", "+5", "slot \"+5\" is not a number"),
            ("fraction", "1.5", "slot \"1.5\" is not a number"),
            ("inner whitespace", "1 - 5", "slot \"1 \" is not a number"),
            ("negative single", "-5", "slot -5 is negative"),
            ("negative stop", "5--3", "slot -3 is negative"),
            ("lone dash", "-", "slot range \"-\" is missing its start"),
            (
                "missing stop",
                "5-",
                "slot range \"5-\" is missing its stop",
            ),
            ("three parts", "1-2-3", "slot \"2-3\" is not a number"),
            ("word stop", "1-x", "slot \"x\" is not a number"),
            ("slot too big", "16384", "slot 16384 is outside 0..=16383"),
            ("stop too big", "0-16384", "slot 16384 is outside 0..=16383"),
            ("beyond u16", "70000", "slot 70000 is outside 0..=16383"),
            (
                "huge",
                "99999999999999999999",
                "slot 99999999999999999999 is outside",
            ),
            (
                "start after stop",
                "10-5",
                "slot range 10-5 has start after stop",
            ),
        ];
        for (name, text, fragment) in cases {
            let err = text.parse::<SlotRange>().expect_err(name);
            let message = err.to_string();
            assert!(
                message.contains(fragment),
                "{name}: {message:?} lacks {fragment:?}"
            );
            assert!(!message.ends_with('.'), "{name}: trailing period");
        }
    }

    #[test]
    fn constructors_validate() {
        let cases = [
            ("valid", 0, 16383, Ok(range(0, 16383))),
            (
                "start after stop",
                10,
                5,
                Err("slot range 10-5 has start after stop"),
            ),
            (
                "stop too big",
                0,
                16384,
                Err("slot 16384 is outside 0..=16383"),
            ),
            (
                "start too big",
                16384,
                16385,
                Err("slot 16384 is outside 0..=16383"),
            ),
        ];
        for (name, start, stop, expected) in cases {
            let got = SlotRange::new(start, stop).map_err(|err| err.to_string());
            assert_eq!(got, expected.map_err(str::to_string), "{name}");
        }
        assert_eq!(SlotRange::single(9), Ok(range(9, 9)));
        assert!(SlotRange::single(SLOT_COUNT).is_err());
    }

    #[test]
    fn measures_and_compares() {
        let cases = [
            ("len single", range(5, 5).len(), 1),
            ("len pair", range(5, 6).len(), 2),
            ("len whole", range(0, 16383).len(), 16384),
        ];
        for (name, got, expected) in cases {
            assert_eq!(got, expected, "{name}");
        }
        let r = range(10, 20);
        let contains = [(9, false), (10, true), (15, true), (20, true), (21, false)];
        for (slot, expected) in contains {
            assert_eq!(r.contains(slot), expected, "contains {slot}");
        }
        let overlaps = [
            (range(0, 9), false),
            (range(0, 10), true),
            (range(12, 14), true),
            (range(20, 30), true),
            (range(21, 30), false),
            (range(0, 16383), true),
        ];
        for (other, expected) in overlaps {
            assert_eq!(r.overlaps(&other), expected, "overlaps {other}");
            assert_eq!(other.overlaps(&r), expected, "overlaps {other} (swapped)");
        }
    }

    #[test]
    fn serializes_as_plain_struct() {
        let json = serde_json::to_string(&range(1, 2)).expect("serializes");
        assert_eq!(json, r#"{"start":1,"stop":2}"#);
        let back: SlotRange = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, range(1, 2));
    }

    #[test]
    fn splits_evenly() {
        let cases: [(usize, &[&str]); 4] = [
            (1, &["0-16383"]),
            (2, &["0-8191", "8192-16383"]),
            (3, &["0-5461", "5462-10922", "10923-16383"]),
            (
                5,
                &[
                    "0-3276",
                    "3277-6553",
                    "6554-9830",
                    "9831-13107",
                    "13108-16383",
                ],
            ),
        ];
        for (count, expected) in cases {
            assert_eq!(texts(&split_evenly(count)), expected, "{count} shards");
        }
        for count in [1, 2, 3, 7, 1000, 16383, 16384] {
            let ranges = split_evenly(count);
            assert_eq!(ranges.len(), count, "{count} shards");
            let mut next = 0u32;
            for r in &ranges {
                assert_eq!(
                    u32::from(r.start),
                    next,
                    "{count} shards: gap or overlap at {r}"
                );
                assert!(r.start <= r.stop, "{count} shards: {r}");
                next = u32::from(r.stop) + 1;
            }
            assert_eq!(
                next,
                u32::from(SLOT_COUNT),
                "{count} shards: covers everything"
            );
            let sizes: Vec<u32> = ranges.iter().map(SlotRange::len).collect();
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(
                max.zip(min).is_some_and(|(max, min)| max - min <= 1),
                "{count} shards"
            );
        }
        let singles = split_evenly(16384);
        assert!(singles
            .iter()
            .enumerate()
            .all(|(i, r)| usize::from(r.start) == i && r.len() == 1));
    }

    #[test]
    fn subtracts() {
        let cases: [(&str, &[SlotRange], SlotRange, &[&str]); 9] = [
            ("empty list", &[], range(0, 5), &[]),
            ("disjoint", &[range(0, 9)], range(20, 30), &["0-9"]),
            ("whole range", &[range(0, 9)], range(0, 9), &[]),
            ("covering", &[range(5, 9)], range(0, 16383), &[]),
            (
                "split in the middle",
                &[range(0, 8191)],
                range(100, 199),
                &["0-99", "200-8191"],
            ),
            ("head", &[range(0, 99)], range(0, 9), &["10-99"]),
            ("tail", &[range(0, 99)], range(90, 120), &["0-89"]),
            (
                "single slot",
                &[range(0, 99)],
                range(50, 50),
                &["0-49", "51-99"],
            ),
            (
                "across several ranges",
                &[range(0, 9), range(20, 29), range(40, 49)],
                range(5, 44),
                &["0-4", "45-49"],
            ),
        ];
        for (name, ranges, removed, expected) in cases {
            assert_eq!(texts(&subtract_slots(ranges, removed)), expected, "{name}");
        }
    }

    #[test]
    fn merges() {
        let cases: [(&str, &[SlotRange], SlotRange, &[&str]); 8] = [
            ("into empty", &[], range(5, 9), &["5-9"]),
            (
                "adjacent after",
                &[range(0, 99)],
                range(100, 199),
                &["0-199"],
            ),
            (
                "adjacent before",
                &[range(100, 199)],
                range(0, 99),
                &["0-199"],
            ),
            ("overlapping", &[range(0, 99)], range(50, 150), &["0-150"]),
            ("already inside", &[range(0, 99)], range(10, 20), &["0-99"]),
            (
                "disjoint sorted",
                &[range(50, 60)],
                range(0, 10),
                &["0-10", "50-60"],
            ),
            (
                "fills a gap",
                &[range(0, 49), range(100, 199)],
                range(50, 99),
                &["0-199"],
            ),
            (
                "unsorted input",
                &[range(300, 399), range(0, 99), range(100, 150)],
                range(16383, 16383),
                &["0-150", "300-399", "16383"],
            ),
        ];
        for (name, ranges, added, expected) in cases {
            assert_eq!(texts(&merge_slots(ranges, added)), expected, "{name}");
        }
    }

    #[test]
    fn checks_coverage() {
        let owned = [range(0, 49), range(50, 99), range(200, 299)];
        let cases = [
            ("inside one range", range(10, 20), true),
            ("across adjacent ranges", range(40, 60), true),
            ("exactly everything contiguous", range(0, 99), true),
            ("across a gap", range(90, 210), false),
            ("partly outside", range(250, 300), false),
            ("outside", range(100, 199), false),
        ];
        for (name, candidate, expected) in cases {
            assert_eq!(covers_slots(&owned, candidate), expected, "{name}");
        }
        assert!(!covers_slots(&[], range(0, 0)), "empty list covers nothing");
    }
}
