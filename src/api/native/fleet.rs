//! shardkeeper's native extensions for the MySQL fleet: health findings, observations, recovery
//! records (list, acknowledge) and node flags (promotion rule, admin state, clearing a diverged
//! mark).

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{ClusterPath, NodePath};
use crate::api::envelope::{done, ok, with_version, ApiResult};
use crate::api::extract::{parse_index, IfMatch, JsonBody, PathParams, ReadConsistency};
use crate::health::{NodeObservation, ShardHealth};
use crate::meta::{AdminState, PromotionRule, Recovery};
use crate::service::MetaService;

/// `{"shards": [{"shard": 0, "master_id": ..., "findings": [...]}]}`
#[derive(Serialize)]
struct HealthView {
    shards: Vec<ShardHealth>,
}

/// `{"nodes": {"<node id>": {...}}}`
#[derive(Serialize)]
struct ObservationsView {
    nodes: BTreeMap<String, NodeObservation>,
}

/// `{"recoveries": [...]}`, newest first.
#[derive(Serialize)]
struct RecoveryList {
    recoveries: Vec<Recovery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AcknowledgeBody {
    by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PromotionRuleBody {
    promotion_rule: PromotionRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AdminStateBody {
    admin_state: AdminState,
}

#[derive(Deserialize)]
pub(super) struct RecoveryPath {
    namespace: String,
    cluster: String,
    id: String,
}

/// `GET .../clusters/{cluster}/health` → the analysis of every shard (answered by the leader).
pub(super) async fn health(State(service): State<MetaService>, PathParams(path): PathParams<ClusterPath>) -> ApiResult {
    let shards = service.cluster_health(&path.target()).await?;
    Ok(ok(HealthView { shards }))
}

/// `GET .../clusters/{cluster}/observations` → the leader's latest probe of each node of the cluster.
pub(super) async fn observations(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let nodes = service.cluster_observations(&path.target(), consistency).await?;
    Ok(ok(ObservationsView { nodes }))
}

/// `GET .../clusters/{cluster}/recoveries` → the cluster's recoveries, newest first.
pub(super) async fn recoveries(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let recoveries = service.cluster_recoveries(&path.target(), consistency).await?;
    Ok(ok(RecoveryList { recoveries }))
}

/// `POST .../clusters/{cluster}/recoveries/{id}/acknowledge {"by": "...", "comment": "..."}` → `"ok"`.
/// An acknowledged recovery no longer blocks the next automatic one.
pub(super) async fn acknowledge(
    State(service): State<MetaService>,
    PathParams(path): PathParams<RecoveryPath>,
    JsonBody(body): JsonBody<AcknowledgeBody>,
) -> ApiResult {
    let id: u64 = parse_index("recovery id", &path.id)?;
    let target = crate::service::ClusterRef { namespace: path.namespace, cluster: path.cluster };
    service.acknowledge_recovery(&target, id, body.by, body.comment).await?;
    Ok(done())
}

/// `POST .../nodes/{node_id}/promotion-rule {"promotion_rule": "prefer"|"neutral"|"must_not"}`.
pub(super) async fn promotion_rule(
    State(service): State<MetaService>,
    PathParams(path): PathParams<NodePath>,
    IfMatch(expected_version): IfMatch,
    JsonBody(body): JsonBody<PromotionRuleBody>,
) -> ApiResult {
    let (shard, node_id) = path.target()?;
    let version = service.set_promotion_rule(shard, node_id, body.promotion_rule, expected_version).await?;
    Ok(with_version(done(), version))
}

/// `PUT .../nodes/{node_id}/admin_state {"admin_state": "active"|"maintenance"|"drain"}`: replicated
/// through raft; maintenance keeps new routed connections away and the node out of failover,
/// drain only keeps new routed connections away.
pub(super) async fn admin_state(
    State(service): State<MetaService>,
    PathParams(path): PathParams<NodePath>,
    IfMatch(expected_version): IfMatch,
    JsonBody(body): JsonBody<AdminStateBody>,
) -> ApiResult {
    let (shard, node_id) = path.target()?;
    let version = service.set_node_admin_state(shard, node_id, body.admin_state, expected_version).await?;
    Ok(with_version(done(), version))
}

/// `POST .../nodes/{node_id}/clear-diverged`: an operator dealt with the node's extra transactions.
pub(super) async fn clear_diverged(State(service): State<MetaService>, PathParams(path): PathParams<NodePath>) -> ApiResult {
    let (shard, node_id) = path.target()?;
    let version = service.clear_diverged(shard, node_id).await?;
    Ok(with_version(done(), version))
}
