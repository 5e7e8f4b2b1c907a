//! GET /router/status (this process), /routing/status (all routes together), /connection_pool
//! and its config / status, and /swagger.json.
//!
//! shardkeeper keeps no pool of server connections: every routed client connection has its own
//! server connection. The one pool Router always has, `main`, is served with what is true of it:
//! nothing idles, nothing is reused, nothing is stashed, and its limits are 0.
//!
//! Owns these views and handlers; must not hold router or fleet logic.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use super::problem::{NamePath, Problem};
use super::views::{format_time, names, Items, Named, RoutingStatusView};
use super::SWAGGER;
use crate::service::{MetaService, RouterProcess};

/// The name of the one connection pool, as Router names its default pool.
pub const POOL_NAME: &str = "main";

/// What `productEdition` says.
pub const PRODUCT_EDITION: &str = "shardkeeper - Apache-2.0";

/// GET /router/status
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterStatusView {
    pub process_id: u32,
    pub product_edition: &'static str,
    pub time_started: String,
    pub version: &'static str,
    /// Left out when the system does not tell the host name, as Router does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

impl RouterStatusView {
    pub fn of(process: RouterProcess) -> RouterStatusView {
        RouterStatusView {
            process_id: process.process_id,
            product_edition: PRODUCT_EDITION,
            time_started: format_time(process.started_at),
            version: process.version,
            hostname: process.hostname,
        }
    }
}

/// GET /connection_pool/{connectionPoolName}/config: no idle server connection is kept.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolConfigView {
    pub max_idle_server_connections: u64,
    pub idle_timeout_in_ms: u64,
}

/// GET /connection_pool/{connectionPoolName}/status: nothing pooled, reused or stashed.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolStatusView {
    pub idle_server_connections: u64,
    pub reused_server_connections: u64,
    pub stashed_server_connections: u64,
}

pub(super) async fn router_status(State(service): State<MetaService>) -> Json<RouterStatusView> {
    Json(RouterStatusView::of(service.router_process()))
}

pub(super) async fn routing_status(State(service): State<MetaService>) -> Json<RoutingStatusView> {
    Json(RoutingStatusView::of(&service.router().routes()))
}

pub(super) async fn pools() -> Json<Items<Named>> {
    Json(names([POOL_NAME.to_string()]))
}

pub(super) async fn pool_config(target: NamePath) -> Result<Json<PoolConfigView>, Problem> {
    known_pool(&target)?;
    Ok(Json(PoolConfigView { max_idle_server_connections: 0, idle_timeout_in_ms: 0 }))
}

pub(super) async fn pool_status(target: NamePath) -> Result<Json<PoolStatusView>, Problem> {
    known_pool(&target)?;
    Ok(Json(PoolStatusView { idle_server_connections: 0, reused_server_connections: 0, stashed_server_connections: 0 }))
}

fn known_pool(target: &NamePath) -> Result<(), Problem> {
    if target.name == POOL_NAME {
        Ok(())
    } else {
        Err(Problem::not_found(&target.path))
    }
}

pub(super) async fn swagger() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], SWAGGER)
}
