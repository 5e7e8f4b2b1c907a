//! The orchestrator v2 flavor, mounted under `/api/v2` (docs/api.md, "Orchestrator API v2"): the
//! read-only cluster, instance, topology, recovery, status and ProxySQL endpoints of orchestrator's
//! API v2, with its envelope (`{"status": "ok", "data": ...}`), its status codes (200, 400, 404,
//! 500, 503) and its JSON field names, so orchestrator clients work against shardkeeper.
//!
//! A v2 "cluster" is one shard's replication tree, named by its master's `host:port` and aliased
//! `namespace.cluster.shard-index`.
//!
//! - `envelope`, `extract`: this flavor's envelope and extractors (400s in the v2 envelope).
//! - `catalog`, `views`, `topology`: pure: shard trees and name resolution; orchestrator-shaped
//!   views; placement and the ASCII tree.
//! - `source`: the service calls the handlers share (declared fleet + leader observations).
//! - `clusters`, `recoveries`, `status`, `proxysql`: the handlers, thin.
//!
//! Owns: routes, response shapes and codes of this flavor, and its 404 / 405 answers. Must not
//! hold fleet logic (in `service`, `health`), decide leadership or forwarding (in `node`), or
//! serialize metadata types directly (they hold secrets): every answer is a view built here.

mod catalog;
mod clusters;
mod envelope;
mod extract;
mod proxysql;
mod recoveries;
mod source;
mod status;
mod topology;
mod views;
#[cfg(fuzzing)]
pub mod fuzzing;

pub(super) use envelope::V2Error;

#[cfg(test)]
mod test_support;

use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::Router;

use self::envelope::METHOD_NOT_ALLOWED;
use crate::service::MetaService;

/// Every v2 route, relative to `/api/v2`, with this flavor's own 404 and 405 answers.
pub(super) fn routes() -> Router<MetaService> {
    Router::new()
        .route("/clusters", get(clusters::list))
        .route("/clusters/{name}", get(clusters::show))
        .route("/clusters/{name}/instances", get(clusters::instances))
        .route("/clusters/{name}/topology", get(clusters::topology))
        .route("/instances/{host}/{port}", get(clusters::instance))
        .route("/recoveries", get(recoveries::list))
        .route("/recoveries/active", get(recoveries::active))
        .route("/status", get(status::status))
        .route("/proxysql/servers", get(proxysql::servers))
        .fallback(no_route)
        // Applies to the routes added above: keep it after every route.
        .method_not_allowed_fallback(wrong_method)
}

async fn no_route(method: Method, OriginalUri(uri): OriginalUri) -> V2Error {
    V2Error::not_found(format!("no route for {method} {}", uri.path()))
}

async fn wrong_method(method: Method, OriginalUri(uri): OriginalUri) -> V2Error {
    V2Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_build() {
        // Route syntax errors panic when the router is built.
        let _ = routes();
    }
}
