//! The public Admin gRPC service: thin translation between protobuf messages and the service layer.
//!
//! Only client operations live here; what members call on each other is `member_rpc`'s. An
//! unavailable answer is marked "not the leader" so that a caller knows nothing happened.

use tonic::{Request, Response, Status};

use crate::error::ServiceError;
use crate::meta::{ClusterPolicy, PromotionRule, Secret, SlotRange};
use crate::node::Member;
use crate::pb;
use crate::pb::admin_server::Admin;
use crate::pb::{cluster_to_pb, node_to_pb, parse_role, shard_to_pb};
use crate::service::{ClusterRef, Consistency, CreateCluster, DatabaseAccess, ImportCluster, MetaService, ShardRef};
use crate::transport::status_from as to_status;

pub struct AdminService {
    service: MetaService,
}

impl AdminService {
    pub fn new(service: MetaService) -> Self {
        AdminService { service }
    }
}

type GrpcResult<T> = Result<Response<T>, Status>;

fn reply<T>(outcome: Result<T, ServiceError>) -> GrpcResult<T> {
    outcome.map(Response::new).map_err(to_status)
}

fn ack(outcome: Result<u64, ServiceError>) -> GrpcResult<pb::Ack> {
    reply(outcome.map(|cluster_version| pb::Ack { cluster_version }))
}

fn done(outcome: Result<(), ServiceError>) -> GrpcResult<pb::Ack> {
    reply(outcome.map(|()| pb::Ack { cluster_version: 0 }))
}

fn json_reply(outcome: Result<serde_json::Value, ServiceError>) -> GrpcResult<pb::JsonReply> {
    let value = outcome.map_err(to_status)?;
    let json = serde_json::to_vec(&value).map_err(|error| Status::internal(format!("cannot encode reply: {error}")))?;
    Ok(Response::new(pb::JsonReply { json }))
}

fn cluster_ref(namespace: String, cluster: String) -> ClusterRef {
    ClusterRef { namespace, cluster }
}

fn shard_ref(namespace: String, cluster: String, shard: u32) -> ShardRef {
    ShardRef { cluster: cluster_ref(namespace, cluster), shard: shard as usize }
}

fn consistency(value: &str) -> Consistency {
    Consistency::from_query(Some(value))
}

fn members_reply(members: Vec<Member>) -> pb::PeersReply {
    pb::PeersReply { members: members.into_iter().map(Member::into_pb).collect() }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(&self, _request: Request<pb::StatusRequest>) -> GrpcResult<pb::StatusReply> {
        let status = self.service.node().status().await;
        Ok(Response::new(pb::StatusReply {
            node_id: status.node_id,
            leader_id: status.leader_id.unwrap_or(0),
            role: status.role.to_string(),
            term: status.term,
            last_applied: status.last_applied,
            members: status.members.into_iter().map(Member::into_pb).collect(),
        }))
    }

    async fn add_peer(&self, request: Request<pb::AddPeerRequest>) -> GrpcResult<pb::PeersReply> {
        let request = request.into_inner();
        reply(self.service.node().add_peer(request.node_id, request.grpc_addr).await.map(members_reply))
    }

    async fn remove_peer(&self, request: Request<pb::RemovePeerRequest>) -> GrpcResult<pb::PeersReply> {
        reply(self.service.node().remove_peer(request.into_inner().node_id).await.map(members_reply))
    }

    async fn create_namespace(&self, request: Request<pb::NamespaceRef>) -> GrpcResult<pb::Ack> {
        done(self.service.create_namespace(request.into_inner().namespace).await)
    }

    async fn list_namespaces(&self, request: Request<pb::ListNamespacesRequest>) -> GrpcResult<pb::NameList> {
        let outcome = self.service.list_namespaces(consistency(&request.into_inner().consistency)).await;
        reply(outcome.map(|names| pb::NameList { names }))
    }

    async fn get_namespace(&self, request: Request<pb::NamespaceRef>) -> GrpcResult<pb::NamespaceRef> {
        let request = request.into_inner();
        let outcome = self.service.get_namespace(&request.namespace, consistency(&request.consistency)).await;
        reply(outcome.map(|namespace| pb::NamespaceRef { namespace, consistency: String::new() }))
    }

    async fn delete_namespace(&self, request: Request<pb::NamespaceRef>) -> GrpcResult<pb::Ack> {
        done(self.service.delete_namespace(request.into_inner().namespace).await)
    }

    async fn create_cluster(&self, request: Request<pb::CreateClusterRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        ack(self
            .service
            .create_cluster(CreateCluster {
                namespace: request.namespace,
                name: request.name,
                nodes: request.nodes,
                replicas: request.replicas.max(1),
                access: database_access(request.password, request.access),
                policy: policy_from_json(&request.policy_json)?,
            })
            .await)
    }

    async fn import_cluster(&self, request: Request<pb::ImportClusterRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let import = ImportCluster {
            nodes: request.nodes,
            access: database_access(request.password, request.access),
            policy: policy_from_json(&request.policy_json)?,
        };
        let outcome = self.service.import_cluster(cluster_ref(request.namespace, request.cluster), import).await;
        ack(outcome.map(|cluster| cluster.version))
    }

    async fn list_clusters(&self, request: Request<pb::NamespaceRef>) -> GrpcResult<pb::NameList> {
        let request = request.into_inner();
        let outcome = self.service.list_clusters(&request.namespace, consistency(&request.consistency)).await;
        reply(outcome.map(|names| pb::NameList { names }))
    }

    async fn get_cluster(&self, request: Request<pb::ClusterRef>) -> GrpcResult<pb::ClusterInfo> {
        let request = request.into_inner();
        let target = cluster_ref(request.namespace, request.cluster);
        reply(self.service.get_cluster(&target, consistency(&request.consistency)).await.map(cluster_to_pb))
    }

    async fn delete_cluster(&self, request: Request<pb::ClusterRef>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let target = cluster_ref(request.namespace, request.cluster);
        done(self.service.delete_cluster(target, request.expected_version).await)
    }

    async fn create_shard(&self, request: Request<pb::CreateShardRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let target = cluster_ref(request.namespace, request.cluster);
        ack(self
            .service
            .create_shard(target, request.nodes, Secret::new(request.password), request.expected_version)
            .await)
    }

    async fn list_shards(&self, request: Request<pb::ClusterRef>) -> GrpcResult<pb::ShardList> {
        let request = request.into_inner();
        let target = cluster_ref(request.namespace, request.cluster);
        let outcome = self.service.list_shards(&target, consistency(&request.consistency)).await;
        reply(outcome.map(|shards| pb::ShardList { shards: shards.into_iter().map(shard_to_pb).collect() }))
    }

    async fn get_shard(&self, request: Request<pb::ShardRef>) -> GrpcResult<pb::ShardInfo> {
        let request = request.into_inner();
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        reply(self.service.get_shard(&target, consistency(&request.consistency)).await.map(shard_to_pb))
    }

    async fn delete_shard(&self, request: Request<pb::ShardRef>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        ack(self.service.delete_shard(target, request.expected_version).await)
    }

    async fn failover(&self, request: Request<pb::FailoverRequest>) -> GrpcResult<pb::FailoverReply> {
        let request = request.into_inner();
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        let preferred = Some(request.preferred_node_id).filter(|id| !id.is_empty());
        let outcome = self.service.failover(target, preferred, request.expected_version).await;
        reply(outcome.map(|new_master_id| pb::FailoverReply { new_master_id }))
    }

    async fn create_node(&self, request: Request<pb::CreateNodeRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let role = parse_role(&request.role).map_err(to_status)?;
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        ack(self
            .service
            .create_node(target, request.addr, request.name, role, Secret::new(request.password), request.expected_version)
            .await)
    }

    async fn list_nodes(&self, request: Request<pb::ShardRef>) -> GrpcResult<pb::NodeList> {
        let request = request.into_inner();
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        let outcome = self.service.list_nodes(&target, consistency(&request.consistency)).await;
        reply(outcome.map(|nodes| pb::NodeList { nodes: nodes.into_iter().map(node_to_pb).collect() }))
    }

    async fn delete_node(&self, request: Request<pb::NodeRef>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        ack(self.service.delete_node(target, request.node_id, request.expected_version).await)
    }

    async fn cluster_health(&self, request: Request<pb::ClusterRef>) -> GrpcResult<pb::JsonReply> {
        let request = request.into_inner();
        let target = cluster_ref(request.namespace, request.cluster);
        json_reply(self.service.cluster_health(&target).await.map(|shards| serde_json::json!({ "shards": shards })))
    }

    async fn cluster_observations(&self, request: Request<pb::ClusterRef>) -> GrpcResult<pb::JsonReply> {
        let request = request.into_inner();
        let consistency = consistency(&request.consistency);
        let target = cluster_ref(request.namespace, request.cluster);
        let outcome = self.service.cluster_observations(&target, consistency).await;
        json_reply(outcome.map(|nodes| serde_json::json!({ "nodes": nodes })))
    }

    async fn list_recoveries(&self, request: Request<pb::ClusterRef>) -> GrpcResult<pb::JsonReply> {
        let request = request.into_inner();
        let consistency = consistency(&request.consistency);
        let target = cluster_ref(request.namespace, request.cluster);
        let outcome = self.service.cluster_recoveries(&target, consistency).await;
        json_reply(outcome.map(|recoveries| serde_json::json!({ "recoveries": recoveries })))
    }

    async fn acknowledge_recovery(&self, request: Request<pb::AcknowledgeRecoveryRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let target = cluster_ref(request.namespace, request.cluster);
        done(self.service.acknowledge_recovery(&target, request.id, request.by, request.comment).await)
    }

    async fn set_promotion_rule(&self, request: Request<pb::PromotionRuleRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let rule: PromotionRule = serde_json::from_value(serde_json::Value::String(request.promotion_rule.clone()))
            .map_err(|_| {
                to_status(ServiceError::invalid(format!(
                    "promotion_rule must be prefer, neutral or must_not, got \"{}\"",
                    request.promotion_rule
                )))
            })?;
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        ack(self.service.set_promotion_rule(target, request.node_id, rule, request.expected_version).await)
    }

    async fn set_admin_state(&self, request: Request<pb::AdminStateRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let state = pb::admin_state_from_word(&request.admin_state).ok_or_else(|| {
            to_status(ServiceError::invalid(format!(
                "admin_state must be active, maintenance or drain, got \"{}\"",
                request.admin_state
            )))
        })?;
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        ack(self.service.set_node_admin_state(target, request.node_id, state, request.expected_version).await)
    }

    async fn clear_diverged(&self, request: Request<pb::NodeRef>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let target = shard_ref(request.namespace, request.cluster, request.shard);
        ack(self.service.clear_diverged(target, request.node_id).await)
    }

    async fn migrate_slot(&self, request: Request<pb::MigrateSlotRequest>) -> GrpcResult<pb::Ack> {
        let request = request.into_inner();
        let slots: SlotRange = request
            .slot
            .parse()
            .map_err(|error: crate::meta::SlotRangeParseError| Status::invalid_argument(error.to_string()))?;
        let target = cluster_ref(request.namespace, request.cluster);
        ack(self
            .service
            .migrate_slots(target, request.target as usize, slots, request.slot_only, request.expected_version)
            .await)
    }
}

/// The accounts of a create or import request; empty strings take the defaults.
fn database_access(password: String, access: Option<pb::DatabaseAccess>) -> DatabaseAccess {
    let access = access.unwrap_or_default();
    let non_empty = |value: String| (!value.is_empty()).then_some(value);
    DatabaseAccess {
        user: non_empty(access.user),
        password: Secret::new(password),
        replication_user: non_empty(access.replication_user),
        replication_password: non_empty(access.replication_password).map(Secret::new),
    }
}

/// A cluster policy from its JSON form; empty means the defaults.
fn policy_from_json(json: &str) -> Result<ClusterPolicy, Status> {
    if json.trim().is_empty() {
        return Ok(ClusterPolicy::default());
    }
    serde_json::from_str(json).map_err(|error| to_status(ServiceError::invalid(format!("invalid policy_json: {error}"))))
}
