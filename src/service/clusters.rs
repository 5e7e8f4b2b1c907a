//! Cluster use cases.

use super::{find_cluster, node_specs, ClusterRef, Consistency, MetaService};
use crate::error::ServiceError;
use crate::meta::{Cluster, ClusterCredentials, ClusterPolicy, Command, Response, Secret};

/// The accounts a client names for a cluster's servers; what it leaves out takes the default.
#[derive(Clone, Debug, Default)]
pub struct DatabaseAccess {
    /// Admin account for probing and repair; default `root`.
    pub user: Option<String>,
    pub password: Secret,
    /// Account replicas connect with; default the admin account.
    pub replication_user: Option<String>,
    pub replication_password: Option<Secret>,
}

/// The admin user when a request names none.
pub const DEFAULT_ADMIN_USER: &str = "root";

impl DatabaseAccess {
    pub fn into_credentials(self) -> ClusterCredentials {
        let user = self.user.filter(|user| !user.is_empty()).unwrap_or_else(|| DEFAULT_ADMIN_USER.to_string());
        let replication_user = self.replication_user.filter(|user| !user.is_empty()).unwrap_or_else(|| user.clone());
        let replication_password = self.replication_password.unwrap_or_else(|| self.password.clone());
        ClusterCredentials { user, password: self.password, replication_user, replication_password }
    }
}

/// What a client asks for when it creates a cluster.
#[derive(Clone, Debug)]
pub struct CreateCluster {
    pub namespace: String,
    pub name: String,
    pub nodes: Vec<String>,
    pub replicas: u32,
    pub access: DatabaseAccess,
    pub policy: ClusterPolicy,
}

/// What a client asks for when it imports live replication trees as a cluster.
#[derive(Clone, Debug, Default)]
pub struct ImportCluster {
    pub nodes: Vec<String>,
    pub access: DatabaseAccess,
    pub policy: ClusterPolicy,
}

/// The cluster version a cluster-level command answers.
pub(super) fn cluster_version(response: Response) -> Result<u64, ServiceError> {
    match response {
        Response::ClusterVersion(version) => Ok(version),
        Response::Done | Response::Recovery(_) | Response::Batch(_) => {
            Err(ServiceError::internal("the state machine answered no cluster version"))
        }
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
            credentials: request.access.into_credentials(),
            policy: request.policy,
            created_at: crate::clock::unix_seconds(),
        };
        cluster_version(self.node.propose(command).await?)
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

    /// Every cluster of every namespace, as (namespace, cluster). They hold secrets: render views.
    pub async fn list_all_clusters(&self, consistency: Consistency) -> Result<Vec<(String, Cluster)>, ServiceError> {
        self.node
            .read(consistency, |state| {
                Ok(state
                    .namespaces
                    .iter()
                    .flat_map(|(name, namespace)| namespace.clusters.values().map(move |cluster| (name.clone(), cluster.clone())))
                    .collect())
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
