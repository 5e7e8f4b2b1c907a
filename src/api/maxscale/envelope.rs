//! MaxScale's error envelope and status codes: a failure answers `{"errors": [{"detail": "..."}]}`;
//! success is 200 with a JSON:API document or 204 with no body.
//!
//! Owns `MaxError`, the one rejection type of this flavor, and the mapping of a `ServiceError` onto
//! MaxScale's codes: bad input and refused operations (a server in use, a name taken) are 403 as
//! the document says (every other flavor answers bad input with 400), unknown servers 404, a stale
//! `If-Match` 412, no leader 503, an unknown outcome 504. Must not build resource documents.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::{ErrorCode, ServiceError};

pub type MaxResult = Result<Response, MaxError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxError {
    pub status: StatusCode,
    pub detail: String,
}

impl MaxError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        MaxError { status, detail: detail.into() }
    }

    /// 403: MaxScale's answer to a bad body or parameter.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
}

impl From<ServiceError> for MaxError {
    fn from(error: ServiceError) -> Self {
        let status = match error.code {
            ErrorCode::InvalidArgument | ErrorCode::AlreadyExists | ErrorCode::Conflict => StatusCode::FORBIDDEN,
            other => other.http_status(),
        };
        MaxError::new(status, error.message)
    }
}

impl IntoResponse for MaxError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), error = %self.detail, "maxscale request failed");
        } else {
            tracing::debug!(status = self.status.as_u16(), error = %self.detail, "maxscale request refused");
        }
        (self.status, Json(json!({"errors": [{"detail": self.detail}]}))).into_response()
    }
}

/// 200 with a JSON:API document.
pub fn ok(document: serde_json::Value) -> Response {
    (StatusCode::OK, Json(document)).into_response()
}

/// 204, no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ALL_ERROR_CODES;

    #[test]
    fn service_errors_map_onto_maxscale_statuses() {
        for code in ALL_ERROR_CODES {
            let expected = match code {
                ErrorCode::InvalidArgument | ErrorCode::AlreadyExists | ErrorCode::Conflict => 403,
                ErrorCode::NotFound => 404,
                ErrorCode::VersionMismatch => 412,
                ErrorCode::NotImplemented => 501,
                ErrorCode::Unavailable => 503,
                ErrorCode::Ambiguous => 504,
                ErrorCode::Internal => 500,
            };
            let error = MaxError::from(ServiceError::new(code, "boom"));
            assert_eq!((error.status.as_u16(), error.detail.as_str()), (expected, "boom"), "{code:?}");
        }
    }

    #[tokio::test]
    async fn errors_use_maxscale_envelope() {
        let response = MaxError::not_found("server \"x\" does not exist").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body, json!({"errors": [{"detail": "server \"x\" does not exist"}]}));
    }
}
