use super::*;
use serde_json::json;

/// A register call as the test writes it.
#[derive(Clone, Copy)]
enum Call {
    Read(i64),
    Write(i64),
    Cas(i64, i64),
}

/// How a test operation ended; `Pending` never completed.
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    Ok,
    Fail,
    Info,
    Pending,
}

/// One hand-made operation on register `r`: invoked at `start`, completed at `end`.
#[derive(Clone, Copy)]
struct TestOperation {
    process: u64,
    call: Call,
    ending: Ending,
    start: u64,
    end: u64,
}

fn ok(process: u64, call: Call, start: u64, end: u64) -> TestOperation {
    TestOperation { process, call, ending: Ending::Ok, start, end }
}

fn failed(process: u64, call: Call, start: u64, end: u64) -> TestOperation {
    TestOperation { process, call, ending: Ending::Fail, start, end }
}

fn info(process: u64, call: Call, start: u64, end: u64) -> TestOperation {
    TestOperation { process, call, ending: Ending::Info, start, end }
}

fn pending(process: u64, call: Call, start: u64) -> TestOperation {
    TestOperation { process, call, ending: Ending::Pending, start, end: u64::MAX }
}

fn event(process: u64, kind: EventKind, workload: &str, f: &str, key: Option<&str>, value: Value, time_ns: u64) -> Event {
    Event {
        process,
        kind,
        workload: workload.into(),
        f: f.into(),
        key: key.map(str::to_string),
        value,
        time_ns,
        node: None,
        error: None,
    }
}

/// The invoke and completion events of `operation` on register `key`.
fn events_of(operation: &TestOperation, key: &str) -> Vec<Event> {
    let (f, invoke_value, ok_value) = match operation.call {
        Call::Read(value) => ("read", Value::Null, json!({"value": value})),
        Call::Write(value) => ("write", json!({"value": value}), json!({"value": value})),
        Call::Cas(expected, new) => ("cas", json!({"expected": expected, "new": new}), json!({"expected": expected, "new": new})),
    };
    let mut events = vec![event(operation.process, EventKind::Invoke, "register", f, Some(key), invoke_value.clone(), operation.start)];
    let completion = match operation.ending {
        Ending::Ok => Some((EventKind::Ok, ok_value)),
        Ending::Fail => Some((EventKind::Fail, invoke_value)),
        Ending::Info => Some((EventKind::Info, invoke_value)),
        Ending::Pending => None,
    };
    if let Some((kind, value)) = completion {
        events.push(event(operation.process, kind, "register", f, Some(key), value, operation.end));
    }
    events
}

/// The history of `operations` on register `r`, in time order.
fn history(operations: &[TestOperation]) -> Vec<Event> {
    let mut events: Vec<Event> = operations.iter().flat_map(|operation| events_of(operation, "r")).collect();
    events.sort_by_key(|event| event.time_ns);
    events
}

fn verdict_with_budget(operations: &[TestOperation], budget: usize) -> Verdict {
    let report = check_registers(&history(operations), 0, budget);
    assert_eq!(report.errors, Vec::<String>::new());
    assert_eq!(report.keys.len(), 1);
    report.keys[0].verdict.clone()
}

fn verdict(operations: &[TestOperation]) -> Verdict {
    verdict_with_budget(operations, 1_000_000)
}

use Call::{Cas, Read, Write};

#[test]
fn accepts_valid_histories() {
    let cases: Vec<(&str, Vec<TestOperation>)> = vec![
        ("sequential", vec![ok(0, Read(0), 0, 10), ok(0, Write(1), 20, 30), ok(1, Read(1), 40, 50), ok(1, Cas(1, 2), 60, 70), ok(0, Read(2), 80, 90)]),
        ("overlapping writes, first invoked wins", vec![ok(0, Write(1), 0, 50), ok(1, Write(2), 10, 60), ok(2, Read(2), 70, 80)]),
        ("overlapping writes, second invoked wins", vec![ok(0, Write(1), 0, 50), ok(1, Write(2), 10, 60), ok(2, Read(1), 70, 80)]),
        ("overlapping cas in either order", vec![ok(0, Cas(1, 2), 0, 50), ok(1, Cas(0, 1), 10, 60), ok(2, Read(2), 70, 80)]),
        ("failed cas", vec![failed(0, Cas(5, 6), 0, 10), ok(1, Read(0), 20, 30)]),
        ("failed write", vec![failed(0, Write(1), 0, 10), ok(1, Read(0), 20, 30)]),
        ("unknown cas that took effect", vec![info(0, Cas(0, 1), 0, 10), ok(1, Read(1), 100, 110)]),
        ("unknown cas that did not take effect", vec![info(0, Cas(0, 1), 0, 10), ok(1, Read(0), 100, 110)]),
        ("never completed write that took effect", vec![pending(0, Write(4), 0), ok(1, Read(0), 10, 20), ok(1, Read(4), 30, 40)]),
        ("unknown read constrains nothing", vec![info(0, Read(9), 0, 10), ok(1, Read(0), 20, 30)]),
        (
            "unknown write observed long after its invoke",
            vec![info(0, Write(7), 0, 5), ok(1, Read(0), 100, 110), ok(1, Write(3), 200, 210), ok(2, Read(3), 300, 310), ok(2, Read(7), 1000, 1010)],
        ),
        ("read concurrent with a write sees the old value", vec![ok(0, Write(1), 0, 100), ok(1, Read(0), 10, 20), ok(1, Read(1), 30, 40)]),
        ("read concurrent with a write sees the new value", vec![ok(0, Write(1), 0, 100), ok(1, Read(1), 10, 20), ok(2, Read(1), 30, 40)]),
        ("overlapping reads see new then old", vec![ok(0, Write(1), 0, 100), ok(1, Read(1), 10, 40), ok(2, Read(0), 20, 30)]),
        ("completion at the same time as an invoke is concurrent", vec![ok(0, Write(1), 0, 10), ok(1, Read(0), 10, 20)]),
    ];
    for (name, operations) in cases {
        assert_eq!(verdict(&operations), Verdict::Linearizable, "{name}");
    }
    assert_eq!(check_registers(&[], 0, 10), RegisterReport::default(), "an empty history has no registers");
}

#[test]
fn flags_anomalies() {
    let cases: Vec<(&str, Vec<TestOperation>)> = vec![
        ("stale read", vec![ok(0, Write(1), 0, 10), ok(1, Read(0), 20, 30)]),
        ("lost write", vec![ok(0, Read(0), 0, 5), ok(0, Write(1), 10, 20), ok(1, Read(0), 30, 40), ok(2, Read(0), 50, 60)]),
        ("lost cas", vec![ok(0, Cas(0, 1), 0, 10), ok(1, Cas(1, 2), 5, 15), ok(1, Read(1), 20, 30), ok(2, Read(1), 40, 50)]),
        ("value nobody wrote after a cas", vec![ok(0, Cas(0, 1), 0, 10), ok(1, Read(1), 20, 30), ok(1, Read(2), 40, 50)]),
        ("cas acknowledged twice in sequence", vec![ok(0, Cas(0, 1), 0, 10), ok(1, Cas(0, 1), 20, 30)]),
        ("cas acknowledged twice concurrently", vec![ok(0, Cas(0, 1), 0, 30), ok(1, Cas(0, 1), 5, 25)]),
        ("read of a value never written", vec![ok(0, Read(5), 0, 10)]),
        ("non-monotonic reads", vec![ok(0, Write(1), 0, 100), ok(1, Read(1), 10, 20), ok(1, Read(0), 30, 40)]),
        ("failed write visible", vec![failed(0, Write(1), 0, 10), ok(1, Read(1), 20, 30)]),
        ("unknown write visible before its invoke", vec![ok(1, Read(7), 0, 10), info(0, Write(7), 20, 30)]),
        ("unknown cas whose precondition never held", vec![info(0, Cas(3, 4), 0, 10), ok(1, Read(4), 20, 30)]),
    ];
    for (name, operations) in cases {
        assert!(matches!(verdict(&operations), Verdict::NotLinearizable { .. }), "{name}: {:?}", verdict(&operations));
    }
}

#[test]
fn explanation_names_the_register_and_the_operations() {
    let Verdict::NotLinearizable { explanation } = verdict(&[ok(0, Write(1), 0, 10), ok(1, Read(0), 20, 30)]) else {
        panic!("a stale read must be flagged")
    };
    assert!(explanation.starts_with("register r: "), "{explanation}");
    assert!(explanation.contains("holds 1 of 2 acknowledged operations"), "{explanation}");
    assert!(explanation.contains("ends with: process 0 write 1 (ok, invoked at 0 ns, completed at 10 ns)"), "{explanation}");
    assert!(explanation.contains("the register then holds 1"), "{explanation}");
    assert!(explanation.contains("process 1 read 0 (ok, invoked at 20 ns, completed at 30 ns): contradicts that value"), "{explanation}");
}

/// Eight concurrent writes of distinct values and a read of a value none of them wrote: the search
/// must try every order before proving the anomaly.
fn many_orders_then_a_bad_read() -> Vec<TestOperation> {
    let mut operations: Vec<TestOperation> = (0..8).map(|process| ok(process, Write(process as i64 + 1), 0, 100)).collect();
    operations.push(ok(8, Read(99), 200, 210));
    operations
}

#[test]
fn budget_exhaustion_is_unknown_rather_than_an_anomaly() {
    let verdict = verdict_with_budget(&many_orders_then_a_bad_read(), 10);
    let Verdict::Unknown { reason } = verdict else { panic!("expected unknown, got {verdict:?}") };
    assert!(reason.starts_with("register r: budget exhausted: explored 10 states"), "{reason}");
    assert!(matches!(verdict_with_budget(&many_orders_then_a_bad_read(), 100_000), Verdict::NotLinearizable { .. }));
}

#[test]
fn events_of_other_workloads_are_ignored() {
    let mut events = history(&[ok(0, Write(1), 0, 10), ok(1, Read(1), 20, 30)]);
    events.push(event(0, EventKind::Ok, "set", "add", Some("r"), json!({"element": "a"}), 40));
    events.push(event(7, EventKind::Invoke, "failover", "insert", None, json!({"row": 1}), 50));
    events.push(event(7, EventKind::Invoke, "failover", "insert", None, json!({"row": 2}), 60));
    let report = check_registers(&events, 0, 1_000);
    assert_eq!(report.errors, Vec::<String>::new());
    assert_eq!(report.keys.len(), 1);
    assert_eq!((report.keys[0].ok, report.keys[0].fail, report.keys[0].info), (2, 0, 0));
    assert_eq!(report.keys[0].verdict, Verdict::Linearizable);
}

#[test]
fn malformed_histories_are_errors() {
    let completion_without_invoke = vec![event(3, EventKind::Ok, "register", "read", Some("r"), json!({"value": 0}), 5)];
    let report = check_registers(&completion_without_invoke, 0, 1_000);
    assert_eq!(report.errors, vec!["process 3 ok read on r at 5 ns without an invoke".to_string()]);

    let two_invokes = vec![
        event(3, EventKind::Invoke, "register", "write", Some("r"), json!({"value": 1}), 5),
        event(3, EventKind::Invoke, "register", "read", Some("r"), Value::Null, 6),
        event(3, EventKind::Ok, "register", "read", Some("r"), json!({"value": 1}), 7),
    ];
    let report = check_registers(&two_invokes, 0, 1_000);
    assert_eq!(report.errors, vec!["process 3 invoke read on r at 6 ns while its process 3 invoke write on r at 5 ns is outstanding".to_string()]);
    assert_eq!((report.keys[0].ok, report.keys[0].info), (1, 1), "the first invoke counts as unknown");
    assert_eq!(report.keys[0].verdict, Verdict::Linearizable);

    let missing_value = vec![
        event(3, EventKind::Invoke, "register", "read", Some("r"), Value::Null, 5),
        event(3, EventKind::Ok, "register", "read", Some("r"), json!({}), 6),
    ];
    assert_eq!(check_registers(&missing_value, 0, 1_000).errors, vec!["process 3 ok read on r at 6 ns has no integer \"value\" in {}".to_string()]);
}

#[test]
fn reports_every_register_with_its_counts() {
    let mut events = history(&[ok(0, Write(1), 0, 10), failed(1, Cas(5, 6), 0, 10), info(2, Write(3), 0, 10), pending(3, Cas(0, 2), 20)]);
    events.extend(events_of(&ok(4, Read(1), 0, 10), "q"));
    let report = check_registers(&events, 0, 1_000);
    let summary: Vec<(&str, usize, usize, usize)> = report.keys.iter().map(|key| (key.key.as_str(), key.ok, key.fail, key.info)).collect();
    assert_eq!(summary, vec![("q", 1, 0, 0), ("r", 1, 1, 2)]);
    assert_eq!((report.anomalies(), report.unknown()), (1, 0));
    let json = serde_json::to_value(&report).expect("the report serializes");
    assert_eq!(json["keys"][0]["verdict"]["result"], "not_linearizable");
    assert_eq!(json["keys"][1]["verdict"], json!({"result": "linearizable"}));
}

#[test]
fn initial_value_comes_from_the_caller() {
    let operations = [Operation { process: 0, function: Function::Read(5), invoked_ns: 0, completed_ns: Some(1) }];
    assert_eq!(check_register("r", &operations, 5, 10), Verdict::Linearizable);
    assert!(matches!(check_register("r", &operations, 0, 10), Verdict::NotLinearizable { .. }));
}

/// A small deterministic generator (xorshift).
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// A linearizable history of `count` operations by `processes` clients, each one after another:
/// every operation takes effect at a random instant inside its interval, where its call and
/// outcome are chosen against the register's value then (reads, cas mostly from the right value,
/// a few writes of fresh values, one in fifty of unknown outcome, half of which never take effect).
fn simulated_history(processes: u64, count: usize, seed: u64) -> Vec<TestOperation> {
    let mut random = Random(seed);
    let mut intervals: Vec<(u64, u64, u64, u64)> = Vec::new();
    let mut clocks = vec![0u64; processes as usize];
    for index in 0..count {
        let process = index as u64 % processes;
        let start = clocks[process as usize] + 1 + random.below(20);
        let effect = start + 1 + random.below(50);
        let end = effect + 1 + random.below(50);
        clocks[process as usize] = end;
        intervals.push((effect, process, start, end));
    }
    intervals.sort();
    let (mut value, mut next_written) = (0i64, 1000i64);
    let mut operations = Vec::new();
    for (_, process, start, end) in intervals {
        let unknown = random.below(50) == 0;
        let takes_effect = !unknown || random.below(2) == 0;
        let call = match random.below(20) {
            0..=9 => Read(value),
            10..=17 => Cas(if random.below(4) == 0 { value - 1 } else { value }, value + 1),
            _ => {
                next_written += 1_000_000;
                Write(next_written)
            }
        };
        let succeeds = !matches!(call, Cas(expected, _) if expected != value);
        if takes_effect && succeeds {
            value = match call {
                Read(read) => read,
                Write(written) | Cas(_, written) => written,
            };
        }
        let ending = match (unknown, succeeds) {
            (true, _) => Ending::Info,
            (false, true) => Ending::Ok,
            (false, false) => Ending::Fail,
        };
        operations.push(TestOperation { process, call, ending, start, end });
    }
    operations
}

#[test]
fn long_concurrent_histories_are_decided_within_budget() {
    let mut operations = simulated_history(10, 3_000, 0x5eed);
    assert!(operations.iter().filter(|operation| operation.ending == Ending::Info).count() >= 10);
    assert_eq!(verdict_with_budget(&operations, 5_000_000), Verdict::Linearizable);

    let last = operations.iter().map(|operation| operation.end).max().unwrap_or(0);
    operations.push(ok(10, Write(-1), last + 10, last + 20));
    operations.push(ok(11, Read(-2), last + 30, last + 40));
    let verdict = verdict_with_budget(&operations, 5_000_000);
    assert!(matches!(verdict, Verdict::NotLinearizable { .. }), "{verdict:?}");
}
