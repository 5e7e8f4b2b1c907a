//! The MaxScale flavor, mounted under `/v1` (docs/api-maxscale.md): MaxScale's REST API server
//! resource over shardkeeper's database nodes. A server is a database node named by its server
//! name (its address when it has none), a monitor is a cluster (`namespace.cluster`), a service is
//! a route of this node's router. JSON:API documents, MaxScale's error envelope and codes
//! (including 403 for an invalid body, the document's own choice, kept for this flavor only).
//!
//! - `body`: request documents → service inputs (pure).
//! - `state`: MaxScale's state words from observations (pure).
//! - `views`: JSON:API documents (pure).
//! - `envelope`: errors and status codes.
//! - `servers`: the handlers, thin.
//!
//! Owns: routes, shapes and codes of this flavor and its 404 / 405 answers. Must not hold fleet
//! logic (in `service`), decide leadership or forwarding (in `node`), or serialize metadata types.

mod body;
mod envelope;
mod servers;
mod state;
mod views;
#[cfg(fuzzing)]
pub mod fuzzing;

use axum::extract::{FromRequestParts, OriginalUri, Path, Query};
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::routing::{get, put};
use axum::Router;
use serde::Deserialize;

pub(super) use self::envelope::MaxError;
use self::views::Links;
use crate::api::extract::parse_consistency;
use crate::service::{Consistency, MetaService};

/// Every route of the flavor, relative to `/v1`.
pub(super) fn routes() -> Router<MetaService> {
    Router::new()
        .route("/servers", get(servers::list).post(servers::create))
        .route("/servers/", get(servers::list).post(servers::create))
        .route("/servers/{name}", get(servers::show).patch(servers::update).delete(servers::remove))
        .route("/servers/{name}/connections", get(servers::connections).delete(servers::close_connections))
        .route("/servers/{name}/set", put(servers::set))
        .route("/servers/{name}/clear", put(servers::clear))
        .fallback(no_route)
        // Applies to the routes added above: keep it after every route.
        .method_not_allowed_fallback(wrong_method)
}

async fn no_route(method: Method, OriginalUri(uri): OriginalUri) -> MaxError {
    MaxError::not_found(format!("no resource for {method} {}", uri.path()))
}

async fn wrong_method(method: Method, OriginalUri(uri): OriginalUri) -> MaxError {
    MaxError::new(StatusCode::METHOD_NOT_ALLOWED, format!("method {method} is not allowed on {}", uri.path()))
}

/// The `:name` segment (percent-decoded).
pub(super) struct MaxPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for MaxPath {
    type Rejection = MaxError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, MaxError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(name)| MaxPath(name))
            .map_err(|rejection| MaxError::forbidden(format!("invalid path: {}", rejection.body_text())))
    }
}

/// The base of `links`: `http://` and the request's `Host` (`localhost` without one).
pub(super) struct MaxLinks(pub Links);

impl<S: Send + Sync> FromRequestParts<S> for MaxLinks {
    type Rejection = MaxError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, MaxError> {
        let host = parts.headers.get(HOST).and_then(|value| value.to_str().ok()).unwrap_or("localhost");
        Ok(MaxLinks(Links { base: format!("http://{host}") }))
    }
}

/// The query string, deserialized by name; a malformed one is a 403, as MaxScale answers a bad
/// parameter.
pub(super) struct MaxQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for MaxQuery<T> {
    type Rejection = MaxError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, MaxError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(query)| MaxQuery(query))
            .map_err(|rejection| MaxError::forbidden(format!("invalid query string: {}", rejection.body_text())))
    }
}

/// `?consistency=stale` reads this node's copy, as on the native API.
pub(super) struct MaxConsistency(pub Consistency);

#[derive(Deserialize)]
struct ConsistencyQuery {
    consistency: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for MaxConsistency {
    type Rejection = MaxError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, MaxError> {
        let MaxQuery(query) = MaxQuery::<ConsistencyQuery>::from_request_parts(parts, state).await?;
        parse_consistency(query.consistency.as_deref()).map(MaxConsistency).map_err(|error| MaxError::forbidden(error.message()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_build() {
        // Route syntax errors panic when the router is built.
        let _ = super::routes();
    }
}
