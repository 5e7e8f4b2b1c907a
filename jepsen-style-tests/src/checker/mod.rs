//! Checkers: pure functions from a recorded history (and the final state read at the end) to a
//! report that counts anomalies.

pub mod failover;
pub mod register;
pub mod set;
pub mod unique_writes;
