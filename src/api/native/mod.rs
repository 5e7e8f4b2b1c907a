//! The native flavor, mounted under `/api/v1`: the kvrocks-controller HTTP API (namespaces,
//! clusters, shards, nodes, failover, slot migration) with its envelope and status codes, and the
//! fixes documented in docs/api.md (DELETE deletes a namespace, GET fetches one; secrets are never
//! returned).
//!
//! Owns: routes, request bodies and response shapes of this flavor. Must not hold logic: each
//! handler extracts, makes one service call and maps the result. Leadership, forwarding and
//! timeouts live in `node`; statuses of service errors come from `crate::error`.

mod clusters;
mod fleet;
mod migrate;
mod namespaces;
mod nodes;
mod shards;
mod views;
#[cfg(fuzzing)]
pub mod fuzzing;

use axum::routing::{delete, get, post, put};
use axum::Router;
use serde::Deserialize;

use super::envelope::ApiError;
use super::extract::parse_index;
use crate::service::{ClusterRef, MetaService, ShardRef};

const CLUSTER: &str = "/namespaces/{namespace}/clusters/{cluster}";
const SHARD: &str = "/namespaces/{namespace}/clusters/{cluster}/shards/{shard}";

/// Every native route, relative to `/api/v1`.
pub(super) fn routes() -> Router<MetaService> {
    Router::new()
        .route("/namespaces", get(namespaces::list).post(namespaces::create))
        .route("/namespaces/{namespace}", get(namespaces::show).delete(namespaces::remove))
        .route("/namespaces/{namespace}/clusters", get(clusters::list).post(clusters::create))
        .route(CLUSTER, get(clusters::show).delete(clusters::remove))
        .route(&format!("{CLUSTER}/import"), post(clusters::import))
        .route(&format!("{CLUSTER}/migrate"), post(migrate::migrate))
        .route(&format!("{CLUSTER}/shards"), get(shards::list).post(shards::create))
        .route(SHARD, get(shards::show).delete(shards::remove))
        .route(&format!("{SHARD}/failover"), post(shards::failover))
        .route(&format!("{SHARD}/nodes"), get(nodes::list).post(nodes::create))
        .route(&format!("{SHARD}/nodes/{{node_id}}"), delete(nodes::remove))
        .route(&format!("{CLUSTER}/health"), get(fleet::health))
        .route(&format!("{CLUSTER}/observations"), get(fleet::observations))
        .route(&format!("{CLUSTER}/recoveries"), get(fleet::recoveries))
        .route(&format!("{CLUSTER}/recoveries/{{id}}/acknowledge"), post(fleet::acknowledge))
        .route(&format!("{SHARD}/nodes/{{node_id}}/promotion-rule"), post(fleet::promotion_rule))
        .route(&format!("{SHARD}/nodes/{{node_id}}/clear-diverged"), post(fleet::clear_diverged))
        .route(&format!("{SHARD}/nodes/{{node_id}}/admin_state"), put(fleet::admin_state))
}

#[derive(Deserialize)]
struct NamespacePath {
    namespace: String,
}

#[derive(Deserialize)]
struct ClusterPath {
    namespace: String,
    cluster: String,
}

impl ClusterPath {
    fn target(self) -> ClusterRef {
        ClusterRef { namespace: self.namespace, cluster: self.cluster }
    }
}

#[derive(Deserialize)]
struct ShardPath {
    namespace: String,
    cluster: String,
    shard: String,
}

impl ShardPath {
    /// The shard named by the path; its index segment must be a non-negative integer (400).
    fn target(self) -> Result<ShardRef, ApiError> {
        let shard = parse_index("shard index", &self.shard)?;
        Ok(ShardRef { cluster: ClusterRef { namespace: self.namespace, cluster: self.cluster }, shard })
    }
}

#[derive(Deserialize)]
struct NodePath {
    namespace: String,
    cluster: String,
    shard: String,
    node_id: String,
}

impl NodePath {
    fn target(self) -> Result<(ShardRef, String), ApiError> {
        let shard = ShardPath { namespace: self.namespace, cluster: self.cluster, shard: self.shard };
        Ok((shard.target()?, self.node_id))
    }
}
