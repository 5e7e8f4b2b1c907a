//! Operations endpoints: liveness (`/healthz`), readiness (`/readyz`), this node's raft view
//! (`/api/v1/status`) and raft membership (`/api/v1/raft/peers`), in the native envelope.
//!
//! Owns: the HTTP shape of these endpoints. Must not hold logic: membership changes, leadership and
//! forwarding live in `node`.

use axum::extract::State;
use axum::routing::{delete, get};
use axum::Router;
use serde::{Deserialize, Serialize};

use super::envelope::{ok, ApiResult};
use super::extract::{parse_index, JsonBody, PathParams, ReadConsistency};
use crate::error::ServiceError;
use crate::node::{Member, NodeStatus};
use crate::service::MetaService;

pub(super) fn routes() -> Router<MetaService> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/status", get(status))
        .route("/api/v1/raft/peers", get(peers).post(add_peer))
        .route("/api/v1/raft/peers/{node_id}", delete(remove_peer))
}

/// One raft member.
#[derive(Serialize)]
struct MemberView {
    node_id: u64,
    grpc_addr: String,
    /// `"voter"` or `"learner"`.
    kind: &'static str,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        MemberView { node_id: member.node_id, grpc_addr: member.grpc_addr, kind: member.kind }
    }
}

fn member_views(members: Vec<Member>) -> Vec<MemberView> {
    members.into_iter().map(MemberView::from).collect()
}

/// `{"members": [...]}`
#[derive(Serialize)]
struct MemberList {
    members: Vec<MemberView>,
}

/// This node's view of raft; `leader_id` is `null` while no leader is known.
#[derive(Serialize)]
struct StatusView {
    node_id: u64,
    leader_id: Option<u64>,
    role: &'static str,
    term: u64,
    last_applied: u64,
    members: Vec<MemberView>,
}

impl From<NodeStatus> for StatusView {
    fn from(status: NodeStatus) -> Self {
        StatusView {
            node_id: status.node_id,
            leader_id: status.leader_id,
            role: status.role,
            term: status.term,
            last_applied: status.last_applied,
            members: member_views(status.members),
        }
    }
}

#[derive(Deserialize)]
struct AddPeerBody {
    node_id: u64,
    grpc_addr: String,
}

#[derive(Deserialize)]
struct PeerPath {
    node_id: String,
}

/// `GET /healthz` → `"ok"` while the process serves HTTP.
async fn healthz() -> ApiResult {
    Ok(ok("ok"))
}

/// `GET /readyz` → `"ready"`, or 503 saying why not.
async fn readyz(State(service): State<MetaService>) -> ApiResult {
    service.node().readiness().map_err(ServiceError::unavailable)?;
    Ok(ok("ready"))
}

/// `GET /api/v1/status` → this node's raft view.
async fn status(State(service): State<MetaService>) -> ApiResult {
    let status = service.node().status().await;
    Ok(ok(StatusView::from(status)))
}

/// `GET /api/v1/raft/peers` → `{"members": [...]}`.
async fn peers(State(service): State<MetaService>, ReadConsistency(consistency): ReadConsistency) -> ApiResult {
    let members = service.node().members(consistency).await?;
    Ok(ok(MemberList { members: member_views(members) }))
}

/// `POST /api/v1/raft/peers` → the members after adding the node as a voter.
async fn add_peer(State(service): State<MetaService>, JsonBody(body): JsonBody<AddPeerBody>) -> ApiResult {
    let members = service.node().add_peer(body.node_id, body.grpc_addr).await?;
    Ok(ok(MemberList { members: member_views(members) }))
}

/// `DELETE /api/v1/raft/peers/{node_id}` → the members after removing the node.
async fn remove_peer(State(service): State<MetaService>, PathParams(path): PathParams<PeerPath>) -> ApiResult {
    let node_id = parse_index("raft node id", &path.node_id)?;
    let members = service.node().remove_peer(node_id).await?;
    Ok(ok(MemberList { members: member_views(members) }))
}
