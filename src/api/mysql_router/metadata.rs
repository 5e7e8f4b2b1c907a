//! GET /metadata, /metadata/{metadataName}/config and /status: one metadata cache instance per
//! shardkeeper cluster that a route of this node points at, named `namespace.cluster`.
//!
//! A route re-reads its shard from this node's applied raft metadata on every applied entry and
//! every 500 ms (for the leader's fresh observations), so `timeRefreshInMs` is 500,
//! `refreshSucceeded` counts the routes' topology re-reads (the most of any route of the cluster),
//! `refreshFailed` is 0 (reading the local copy cannot fail) and `lastRefreshHostname` /
//! `lastRefreshPort` are this node's raft address.
//!
//! Owns these views and handlers; the grouping of routes by cluster is `service::routed_clusters`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::problem::{NamePath, Problem};
use super::views::{format_time, names, split_addr, Items, Named};
use crate::service::{MetaService, RoutedCluster};

/// The router's periodic re-read (`OBSERVATION_REFRESH` in src/router/topology.rs, not exported).
pub const TIME_REFRESH_IN_MS: u64 = 500;

/// GET /metadata/{metadataName}/config
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataConfigView {
    pub cluster_name: String,
    pub time_refresh_in_ms: u64,
    /// Every declared server of every shard; empty while the cluster does not exist.
    pub nodes: Vec<MetadataNodeView>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct MetadataNodeView {
    pub hostname: String,
    pub port: u16,
}

impl MetadataConfigView {
    pub fn of(cluster: &RoutedCluster) -> MetadataConfigView {
        let nodes = cluster
            .servers
            .iter()
            .map(|addr| {
                let (hostname, port) = split_addr(addr);
                MetadataNodeView { hostname, port }
            })
            .collect();
        MetadataConfigView { cluster_name: cluster.name.clone(), time_refresh_in_ms: TIME_REFRESH_IN_MS, nodes }
    }
}

/// GET /metadata/{metadataName}/status. The last-refresh fields appear once a refresh happened, as
/// Router leaves them out before its first success.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataStatusView {
    pub refresh_failed: u64,
    pub refresh_succeeded: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_last_refresh_succeeded: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh_hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh_port: Option<u16>,
}

impl MetadataStatusView {
    /// `source` is where the topology was read from (`host:port`).
    pub fn of(cluster: &RoutedCluster, source: Option<&str>) -> MetadataStatusView {
        let refreshed = cluster.last_topology_refresh.filter(|_| cluster.topology_refreshes > 0);
        let source = refreshed.and(source).map(split_addr);
        MetadataStatusView {
            refresh_failed: 0,
            refresh_succeeded: cluster.topology_refreshes,
            time_last_refresh_succeeded: refreshed.map(format_time),
            last_refresh_hostname: source.as_ref().map(|(host, _)| host.clone()),
            last_refresh_port: source.map(|(_, port)| port),
        }
    }
}

pub(super) async fn list(State(service): State<MetaService>) -> Json<Items<Named>> {
    Json(names(service.routed_clusters().into_iter().map(|cluster| cluster.name)))
}

pub(super) async fn config(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<MetadataConfigView>, Problem> {
    let cluster = find(&service, &target)?;
    Ok(Json(MetadataConfigView::of(&cluster)))
}

pub(super) async fn status(
    State(service): State<MetaService>,
    target: NamePath,
) -> Result<Json<MetadataStatusView>, Problem> {
    let cluster = find(&service, &target)?;
    let source = service.metadata_source().await;
    Ok(Json(MetadataStatusView::of(&cluster, source.as_deref())))
}

fn find(service: &MetaService, target: &NamePath) -> Result<RoutedCluster, Problem> {
    service.routed_cluster(&target.name).ok_or_else(|| Problem::not_found(&target.path))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use serde_json::json;

    use super::*;

    fn cluster(refreshes: u64) -> RoutedCluster {
        RoutedCluster {
            name: "prod.orders".into(),
            namespace: "prod".into(),
            cluster: "orders".into(),
            exists: true,
            servers: vec!["10.0.0.1:3306".into(), "db2.example:3307".into()],
            routes: vec!["orders_rw".into()],
            topology_refreshes: refreshes,
            last_topology_refresh: (refreshes > 0)
                .then(|| SystemTime::UNIX_EPOCH + Duration::from_micros(1_591_910_257_270_303)),
        }
    }

    #[test]
    fn config_lists_every_declared_server() {
        assert_eq!(
            serde_json::to_value(MetadataConfigView::of(&cluster(0))).unwrap(),
            json!({
                "clusterName": "prod.orders",
                "timeRefreshInMs": 500,
                "nodes": [{"hostname": "10.0.0.1", "port": 3306}, {"hostname": "db2.example", "port": 3307}]
            })
        );
    }

    #[test]
    fn status_names_the_last_refresh_once_there_was_one() {
        assert_eq!(
            serde_json::to_value(MetadataStatusView::of(&cluster(798), Some("127.0.0.1:7001"))).unwrap(),
            json!({
                "refreshFailed": 0,
                "refreshSucceeded": 798,
                "timeLastRefreshSucceeded": "2020-06-11T21:17:37.270303Z",
                "lastRefreshHostname": "127.0.0.1",
                "lastRefreshPort": 7001
            })
        );
        assert_eq!(
            serde_json::to_value(MetadataStatusView::of(&cluster(0), Some("127.0.0.1:7001"))).unwrap(),
            json!({"refreshFailed": 0, "refreshSucceeded": 0})
        );
    }
}
