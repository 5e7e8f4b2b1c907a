//! Cluster use cases.

use super::{find_cluster, node_specs, unix_now, ClusterRef, Consistency, MetaService};
use crate::error::{ErrorCode, ServiceError};
use crate::meta::{Cluster, Command, Response, Secret};

/// What a client asks for when it creates a cluster.
#[derive(Clone, Debug)]
pub struct CreateCluster {
    pub namespace: String,
    pub name: String,
    pub nodes: Vec<String>,
    pub replicas: u32,
    pub password: Secret,
}

/// The cluster version a cluster-level command answers.
pub(super) fn cluster_version(response: Response) -> Result<u64, ServiceError> {
    match response {
        Response::ClusterVersion(version) => Ok(version),
        Response::Done => Err(ServiceError::internal("the state machine answered no cluster version")),
    }
}

impl MetaService {
    /// Creates the cluster and answers its version.
    pub async fn create_cluster(&self, request: CreateCluster) -> Result<u64, ServiceError> {
        let command = Command::CreateCluster {
            namespace: request.namespace,
            name: request.name,
            nodes: node_specs(request.nodes),
            replicas: request.replicas,
            password: request.password,
            created_at: unix_now(),
        };
        cluster_version(self.node.propose(command).await?)
    }

    /// Import discovers live MySQL topology, which arrives with the MySQL layer. Until then the
    /// request is checked (namespace exists, cluster does not, addresses given) and refused as not
    /// implemented, changing nothing.
    pub async fn import_cluster(&self, target: ClusterRef, nodes: Vec<String>) -> Result<(), ServiceError> {
        if nodes.is_empty() {
            return Err(ServiceError::invalid("import needs at least one node address"));
        }
        self.node
            .read(Consistency::Linearizable, |state| {
                if state.namespace(&target.namespace).is_none() {
                    return Err(ServiceError::not_found(format!(
                        "namespace \"{}\" does not exist",
                        target.namespace
                    )));
                }
                if state.cluster(&target.namespace, &target.cluster).is_some() {
                    return Err(ServiceError::new(
                        ErrorCode::AlreadyExists,
                        format!("cluster \"{}\" already exists", target.cluster),
                    ));
                }
                Ok(())
            })
            .await?;
        Err(ServiceError::new(
            ErrorCode::NotImplemented,
            "import discovers live MySQL topology, which this build does not do yet; create the cluster with its nodes instead",
        ))
    }

    pub async fn list_clusters(&self, namespace: &str, consistency: Consistency) -> Result<Vec<String>, ServiceError> {
        self.node
            .read(consistency, |state| {
                state
                    .namespace(namespace)
                    .map(|namespace| namespace.clusters.keys().cloned().collect())
                    .ok_or_else(|| ServiceError::not_found(format!("namespace \"{namespace}\" does not exist")))
            })
            .await
    }

    /// The whole cluster. It holds secrets: API layers must render it without them.
    pub async fn get_cluster(&self, target: &ClusterRef, consistency: Consistency) -> Result<Cluster, ServiceError> {
        self.node.read(consistency, |state| find_cluster(state, target).cloned()).await
    }

    pub async fn delete_cluster(&self, target: ClusterRef, expected_version: Option<u64>) -> Result<(), ServiceError> {
        let command =
            Command::DeleteCluster { namespace: target.namespace, name: target.cluster, expected_version };
        self.node.propose(command).await.map(|_| ())
    }
}
