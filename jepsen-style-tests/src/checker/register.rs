//! The register checker: decides whether the operations on each compare-and-set register of the
//! register workload are linearizable. This module owns the pairing of register invokes with
//! their completions (and the detection of malformed histories), the per-key report, and the
//! linearizability search itself.
//!
//! The search is Wing and Gong's algorithm with Lowe's memoisation (WGL): it builds a
//! linearization one operation at a time, only ever choosing an operation whose real-time
//! predecessors (operations completed before it was invoked) are already linearized, and
//! backtracks on dead ends. Each dead end is remembered as the set of linearized operations and
//! the register's value, so that no state is explored twice. Two refinements keep it small:
//! - an acknowledged read that matches the current value is linearized at once, without
//!   branching (a read changes nothing, so linearizing it as early as possible loses nothing);
//! - operations of unknown outcome are optional, so a dead end reached with a set `J` of them
//!   linearized also rules out every state with the same acknowledged operations, the same value
//!   and a superset of `J`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::history::{Event, EventKind};

/// What a register operation did, with the values the history records for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// A read that returned this value.
    Read(i64),
    Write(i64),
    Cas { expected: i64, new: i64 },
}

/// One operation on one register that may have taken effect (failed operations never did and
/// are left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub process: u64,
    pub function: Function,
    pub invoked_ns: u64,
    /// When it was acknowledged; `None` when its outcome is unknown, in which case it may take
    /// effect at any time after its invocation, or never (a read of unknown outcome constrains
    /// nothing and is ignored).
    pub completed_ns: Option<u64>,
}

/// The outcome of checking one register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    Linearizable,
    /// The search proved that no linearization exists.
    NotLinearizable { explanation: String },
    /// The search ran out of budget before finding a linearization or proving there is none.
    Unknown { reason: String },
}

/// The verdict on one register, with how its operations ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyReport {
    pub key: String,
    pub ok: usize,
    pub fail: usize,
    /// Operations of unknown outcome, including invokes that were never completed.
    pub info: usize,
    pub verdict: Verdict,
}

/// The register checker's report on a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterReport {
    /// One entry per register, sorted by key.
    pub keys: Vec<KeyReport>,
    /// Malformed register events (a completion without an invoke, two invokes in a row for one
    /// process, missing values); the checker works around them, but the history is suspect.
    pub errors: Vec<String>,
}

impl RegisterReport {
    /// How many registers were proved not linearizable.
    pub fn anomalies(&self) -> usize {
        self.keys.iter().filter(|key| matches!(key.verdict, Verdict::NotLinearizable { .. })).count()
    }

    /// How many registers the search could not decide within its budget.
    pub fn unknown(&self) -> usize {
        self.keys.iter().filter(|key| matches!(key.verdict, Verdict::Unknown { .. })).count()
    }
}

/// Checks every register of the `register` workload in `events` (a whole run's history; other
/// workloads are ignored). Every register starts at `initial`; the search of each register may
/// explore at most `budget` states before answering [`Verdict::Unknown`].
pub fn check_registers(events: &[Event], initial: i64, budget: usize) -> RegisterReport {
    let mut errors = Vec::new();
    let histories = collect_key_histories(events, &mut errors);
    let keys = histories
        .into_iter()
        .map(|(key, history)| {
            let verdict = check_register(&key, &history.operations, initial, budget);
            KeyReport { key, ok: history.ok, fail: history.fail, info: history.info, verdict }
        })
        .collect();
    RegisterReport { keys, errors }
}

/// Checks that `operations` on the register named `key` (the name only appears in messages),
/// starting at `initial`, are linearizable, exploring at most `budget` states.
pub fn check_register(key: &str, operations: &[Operation], initial: i64, budget: usize) -> Verdict {
    Search::new(key, operations, initial, budget).run()
}

impl fmt::Display for Function {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Function::Read(value) => write!(formatter, "read {value}"),
            Function::Write(value) => write!(formatter, "write {value}"),
            Function::Cas { expected, new } => write!(formatter, "cas {expected} -> {new}"),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Operation { process, function, invoked_ns, completed_ns } = self;
        write!(formatter, "process {process} {function} (")?;
        match completed_ns {
            Some(completed) => write!(formatter, "ok, invoked at {invoked_ns} ns, completed at {completed} ns)"),
            None => write!(formatter, "outcome unknown, invoked at {invoked_ns} ns)"),
        }
    }
}

/// The operations of one register and how they ended.
#[derive(Default)]
struct KeyHistory {
    operations: Vec<Operation>,
    ok: usize,
    fail: usize,
    info: usize,
}

/// Pairs each register invoke with the next event of its process and groups the operations by
/// register; malformed events are reported in `errors` and worked around.
fn collect_key_histories(events: &[Event], errors: &mut Vec<String>) -> BTreeMap<String, KeyHistory> {
    let mut histories: BTreeMap<String, KeyHistory> = BTreeMap::new();
    let mut outstanding: HashMap<u64, &Event> = HashMap::new();
    for event in events.iter().filter(|event| event.workload == "register") {
        if event.kind == EventKind::Invoke {
            if let Some(previous) = outstanding.insert(event.process, event) {
                errors.push(format!("{} while its {} is outstanding", describe_event(event), describe_event(previous)));
                add_operation(&mut histories, previous, None, errors);
            }
            continue;
        }
        match outstanding.remove(&event.process) {
            None => errors.push(format!("{} without an invoke", describe_event(event))),
            Some(invoke) if invoke.f != event.f || invoke.key != event.key => {
                errors.push(format!("{} does not match its {}", describe_event(event), describe_event(invoke)));
                add_operation(&mut histories, invoke, None, errors);
            }
            Some(invoke) => add_operation(&mut histories, invoke, Some(event), errors),
        }
    }
    let mut never_completed: Vec<&Event> = outstanding.into_values().collect();
    never_completed.sort_by_key(|invoke| (invoke.time_ns, invoke.process));
    for invoke in never_completed {
        add_operation(&mut histories, invoke, None, errors);
    }
    histories
}

fn describe_event(event: &Event) -> String {
    let kind = match event.kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    };
    let key = event.key.as_deref().unwrap_or("(no key)");
    format!("process {} {kind} {} on {key} at {} ns", event.process, event.f, event.time_ns)
}

/// Counts one operation in its register's history and keeps it if it may have taken effect; a
/// missing completion counts as an unknown outcome.
fn add_operation(
    histories: &mut BTreeMap<String, KeyHistory>,
    invoke: &Event,
    completion: Option<&Event>,
    errors: &mut Vec<String>,
) {
    let Some(key) = &invoke.key else {
        errors.push(format!("{} has no register key", describe_event(invoke)));
        return;
    };
    let history = histories.entry(key.clone()).or_default();
    let kind = completion.map_or(EventKind::Info, |completion| completion.kind);
    match kind {
        EventKind::Ok => history.ok += 1,
        EventKind::Fail => history.fail += 1,
        EventKind::Info | EventKind::Invoke => history.info += 1,
    }
    let acknowledged = completion.filter(|_| kind == EventKind::Ok);
    if kind == EventKind::Fail || (invoke.f == "read" && acknowledged.is_none()) {
        return;
    }
    match function_of(invoke, acknowledged) {
        Ok(function) => history.operations.push(Operation {
            process: invoke.process,
            function,
            invoked_ns: invoke.time_ns,
            completed_ns: acknowledged.map(|completion| completion.time_ns),
        }),
        Err(problem) => errors.push(problem),
    }
}

/// The function of an operation that may have taken effect: a read's value comes from its
/// acknowledgement, a write's and a cas's from the invoke.
fn function_of(invoke: &Event, acknowledged: Option<&Event>) -> Result<Function, String> {
    let integer = |event: &Event, field: &str| {
        let found = event.value.get(field).and_then(Value::as_i64);
        found.ok_or_else(|| format!("{} has no integer {field:?} in {}", describe_event(event), event.value))
    };
    match (invoke.f.as_str(), acknowledged) {
        ("read", Some(completion)) => integer(completion, "value").map(Function::Read),
        ("write", _) => integer(invoke, "value").map(Function::Write),
        ("cas", _) => Ok(Function::Cas { expected: integer(invoke, "expected")?, new: integer(invoke, "new")? }),
        (other, _) => Err(format!("{} has unknown register function {other:?}", describe_event(invoke))),
    }
}

/// An operation in the search: an acknowledged one (index into `Search::acknowledged`, sorted by
/// invocation) or one of unknown outcome (index into `Search::uncertain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OperationRef {
    Acknowledged(usize),
    Uncertain(usize),
}

/// A linearized operation and what it changed, so that it can be undone.
struct Step {
    operation: OperationRef,
    value_before: i64,
    frontier_before: usize,
    upper_before: usize,
}

/// Identifies the linearized acknowledged operations and the value: every operation below
/// `frontier` is linearized, `window` holds the bits from the word of `frontier` to the highest
/// linearized operation, and none is linearized beyond.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct StateKey {
    value: i64,
    frontier: usize,
    window: Box<[u64]>,
}

/// A state whose possible next operations are being tried.
struct Frame {
    key: StateKey,
    moves: Vec<Move>,
    next_move: usize,
    steps_before: usize,
}

/// An operation that can be linearized next and the value it leaves.
#[derive(Clone, Copy)]
struct Move {
    operation: OperationRef,
    value_after: i64,
}

/// What entering a state led to.
enum Entry {
    Solved,
    Pruned,
    Exhausted,
    Expanded(Frame),
}

/// The state that linearized the most acknowledged operations, kept to explain a failure.
struct Deepest {
    acknowledged: usize,
    prefix: Vec<OperationRef>,
    value: i64,
    blocked: Vec<usize>,
}

/// How many steps of the longest prefix an explanation shows.
const PREFIX_SHOWN: usize = 6;

struct Search<'a> {
    key: &'a str,
    acknowledged: Vec<&'a Operation>,
    uncertain: Vec<&'a Operation>,
    /// `earliest_completion_from[i]`: the earliest completion among acknowledged operations `i..`.
    earliest_completion_from: Vec<u64>,
    acknowledged_done: Vec<u64>,
    acknowledged_done_count: usize,
    frontier: usize,
    upper: usize,
    uncertain_done: Vec<u64>,
    value: i64,
    steps: Vec<Step>,
    /// Dead ends: for each acknowledged set and value, the minimal sets of uncertain operations
    /// with which no linearization could be completed.
    dead_ends: HashMap<StateKey, Vec<Box<[u64]>>>,
    explored: usize,
    budget: usize,
    deepest: Option<Deepest>,
}

impl<'a> Search<'a> {
    fn new(key: &'a str, operations: &'a [Operation], initial: i64, budget: usize) -> Search<'a> {
        let (mut acknowledged, mut uncertain): (Vec<&Operation>, Vec<&Operation>) =
            operations.iter().partition(|operation| operation.completed_ns.is_some());
        uncertain.retain(|operation| !matches!(operation.function, Function::Read(_)));
        acknowledged.sort_by_key(|operation| (operation.invoked_ns, completion(operation)));
        uncertain.sort_by_key(|operation| operation.invoked_ns);
        let mut earliest_completion_from = vec![u64::MAX; acknowledged.len() + 1];
        for index in (0..acknowledged.len()).rev() {
            earliest_completion_from[index] = earliest_completion_from[index + 1].min(completion(acknowledged[index]));
        }
        Search {
            key,
            acknowledged_done: vec![0; acknowledged.len().div_ceil(64)],
            uncertain_done: vec![0; uncertain.len().div_ceil(64)],
            acknowledged,
            uncertain,
            earliest_completion_from,
            acknowledged_done_count: 0,
            frontier: 0,
            upper: 0,
            value: initial,
            steps: Vec::new(),
            dead_ends: HashMap::new(),
            explored: 0,
            budget,
            deepest: None,
        }
    }

    /// Depth-first search with an explicit stack of frames, one per state on the current path.
    fn run(mut self) -> Verdict {
        let mut frames = Vec::new();
        let mut entry = self.enter(0);
        loop {
            match entry {
                Entry::Solved => return Verdict::Linearizable,
                Entry::Exhausted => return self.exhausted(),
                Entry::Pruned => {}
                Entry::Expanded(frame) => frames.push(frame),
            }
            let Some(frame) = frames.last_mut() else { return self.not_linearizable() };
            if let Some(next) = frame.moves.get(frame.next_move).copied() {
                frame.next_move += 1;
                let steps_before = self.steps.len();
                self.linearize(next);
                entry = self.enter(steps_before);
            } else {
                let frame = frames.pop().expect("the frame just looked at");
                self.remember_dead_end(frame.key);
                self.undo_to(frame.steps_before);
                entry = Entry::Pruned;
            }
        }
    }

    /// Completes the state just reached with the reads it allows, then decides whether it solves
    /// the search, is a known dead end, or must be expanded. `steps_before` is where to undo to
    /// when leaving it.
    fn enter(&mut self, steps_before: usize) -> Entry {
        self.linearize_matching_reads();
        let Some(deadline) = self.deadline() else { return Entry::Solved };
        let key = self.state_key();
        if self.is_known_dead_end(&key) {
            self.undo_to(steps_before);
            return Entry::Pruned;
        }
        if self.explored == self.budget {
            return Entry::Exhausted;
        }
        self.explored += 1;
        self.remember_if_deepest(deadline);
        Entry::Expanded(Frame { key, moves: self.moves(deadline), next_move: 0, steps_before })
    }

    /// The latest invocation time an operation may have to be linearized next: the earliest
    /// completion among the acknowledged operations not yet linearized (`None` once all are).
    fn deadline(&self) -> Option<u64> {
        if self.frontier == self.acknowledged.len() {
            return None;
        }
        let in_window = (self.frontier..self.upper)
            .filter(|&index| !bit(&self.acknowledged_done, index))
            .map(|index| completion(self.acknowledged[index]));
        in_window.chain([self.earliest_completion_from[self.upper]]).min()
    }

    /// Acknowledged operations not yet linearized whose real-time predecessors all are.
    fn acknowledged_candidates(&self, deadline: u64) -> impl Iterator<Item = usize> + '_ {
        (self.frontier..self.acknowledged.len())
            .take_while(move |&index| self.acknowledged[index].invoked_ns <= deadline)
            .filter(|&index| !bit(&self.acknowledged_done, index))
    }

    fn linearize_matching_reads(&mut self) {
        while let Some(deadline) = self.deadline() {
            let value = self.value;
            let matching_read = self
                .acknowledged_candidates(deadline)
                .find(|&index| self.acknowledged[index].function == Function::Read(value));
            let Some(index) = matching_read else { return };
            self.linearize(Move { operation: OperationRef::Acknowledged(index), value_after: value });
        }
    }

    /// The operations that can be linearized next: acknowledged ones first, earliest completion
    /// first, then those of unknown outcome that would change the value (one that would not
    /// leads to a state this one already covers).
    fn moves(&self, deadline: u64) -> Vec<Move> {
        let mut acknowledged: Vec<usize> = self.acknowledged_candidates(deadline).collect();
        acknowledged.sort_by_key(|&index| completion(self.acknowledged[index]));
        let acknowledged_moves = acknowledged.into_iter().filter_map(|index| {
            let value_after = apply(self.acknowledged[index].function, self.value)?;
            Some(Move { operation: OperationRef::Acknowledged(index), value_after })
        });
        let uncertain_moves = (0..self.uncertain.len())
            .take_while(|&index| self.uncertain[index].invoked_ns <= deadline)
            .filter(|&index| !bit(&self.uncertain_done, index))
            .filter_map(|index| {
                let value_after = apply(self.uncertain[index].function, self.value).filter(|&after| after != self.value)?;
                Some(Move { operation: OperationRef::Uncertain(index), value_after })
            });
        acknowledged_moves.chain(uncertain_moves).collect()
    }

    fn linearize(&mut self, next: Move) {
        self.steps.push(Step {
            operation: next.operation,
            value_before: self.value,
            frontier_before: self.frontier,
            upper_before: self.upper,
        });
        self.value = next.value_after;
        match next.operation {
            OperationRef::Uncertain(index) => flip_bit(&mut self.uncertain_done, index),
            OperationRef::Acknowledged(index) => {
                flip_bit(&mut self.acknowledged_done, index);
                self.acknowledged_done_count += 1;
                self.upper = self.upper.max(index + 1);
                while self.frontier < self.acknowledged.len() && bit(&self.acknowledged_done, self.frontier) {
                    self.frontier += 1;
                }
            }
        }
    }

    fn undo_to(&mut self, steps: usize) {
        while self.steps.len() > steps {
            let step = self.steps.pop().expect("more steps than the target");
            self.value = step.value_before;
            self.frontier = step.frontier_before;
            self.upper = step.upper_before;
            match step.operation {
                OperationRef::Uncertain(index) => flip_bit(&mut self.uncertain_done, index),
                OperationRef::Acknowledged(index) => {
                    flip_bit(&mut self.acknowledged_done, index);
                    self.acknowledged_done_count -= 1;
                }
            }
        }
    }

    fn state_key(&self) -> StateKey {
        let window = &self.acknowledged_done[self.frontier / 64..self.upper.div_ceil(64)];
        StateKey { value: self.value, frontier: self.frontier, window: window.into() }
    }

    fn is_known_dead_end(&self, key: &StateKey) -> bool {
        self.dead_ends.get(key).is_some_and(|dead| dead.iter().any(|uncertain| is_subset(uncertain, &self.uncertain_done)))
    }

    /// Records the current state, whose every continuation failed, keeping only minimal sets.
    fn remember_dead_end(&mut self, key: StateKey) {
        let current = &self.uncertain_done;
        let dead = self.dead_ends.entry(key).or_default();
        dead.retain(|uncertain| !is_subset(current, uncertain));
        dead.push(current.as_slice().into());
    }

    fn remember_if_deepest(&mut self, deadline: u64) {
        if self.deepest.as_ref().is_some_and(|deepest| deepest.acknowledged >= self.acknowledged_done_count) {
            return;
        }
        self.deepest = Some(Deepest {
            acknowledged: self.acknowledged_done_count,
            prefix: self.steps.iter().map(|step| step.operation).collect(),
            value: self.value,
            blocked: self.acknowledged_candidates(deadline).collect(),
        });
    }

    fn exhausted(&self) -> Verdict {
        let (key, explored, acknowledged, uncertain) = (self.key, self.explored, self.acknowledged.len(), self.uncertain.len());
        let reason = format!(
            "register {key}: budget exhausted: explored {explored} states of {acknowledged} acknowledged and {uncertain} unknown-outcome operations without finding a linearization or proving there is none"
        );
        Verdict::Unknown { reason }
    }

    fn not_linearizable(&self) -> Verdict {
        let Some(deepest) = &self.deepest else { unreachable!("the first state is always expanded") };
        let uncertain = deepest.prefix.iter().filter(|step| matches!(step, OperationRef::Uncertain(_))).count();
        let shown = &deepest.prefix[deepest.prefix.len().saturating_sub(PREFIX_SHOWN)..];
        let ending: Vec<String> = shown.iter().map(|&operation| self.operation(operation).to_string()).collect();
        let blocked: Vec<String> = deepest
            .blocked
            .iter()
            .map(|&index| {
                let operation = self.acknowledged[index];
                let why = match apply(operation.function, deepest.value) {
                    Some(_) => "every continuation after it fails",
                    None => "contradicts that value",
                };
                format!("{operation}: {why}")
            })
            .collect();
        let (key, linearized, acknowledged, value) = (self.key, deepest.acknowledged, self.acknowledged.len(), deepest.value);
        let explanation = format!(
            "register {key}: no linearization exists; the longest linearizable prefix holds {linearized} of {acknowledged} acknowledged operations (and {uncertain} of unknown outcome) and ends with: {}; the register then holds {value}, and none of these can come next: {}",
            if ending.is_empty() { "nothing".to_string() } else { ending.join("; ") },
            blocked.join("; ")
        );
        Verdict::NotLinearizable { explanation }
    }

    fn operation(&self, operation: OperationRef) -> &'a Operation {
        match operation {
            OperationRef::Acknowledged(index) => self.acknowledged[index],
            OperationRef::Uncertain(index) => self.uncertain[index],
        }
    }
}

/// The value after `function` applied to `value`, or `None` if it cannot have been linearized
/// there (a read of another value, a cas expecting another value).
fn apply(function: Function, value: i64) -> Option<i64> {
    match function {
        Function::Read(read) => (read == value).then_some(value),
        Function::Write(written) => Some(written),
        Function::Cas { expected, new } => (expected == value).then_some(new),
    }
}

fn completion(operation: &Operation) -> u64 {
    operation.completed_ns.unwrap_or(u64::MAX)
}

fn bit(words: &[u64], index: usize) -> bool {
    words[index / 64] & (1 << (index % 64)) != 0
}

/// Sets a clear bit when linearizing, clears a set one when undoing.
fn flip_bit(words: &mut [u64], index: usize) {
    words[index / 64] ^= 1 << (index % 64);
}

fn is_subset(smaller: &[u64], larger: &[u64]) -> bool {
    smaller.iter().zip(larger).all(|(small, large)| small & !large == 0)
}

#[cfg(test)]
#[path = "register_tests.rs"]
mod tests;
