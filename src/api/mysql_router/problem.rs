//! This flavor's failures in MySQL Router's own form: RFC 7807 `application/problem+json` bodies
//! with `title` and `status` (plus `detail` or `instance`), as Router's REST plugins answer:
//!
//! - 404 `{"title": "URI not found", "instance": PATH, "status": 404}`: no such path, route,
//!   metadata instance or connection pool;
//! - 405 `{"title": "HTTP Method not allowed", "detail": "only HTTP Methods GET,HEAD are
//!   supported", "status": 405}` with an `Allow` header;
//! - 400 `{"title": "validation error", "detail": "parameters not allowed", "status": 400}`: a
//!   query string, which no endpoint of this API takes.
//!
//! Also the extractor of a name path segment (`NamePath`) and the layer refusing query strings.
//! Owns only these shapes and request checks; must not call the service layer.

use axum::extract::{FromRequestParts, OriginalUri, Path, Request};
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The methods every path of this flavor answers (axum answers HEAD as GET without a body).
pub const ALLOWED_METHODS: &str = "GET,HEAD";

/// One RFC 7807 problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub title: &'static str,
    #[serde(serialize_with = "serialize_status")]
    pub status: StatusCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

fn serialize_status<S: serde::Serializer>(status: &StatusCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u16(status.as_u16())
}

impl Problem {
    /// 404 for `path` (the whole request path, as Router's `instance`).
    pub fn not_found(path: &str) -> Problem {
        Problem {
            title: "URI not found",
            status: StatusCode::NOT_FOUND,
            detail: None,
            instance: Some(path.to_string()),
        }
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed() -> Problem {
        Problem {
            title: "HTTP Method not allowed",
            status: StatusCode::METHOD_NOT_ALLOWED,
            detail: Some(format!("only HTTP Methods {ALLOWED_METHODS} are supported")),
            instance: None,
        }
    }

    /// 400: the request carried a query string.
    pub fn parameters_not_allowed() -> Problem {
        Problem {
            title: "validation error",
            status: StatusCode::BAD_REQUEST,
            detail: Some("parameters not allowed".to_string()),
            instance: None,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        tracing::debug!(status = self.status.as_u16(), title = self.title, "mysql router request refused");
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
        }
        response
    }
}

/// The one name segment of a path (`{routeName}`, `{metadataName}`, `{connectionPoolName}`) and the
/// whole request path, for a 404's `instance`. A segment that does not decode (bad UTF-8 after
/// percent-decoding) names nothing that exists: 404, as Router answers any unknown name.
pub struct NamePath {
    pub name: String,
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for NamePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let path = request_path(parts);
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(name)) => Ok(NamePath { name, path }),
            Err(_) => Err(Problem::not_found(&path)),
        }
    }
}

/// The whole request path, also inside the nested router (which strips its prefix from `uri`).
pub fn request_path(parts: &Parts) -> String {
    match parts.extensions.get::<OriginalUri>() {
        Some(OriginalUri(uri)) => uri.path().to_string(),
        None => parts.uri.path().to_string(),
    }
}

/// Route layer: no endpoint takes parameters, so a non-empty query string is a 400 (checked after
/// the method, before the name lookup, in Router's order).
pub async fn refuse_parameters(request: Request, next: Next) -> Response {
    if request.uri().query().is_some_and(|query| !query.is_empty()) {
        return Problem::parameters_not_allowed().into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(problem: Problem) -> (StatusCode, Option<String>, Option<String>, serde_json::Value) {
        let response = problem.into_response();
        let header = |name| response.headers().get(name).map(|value: &HeaderValue| value.to_str().unwrap().to_string());
        let (content_type, allow) = (header(CONTENT_TYPE), header(ALLOW));
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, content_type, allow, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn problems_have_routers_shape() {
        let cases = [
            (
                Problem::not_found("/api/20190715/routes/nope/status"),
                404,
                None,
                serde_json::json!({"title": "URI not found", "status": 404, "instance": "/api/20190715/routes/nope/status"}),
            ),
            (
                Problem::method_not_allowed(),
                405,
                Some("GET,HEAD"),
                serde_json::json!({"title": "HTTP Method not allowed", "status": 405, "detail": "only HTTP Methods GET,HEAD are supported"}),
            ),
            (
                Problem::parameters_not_allowed(),
                400,
                None,
                serde_json::json!({"title": "validation error", "status": 400, "detail": "parameters not allowed"}),
            ),
        ];
        for (problem, status, allow, body) in cases {
            let (got_status, content_type, got_allow, got_body) = parts(problem).await;
            assert_eq!(got_status.as_u16(), status);
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
            assert_eq!(got_allow.as_deref(), allow);
            assert_eq!(got_body, body);
        }
    }
}
