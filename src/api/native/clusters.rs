//! Cluster endpoints: `/api/v1/namespaces/{namespace}/clusters[/{cluster}[/import]]`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::views::{ClusterList, ClusterOne, ClusterView};
use super::{ClusterPath, NamespacePath};
use crate::api::envelope::{created, done, ok, reply, with_version, ApiResult};
use crate::api::extract::{IfMatch, JsonBody, PathParams, ReadConsistency};
use crate::meta::{ClusterPolicy, Secret};
use crate::service::{CreateCluster, DatabaseAccess, ImportCluster, MetaService};

/// The database accounts of a create or import body; every field optional.
#[derive(Deserialize)]
pub(super) struct AccessBody {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    replication_user: Option<String>,
    #[serde(default)]
    replication_password: Option<Secret>,
}

impl AccessBody {
    fn into_access(self) -> DatabaseAccess {
        DatabaseAccess {
            user: self.user,
            password: self.password.unwrap_or_default(),
            replication_user: self.replication_user,
            replication_password: self.replication_password,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CreateClusterBody {
    name: String,
    nodes: Vec<String>,
    /// Nodes per shard; defaults to 1.
    #[serde(default)]
    replicas: Option<u32>,
    #[serde(flatten)]
    access: AccessBody,
    #[serde(default)]
    policy: ClusterPolicy,
}

impl CreateClusterBody {
    pub(super) fn into_request(self, namespace: String) -> CreateCluster {
        CreateCluster {
            namespace,
            name: self.name,
            nodes: self.nodes,
            replicas: self.replicas.unwrap_or(1),
            access: self.access.into_access(),
            policy: self.policy,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ImportClusterBody {
    nodes: Vec<String>,
    #[serde(flatten)]
    access: AccessBody,
    #[serde(default)]
    policy: ClusterPolicy,
}

impl ImportClusterBody {
    pub(super) fn into_request(self) -> ImportCluster {
        ImportCluster { nodes: self.nodes, access: self.access.into_access(), policy: self.policy }
    }
}

/// `POST /namespaces/{namespace}/clusters` → 201, `ETag` = the new cluster's version.
pub(super) async fn create(
    State(service): State<MetaService>,
    PathParams(path): PathParams<NamespacePath>,
    JsonBody(body): JsonBody<CreateClusterBody>,
) -> ApiResult {
    let version = service.create_cluster(body.into_request(path.namespace)).await?;
    Ok(with_version(created(), version))
}

/// `GET /namespaces/{namespace}/clusters` → `{"clusters": [...]}`.
pub(super) async fn list(
    State(service): State<MetaService>,
    PathParams(path): PathParams<NamespacePath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let clusters = service.list_clusters(&path.namespace, consistency).await?;
    Ok(ok(ClusterList { clusters }))
}

/// `POST /namespaces/{namespace}/clusters/{cluster}/import` → 201 with the imported cluster,
/// `ETag` = its version.
pub(super) async fn import(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    JsonBody(body): JsonBody<ImportClusterBody>,
) -> ApiResult {
    let cluster = service.import_cluster(path.target(), body.into_request()).await?;
    Ok(with_version(reply(StatusCode::CREATED, ClusterOne { cluster: ClusterView::from(&cluster) }), cluster.version))
}

/// `GET /namespaces/{namespace}/clusters/{cluster}` → `{"cluster": {...}}`, `ETag` = its version.
pub(super) async fn show(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let cluster = service.get_cluster(&path.target(), consistency).await?;
    let version = cluster.version;
    Ok(with_version(ok(ClusterOne { cluster: ClusterView::from(&cluster) }), version))
}

/// `DELETE /namespaces/{namespace}/clusters/{cluster}` → `"ok"`; honours `If-Match`.
pub(super) async fn remove(
    State(service): State<MetaService>,
    PathParams(path): PathParams<ClusterPath>,
    IfMatch(expected_version): IfMatch,
) -> ApiResult {
    service.delete_cluster(path.target(), expected_version).await?;
    Ok(done())
}
