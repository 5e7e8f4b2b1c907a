//! Reads: linearizable through the leader's read index (ensure-linearizable), or stale from the
//! local copy.

use openraft::error::{CheckIsLeaderError, RaftError};

use super::Node;
use crate::error::ServiceError;
use crate::meta::MetaState;
use crate::pb::members_client::MembersClient;
use crate::pb::ReadIndexRequest;
use crate::transport::is_never_sent;

/// How fresh a read must be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Consistency {
    /// Reflects every write acknowledged before the read started (leader ReadIndex).
    #[default]
    Linearizable,
    /// This node's local copy; may lag behind the leader.
    Stale,
}

impl Consistency {
    /// `"stale"` selects a stale read; anything else (or nothing) is linearizable.
    pub fn from_query(value: Option<&str>) -> Consistency {
        match value {
            Some(value) if value.eq_ignore_ascii_case("stale") => Consistency::Stale,
            _ => Consistency::Linearizable,
        }
    }
}

impl Node {
    /// Runs `read` on the metadata: after catching up with the leader's read index when
    /// `consistency` is linearizable, at once on the local copy when stale.
    pub async fn read<T>(
        &self,
        consistency: Consistency,
        read: impl FnOnce(&MetaState) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        if consistency == Consistency::Linearizable {
            self.linearize().await?;
        }
        self.reader().read(|state| read(&state.meta))
    }

    /// Returns once this node has applied everything committed before the call started.
    pub async fn linearize(&self) -> Result<(), ServiceError> {
        let deadline = tokio::time::Instant::now() + self.requests().leader_wait;
        loop {
            let leader = self.wait_for_leader(deadline).await?;
            let read_index = if leader == self.id() {
                self.read_index_as_leader().await
            } else {
                self.read_index_from(leader).await
            };
            match read_index {
                Ok(index) => return self.wait_applied(index, deadline).await,
                Err(reason) if tokio::time::Instant::now() >= deadline => {
                    return Err(ServiceError::unavailable(format!(
                        "no leader confirmed the read in time ({reason}); retry, or read with ?consistency=stale"
                    )))
                }
                Err(reason) => {
                    tracing::debug!(%reason, "retrying read index");
                    self.wait_for_leadership_change(leader, deadline).await;
                }
            }
        }
    }

    /// As leader: confirms leadership with a quorum and answers the index a read must wait for.
    pub async fn read_index_as_leader(&self) -> Result<u64, String> {
        match self.raft().get_read_log_id().await {
            Ok((read_log_id, _applied)) => Ok(read_log_id.map(|log_id| log_id.index).unwrap_or(0)),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_))) => {
                Err("this node is not the leader".to_string())
            }
            Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(error))) => Err(error.to_string()),
            Err(RaftError::Fatal(error)) => Err(format!("raft stopped: {error}")),
        }
    }

    async fn read_index_from(&self, leader: u64) -> Result<u64, String> {
        let addr = self.member_addr(leader).ok_or_else(|| format!("leader {leader} has no known address"))?;
        let channel = self.channels().channel(&addr).map_err(|error| error.message)?;
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(self.requests().leader_wait);
        match MembersClient::new(channel).read_index(request).await {
            Ok(reply) => Ok(reply.into_inner().index),
            Err(status) if is_never_sent(&status) => Err(format!("leader {leader} refused: {}", status.message())),
            Err(status) => Err(format!("leader {leader} did not answer: {}", status.message())),
        }
    }

    async fn wait_applied(&self, index: u64, deadline: tokio::time::Instant) -> Result<(), ServiceError> {
        let timeout = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.raft()
            .wait(Some(timeout))
            .applied_index_at_least(Some(index), "linearizable read")
            .await
            .map(|_| ())
            .map_err(|error| {
                ServiceError::unavailable(format!("this node did not catch up with the leader in time: {error}; retry"))
            })
    }
}
