//! shardkeeper's jepsen-style suite: clients that record a history of operations against the
//! docker-compose deployment while a nemesis injects faults, and checkers that decide afterwards
//! whether the history is one shardkeeper may produce. `run.sh` drives it; docs/jepsen.md says
//! what it proves and what it does not.

pub mod api;
pub mod checker;
pub mod deployment;
pub mod history;
pub mod nemesis;
pub mod report;
pub mod workload;
