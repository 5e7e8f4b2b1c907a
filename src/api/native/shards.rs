//! Shard endpoints: `.../clusters/{cluster}/shards[/{shard}[/failover]]`.

use axum::extract::State;
use serde::Deserialize;

use super::views::{FailoverDone, ShardList, ShardOne, ShardView};
use super::{ClusterPath, ShardPath};
use crate::api::envelope::{created, done, ok, with_version, ApiResult};
use crate::api::extract::{IfMatch, JsonBody, OptionalJsonBody, PathParams, ReadConsistency};
use crate::meta::Secret;
use crate::service::MetaService;

#[derive(Deserialize)]
pub(super) struct CreateShardBody {
    nodes: Vec<String>,
    #[serde(default)]
    password: Option<Secret>,
}

/// Unknown fields are refused here: a misspelt `preferred_node_id` must not silently turn into an
/// automatic choice of the new master.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FailoverBody {
    #[serde(default)]
    preferred_node_id: Option<String>,
}

impl FailoverBody {
    /// The preferred node; absent, `null` and `""` all leave the choice to shardkeeper.
    pub(super) fn preferred(self) -> Option<String> {
        self.preferred_node_id.filter(|id| !id.is_empty())
    }
}

/// `POST .../shards` → 201, `ETag` = the cluster version after it; honours `If-Match`.
pub(super) async fn create(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    IfMatch(expected_version): IfMatch,
    JsonBody(body): JsonBody<CreateShardBody>,
) -> ApiResult {
    let password = body.password.unwrap_or_default();
    let version = service.create_shard(path.target(), body.nodes, password, expected_version).await?;
    Ok(with_version(created(), version))
}

/// `GET .../shards` → `{"shards": [...]}`.
pub(super) async fn list(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let shards = service.list_shards(&path.target(), consistency).await?;
    Ok(ok(ShardList { shards: shards.iter().map(ShardView::from).collect() }))
}

/// `GET .../shards/{shard}` → `{"shard": {...}}`.
pub(super) async fn show(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ShardPath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let shard = service.get_shard(&path.target()?, consistency).await?;
    Ok(ok(ShardOne { shard: ShardView::from(&shard) }))
}

/// `DELETE .../shards/{shard}` → `"ok"`, `ETag` = the cluster version after it; refused (409) while
/// the shard owns slots; honours `If-Match`.
pub(super) async fn remove(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ShardPath>,
    IfMatch(expected_version): IfMatch,
) -> ApiResult {
    let version = service.delete_shard(path.target()?, expected_version).await?;
    Ok(with_version(done(), version))
}

/// `POST .../shards/{shard}/failover` (body optional) → `{"new_master_id": "..."}`; honours `If-Match`.
pub(super) async fn failover(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ShardPath>,
    IfMatch(expected_version): IfMatch,
    OptionalJsonBody(body): OptionalJsonBody<FailoverBody>,
) -> ApiResult {
    let new_master_id = service.failover(path.target()?, body.preferred(), expected_version).await?;
    Ok(ok(FailoverDone { new_master_id }))
}
