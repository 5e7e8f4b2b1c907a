//! Fleet use cases: observations, health findings, switchover / failover, recovery records and
//! promotion rules. Leader-only answers go through `leader_call`, which runs them on this node
//! when it leads and forwards them to the leader otherwise.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{ClusterRef, Consistency, MetaService, ShardRef};
use crate::error::ServiceError;
use crate::health::{NodeObservation, ShardHealth};
use crate::meta::{Command, PromotionRule, Recovery};
use crate::node::{LeaderCallAnswerer, LeaderRoute};

/// A call only the leader can answer, as forwarded between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum LeaderCall {
    Observations,
    /// The observations of some database nodes only (a follower's routes ask for theirs).
    ObservationsOf { node_ids: Vec<String> },
    Health { namespace: String, cluster: String },
    Switchover { namespace: String, cluster: String, shard: usize, preferred: Option<String> },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum LeaderReply {
    Observations(HashMap<String, NodeObservation>),
    Health(Vec<ShardHealth>),
    Switchover { new_master_id: String },
}

/// Which recoveries to list.
#[derive(Clone, Debug, Default)]
pub struct RecoveryFilter {
    pub namespace: Option<String>,
    pub cluster: Option<String>,
    pub shard: Option<usize>,
    pub running_only: bool,
}

impl RecoveryFilter {
    fn accepts(&self, recovery: &Recovery) -> bool {
        self.namespace.as_ref().is_none_or(|namespace| *namespace == recovery.namespace)
            && self.cluster.as_ref().is_none_or(|cluster| *cluster == recovery.cluster)
            && self.shard.is_none_or(|shard| shard == recovery.shard)
            && (!self.running_only || recovery.is_running())
    }
}

/// The members' server hands forwarded leader calls here.
#[tonic::async_trait]
impl LeaderCallAnswerer for MetaService {
    async fn answer_leader_call_json(&self, call_json: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let call: LeaderCall = serde_json::from_slice(call_json)
            .map_err(|error| ServiceError::invalid(format!("malformed leader call: {error}")))?;
        let answer = self.answer_leader_call(call).await?;
        serde_json::to_vec(&answer).map_err(|error| ServiceError::internal(format!("cannot encode reply: {error}")))
    }
}

impl MetaService {
    /// Runs `call` on the leader (here or one gRPC hop away).
    pub async fn leader_call(&self, call: LeaderCall) -> Result<LeaderReply, ServiceError> {
        match self.node.route_to_leader().await? {
            LeaderRoute::Here => self.answer_leader_call(call).await,
            LeaderRoute::Forward(leader) => {
                let call_json = serde_json::to_vec(&call).map_err(|error| ServiceError::internal(error.to_string()))?;
                let timeout = self.leader_call_timeout();
                let reply = self.node.forward_leader_call(leader, call_json, timeout).await?;
                serde_json::from_slice(&reply)
                    .map_err(|error| ServiceError::internal(format!("malformed reply from the leader: {error}")))
            }
        }
    }

    /// Answers a leader call on this node, which must be the leader; never forwards.
    pub async fn answer_leader_call(&self, call: LeaderCall) -> Result<LeaderReply, ServiceError> {
        match call {
            LeaderCall::Observations => self.fleet.observations().map(LeaderReply::Observations),
            LeaderCall::ObservationsOf { node_ids } => self
                .fleet
                .observations_of(node_ids.iter().map(String::as_str))
                .map(LeaderReply::Observations)
                .ok_or_else(|| ServiceError::unavailable("this node is not the raft leader; the leader answers this")),
            LeaderCall::Health { namespace, cluster } => {
                let state = self.node.reader().snapshot();
                self.fleet.health(&state, &namespace, &cluster).map(LeaderReply::Health)
            }
            LeaderCall::Switchover { namespace, cluster, shard, preferred } => {
                let new_master_id = self.fleet.switchover(&namespace, &cluster, shard, preferred.as_deref()).await?;
                Ok(LeaderReply::Switchover { new_master_id })
            }
        }
    }

    fn leader_call_timeout(&self) -> std::time::Duration {
        self.fleet_config().leader_call_timeout(self.node.request_config().write_timeout)
    }

    /// What the leader's prober last saw of every database node, by node id.
    pub async fn observations(&self) -> Result<HashMap<String, NodeObservation>, ServiceError> {
        match self.leader_call(LeaderCall::Observations).await? {
            LeaderReply::Observations(observations) => Ok(observations),
            other => Err(unexpected(other)),
        }
    }

    /// What the leader's prober last saw of the given database nodes (those it probes), by node id.
    pub async fn observations_of(&self, node_ids: Vec<String>) -> Result<HashMap<String, NodeObservation>, ServiceError> {
        match self.leader_call(LeaderCall::ObservationsOf { node_ids }).await? {
            LeaderReply::Observations(observations) => Ok(observations),
            other => Err(unexpected(other)),
        }
    }

    /// The findings of every shard of a cluster.
    pub async fn cluster_health(&self, target: &ClusterRef) -> Result<Vec<ShardHealth>, ServiceError> {
        let call = LeaderCall::Health { namespace: target.namespace.clone(), cluster: target.cluster.clone() };
        match self.leader_call(call).await? {
            LeaderReply::Health(health) => Ok(health),
            other => Err(unexpected(other)),
        }
    }

    /// Hands the shard's master role to `preferred_node_id` (or the best candidate): a planned
    /// switchover when the master is healthy, a failover when it is dead. Answers the new master.
    pub async fn failover(
        &self,
        target: ShardRef,
        preferred_node_id: Option<String>,
        expected_version: Option<u64>,
    ) -> Result<String, ServiceError> {
        if let Some(expected) = expected_version {
            let version = self.get_cluster(&target.cluster, Consistency::Linearizable).await?.version;
            if version != expected {
                return Err(ServiceError::new(
                    crate::error::ErrorCode::VersionMismatch,
                    format!("cluster version is {version}, expected {expected}"),
                ));
            }
        }
        self.get_shard(&target, Consistency::Linearizable).await?;
        let call = LeaderCall::Switchover {
            namespace: target.cluster.namespace,
            cluster: target.cluster.cluster,
            shard: target.shard,
            preferred: preferred_node_id,
        };
        match self.leader_call(call).await? {
            LeaderReply::Switchover { new_master_id } => Ok(new_master_id),
            other => Err(unexpected(other)),
        }
    }

    pub async fn list_recoveries(
        &self,
        filter: &RecoveryFilter,
        consistency: Consistency,
    ) -> Result<Vec<Recovery>, ServiceError> {
        self.node
            .read(consistency, |state| {
                Ok(state.recoveries.values().rev().filter(|recovery| filter.accepts(recovery)).cloned().collect())
            })
            .await
    }

    /// The leader's latest probe of each node of one cluster, by node id.
    pub async fn cluster_observations(
        &self,
        target: &ClusterRef,
        consistency: Consistency,
    ) -> Result<BTreeMap<String, NodeObservation>, ServiceError> {
        let cluster = self.get_cluster(target, consistency).await?;
        let mut all = self.observations().await?;
        Ok(cluster.nodes().filter_map(|(_, node)| all.remove_entry(&node.id)).collect())
    }

    /// The recoveries of one cluster, newest first.
    pub async fn cluster_recoveries(
        &self,
        target: &ClusterRef,
        consistency: Consistency,
    ) -> Result<Vec<Recovery>, ServiceError> {
        self.get_cluster(target, consistency).await?;
        let filter = RecoveryFilter {
            namespace: Some(target.namespace.clone()),
            cluster: Some(target.cluster.clone()),
            ..RecoveryFilter::default()
        };
        self.list_recoveries(&filter, consistency).await
    }

    /// Acknowledges recovery `id` of cluster `target`: it no longer blocks the next automatic one.
    pub async fn acknowledge_recovery(
        &self,
        target: &ClusterRef,
        id: u64,
        by: String,
        comment: String,
    ) -> Result<(), ServiceError> {
        let known = self.cluster_recoveries(target, Consistency::Linearizable).await?;
        if !known.iter().any(|recovery| recovery.id == id) {
            return Err(ServiceError::not_found(format!("recovery {id} does not exist in this cluster")));
        }
        let command = Command::AcknowledgeRecovery { id, by, comment, at_ms: crate::clock::unix_millis() };
        self.node.propose(command).await.map(|_| ())
    }

    pub async fn set_promotion_rule(
        &self,
        target: ShardRef,
        node_id: String,
        rule: PromotionRule,
        expected_version: Option<u64>,
    ) -> Result<u64, ServiceError> {
        let command = Command::SetPromotionRule {
            namespace: target.cluster.namespace,
            cluster: target.cluster.cluster,
            shard: target.shard,
            node_id,
            rule,
            expected_version,
        };
        super::clusters::cluster_version(self.node.propose(command).await?)
    }

    /// Clears a node's diverged mark once an operator has dealt with it; the leader then
    /// re-attaches it if its transactions allow.
    pub async fn clear_diverged(&self, target: ShardRef, node_id: String) -> Result<u64, ServiceError> {
        self.get_shard(&target, Consistency::Linearizable).await?;
        let command = Command::MarkDiverged {
            namespace: target.cluster.namespace,
            cluster: target.cluster.cluster,
            shard: target.shard,
            node_id,
            reason: None,
        };
        super::clusters::cluster_version(self.node.propose(command).await?)
    }
}

fn unexpected(reply: LeaderReply) -> ServiceError {
    ServiceError::internal(format!("the leader answered an unexpected reply: {reply:?}"))
}

