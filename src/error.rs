//! The one error-code table: every failure a client can see has one `ErrorCode`, which decides both
//! the HTTP status and the gRPC code. A `ServiceError` crosses the gRPC forwarding hop intact, so a
//! forwarded request answers exactly as if the leader had been asked directly.

use axum::http::StatusCode;

use crate::meta::{MetaError, MetaErrorKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// Malformed input: bad JSON, bad name, bad address, bad slot.
    InvalidArgument,
    NotFound,
    AlreadyExists,
    /// Well-formed but the current state forbids it (delete a master, a shard that owns slots ...).
    Conflict,
    /// `If-Match` did not match the cluster version.
    VersionMismatch,
    /// Not available in this build (e.g. data migration).
    NotImplemented,
    /// No leader could be reached in time; nothing was done; retry.
    Unavailable,
    /// The request was sent but its outcome is unknown: it may or may not have taken effect.
    Ambiguous,
    Internal,
    /// No valid credentials were presented.
    Unauthenticated,
    /// Valid credentials whose role is too small for the call.
    PermissionDenied,
}

/// Every code, for tables and tests.
pub const ALL_ERROR_CODES: [ErrorCode; 11] = [
    ErrorCode::InvalidArgument,
    ErrorCode::NotFound,
    ErrorCode::AlreadyExists,
    ErrorCode::Conflict,
    ErrorCode::VersionMismatch,
    ErrorCode::NotImplemented,
    ErrorCode::Unavailable,
    ErrorCode::Ambiguous,
    ErrorCode::Internal,
    ErrorCode::Unauthenticated,
    ErrorCode::PermissionDenied,
];

impl ErrorCode {
    pub fn http_status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::AlreadyExists => StatusCode::CONFLICT,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::VersionMismatch => StatusCode::PRECONDITION_FAILED,
            ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Ambiguous => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::AlreadyExists => tonic::Code::AlreadyExists,
            ErrorCode::Conflict => tonic::Code::FailedPrecondition,
            ErrorCode::VersionMismatch => tonic::Code::Aborted,
            ErrorCode::NotImplemented => tonic::Code::Unimplemented,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Ambiguous => tonic::Code::DeadlineExceeded,
            ErrorCode::Internal => tonic::Code::Internal,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::PermissionDenied => tonic::Code::PermissionDenied,
        }
    }

    /// The inverse of `grpc_code`; unknown gRPC codes are internal errors.
    pub fn from_grpc_code(code: tonic::Code) -> ErrorCode {
        ALL_ERROR_CODES
            .into_iter()
            .find(|candidate| candidate.grpc_code() == code)
            .unwrap_or(ErrorCode::Internal)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub code: ErrorCode,
    pub message: String,
}

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError { code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }

    pub fn ambiguous(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Ambiguous, message)
    }
}

impl From<MetaError> for ServiceError {
    fn from(error: MetaError) -> Self {
        let code = match error.kind {
            MetaErrorKind::Invalid => ErrorCode::InvalidArgument,
            MetaErrorKind::NotFound => ErrorCode::NotFound,
            MetaErrorKind::AlreadyExists => ErrorCode::AlreadyExists,
            MetaErrorKind::Conflict => ErrorCode::Conflict,
            MetaErrorKind::VersionMismatch => ErrorCode::VersionMismatch,
        };
        ServiceError::new(code, error.message)
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(error: ServiceError) -> Self {
        tonic::Status::new(error.code.grpc_code(), error.message)
    }
}

impl From<tonic::Status> for ServiceError {
    fn from(status: tonic::Status) -> Self {
        ServiceError::new(ErrorCode::from_grpc_code(status.code()), status.message().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_grpc() {
        for code in ALL_ERROR_CODES {
            assert_eq!(ErrorCode::from_grpc_code(code.grpc_code()), code, "{code:?}");
        }
    }

    #[test]
    fn every_code_is_a_client_or_server_error() {
        for code in ALL_ERROR_CODES {
            let status = code.http_status();
            assert!(status.is_client_error() || status.is_server_error(), "{code:?} -> {status}");
        }
    }
}
