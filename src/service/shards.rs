//! Shard, node, failover and slot-migration use cases.

use super::clusters::cluster_version;
use super::{find_cluster, find_shard, new_node_id, node_specs, ClusterRef, Consistency, MetaService, ShardRef};
use crate::error::ServiceError;
use crate::meta::{Command, Node, NodeRole, NodeSpec, Secret, Shard, SlotRange};

impl MetaService {
    /// Adds a shard (no slots yet; the first node is master) and answers the cluster version.
    pub async fn create_shard(
        &self,
        target: ClusterRef,
        nodes: Vec<String>,
        password: Secret,
        expected_version: Option<u64>,
    ) -> Result<u64, ServiceError> {
        let command = Command::CreateShard {
            namespace: target.namespace,
            cluster: target.cluster,
            nodes: node_specs(nodes),
            password,
            created_at: crate::clock::unix_seconds(),
            expected_version,
        };
        cluster_version(self.node.propose(command).await?)
    }

    pub async fn list_shards(&self, target: &ClusterRef, consistency: Consistency) -> Result<Vec<Shard>, ServiceError> {
        self.node.read(consistency, |state| Ok(find_cluster(state, target)?.shards.clone())).await
    }

    pub async fn get_shard(&self, target: &ShardRef, consistency: Consistency) -> Result<Shard, ServiceError> {
        self.node.read(consistency, |state| find_shard(state, target).cloned()).await
    }

    pub async fn delete_shard(&self, target: ShardRef, expected_version: Option<u64>) -> Result<u64, ServiceError> {
        let command = Command::DeleteShard {
            namespace: target.cluster.namespace,
            cluster: target.cluster.cluster,
            shard: target.shard,
            expected_version,
        };
        cluster_version(self.node.propose(command).await?)
    }

    /// Adds a node to a shard; `name` is its server name (unique in the fleet), `None` goes by
    /// the address.
    pub async fn create_node(
        &self,
        target: ShardRef,
        addr: String,
        name: Option<String>,
        role: NodeRole,
        password: Secret,
        expected_version: Option<u64>,
    ) -> Result<u64, ServiceError> {
        let command = Command::CreateNode {
            namespace: target.cluster.namespace,
            cluster: target.cluster.cluster,
            shard: target.shard,
            node: NodeSpec { id: new_node_id(), addr, name },
            role,
            password,
            created_at: crate::clock::unix_seconds(),
            expected_version,
        };
        cluster_version(self.node.propose(command).await?)
    }

    pub async fn list_nodes(&self, target: &ShardRef, consistency: Consistency) -> Result<Vec<Node>, ServiceError> {
        self.node.read(consistency, |state| Ok(find_shard(state, target)?.nodes.clone())).await
    }

    pub async fn delete_node(
        &self,
        target: ShardRef,
        node_id: String,
        expected_version: Option<u64>,
    ) -> Result<u64, ServiceError> {
        let command = Command::DeleteNode {
            namespace: target.cluster.namespace,
            cluster: target.cluster.cluster,
            shard: target.shard,
            node_id,
            expected_version,
        };
        cluster_version(self.node.propose(command).await?)
    }

    /// Moves `slots` to shard `target`. Only metadata moves (`slot_only`); moving rows is not built yet.
    pub async fn migrate_slots(
        &self,
        cluster: ClusterRef,
        target: usize,
        slots: SlotRange,
        slot_only: bool,
        expected_version: Option<u64>,
    ) -> Result<u64, ServiceError> {
        if !slot_only {
            return Err(ServiceError::invalid(
                "moving slot data is not supported yet; pass \"slot_only\": true to move the slots in metadata only",
            ));
        }
        let command = Command::MigrateSlots {
            namespace: cluster.namespace,
            cluster: cluster.cluster,
            target,
            slots,
            expected_version,
        };
        cluster_version(self.node.propose(command).await?)
    }
}
