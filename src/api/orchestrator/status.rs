//! `GET /api/v2/status`: this node's health in the shape of orchestrator's `HealthStatus` (raft
//! variant). A node that is not ready (no raft leader known, raft stopped, far behind the log)
//! answers 500 `UNHEALTHY` with the reason.
//!
//! shardkeeper nodes are known to each other by their gRPC (raft) addresses, so `ActiveNode`,
//! `AvailableNodes`, `RaftLeader`, `RaftAdvertise` and `RaftHealthyMembers` hold those.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::envelope::{ok, V2Error, V2Result};
use crate::node::NodeStatus;
use crate::service::MetaService;

/// 500 code of an unhealthy node.
const UNHEALTHY: &str = "UNHEALTHY";

/// orchestrator's `NodeHealth`, the fields shardkeeper can fill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeHealth {
    pub hostname: String,
    pub token: String,
    pub app_version: String,
    pub first_seen_active: String,
    pub last_seen_active: String,
    pub extra_info: String,
    pub command: String,
    #[serde(rename = "DBBackend")]
    pub db_backend: String,
}

impl NodeHealth {
    fn named(hostname: &str) -> NodeHealth {
        NodeHealth {
            hostname: hostname.to_string(),
            token: String::new(),
            app_version: String::new(),
            first_seen_active: String::new(),
            last_seen_active: String::new(),
            extra_info: String::new(),
            command: String::new(),
            db_backend: "raft".to_string(),
        }
    }
}

/// orchestrator's `HealthStatus` with its raft fields, plus shardkeeper's node id, role and term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthStatus {
    #[serde(rename = "Healthy")]
    pub healthy: bool,
    #[serde(rename = "Hostname")]
    pub hostname: String,
    #[serde(rename = "Token")]
    pub token: String,
    #[serde(rename = "IsActiveNode")]
    pub is_active_node: bool,
    #[serde(rename = "ActiveNode")]
    pub active_node: NodeHealth,
    #[serde(rename = "Error")]
    pub error: Option<String>,
    #[serde(rename = "AvailableNodes")]
    pub available_nodes: Vec<NodeHealth>,
    /// The leader's raft (gRPC) address; empty when none is known.
    #[serde(rename = "RaftLeader")]
    pub raft_leader: String,
    #[serde(rename = "IsRaftLeader")]
    pub is_raft_leader: bool,
    /// Empty: nodes know each other's raft addresses only, not their HTTP addresses.
    #[serde(rename = "RaftLeaderURI")]
    pub raft_leader_uri: String,
    #[serde(rename = "RaftAdvertise")]
    pub raft_advertise: String,
    /// The voters of the current membership.
    #[serde(rename = "RaftHealthyMembers")]
    pub raft_healthy_members: Vec<String>,
    #[serde(rename = "NodeId")]
    pub node_id: u64,
    #[serde(rename = "Role")]
    pub role: &'static str,
    #[serde(rename = "Term")]
    pub term: u64,
}

/// This node's health from its raft status and readiness; `Err(reason)` when not ready.
pub fn health_status(
    status: &NodeStatus,
    readiness: Result<(), String>,
    hostname: &str,
    token: &str,
) -> Result<HealthStatus, String> {
    readiness?;
    let address_of = |id: u64| status.members.iter().find(|member| member.node_id == id).map(|m| m.grpc_addr.clone());
    let advertise = address_of(status.node_id).unwrap_or_default();
    let leader = status.leader_id.and_then(address_of).unwrap_or_default();
    let is_leader = status.leader_id == Some(status.node_id);
    let version = env!("CARGO_PKG_VERSION");
    let describe = |id: u64, addr: &str, kind: &str| {
        let mut node = NodeHealth::named(addr);
        node.extra_info = format!("raft node {id}, {kind}");
        if id == status.node_id {
            node.token = token.to_string();
            node.app_version = version.to_string();
        }
        node
    };
    let active_node = match status.leader_id {
        Some(id) => describe(id, &leader, "leader"),
        None => NodeHealth::named(""),
    };
    Ok(HealthStatus {
        healthy: true,
        hostname: hostname.to_string(),
        token: token.to_string(),
        is_active_node: is_leader,
        active_node,
        error: None,
        available_nodes: status.members.iter().map(|m| describe(m.node_id, &m.grpc_addr, m.kind)).collect(),
        raft_leader: leader,
        is_raft_leader: is_leader,
        raft_leader_uri: String::new(),
        raft_advertise: advertise,
        raft_healthy_members: status
            .members
            .iter()
            .filter(|member| member.kind == "voter")
            .map(|member| member.grpc_addr.clone())
            .collect(),
        node_id: status.node_id,
        role: status.role,
        term: status.term,
    })
}

/// `GET /api/v2/status`.
pub(super) async fn status(State(service): State<MetaService>) -> V2Result {
    let node_status = service.node().status().await;
    let readiness = service.node().readiness();
    let hostname = this_hostname().unwrap_or_else(|| {
        let own = node_status.members.iter().find(|member| member.node_id == node_status.node_id);
        own.map(|member| member.grpc_addr.clone()).unwrap_or_default()
    });
    let health = health_status(&node_status, readiness, &hostname, process_token()).map_err(|reason| {
        V2Error::new(StatusCode::INTERNAL_SERVER_ERROR, UNHEALTHY, format!("node is unhealthy: {reason}"))
    })?;
    Ok(ok(health))
}

/// The machine's host name (Linux), read once.
fn this_hostname() -> Option<String> {
    static HOSTNAME: OnceLock<Option<String>> = OnceLock::new();
    HOSTNAME
        .get_or_init(|| {
            ["/proc/sys/kernel/hostname", "/etc/hostname"]
                .iter()
                .filter_map(|path| std::fs::read_to_string(path).ok())
                .map(|text| text.trim().to_string())
                .find(|name| !name.is_empty())
        })
        .clone()
}

/// A random token for this process, like orchestrator's process token: 64 hex digits.
fn process_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| (0..4).map(|_| format!("{:016x}", rand::random::<u64>())).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::node::Member;

    fn node_status(node_id: u64, leader_id: Option<u64>) -> NodeStatus {
        let member = |id: u64, kind: &'static str| Member { node_id: id, grpc_addr: format!("10.0.0.{id}:9800"), kind };
        NodeStatus {
            node_id,
            leader_id,
            role: if leader_id == Some(node_id) { "leader" } else { "follower" },
            term: 4,
            last_applied: 10,
            members: vec![member(1, "voter"), member(2, "voter"), member(3, "voter"), member(4, "learner")],
        }
    }

    #[test]
    fn healthy_follower_names_the_leader() {
        let health = health_status(&node_status(2, Some(1)), Ok(()), "host-b", "tok").unwrap();
        let value = serde_json::to_value(&health).unwrap();
        assert_eq!(value["Healthy"], json!(true));
        assert_eq!(value["Hostname"], json!("host-b"));
        assert_eq!(value["Token"], json!("tok"));
        assert_eq!(value["IsActiveNode"], json!(false));
        assert_eq!(value["ActiveNode"]["Hostname"], json!("10.0.0.1:9800"));
        assert_eq!(value["ActiveNode"]["Token"], json!(""));
        assert_eq!(value["Error"], json!(null));
        assert_eq!(value["RaftLeader"], json!("10.0.0.1:9800"));
        assert_eq!(value["IsRaftLeader"], json!(false));
        assert_eq!(value["RaftLeaderURI"], json!(""));
        assert_eq!(value["RaftAdvertise"], json!("10.0.0.2:9800"));
        assert_eq!(value["RaftHealthyMembers"], json!(["10.0.0.1:9800", "10.0.0.2:9800", "10.0.0.3:9800"]));
        assert_eq!(value["AvailableNodes"].as_array().map(Vec::len), Some(4));
        assert_eq!(value["AvailableNodes"][1]["Token"], json!("tok"));
        assert_eq!(value["AvailableNodes"][3]["ExtraInfo"], json!("raft node 4, learner"));
        assert_eq!(
            (value["NodeId"].clone(), value["Role"].clone(), value["Term"].clone()),
            (json!(2), json!("follower"), json!(4))
        );
    }

    #[test]
    fn leader_is_the_active_node() {
        let health = health_status(&node_status(1, Some(1)), Ok(()), "host-a", "tok").unwrap();
        assert!(health.is_active_node && health.is_raft_leader);
        assert_eq!(health.active_node.token, "tok");
        assert_eq!(health.active_node.app_version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn not_ready_is_unhealthy() {
        let reason = health_status(&node_status(2, None), Err("no raft leader is known".to_string()), "h", "t");
        assert_eq!(reason.unwrap_err(), "no raft leader is known");
    }

    #[test]
    fn process_token_is_stable_hex() {
        let token = process_token();
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(token, process_token());
    }
}
