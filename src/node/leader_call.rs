//! Leader-only calls (observations, health, switchover): answered by the leader's `Fleet`, so a
//! follower forwards them once over gRPC, like writes.

use super::Node;
use crate::error::ServiceError;
use crate::pb::members_client::MembersClient;
use crate::pb::LeaderCallRequest;

/// Answers a leader call forwarded by another member (JSON in, JSON out). The service layer
/// implements it; the members' server holds one, so neither `node` nor that server imports upward.
#[tonic::async_trait]
pub trait LeaderCallAnswerer: Send + Sync + 'static {
    async fn answer_leader_call_json(&self, call_json: &[u8]) -> Result<Vec<u8>, ServiceError>;
}

/// Where a leader-only call is answered.
pub enum LeaderRoute {
    /// This node is the leader.
    Here,
    /// Forward to this member.
    Forward(u64),
}

impl Node {
    /// Waits (bounded) for a leader and says where a leader-only call goes.
    pub async fn route_to_leader(&self) -> Result<LeaderRoute, ServiceError> {
        let deadline = tokio::time::Instant::now() + self.requests().leader_wait;
        let leader = self.wait_for_leader(deadline).await?;
        Ok(if leader == self.id() { LeaderRoute::Here } else { LeaderRoute::Forward(leader) })
    }

    /// Sends a leader call (JSON) to member `leader` and answers its JSON reply.
    pub async fn forward_leader_call(
        &self,
        leader: u64,
        call_json: Vec<u8>,
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, ServiceError> {
        let addr = self
            .member_addr(leader)
            .ok_or_else(|| ServiceError::unavailable(format!("leader {leader} is not in the membership yet; retry")))?;
        let channel = self.channels().channel(&addr)?;
        let mut request = tonic::Request::new(LeaderCallRequest { call_json, hops: 1 });
        request.set_timeout(timeout);
        let reply = MembersClient::new(channel).leader_call(request).await.map_err(ServiceError::from)?;
        Ok(reply.into_inner().reply_json)
    }
}
