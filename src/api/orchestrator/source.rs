//! Where this flavor's handlers get the fleet from: the declared clusters (as `ShardTree`s) and the
//! leader's observations, read together so that each handler makes one call.
//!
//! Observations are best effort: when the leader cannot answer them (no leader, forwarding
//! failed) the views fall back to the declared topology with `IsLastCheckValid: false`, as the
//! API documents. The declared state itself follows the request's consistency.

use std::collections::HashMap;

use super::catalog::{shard_trees, ShardTree};
use crate::error::ServiceError;
use crate::health::NodeObservation;
use crate::meta::Recovery;
use crate::service::{Consistency, MetaService, RecoveryFilter};

/// Everything the cluster and instance endpoints render.
pub struct FleetSnapshot {
    pub trees: Vec<ShardTree>,
    /// By database node id; empty when the leader could not answer.
    pub observations: HashMap<String, NodeObservation>,
    /// Unix milliseconds when the snapshot was taken.
    pub now_ms: i64,
}

/// The declared fleet and the leader's observations of it.
pub async fn fleet_snapshot(service: &MetaService, consistency: Consistency) -> Result<FleetSnapshot, ServiceError> {
    let (clusters, observations) = tokio::join!(service.list_all_clusters(consistency), service.observations());
    let trees = shard_trees(&clusters?);
    let observations = observations.unwrap_or_else(|error| {
        tracing::debug!(error = %error, "observations unavailable, v2 views fall back to declared topology");
        HashMap::new()
    });
    Ok(FleetSnapshot { trees, observations, now_ms: crate::clock::unix_millis() })
}

/// The declared fleet only.
pub async fn fleet_catalog(service: &MetaService, consistency: Consistency) -> Result<Vec<ShardTree>, ServiceError> {
    Ok(shard_trees(&service.list_all_clusters(consistency).await?))
}

/// Every recovery record, newest first, and the declared fleet when a filter must resolve a
/// cluster hint (`with_catalog`).
pub async fn recoveries_with_catalog(
    service: &MetaService,
    consistency: Consistency,
    with_catalog: bool,
) -> Result<(Vec<Recovery>, Vec<ShardTree>), ServiceError> {
    let records = service.list_recoveries(&RecoveryFilter::default(), consistency).await?;
    let trees = if with_catalog { fleet_catalog(service, consistency).await? } else { Vec::new() };
    Ok((records, trees))
}
