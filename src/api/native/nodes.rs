//! Node endpoints: `.../shards/{shard}/nodes[/{node_id}]`.

use axum::extract::State;
use serde::Deserialize;

use super::views::{NodeList, NodeView};
use super::{NodePath, ShardPath};
use crate::api::envelope::{created, done, ok, with_version, ApiError, ApiResult};
use crate::api::extract::{IfMatch, JsonBody, PathParams, ReadConsistency};
use crate::meta::{NodeRole, Secret};
use crate::service::MetaService;

#[derive(Deserialize)]
pub(super) struct CreateNodeBody {
    addr: String,
    /// `"master"` or `"slave"`; absent, `null` or `""` is `"slave"`.
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    /// shardkeeper extension: the server name (MaxScale flavor), unique in the fleet.
    #[serde(default)]
    name: Option<String>,
}

impl CreateNodeBody {
    pub(super) fn role(&self) -> Result<NodeRole, ApiError> {
        match self.role.as_deref() {
            None | Some("") => Ok(NodeRole::Slave),
            Some(role) if role.eq_ignore_ascii_case("slave") => Ok(NodeRole::Slave),
            Some(role) if role.eq_ignore_ascii_case("master") => Ok(NodeRole::Master),
            Some(role) => Err(ApiError::invalid(format!("role {role:?} is not \"master\" or \"slave\""))),
        }
    }
}

/// `POST .../nodes` → 201, `ETag` = the cluster version after it; honours `If-Match`.
pub(super) async fn create(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ShardPath>,
    IfMatch(expected_version): IfMatch,
    JsonBody(body): JsonBody<CreateNodeBody>,
) -> ApiResult {
    let target = path.target()?;
    let role = body.role()?;
    let password = body.password.unwrap_or_default();
    let version = service.create_node(target, body.addr, body.name, role, password, expected_version).await?;
    Ok(with_version(created(), version))
}

/// `GET .../nodes` → `{"nodes": [...]}`.
pub(super) async fn list(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ShardPath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let nodes = service.list_nodes(&path.target()?, consistency).await?;
    Ok(ok(NodeList { nodes: nodes.iter().map(NodeView::from).collect() }))
}

/// `DELETE .../nodes/{node_id}` → `"ok"`, `ETag` = the cluster version after it; refused (409) for
/// the shard's master; honours `If-Match`.
pub(super) async fn remove(
    State(service): State<MetaService>,
    PathParams(path): PathParams<NodePath>,
    IfMatch(expected_version): IfMatch,
) -> ApiResult {
    let (target, node_id) = path.target()?;
    let version = service.delete_node(target, node_id, expected_version).await?;
    Ok(with_version(done(), version))
}
