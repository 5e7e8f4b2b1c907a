//! The write path: propose on the leader (through the group-commit `batcher`), or forward once to
//! the leader over gRPC.
//!
//! Retries only what certainly did not happen (no leader yet, the peer refused as not leader, the
//! connection could not be made). A write that was sent and then timed out is reported as ambiguous.

use openraft::error::{ClientWriteError, RaftError};

use super::batcher::BatchFailure;
use super::Node;
use crate::error::ServiceError;
use crate::meta::{Command, Response};
use crate::pb::members_client::MembersClient;
use crate::pb::ProposeRequest;
use crate::transport::is_never_sent;

/// The outcome of one attempt at a write.
pub enum WriteAttempt {
    /// The write's final answer (applied, rejected by the state machine, or ambiguous).
    Finished(Result<Response, ServiceError>),
    /// Nothing happened (leadership moved or the peer was unreachable); say why.
    NotDone(String),
}

impl Node {
    /// Commits `command` through raft and answers the state machine's response.
    pub async fn propose(&self, command: Command) -> Result<Response, ServiceError> {
        let deadline = tokio::time::Instant::now() + self.requests().leader_wait;
        loop {
            let leader = self.wait_for_leader(deadline).await?;
            let attempt = if leader == self.id() {
                self.write_as_leader(command.clone()).await
            } else {
                self.forward_write(leader, &command).await
            };
            match attempt {
                WriteAttempt::Finished(outcome) => return outcome,
                WriteAttempt::NotDone(reason) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(ServiceError::unavailable(format!(
                            "the write could not reach a leader in time ({reason}); nothing was written, retry"
                        )));
                    }
                    tracing::debug!(command = command.kind(), %reason, "retrying write");
                    self.wait_for_leadership_change(leader, deadline).await;
                }
            }
        }
    }

    /// Commits `command` only if this node is the leader; never forwards. Leader-only tasks use it
    /// so that a deposed leader's work cannot reach the new leader.
    pub async fn propose_as_leader(&self, command: Command) -> Result<Response, ServiceError> {
        match self.write_as_leader(command).await {
            WriteAttempt::Finished(outcome) => outcome,
            WriteAttempt::NotDone(reason) => Err(ServiceError::unavailable(reason)),
        }
    }

    /// One attempt to commit `command` on this node as leader; never forwards.
    pub async fn write_as_leader(&self, command: Command) -> WriteAttempt {
        let timeout = self.requests().write_timeout;
        match tokio::time::timeout(timeout, self.inner.batcher.write(command)).await {
            Ok(Ok(result)) => WriteAttempt::Finished(result.map_err(ServiceError::from)),
            Ok(Err(BatchFailure::Raft(RaftError::APIError(ClientWriteError::ForwardToLeader(_))))) => {
                WriteAttempt::NotDone("this node is not the leader".to_string())
            }
            Ok(Err(BatchFailure::Raft(RaftError::APIError(ClientWriteError::ChangeMembershipError(error))))) => {
                WriteAttempt::Finished(Err(ServiceError::internal(error.to_string())))
            }
            Ok(Err(BatchFailure::Raft(RaftError::Fatal(error)))) => WriteAttempt::NotDone(format!("raft stopped: {error}")),
            Ok(Err(BatchFailure::Malformed(message))) => WriteAttempt::Finished(Err(ServiceError::internal(message))),
            Err(_) => WriteAttempt::Finished(Err(ServiceError::ambiguous(format!(
                "the write was not confirmed within {}ms; it may or may not have been applied, read before retrying",
                timeout.as_millis()
            )))),
        }
    }

    async fn forward_write(&self, leader: u64, command: &Command) -> WriteAttempt {
        let Some(addr) = self.member_addr(leader) else {
            return WriteAttempt::NotDone(format!("leader {leader} is not in the membership yet"));
        };
        let channel = match self.channels().channel(&addr) {
            Ok(channel) => channel,
            Err(error) => return WriteAttempt::NotDone(error.message),
        };
        let command_json = match serde_json::to_vec(command) {
            Ok(json) => json,
            Err(error) => return WriteAttempt::Finished(Err(ServiceError::internal(error.to_string()))),
        };
        let mut request = tonic::Request::new(ProposeRequest { command_json, hops: 1 });
        request.set_timeout(self.requests().write_timeout);
        match MembersClient::new(channel).propose(request).await {
            Ok(reply) => WriteAttempt::Finished(
                serde_json::from_slice(&reply.into_inner().response_json)
                    .map_err(|error| ServiceError::internal(format!("malformed reply from the leader: {error}"))),
            ),
            Err(status) if is_never_sent(&status) => {
                WriteAttempt::NotDone(format!("leader {leader} at {addr} refused: {}", status.message()))
            }
            Err(status) if is_transport_failure(status.code()) => {
                WriteAttempt::Finished(Err(ServiceError::ambiguous(format!(
                    "the write was forwarded to leader {leader} but its outcome is unknown ({}); read before retrying",
                    status.message()
                ))))
            }
            Err(status) => WriteAttempt::Finished(Err(ServiceError::from(status))),
        }
    }
}

/// gRPC codes a broken or timed-out call produces, as opposed to the leader's own answers.
/// `Internal` is among them: tonic reports an HTTP/2 connection torn down mid-call (a leader that
/// crashed while answering) as `Internal`, and the leader's own internal errors come after the
/// write was proposed, so either way the outcome is unknown.
fn is_transport_failure(code: tonic::Code) -> bool {
    matches!(code, tonic::Code::Unavailable | tonic::Code::Cancelled | tonic::Code::Unknown | tonic::Code::Internal)
}
