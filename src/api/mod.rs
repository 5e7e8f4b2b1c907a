//! The HTTP API: one axum application on one port, one module per API flavor, each only translating
//! HTTP to service calls and back.
//!
//! - `native`: the kvrocks-controller compatible API under `/api/v1` (docs/api.md).
//! - `maxscale`: MaxScale's servers resource under `/v1/servers` (docs/api-maxscale.md).
//! - `mysql_router`: the MySQL Router REST API under `/api/20190715` (docs/api-mysql-router.md).
//! - `ops`: `/healthz`, `/readyz`, `/api/v1/status`, `/api/v1/raft/peers`.
//! - `envelope` and `extract`: the native envelope (`{"data": ...}` / `{"error": {"message": ...}}`)
//!   and the shared extractors (JSON body, `If-Match`, `?consistency=stale`, path segments).
//! - `auth_layer`: the one authentication and authorisation layer over every flavor.
//! - `serve`: the listener loop with its connection cap and header read timeout.
//! - each flavor's `fuzzing` (only under `cfg(fuzzing)`): its request parsing up to the service
//!   call, for the fuzz targets in `fuzz/`.
//!
//! Owns: routing, request parsing, response shapes, the body size limit and the 404 / 405 answers.
//! Must not touch: leadership, forwarding, timeouts (in `node`), validation of the metadata (in
//! `meta`), status codes of service errors (in `crate::error`). Never logs a request body.

mod auth_layer;
mod envelope;
mod extract;
mod maxscale;
mod mysql_router;
mod native;
mod ops;
mod orchestrator;
mod serve;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::any;
use axum::Router;

pub use self::auth_layer::HttpAuth;
pub use self::serve::serve;
/// The flavors' request parsing, for the fuzz targets only (`crate::fuzzing`).
#[cfg(fuzzing)]
pub use self::{
    maxscale::fuzzing::parse_request as parse_maxscale_request,
    mysql_router::fuzzing::parse_request as parse_mysql_router_request,
    native::fuzzing::parse_request as parse_native_request,
    orchestrator::fuzzing::parse_request as parse_orchestrator_request,
};

use self::envelope::ApiError;
use crate::error::ServiceError;
use crate::service::MetaService;

/// Largest accepted request body; a larger one is answered 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole HTTP application of one shardkeeper node.
pub fn router(service: MetaService, auth: HttpAuth) -> Router {
    Router::new()
        .nest("/api/v1", native::routes())
        .nest("/api/v2", orchestrator::routes())
        .nest("/v1", maxscale::routes())
        .nest("/api/20190715", mysql_router::routes())
        // A nested fallback does not catch the prefix with a bare trailing slash.
        .route("/api/20190715/", any(mysql_router::no_route))
        .merge(ops::routes())
        .fallback(no_route)
        // Applies to the routes added above: keep it after every route.
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Outside the body limit and every route, inside the request log (refusals are logged).
        .layer(middleware::from_fn_with_state(auth, auth_layer::authorize))
        .layer(middleware::from_fn(log_request))
        .with_state(service)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::Service(ServiceError::not_found(format!("no route for {method} {}", uri.path())))
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::http(StatusCode::METHOD_NOT_ALLOWED, format!("method {method} is not allowed on {}", uri.path()))
}

/// One debug line per request: method, path, status and latency; never the body or the query.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request served"
    );
    response
}
