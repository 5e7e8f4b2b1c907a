//! The orchestrator v2 envelope: success is `{"status": "ok", "data": ...}`, failure is
//! `{"status": "error", "error": {"code": "NOT_FOUND", "message": "..."}}`, and the HTTP status is
//! one of 200, 400, 404, 500 and 503 (plus 405 for a wrong method, and 401 / 403 from the
//! authentication layer).
//!
//! Owns: `V2Error`, the one rejection type of this flavor's extractors and handlers, and the mapping
//! of a `ServiceError` onto this flavor's codes: invalid → 400 `BAD_REQUEST`, not found → 404
//! `NOT_FOUND`, unavailable → 503 `SERVICE_UNAVAILABLE`, anything else → 500 with the code the
//! handler names (`CLUSTER_LIST_ERROR`, ...). Must not build native responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::{ErrorCode, ServiceError};

/// What a v2 handler answers.
pub type V2Result = Result<Response, V2Error>;

/// 400: the request is malformed (bad instance key, bad page ...).
pub const BAD_REQUEST: &str = "BAD_REQUEST";
/// 404: no such cluster, instance or route.
pub const NOT_FOUND: &str = "NOT_FOUND";
/// 405: the route exists, the method does not.
pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
/// 503: no raft leader answered in time; retry.
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
/// 401: no valid credentials (answered by the authentication layer, `api::auth_layer`).
pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
/// 403: the token's role is too small.
pub const FORBIDDEN: &str = "FORBIDDEN";
/// 500 fallback when a handler names no code of its own.
pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";

#[derive(Serialize)]
struct OkEnvelope<T> {
    status: &'static str,
    data: T,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    status: &'static str,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

/// 200 `{"status": "ok", "data": data}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    (StatusCode::OK, Json(OkEnvelope { status: "ok", data })).into_response()
}

/// A v2 failure: HTTP status, machine-readable code, human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl V2Error {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        V2Error { status, code, message: message.into() }
    }

    /// 400 `BAD_REQUEST`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, BAD_REQUEST, message)
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, NOT_FOUND, message)
    }

    /// A service error in this flavor's terms; `internal_code` names a 500 (e.g.
    /// `CLUSTER_LIST_ERROR`). Statuses other than 400, 404 and 503 become 500: a conflict or an
    /// ambiguous outcome cannot happen on these read-only endpoints, and when it does it is ours.
    pub fn service(error: ServiceError, internal_code: &'static str) -> Self {
        let (status, code) = match error.code {
            ErrorCode::InvalidArgument => (StatusCode::BAD_REQUEST, BAD_REQUEST),
            ErrorCode::NotFound => (StatusCode::NOT_FOUND, NOT_FOUND),
            ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, internal_code),
        };
        Self::new(status, code, error.message)
    }
}

impl V2Error {
    /// A refusal of the authentication layer (401 or 403) in this flavor's envelope.
    pub fn refused(error: ServiceError) -> Self {
        let code = if error.code == ErrorCode::PermissionDenied { FORBIDDEN } else { UNAUTHORIZED };
        Self::new(error.code.http_status(), code, error.message)
    }
}

impl From<ServiceError> for V2Error {
    fn from(error: ServiceError) -> Self {
        V2Error::service(error, INTERNAL_ERROR)
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), code = self.code, error = %self.message, "v2 request failed");
        } else {
            tracing::debug!(status = self.status.as_u16(), code = self.code, error = %self.message, "v2 request refused");
        }
        let body = ErrorEnvelope { status: "error", error: ErrorBody { code: self.code, message: &self.message } };
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ALL_ERROR_CODES;

    #[test]
    fn service_errors_map_onto_the_v2_statuses() {
        for code in ALL_ERROR_CODES {
            let error = V2Error::service(ServiceError::new(code, "boom"), "CLUSTER_LIST_ERROR");
            let expected = match code {
                ErrorCode::InvalidArgument => (400, "BAD_REQUEST"),
                ErrorCode::NotFound => (404, "NOT_FOUND"),
                ErrorCode::Unavailable => (503, "SERVICE_UNAVAILABLE"),
                _ => (500, "CLUSTER_LIST_ERROR"),
            };
            assert_eq!((error.status.as_u16(), error.code), expected, "{code:?}");
            assert_eq!(error.message, "boom");
        }
    }

    #[tokio::test]
    async fn envelopes_have_the_documented_shape() {
        let body = |response: Response| async move {
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let success = ok(vec![1, 2]);
        assert_eq!(success.status(), StatusCode::OK);
        assert_eq!(body(success).await, serde_json::json!({"status": "ok", "data": [1, 2]}));

        let failure = V2Error::not_found("cluster \"x\" cannot be resolved").into_response();
        assert_eq!(failure.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            body(failure).await,
            serde_json::json!({
                "status": "error",
                "error": {"code": "NOT_FOUND", "message": "cluster \"x\" cannot be resolved"}
            })
        );
    }
}
