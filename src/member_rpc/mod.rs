//! The members' gRPC servers: what only cluster members call on each other.
//!
//! Owns: the Raft service (openraft's messages) and the Members service (forwarded writes, the
//! leader's read index, leader-only calls, forwarded membership changes and joins). Sits beside
//! `node` and imports it; nothing below imports this. Client operations are `admin_grpc`'s.

mod members_service;
mod raft_service;

pub use members_service::MembersService;
pub use raft_service::RaftService;

use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::auth::{ClusterSecret, MEMBER_SECRET_METADATA};

/// Refuses a members-only call that does not carry this cluster's secret or, with mutual TLS, that
/// came without a client certificate (the TLS layer has verified any certificate presented against
/// the cluster CA); each configured credential is required. With neither configured every call
/// passes (and the node binds loopback only). Client tokens count for nothing here.
#[derive(Clone)]
pub struct MemberCheck {
    secret: Option<ClusterSecret>,
    client_certificate: bool,
}

impl MemberCheck {
    pub fn new(secret: Option<ClusterSecret>, client_certificate: bool) -> Self {
        MemberCheck { secret, client_certificate }
    }
}

impl Interceptor for MemberCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        if self.client_certificate && request.peer_certs().is_none_or(|certificates| certificates.is_empty()) {
            tracing::warn!("refused a members-only call without a cluster client certificate");
            return Err(Status::unauthenticated("members-only call without a certificate of this cluster's CA"));
        }
        let Some(secret) = &self.secret else { return Ok(request) };
        let presented = request.metadata().get(MEMBER_SECRET_METADATA).map(|value| value.as_bytes());
        if secret.matches(presented) {
            return Ok(request);
        }
        tracing::warn!(presented = presented.is_some(), "refused a members-only call without the cluster secret");
        Err(Status::unauthenticated("members-only call without this cluster's secret"))
    }
}
