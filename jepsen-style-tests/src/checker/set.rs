//! The set checker: every acknowledged add is in the final read, and the final read holds nothing
//! that was never attempted or that certainly failed. Adds of unknown outcome may be either.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::unique_writes::{Outcomes, UniqueWrites};
use crate::history::{Event, EventKind};

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct SetReport {
    pub adds: UniqueWrites<String>,
    /// Set when the history holds no successful final read.
    pub no_final_read: bool,
}

impl SetReport {
    pub fn anomalies(&self) -> usize {
        self.adds.anomalies() + usize::from(self.no_final_read)
    }
}

fn element(event: &Event) -> Option<String> {
    event.value.get("element").and_then(Value::as_str).map(str::to_string)
}

pub fn check_set(events: &[Event]) -> SetReport {
    let mut outcomes = Outcomes::new();
    let mut final_read: Option<BTreeSet<String>> = None;
    for event in events.iter().filter(|event| event.workload == "set") {
        match (event.f.as_str(), event.kind) {
            ("add", kind) => {
                if let Some(element) = element(event) {
                    outcomes.record(element, kind);
                }
            }
            ("read", EventKind::Ok) => {
                let elements = event.value.get("elements").and_then(Value::as_array).into_iter().flatten();
                final_read = Some(elements.filter_map(Value::as_str).map(str::to_string).collect());
            }
            _ => {}
        }
    }
    match final_read {
        Some(present) => SetReport { adds: outcomes.judge(&present), no_final_read: false },
        None => SetReport { adds: outcomes.counts(), no_final_read: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(process: u64, kind: EventKind, f: &str, value: Value) -> Event {
        Event {
            process,
            kind,
            workload: "set".into(),
            f: f.into(),
            key: None,
            value,
            time_ns: 0,
            node: None,
            error: None,
        }
    }

    fn add(process: u64, name: &str, outcome: EventKind) -> [Event; 2] {
        [event(process, EventKind::Invoke, "add", json!({"element": name})), event(process, outcome, "add", json!({"element": name}))]
    }

    fn read(elements: &[&str]) -> Event {
        event(9, EventKind::Ok, "read", json!({"elements": elements}))
    }

    #[test]
    fn verdicts_on_hand_made_histories() {
        use EventKind::{Fail, Info, Ok};
        struct Case {
            name: &'static str,
            adds: Vec<(&'static str, EventKind)>,
            final_read: Option<Vec<&'static str>>,
            anomalies: usize,
        }
        let cases = [
            Case { name: "all present", adds: vec![("a", Ok), ("b", Ok)], final_read: Some(vec!["a", "b"]), anomalies: 0 },
            Case { name: "unknown add either way", adds: vec![("a", Info), ("b", Info)], final_read: Some(vec!["a"]), anomalies: 0 },
            Case { name: "failed add absent", adds: vec![("a", Fail)], final_read: Some(vec![]), anomalies: 0 },
            Case { name: "lost acknowledged add", adds: vec![("a", Ok), ("b", Ok)], final_read: Some(vec!["a"]), anomalies: 1 },
            Case { name: "failed add present", adds: vec![("a", Fail)], final_read: Some(vec!["a"]), anomalies: 1 },
            Case { name: "never attempted", adds: vec![("a", Ok)], final_read: Some(vec!["a", "zz"]), anomalies: 1 },
            Case { name: "no final read", adds: vec![("a", Ok)], final_read: None, anomalies: 1 },
        ];
        for case in cases {
            let mut events: Vec<Event> =
                case.adds.iter().enumerate().flat_map(|(process, (name, kind))| add(process as u64, name, *kind)).collect();
            if let Some(elements) = &case.final_read {
                events.push(read(elements));
            }
            assert_eq!(check_set(&events).anomalies(), case.anomalies, "{}", case.name);
        }
    }

    #[test]
    fn counts_outcomes() {
        let mut events: Vec<Event> = Vec::new();
        events.extend(add(0, "a", EventKind::Ok));
        events.extend(add(1, "b", EventKind::Info));
        events.extend(add(2, "c", EventKind::Fail));
        events.push(read(&["a", "b"]));
        let report = check_set(&events);
        let adds = &report.adds;
        assert_eq!((adds.ok, adds.info, adds.fail, adds.info_present, adds.present), (1, 1, 1, 1, 2));
    }
}
