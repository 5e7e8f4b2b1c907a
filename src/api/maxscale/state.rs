//! A server's `state` in MaxScale's words, from the declared node and the leader's latest probe.
//! Pure: no service calls.
//!
//! - not probed yet or unreachable: `Down` (`Auth Error, Down` when the server refused our login)
//! - in maintenance: `Maintenance, Running` / `Maintenance, Down`
//! - draining: `Draining, ...` while routed connections remain, `Drained, ...` once none do
//! - the declared master, writable and not replicating: `Master, Running`
//! - a declared replica replicating from the master (both threads running): `Slave, Running`
//! - otherwise reachable: `Running`

use crate::health::{replicates_from, NodeObservation};
use crate::meta::{AdminState, NodeRole};
use crate::mysql::{IoThreadState, ServerState};

/// MySQL / MariaDB login refusals: access denied for user (1045), to database (1044), plugin (1698).
const AUTH_ERRORS: [&str; 3] = ["server error 1045 ", "server error 1044 ", "server error 1698 "];

/// What the state string is computed from.
pub struct StateInputs<'a> {
    pub role: NodeRole,
    pub admin_state: AdminState,
    pub observation: Option<&'a NodeObservation>,
    /// The shard master's `host:port`, for a replica.
    pub master_addr: Option<&'a str>,
    /// Routed connections open to the server now.
    pub connections: u64,
}

pub fn state_words(inputs: &StateInputs<'_>) -> String {
    let live = inputs.observation.and_then(NodeObservation::live_state);
    let mut words: Vec<&str> = Vec::new();
    match inputs.admin_state {
        AdminState::Maintenance => words.push("Maintenance"),
        AdminState::Drain if inputs.connections > 0 => words.push("Draining"),
        AdminState::Drain => words.push("Drained"),
        AdminState::Active => {}
    }
    match live {
        Some(state) => {
            if inputs.admin_state != AdminState::Maintenance {
                words.extend(role_word(inputs, state));
            }
            words.push("Running");
        }
        None => {
            if inputs.observation.and_then(|o| o.last_error.as_deref()).is_some_and(is_auth_failure) {
                words.push("Auth Error");
            }
            words.push("Down");
        }
    }
    words.join(", ")
}

fn role_word(inputs: &StateInputs<'_>, state: &ServerState) -> Option<&'static str> {
    match inputs.role {
        NodeRole::Master => {
            let replicating = state.replica.as_ref().is_some_and(|replica| replica.io_running_or_connecting());
            (!state.read_only && !replicating).then_some("Master")
        }
        NodeRole::Slave => {
            let attached = inputs.master_addr.is_some_and(|master| replicates_from(state, master))
                && state.replica.as_ref().is_some_and(|r| r.io_state == IoThreadState::Running && r.sql_running);
            attached.then_some("Slave")
        }
    }
}

/// The probe failed because the server refused shardkeeper's login (`DbError::Server`'s text).
pub fn is_auth_failure(last_error: &str) -> bool {
    AUTH_ERRORS.iter().any(|code| last_error.contains(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::test_fixtures::{primary, replica, MASTER, REPLICA_1};
    use crate::mysql::DbError;

    fn seen(state: ServerState) -> NodeObservation {
        NodeObservation {
            node_id: "n".into(),
            addr: REPLICA_1.into(),
            reachable: true,
            consecutive_failures: 0,
            last_error: None,
            probed_at_ms: 1,
            last_seen_ms: Some(1),
            state: Some(state),
        }
    }

    fn lost(error: DbError) -> NodeObservation {
        NodeObservation { reachable: false, consecutive_failures: 3, last_error: Some(error.to_string()), ..seen(primary(1, "0-1-1")) }
    }

    fn refused() -> DbError {
        DbError::Unreachable { addr: REPLICA_1.into(), message: "connection refused".into() }
    }

    fn denied() -> DbError {
        DbError::Server { addr: REPLICA_1.into(), op: "connect".into(), code: 1045, state: "28000".into(), message: "access denied".into() }
    }

    /// (case, role, admin state, observation, open connections, state string)
    type StateCase<'a> = (&'static str, NodeRole, AdminState, Option<&'a NodeObservation>, u64, &'static str);

    #[test]
    fn state_words_follow_maxscale() {
        use AdminState::{Active, Drain, Maintenance};
        use IoThreadState::{Connecting, Running};
        use NodeRole::{Master, Slave};
        let master = seen(primary(1, "0-1-5"));
        let read_only_master = seen(ServerState { read_only: true, ..primary(1, "0-1-5") });
        let attached = seen(replica(2, "0-1-5", MASTER, Running));
        let connecting = seen(replica(2, "0-1-5", MASTER, Connecting));
        let elsewhere = seen(replica(2, "0-1-5", "10.0.0.9:3306", Running));
        let (down, auth) = (lost(refused()), lost(denied()));
        let cases: [StateCase; 13] = [
            ("master", Master, Active, Some(&master), 0, "Master, Running"),
            ("read-only master", Master, Active, Some(&read_only_master), 0, "Running"),
            ("replica", Slave, Active, Some(&attached), 0, "Slave, Running"),
            ("replica reconnecting", Slave, Active, Some(&connecting), 0, "Running"),
            ("replica of another server", Slave, Active, Some(&elsewhere), 0, "Running"),
            ("not probed yet", Slave, Active, None, 0, "Down"),
            ("unreachable", Slave, Active, Some(&down), 0, "Down"),
            ("login refused", Master, Active, Some(&auth), 0, "Auth Error, Down"),
            ("maintenance", Slave, Maintenance, Some(&attached), 3, "Maintenance, Running"),
            ("maintenance and down", Slave, Maintenance, Some(&down), 0, "Maintenance, Down"),
            ("draining", Slave, Drain, Some(&attached), 2, "Draining, Slave, Running"),
            ("drained", Slave, Drain, Some(&attached), 0, "Drained, Slave, Running"),
            ("drained master", Master, Drain, Some(&master), 0, "Drained, Master, Running"),
        ];
        for (name, role, admin_state, observation, connections, expected) in cases {
            let inputs = StateInputs { role, admin_state, observation, master_addr: Some(MASTER), connections };
            assert_eq!(state_words(&inputs), expected, "{name}");
        }
    }

    #[test]
    fn auth_failures_are_read_from_the_probe_error_text() {
        assert!(is_auth_failure(&denied().to_string()));
        assert!(!is_auth_failure(&refused().to_string()));
        let other = DbError::Server { addr: "a:1".into(), op: "probe".into(), code: 10450, state: "x".into(), message: "m".into() };
        assert!(!is_auth_failure(&other.to_string()));
    }
}
