//! Namespace endpoints: `/api/v1/namespaces[/{namespace}]`.

use axum::extract::State;
use serde::Deserialize;

use super::views::{NamespaceList, NamespaceOne};
use super::NamespacePath;
use crate::api::envelope::{created, done, ok, ApiResult};
use crate::api::extract::{JsonBody, PathParams, ReadConsistency};
use crate::service::MetaService;

#[derive(Deserialize)]
pub(super) struct CreateNamespaceBody {
    namespace: String,
}

/// `POST /namespaces` → 201.
pub(super) async fn create(
    State(service): State<MetaService>,
    JsonBody(body): JsonBody<CreateNamespaceBody>,
) -> ApiResult {
    service.create_namespace(body.namespace).await?;
    Ok(created())
}

/// `GET /namespaces` → `{"namespaces": [...]}`.
pub(super) async fn list(
    State(service): State<MetaService>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let namespaces = service.list_namespaces(consistency).await?;
    Ok(ok(NamespaceList { namespaces }))
}

/// `GET /namespaces/{namespace}` → `{"namespace": "..."}`.
pub(super) async fn show(
    State(service): State<MetaService>,
    PathParams(path): PathParams<NamespacePath>,
    ReadConsistency(consistency): ReadConsistency,
) -> ApiResult {
    let namespace = service.get_namespace(&path.namespace, consistency).await?;
    Ok(ok(NamespaceOne { namespace }))
}

/// `DELETE /namespaces/{namespace}` → `"ok"`; refused (409) while it holds clusters.
pub(super) async fn remove(
    State(service): State<MetaService>,
    PathParams(path): PathParams<NamespacePath>,
) -> ApiResult {
    service.delete_namespace(path.namespace).await?;
    Ok(done())
}
