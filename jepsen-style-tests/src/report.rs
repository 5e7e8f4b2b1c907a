//! The run's verdict: every checker's report in one JSON document, and the summary table printed
//! at the end (operations per workload, faults, the longest time without a successful write, and
//! the `anomalies: N` line run.sh looks for).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::checker::failover::FailoverReport;
use crate::checker::register::RegisterReport;
use crate::checker::set::SetReport;
use crate::history::{Event, EventKind};

#[derive(Debug, Default, Serialize, Clone, Copy)]
pub struct Counts {
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
}

#[derive(Serialize)]
pub struct RunReport {
    pub mode: String,
    pub duration_s: f64,
    pub operations: BTreeMap<String, Counts>,
    /// Longest time between two successful writes (or from the start of the run to the first, or
    /// from the last to the end), per workload, in milliseconds.
    pub longest_write_gap_ms: BTreeMap<String, u64>,
    pub faults: Vec<String>,
    pub nemesis_errors: Vec<String>,
    pub register: RegisterReport,
    /// Reads whose slot-0 owner does not match the version's parity.
    pub register_torn_reads: Vec<String>,
    pub set: SetReport,
    pub failover: Option<FailoverReport>,
    pub failover_error: Option<String>,
}

impl RunReport {
    pub fn anomalies(&self) -> usize {
        self.register.anomalies()
            + self.register.errors.len()
            + self.register_torn_reads.len()
            + self.set.anomalies()
            + self.failover.as_ref().map_or(0, FailoverReport::anomalies)
            + usize::from(self.failover_error.is_some())
    }

    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\nsummary ({} mode, {:.0} s)", self.mode, self.duration_s);
        let _ = writeln!(out, "{:<16} {:>8} {:>8} {:>8} {:>22}", "workload", "ok", "fail", "info", "longest write gap (ms)");
        for (workload, counts) in &self.operations {
            let gap = self.longest_write_gap_ms.get(workload).map_or("-".to_string(), u64::to_string);
            let _ = writeln!(out, "{workload:<16} {:>8} {:>8} {:>8} {gap:>22}", counts.ok, counts.fail, counts.info);
        }
        let mut by_fault: BTreeMap<&str, usize> = BTreeMap::new();
        for fault in &self.faults {
            *by_fault.entry(fault).or_default() += 1;
        }
        let faults: Vec<String> = by_fault.iter().map(|(fault, count)| format!("{fault} x{count}")).collect();
        let _ = writeln!(out, "faults injected: {} ({})", self.faults.len(), faults.join(", "));
        for error in &self.nemesis_errors {
            let _ = writeln!(out, "nemesis problem: {error}");
        }
        let _ = writeln!(out, "register: {} keys, {} not linearizable, {} unknown, {} torn reads, {} malformed events",
            self.register.keys.len(), self.register.anomalies(), self.register.unknown(), self.register_torn_reads.len(),
            self.register.errors.len());
        let adds = &self.set.adds;
        let _ = writeln!(out, "set: {} acknowledged adds, {} lost, {} failed-but-present, {} never attempted, {} in the final read",
            adds.ok, adds.lost.len(), adds.failed_but_present.len(), adds.never_attempted.len(), adds.present);
        match (&self.failover, &self.failover_error) {
            (Some(report), _) => {
                let inserts = &report.inserts;
                let _ = writeln!(out, "failover: {} acknowledged rows, {} lost, {} failed-but-present, {} never attempted; {} sampled answers ({} naming other than one master), masters seen {:?}, topology problems {:?}",
                    inserts.ok, inserts.lost.len(), inserts.failed_but_present.len(), inserts.never_attempted.len(),
                    report.samples, report.bad_samples.len(), report.masters_seen, report.topology);
            }
            (None, Some(error)) => {
                let _ = writeln!(out, "failover: no final state: {error}");
            }
            (None, None) => {}
        }
        let _ = writeln!(out, "anomalies: {}", self.anomalies());
        out
    }
}

/// Which operations count as writes for the gap measure.
fn is_write(event: &Event) -> bool {
    matches!((event.workload.as_str(), event.f.as_str()), ("register", "cas") | ("set", "add") | ("failover" | "failover-direct", "insert"))
}

pub fn operation_counts(events: &[Event]) -> BTreeMap<String, Counts> {
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    for event in events {
        let entry = counts.entry(event.workload.clone()).or_default();
        match event.kind {
            EventKind::Ok => entry.ok += 1,
            EventKind::Fail => entry.fail += 1,
            EventKind::Info => entry.info += 1,
            EventKind::Invoke => {}
        }
    }
    counts
}

/// Longest stretch without a successful write, per workload, between `start_ns` and `end_ns`.
pub fn longest_write_gaps(events: &[Event], start_ns: u64, end_ns: u64) -> BTreeMap<String, u64> {
    let mut last_ok: BTreeMap<String, u64> = BTreeMap::new();
    let mut longest: BTreeMap<String, u64> = BTreeMap::new();
    for event in events.iter().filter(|event| is_write(event) && event.kind == EventKind::Ok) {
        let previous = last_ok.insert(event.workload.clone(), event.time_ns).unwrap_or(start_ns);
        let gap = longest.entry(event.workload.clone()).or_default();
        *gap = (*gap).max(event.time_ns.saturating_sub(previous));
    }
    for (workload, last) in &last_ok {
        let gap = longest.entry(workload.clone()).or_default();
        *gap = (*gap).max(end_ns.saturating_sub(*last));
    }
    longest.into_iter().map(|(workload, ns)| (workload, ns / 1_000_000)).collect()
}

/// Register reads whose slot-0 owner is not `version % 2` (see workload::register).
pub fn torn_register_reads(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|event| event.workload == "register" && event.f == "read" && event.kind == EventKind::Ok)
        .filter_map(|event| {
            let version = event.value.get("value")?.as_u64()?;
            let owner = event.value.get("owner").and_then(serde_json::Value::as_u64);
            (owner != Some(version % 2)).then(|| {
                format!("{} read version {version} with slot 0 on shard {owner:?}", event.key.as_deref().unwrap_or("?"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(workload: &str, f: &str, time_ms: u64, value: serde_json::Value) -> Event {
        Event {
            process: 0,
            kind: EventKind::Ok,
            workload: workload.into(),
            f: f.into(),
            key: Some("reg-0".into()),
            value,
            time_ns: time_ms * 1_000_000,
            node: None,
            error: None,
        }
    }

    #[test]
    fn write_gaps_count_from_start_to_end() {
        let events = [
            ok("set", "add", 100, json!({})),
            ok("set", "add", 900, json!({})),
            ok("set", "read", 2000, json!({})),
            ok("register", "cas", 500, json!({})),
        ];
        let gaps = longest_write_gaps(&events, 0, 1_200_000_000);
        assert_eq!(gaps["set"], 800);
        assert_eq!(gaps["register"], 700);
    }

    #[test]
    fn torn_reads_are_those_with_the_wrong_owner() {
        let events = [
            ok("register", "read", 1, json!({"value": 4, "owner": 0})),
            ok("register", "read", 2, json!({"value": 5, "owner": 1})),
            ok("register", "read", 3, json!({"value": 5, "owner": 0})),
            ok("register", "read", 4, json!({"value": 6, "owner": null})),
        ];
        assert_eq!(torn_register_reads(&events).len(), 2);
    }
}
