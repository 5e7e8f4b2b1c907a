//! The native response envelope: success is `{"data": ...}`, failure is `{"error": {"message": "..."}}`
//! with the HTTP status taken from the error code table (`ErrorCode::http_status`).
//!
//! Owns: building every native and operations response, and `ApiError`, the one rejection type of
//! the native extractors and handlers. Must not decide statuses of service errors itself: those come
//! from `crate::error` only.

use axum::http::header::ETAG;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::ServiceError;

/// What a native or operations handler answers.
pub type ApiResult = Result<Response, ApiError>;

#[derive(Serialize)]
struct DataEnvelope<T> {
    data: T,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
}

/// `status` with `{"data": data}`.
pub fn reply<T: Serialize>(status: StatusCode, data: T) -> Response {
    (status, Json(DataEnvelope { data })).into_response()
}

/// 200 `{"data": data}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    reply(StatusCode::OK, data)
}

/// 201 `{"data": "created"}`.
pub fn created() -> Response {
    reply(StatusCode::CREATED, "created")
}

/// 200 `{"data": "ok"}`: a delete or a slot migration went through.
pub fn done() -> Response {
    ok("ok")
}

/// Adds `ETag: "<version>"`, the cluster version a later `If-Match` can name.
pub fn with_version(mut response: Response, version: u64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

/// Why a request failed: a service error (status from the error-code table), or a refusal by the
/// HTTP plumbing itself before any service call (no such route, wrong method, body too large).
#[derive(Debug)]
pub enum ApiError {
    Service(ServiceError),
    Http { status: StatusCode, message: String },
}

impl ApiError {
    /// 400: the request itself is malformed.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Service(ServiceError::invalid(message))
    }

    pub fn http(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Http { status, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Service(error) => error.code.http_status(),
            ApiError::Http { status, .. } => *status,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::Service(error) => &error.message,
            ApiError::Http { message, .. } => message,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        ApiError::Service(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.message();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %message, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %message, "request refused");
        }
        (status, Json(ErrorEnvelope { error: ErrorBody { message } })).into_response()
    }
}
