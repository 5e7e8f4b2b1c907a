//! `GET /api/v2/clusters`, `/clusters/{name}`, `/clusters/{name}/instances`,
//! `/clusters/{name}/topology` and `/instances/{host}/{port}`. Each handler reads one fleet
//! snapshot and renders it; resolution and rendering live in `catalog`, `views` and `topology`.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::catalog::{find_instance, parse_port, resolve, ShardTree};
use super::envelope::{ok, V2Error, V2Result};
use super::extract::{V2Consistency, V2Path};
use super::source::{fleet_snapshot, FleetSnapshot};
use super::topology::ascii;
use super::views::{cluster_info, instance_views, InstanceView};
use crate::service::MetaService;

/// 500 codes of these endpoints.
const CLUSTER_LIST_ERROR: &str = "CLUSTER_LIST_ERROR";
const CLUSTER_ERROR: &str = "CLUSTER_ERROR";
const INSTANCE_ERROR: &str = "INSTANCE_ERROR";

#[derive(Deserialize)]
pub(super) struct NamePath {
    name: String,
}

#[derive(Deserialize)]
pub(super) struct InstancePath {
    host: String,
    port: String,
}

/// `{"clusterName": ..., "topology": "<ascii>"}`
#[derive(Serialize)]
struct TopologyView {
    #[serde(rename = "clusterName")]
    cluster_name: String,
    topology: String,
}

/// The tree `{name}` names, or 404.
fn resolved<'a>(snapshot: &'a FleetSnapshot, name: &str) -> Result<&'a ShardTree, V2Error> {
    resolve(&snapshot.trees, name).ok_or_else(|| V2Error::not_found(format!("cluster {name:?} cannot be resolved")))
}

fn instances_of(snapshot: &FleetSnapshot, tree: &ShardTree) -> Vec<(usize, InstanceView)> {
    instance_views(tree, &snapshot.observations, snapshot.now_ms)
}

/// `GET /api/v2/clusters` → every shard of every cluster, as cluster info.
pub(super) async fn list(State(service): State<MetaService>, V2Consistency(consistency): V2Consistency) -> V2Result {
    let snapshot =
        fleet_snapshot(&service, consistency).await.map_err(|error| V2Error::service(error, CLUSTER_LIST_ERROR))?;
    let infos: Vec<_> = snapshot.trees.iter().map(|tree| cluster_info(tree, &instances_of(&snapshot, tree))).collect();
    Ok(ok(infos))
}

/// `GET /api/v2/clusters/{name}` → one cluster info.
pub(super) async fn show(
    State(service): State<MetaService>,
    V2Consistency(consistency): V2Consistency,
    V2Path(path): V2Path<NamePath>,
) -> V2Result {
    let snapshot =
        fleet_snapshot(&service, consistency).await.map_err(|error| V2Error::service(error, CLUSTER_ERROR))?;
    let tree = resolved(&snapshot, &path.name)?;
    Ok(ok(cluster_info(tree, &instances_of(&snapshot, tree))))
}

/// `GET /api/v2/clusters/{name}/instances` → the cluster's instances, master first.
pub(super) async fn instances(
    State(service): State<MetaService>,
    V2Consistency(consistency): V2Consistency,
    V2Path(path): V2Path<NamePath>,
) -> V2Result {
    let snapshot =
        fleet_snapshot(&service, consistency).await.map_err(|error| V2Error::service(error, CLUSTER_ERROR))?;
    let tree = resolved(&snapshot, &path.name)?;
    let views: Vec<InstanceView> = instances_of(&snapshot, tree).into_iter().map(|(_, view)| view).collect();
    Ok(ok(views))
}

/// `GET /api/v2/clusters/{name}/topology` → `{"clusterName": ..., "topology": "<ascii tree>"}`.
pub(super) async fn topology(
    State(service): State<MetaService>,
    V2Consistency(consistency): V2Consistency,
    V2Path(path): V2Path<NamePath>,
) -> V2Result {
    let snapshot =
        fleet_snapshot(&service, consistency).await.map_err(|error| V2Error::service(error, CLUSTER_ERROR))?;
    let tree = resolved(&snapshot, &path.name)?;
    let views = instances_of(&snapshot, tree);
    let entries: Vec<(usize, &InstanceView)> = views.iter().map(|(depth, view)| (*depth, view)).collect();
    Ok(ok(TopologyView { cluster_name: tree.name.clone(), topology: ascii(&entries) }))
}

/// `GET /api/v2/instances/{host}/{port}` → one instance; 400 for a bad port, 404 for an unknown one.
pub(super) async fn instance(
    State(service): State<MetaService>,
    V2Consistency(consistency): V2Consistency,
    V2Path(path): V2Path<InstancePath>,
) -> V2Result {
    let port = parse_port(&path.port).map_err(V2Error::bad_request)?;
    let snapshot =
        fleet_snapshot(&service, consistency).await.map_err(|error| V2Error::service(error, INSTANCE_ERROR))?;
    let (tree, member) = find_instance(&snapshot.trees, &path.host, port)
        .ok_or_else(|| V2Error::not_found(format!("instance {}:{port} is not known", path.host)))?;
    let view = instances_of(&snapshot, tree)
        .into_iter()
        .map(|(_, view)| view)
        .find(|view| view.node_id == member.id)
        .ok_or_else(|| V2Error::not_found(format!("instance {}:{port} is not known", path.host)))?;
    Ok(ok(view))
}
