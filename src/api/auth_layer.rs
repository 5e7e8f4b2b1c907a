//! The one authentication and authorisation layer of the HTTP application, on every route of every
//! flavor: the credentials of a request are checked against `auth`'s token table and the role its
//! (method, path) needs (`auth::http_access`), before any handler runs. No handler checks a role.
//!
//! Owns: reading `Authorization`, the per-flavor rendering of 401 / 403 (`FLAVORS`), and running
//! the handler as the authenticated principal (so that a forwarded write names it on the leader).
//! Must not decide roles (that is `auth`'s table).
//!
//! A flavor plugs its own refusal envelope in by replacing its `render` entry in `FLAVORS`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::envelope::ApiError;
use super::maxscale::MaxError;
use super::orchestrator::V2Error;
use crate::auth::{acting_as, http_access, HttpAccess, TokenTable, ANONYMOUS_PRINCIPAL};
use crate::error::{ErrorCode, ServiceError};

/// What the layer checks requests against.
#[derive(Clone)]
pub struct HttpAuth {
    pub tokens: Arc<TokenTable>,
    /// Ask for a viewer token on /metrics.
    pub protect_metrics: bool,
}

/// How one flavor takes credentials and answers a refusal.
struct FlavorAuth {
    /// Path prefix, matched on a segment boundary.
    prefix: &'static str,
    /// The product this flavor copies accepts HTTP Basic (user = token name, password = token).
    basic: bool,
    render: fn(ServiceError) -> Response,
}

/// Every flavor but the native one (the fallback for every other path).
const FLAVORS: &[FlavorAuth] = &[
    FlavorAuth { prefix: "/api/v2", basic: false, render: render_orchestrator },
    FlavorAuth { prefix: "/api/20190715", basic: true, render: render_mysql_router },
    FlavorAuth { prefix: "/v1", basic: true, render: render_maxscale },
];

const NATIVE: FlavorAuth = FlavorAuth { prefix: "/", basic: false, render: render_native };

fn flavor_of(path: &str) -> &'static FlavorAuth {
    let under = |prefix: &str| {
        path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    FLAVORS.iter().find(|flavor| under(flavor.prefix)).unwrap_or(&NATIVE)
}

/// The axum middleware: lets the request through as its principal, or answers 401 / 403.
pub async fn authorize(State(auth): State<HttpAuth>, request: Request, next: Next) -> Response {
    if !auth.tokens.is_enabled() {
        return acting_as(ANONYMOUS_PRINCIPAL.to_string(), next.run(request)).await;
    }
    let required = match http_access(request.method().as_str(), request.uri().path(), auth.protect_metrics) {
        HttpAccess::Open => return next.run(request).await,
        HttpAccess::Requires(role) => role,
    };
    let flavor = flavor_of(request.uri().path());
    let header = request.headers().get(AUTHORIZATION).and_then(|value| value.to_str().ok());
    match auth.tokens.authorize(header, flavor.basic, required) {
        Ok(principal) => acting_as(principal.name, next.run(request)).await,
        Err(failure) => {
            let error = ServiceError::from(failure);
            let unauthenticated = error.code == ErrorCode::Unauthenticated;
            let mut response = (flavor.render)(error);
            if unauthenticated {
                let headers = response.headers_mut();
                headers.append(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"shardkeeper\""));
                if flavor.basic {
                    headers.append(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"shardkeeper\""));
                }
            }
            response
        }
    }
}

fn render_native(error: ServiceError) -> Response {
    ApiError::Service(error).into_response()
}

fn render_orchestrator(error: ServiceError) -> Response {
    V2Error::refused(error).into_response()
}

/// RFC 7807 problem details, as MySQL Router's REST API answers errors.
fn render_mysql_router(error: ServiceError) -> Response {
    let status = error.code.http_status();
    let body = json!({
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": error.message,
    });
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

fn render_maxscale(error: ServiceError) -> Response {
    MaxError::from(error).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prefix_finds_its_flavor_on_a_segment_boundary() {
        let cases = [
            ("/api/v1/namespaces", "/", false),
            ("/api/v2/clusters", "/api/v2", false),
            ("/api/v2", "/api/v2", false),
            ("/api/v20/x", "/", false),
            ("/api/20190715/routes", "/api/20190715", true),
            ("/v1/servers/db1/set", "/v1", true),
            ("/v10", "/", false),
        ];
        for (path, prefix, basic) in cases {
            let flavor = flavor_of(path);
            assert_eq!((flavor.prefix, flavor.basic), (prefix, basic), "{path}");
        }
    }
}
