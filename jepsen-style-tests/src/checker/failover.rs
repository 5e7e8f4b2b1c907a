//! The failover checker: every acknowledged row is on the final master, no row appears that was
//! never inserted or whose insert certainly failed, every sampled answer of shardkeeper named
//! exactly one master for the shard, and the final topology has exactly one writable server,
//! the one shardkeeper names.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::unique_writes::{Outcomes, UniqueWrites};
use crate::history::{Event, EventKind};
use crate::workload::failover::FinalState;

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct FailoverReport {
    pub inserts: UniqueWrites<u64>,
    pub samples: usize,
    /// Sampled answers that named no master or more than one, as "node at time: [masters]".
    pub bad_samples: Vec<String>,
    /// Distinct masters named over the run, in order of first appearance.
    pub masters_seen: Vec<String>,
    /// Problems with the final topology (writable servers, unanswered servers).
    pub topology: Vec<String>,
}

impl FailoverReport {
    pub fn anomalies(&self) -> usize {
        self.inserts.anomalies() + self.bad_samples.len() + self.topology.len()
    }
}

pub fn check_failover(events: &[Event], final_state: &FinalState, servers: usize) -> FailoverReport {
    let mut report = FailoverReport::default();
    let mut outcomes = Outcomes::new();
    for event in events.iter().filter(|event| event.workload.starts_with("failover")) {
        match (event.f.as_str(), event.kind) {
            ("insert", kind) => {
                if let Some(row) = event.value.get("row").and_then(Value::as_u64) {
                    outcomes.record(row, kind);
                }
            }
            ("masters", EventKind::Ok) => {
                report.samples += 1;
                let masters: Vec<String> = event
                    .value
                    .get("masters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                if masters.len() != 1 {
                    let node = event.node.as_deref().unwrap_or("?");
                    report.bad_samples.push(format!("{node} at {:.3}s: {masters:?}", event.time_ns as f64 / 1e9));
                }
                for master in masters {
                    if !report.masters_seen.contains(&master) {
                        report.masters_seen.push(master);
                    }
                }
            }
            _ => {}
        }
    }
    let present: BTreeSet<u64> = final_state.rows.iter().copied().collect();
    report.inserts = outcomes.judge(&present);
    report.topology = topology_problems(final_state, servers);
    report
}

fn topology_problems(final_state: &FinalState, servers: usize) -> Vec<String> {
    let mut problems = Vec::new();
    if final_state.read_only.len() != servers {
        let mut answered: Vec<&String> = final_state.read_only.keys().collect();
        answered.sort();
        problems.push(format!("only {answered:?} of {servers} servers answered at the end"));
    }
    let mut writable: Vec<&String> =
        final_state.read_only.iter().filter(|(_, read_only)| !**read_only).map(|(name, _)| name).collect();
    writable.sort();
    if writable != [&final_state.master] {
        problems.push(format!("writable servers at the end: {writable:?}, shardkeeper names {}", final_state.master));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: EventKind, f: &str, value: Value) -> Event {
        Event {
            process: 0,
            kind,
            workload: "failover".into(),
            f: f.into(),
            key: None,
            value,
            time_ns: 0,
            node: Some("sk1".into()),
            error: None,
        }
    }

    fn insert(row: u64, outcome: EventKind) -> Vec<Event> {
        vec![event(EventKind::Invoke, "insert", json!({"row": row})), event(outcome, "insert", json!({"row": row}))]
    }

    fn final_state(master: &str, read_only: &[(&str, bool)], rows: &[u64]) -> FinalState {
        FinalState {
            master: master.into(),
            read_only: read_only.iter().map(|(name, flag)| (name.to_string(), *flag)).collect(),
            rows: rows.to_vec(),
        }
    }

    const HEALTHY: [(&str, bool); 3] = [("db1", true), ("db2", false), ("db3", true)];

    #[test]
    fn verdicts_on_hand_made_histories() {
        let mut acknowledged = insert(1, EventKind::Ok);
        acknowledged.extend(insert(2, EventKind::Info));
        acknowledged.extend(insert(3, EventKind::Fail));
        acknowledged.push(event(EventKind::Ok, "masters", json!({"masters": ["db1:3306"]})));
        let cases = [
            ("every acknowledged row kept", acknowledged.clone(), final_state("db2", &HEALTHY, &[1, 2]), 0),
            ("unknown row missing is fine", acknowledged.clone(), final_state("db2", &HEALTHY, &[1]), 0),
            ("acknowledged row lost", acknowledged.clone(), final_state("db2", &HEALTHY, &[2]), 1),
            ("failed row present", acknowledged.clone(), final_state("db2", &HEALTHY, &[1, 3]), 1),
            ("row never inserted", acknowledged.clone(), final_state("db2", &HEALTHY, &[1, 99]), 1),
            (
                "two writable servers",
                acknowledged.clone(),
                final_state("db2", &[("db1", false), ("db2", false), ("db3", true)], &[1]),
                1,
            ),
            ("a server missing", acknowledged.clone(), final_state("db2", &HEALTHY[1..], &[1]), 1),
            ("writable server is not the master", acknowledged.clone(), final_state("db1", &HEALTHY, &[1]), 1),
        ];
        for (name, events, state, anomalies) in cases {
            assert_eq!(check_failover(&events, &state, 3).anomalies(), anomalies, "{name}");
        }
    }

    #[test]
    fn two_masters_in_one_answer_is_flagged() {
        let events = vec![
            event(EventKind::Ok, "masters", json!({"masters": ["db1:3306"]})),
            event(EventKind::Ok, "masters", json!({"masters": ["db1:3306", "db2:3306"]})),
            event(EventKind::Ok, "masters", json!({"masters": []})),
        ];
        let report = check_failover(&events, &final_state("db2", &HEALTHY, &[]), 3);
        assert_eq!(report.bad_samples.len(), 2);
        assert_eq!(report.masters_seen, vec!["db1:3306", "db2:3306"]);
    }
}
