//! What a node reports about itself: role, term, leader, progress, members, readiness.

use openraft::ServerState;
use serde::Serialize;

use super::Node;

/// A raft member as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    pub node_id: u64,
    pub grpc_addr: String,
    /// "voter" or "learner".
    pub kind: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeStatus {
    pub node_id: u64,
    pub leader_id: Option<u64>,
    /// "leader", "follower", "learner", "candidate" or "shutdown".
    pub role: &'static str,
    pub term: u64,
    pub last_applied: u64,
    pub members: Vec<Member>,
}

/// Entries a ready node may still have to apply: the in-flight window of a busy leader.
const READY_APPLY_LAG: u64 = 64;

impl Node {
    pub async fn status(&self) -> NodeStatus {
        let metrics = self.raft().metrics().borrow().clone();
        let members = members_of(metrics.membership_config.membership());
        let is_voter = metrics.membership_config.membership().voter_ids().any(|id| id == self.id());
        let role = match metrics.state {
            ServerState::Leader => "leader",
            ServerState::Candidate => "candidate",
            ServerState::Follower if is_voter => "follower",
            ServerState::Follower | ServerState::Learner => "learner",
            ServerState::Shutdown => "shutdown",
        };
        NodeStatus {
            node_id: self.id(),
            leader_id: metrics.current_leader,
            role,
            term: metrics.current_term,
            last_applied: metrics.last_applied.map(|log_id| log_id.index).unwrap_or(0),
            members,
        }
    }

    /// Ready once a leader is known and this node has applied the log it holds (up to a small
    /// in-flight window). The error says why not.
    pub fn readiness(&self) -> Result<(), String> {
        let metrics = self.raft().metrics().borrow().clone();
        if metrics.running_state.is_err() || metrics.state == ServerState::Shutdown {
            return Err("raft is not running".to_string());
        }
        if metrics.current_leader.is_none() {
            return Err("no raft leader is known".to_string());
        }
        let last_log = metrics.last_log_index.unwrap_or(0);
        let applied = metrics.last_applied.map(|log_id| log_id.index).unwrap_or(0);
        if last_log > applied + READY_APPLY_LAG {
            return Err(format!("still applying the log: applied {applied} of {last_log}"));
        }
        Ok(())
    }
}

/// Voters first, then learners, each by id.
pub(super) fn members_of(membership: &openraft::Membership<u64, openraft::BasicNode>) -> Vec<Member> {
    let voters: Vec<u64> = membership.voter_ids().collect();
    let mut members: Vec<Member> = membership
        .nodes()
        .map(|(id, node)| Member {
            node_id: *id,
            grpc_addr: node.addr.clone(),
            kind: if voters.contains(id) { "voter" } else { "learner" },
        })
        .collect();
    members.sort_by_key(|member| (member.kind != "voter", member.node_id));
    members
}
