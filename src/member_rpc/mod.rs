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

/// Refuses a members-only call that does not carry this cluster's secret; with no secret
/// configured every call passes (and the node binds loopback only). Client tokens count for
/// nothing here: a member credential is the cluster secret alone.
#[derive(Clone)]
pub struct MemberCheck {
    secret: Option<ClusterSecret>,
}

impl MemberCheck {
    pub fn new(secret: Option<ClusterSecret>) -> Self {
        MemberCheck { secret }
    }
}

impl Interceptor for MemberCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(secret) = &self.secret else { return Ok(request) };
        let presented = request.metadata().get(MEMBER_SECRET_METADATA).map(|value| value.as_bytes());
        if secret.matches(presented) {
            return Ok(request);
        }
        tracing::warn!(presented = presented.is_some(), "refused a members-only call without the cluster secret");
        Err(Status::unauthenticated("members-only call without this cluster's secret"))
    }
}
