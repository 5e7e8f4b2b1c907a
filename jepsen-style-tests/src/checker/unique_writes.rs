//! Unique writes judged against what is there at the end, shared by the set checker (namespace
//! names) and the failover checker (row ids): every acknowledged write must be present, and
//! nothing may be present whose write certainly failed or was never attempted. A write of unknown
//! outcome may be either.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use serde::Serialize;

use crate::history::EventKind;

/// The last word on each element: `Invoke` until its completion is recorded.
pub struct Outcomes<T> {
    by_element: HashMap<T, EventKind>,
}

impl<T: Hash + Eq + Ord + Clone> Outcomes<T> {
    pub fn new() -> Self {
        Outcomes { by_element: HashMap::new() }
    }

    pub fn record(&mut self, element: T, kind: EventKind) {
        if kind == EventKind::Invoke {
            self.by_element.entry(element).or_insert(kind);
        } else {
            self.by_element.insert(element, kind);
        }
    }

    /// How the writes ended, without anything to compare them with.
    pub fn counts(&self) -> UniqueWrites<T> {
        let mut writes = UniqueWrites::default();
        for kind in self.by_element.values() {
            match kind {
                EventKind::Ok => writes.ok += 1,
                EventKind::Fail => writes.fail += 1,
                EventKind::Info | EventKind::Invoke => writes.info += 1,
            }
        }
        writes
    }

    /// Compares the outcomes with the elements present at the end.
    pub fn judge(&self, present: &BTreeSet<T>) -> UniqueWrites<T> {
        let mut writes = UniqueWrites { present: present.len(), ..self.counts() };
        for (element, kind) in &self.by_element {
            match (kind, present.contains(element)) {
                (EventKind::Ok, false) => writes.lost.push(element.clone()),
                (EventKind::Fail, true) => writes.failed_but_present.push(element.clone()),
                (EventKind::Info | EventKind::Invoke, true) => writes.info_present += 1,
                _ => {}
            }
        }
        writes.never_attempted =
            present.iter().filter(|element| !self.by_element.contains_key(*element)).cloned().collect();
        writes.lost.sort();
        writes.failed_but_present.sort();
        writes
    }
}

impl<T: Hash + Eq + Ord + Clone> Default for Outcomes<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct UniqueWrites<T> {
    pub ok: usize,
    pub fail: usize,
    /// Writes of unknown outcome (including invokes never completed).
    pub info: usize,
    /// Of those, how many are present at the end.
    pub info_present: usize,
    /// How many elements are present at the end.
    pub present: usize,
    /// Acknowledged writes missing at the end.
    pub lost: Vec<T>,
    /// Present although their write certainly failed.
    pub failed_but_present: Vec<T>,
    /// Present although no client ever wrote them.
    pub never_attempted: Vec<T>,
}

impl<T> Default for UniqueWrites<T> {
    fn default() -> Self {
        UniqueWrites {
            ok: 0,
            fail: 0,
            info: 0,
            info_present: 0,
            present: 0,
            lost: Vec::new(),
            failed_but_present: Vec::new(),
            never_attempted: Vec::new(),
        }
    }
}

impl<T> UniqueWrites<T> {
    pub fn anomalies(&self) -> usize {
        self.lost.len() + self.failed_but_present.len() + self.never_attempted.len()
    }
}
