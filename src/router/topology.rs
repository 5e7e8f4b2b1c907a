//! Following the topology: on every raft apply, every new copy of the leader's observations (on a
//! follower) and every `OBSERVATION_REFRESH` (the leader's own fresh observations) each route re-reads its shard from this node's applied metadata and
//! recomputes the servers that qualify. When the shard's primary changes, new connections go to the
//! new one at once and, with `disconnect_on_promoted_to_primary`, the established connections to
//! the old primary (PRIMARY routes) or to the promoted replica (SECONDARY routes) are closed;
//! PRIMARY_AND_SECONDARY routes are read-only and keep theirs.
//! Owns that loop; reads metadata and observations, never writes either.

use std::sync::Arc;
use std::time::Duration;

use super::choice::eligible;
use super::leader_observations::LeaderObservations;
use super::route::{Route, RouteView};
use super::status::RouteRole;
use crate::failover::Fleet;
use crate::meta::MetaState;
use crate::node::Node;

/// How often routes re-read the leader's observations when no raft entry arrives.
pub const OBSERVATION_REFRESH: Duration = Duration::from_millis(500);

/// Runs until raft shuts down (or the router stops).
pub(super) async fn follow(routes: Vec<Arc<Route>>, node: Node, fleet: Fleet, copied: LeaderObservations) {
    let mut metrics = node.raft().metrics();
    let mut ticker = tokio::time::interval(OBSERVATION_REFRESH);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seen_index = None;
    loop {
        let ticked = tokio::select! {
            changed = metrics.changed() => {
                if changed.is_err() {
                    return;
                }
                false
            }
            _ = ticker.tick() => true,
            _ = copied.arrived() => true,
        };
        let applied = node.reader().applied_index();
        if ticked || seen_index != Some(applied) {
            seen_index = Some(applied);
            node.reader().read(|state| routes.iter().for_each(|route| refresh(route, &state.meta, &fleet, &copied)));
        }
    }
}

/// Recomputes one route's view and closes what a promotion makes stale.
fn refresh(route: &Route, state: &MetaState, fleet: &Fleet, copied: &LeaderObservations) {
    let view = view_of(route, state, fleet, copied);
    let new_master = view.master_addr.clone();
    let previous = route.set_view(view);
    let config = &route.checked.config;
    let (Some(old_master), Some(new_master)) = (previous.master_addr.as_deref(), new_master.as_deref()) else { return };
    if old_master == new_master || !config.disconnect_on_promoted_to_primary {
        return;
    }
    let stale = match route.checked.destination.role {
        RouteRole::Primary => old_master,
        RouteRole::Secondary => new_master,
        RouteRole::PrimaryAndSecondary => return,
    };
    let closed = route.close_connections_to(stale);
    tracing::info!(route = route.name(), old_master, new_master, closed, "primary changed: connections closed");
}

/// The route's shard now. Observations: the leader's own (`Fleet`) on the leader, the copy asked
/// from the leader on a follower, none when neither is at hand (the metadata alone decides).
fn view_of(route: &Route, state: &MetaState, fleet: &Fleet, copied: &LeaderObservations) -> RouteView {
    let destination = &route.checked.destination;
    let Some(cluster) = state.cluster(&destination.namespace, &destination.cluster) else {
        let reason = format!("cluster {}/{} does not exist", destination.namespace, destination.cluster);
        return RouteView { eligible: Err(reason), master_addr: None, node_ids: Vec::new() };
    };
    let Some(shard) = cluster.shards.get(destination.shard) else {
        let reason = format!(
            "cluster {}/{} has no shard {} (it has {})",
            destination.namespace,
            destination.cluster,
            destination.shard,
            cluster.shards.len()
        );
        return RouteView { eligible: Err(reason), master_addr: None, node_ids: Vec::new() };
    };
    let node_ids = || shard.nodes.iter().map(|node| node.id.as_str());
    let observations = fleet.observations_of(node_ids()).or_else(|| copied.of_nodes(node_ids()));
    RouteView {
        eligible: Ok(eligible(shard, &cluster.policy, observations.as_ref())),
        master_addr: shard.master().map(|master| master.addr.clone()),
        node_ids: node_ids().map(String::from).collect(),
    }
}
