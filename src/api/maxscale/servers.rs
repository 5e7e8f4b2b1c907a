//! The handlers of `/v1/servers`, each thin: extract, one service call, build the answer.

use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;

use super::body::parse_server_body;
use super::envelope::{no_content, ok, MaxError, MaxResult};
use super::views::{connections_document, server_document, server_list_document};
use super::{MaxConsistency, MaxLinks, MaxPath, MaxQuery};
use crate::meta::AdminState;
use crate::service::MetaService;

/// `GET /v1/servers`
pub(super) async fn list(State(service): State<MetaService>, MaxLinks(links): MaxLinks, MaxConsistency(consistency): MaxConsistency) -> MaxResult {
    let servers = service.list_servers(consistency).await?;
    Ok(ok(server_list_document(&servers, &links)))
}

/// `GET /v1/servers/:name`
pub(super) async fn show(
    State(service): State<MetaService>,
    MaxPath(name): MaxPath,
    MaxLinks(links): MaxLinks,
    MaxConsistency(consistency): MaxConsistency,
) -> MaxResult {
    let server = service.get_server(&name, consistency).await?;
    Ok(ok(server_document(&server, &links)))
}

/// `POST /v1/servers` → 204; a new replica of the monitor's shard.
pub(super) async fn create(State(service): State<MetaService>, body: Bytes) -> MaxResult {
    let new = parse_server_body(&body)?.into_new_server()?;
    service.create_server(new).await?;
    Ok(no_content())
}

/// `PATCH /v1/servers/:name` → 204.
pub(super) async fn update(State(service): State<MetaService>, MaxPath(name): MaxPath, body: Bytes) -> MaxResult {
    let patch = parse_server_body(&body)?.into_patch()?;
    service.update_server(&name, patch).await?;
    Ok(no_content())
}

/// `DELETE /v1/servers/:name` → 204, or 403 while the server is in use.
pub(super) async fn remove(State(service): State<MetaService>, MaxPath(name): MaxPath) -> MaxResult {
    service.delete_server(&name).await?;
    Ok(no_content())
}

/// `GET /v1/servers/:name/connections`
pub(super) async fn connections(State(service): State<MetaService>, MaxPath(name): MaxPath, MaxLinks(links): MaxLinks) -> MaxResult {
    let connections = service.server_connections(&name).await?;
    Ok(ok(connections_document(&name, &connections, &links)))
}

/// `DELETE /v1/servers/:name/connections` → 204 once this node's routed connections are closed.
pub(super) async fn close_connections(State(service): State<MetaService>, MaxPath(name): MaxPath) -> MaxResult {
    let closed = service.close_server_connections(&name).await?;
    tracing::info!(server = %name, closed, "routed connections closed");
    Ok(no_content())
}

#[derive(Deserialize)]
pub(super) struct StateQuery {
    pub(super) state: Option<String>,
    force: Option<String>,
}

/// `PUT /v1/servers/:name/set?state=maintenance|drain[&force=yes]` → 204.
pub(super) async fn set(State(service): State<MetaService>, MaxPath(name): MaxPath, MaxQuery(query): MaxQuery<StateQuery>) -> MaxResult {
    let state = admin_state(query.state.as_deref())?;
    let force = match query.force.as_deref() {
        None | Some("no") => false,
        Some("yes") => true,
        Some(other) => return Err(MaxError::forbidden(format!("force must be \"yes\" or \"no\", got {other:?}"))),
    };
    let closed = service.set_server_admin_state(&name, state, force && state == AdminState::Maintenance).await?;
    if closed > 0 {
        tracing::info!(server = %name, closed, "routed connections closed for maintenance");
    }
    Ok(no_content())
}

/// `PUT /v1/servers/:name/clear?state=maintenance|drain` → 204.
pub(super) async fn clear(State(service): State<MetaService>, MaxPath(name): MaxPath, MaxQuery(query): MaxQuery<StateQuery>) -> MaxResult {
    let state = admin_state(query.state.as_deref())?;
    service.clear_server_admin_state(&name, state).await?;
    Ok(no_content())
}

/// The `state` parameter: only the states an operator holds are set by hand; MaxScale's monitor
/// states (master, slave, running ...) come from the probes.
pub(super) fn admin_state(state: Option<&str>) -> Result<AdminState, MaxError> {
    match state.map(str::to_ascii_lowercase).as_deref() {
        Some("maintenance") => Ok(AdminState::Maintenance),
        Some("drain") | Some("draining") => Ok(AdminState::Drain),
        Some(monitored @ ("master" | "slave" | "running" | "synced" | "ndb" | "stale")) => Err(MaxError::forbidden(format!(
            "state {monitored:?} is set by the monitor; only maintenance and drain can be set or cleared by hand"
        ))),
        Some(other) => Err(MaxError::forbidden(format!("invalid state {other:?}; expected maintenance or drain"))),
        None => Err(MaxError::forbidden("the state parameter is required (maintenance or drain)")),
    }
}
