//! Membership changes: add a node (learner until caught up, then voter), remove a node, list
//! members, and join a running cluster. Changes run on the leader; a follower forwards them once.

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers};

use super::status::members_of;
use super::{Member, Node, NodeError};
use crate::config::is_host_port;
use crate::error::{ErrorCode, ServiceError};
use super::Consistency;
use crate::pb::members_client::MembersClient;
use crate::pb::{AddPeerRequest, RemovePeerRequest};
use crate::transport::{is_never_sent, Channels};

impl Node {
    pub async fn members(&self, consistency: Consistency) -> Result<Vec<Member>, ServiceError> {
        if consistency == Consistency::Linearizable {
            self.linearize().await?;
        }
        Ok(self.reader().read(|state| members_of(state.last_membership.membership())))
    }

    /// Adds `node_id` at `grpc_addr`: as a learner until it has caught up, then as a voter.
    pub async fn add_peer(&self, node_id: u64, grpc_addr: String) -> Result<Vec<Member>, ServiceError> {
        if !is_host_port(&grpc_addr) {
            return Err(ServiceError::invalid(format!("grpc_addr \"{grpc_addr}\" is not host:port")));
        }
        if node_id == 0 {
            return Err(ServiceError::invalid("node_id must be a positive integer"));
        }
        let leader = self.wait_for_leader(tokio::time::Instant::now() + self.requests().leader_wait).await?;
        if leader != self.id() {
            let request = AddPeerRequest { node_id, grpc_addr };
            return self.forward_membership(leader, |mut client, timeout| async move {
                let mut request = tonic::Request::new(request);
                request.set_timeout(timeout);
                client.add_peer(request).await
            })
            .await;
        }
        self.add_peer_as_leader(node_id, grpc_addr).await
    }

    pub async fn add_peer_as_leader(&self, node_id: u64, grpc_addr: String) -> Result<Vec<Member>, ServiceError> {
        let timeout = self.requests().membership_timeout;
        let raft = self.raft();
        let change = async {
            raft.add_learner(node_id, BasicNode::new(grpc_addr), true).await?;
            raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([node_id])), false).await
        };
        match tokio::time::timeout(timeout, change).await {
            Ok(Ok(_)) => self.members(Consistency::Stale).await,
            Ok(Err(error)) => Err(membership_error(error)),
            Err(_) => Err(ServiceError::ambiguous(format!(
                "adding node {node_id} did not finish within {}s; check /api/v1/raft/peers",
                timeout.as_secs()
            ))),
        }
    }

    /// Removes `node_id` from the cluster (voter or learner).
    pub async fn remove_peer(&self, node_id: u64) -> Result<Vec<Member>, ServiceError> {
        let leader = self.wait_for_leader(tokio::time::Instant::now() + self.requests().leader_wait).await?;
        if leader != self.id() {
            return self
                .forward_membership(leader, |mut client, timeout| async move {
                    let mut request = tonic::Request::new(RemovePeerRequest { node_id });
                    request.set_timeout(timeout);
                    client.remove_peer(request).await
                })
                .await;
        }
        self.remove_peer_as_leader(node_id).await
    }

    pub async fn remove_peer_as_leader(&self, node_id: u64) -> Result<Vec<Member>, ServiceError> {
        let (is_voter, is_member) = {
            let metrics = self.raft().metrics();
            let metrics = metrics.borrow();
            let membership = metrics.membership_config.membership();
            (membership.voter_ids().any(|id| id == node_id), membership.get_node(&node_id).is_some())
        };
        let change = match (is_voter, is_member) {
            (true, _) => ChangeMembers::RemoveVoters(BTreeSet::from([node_id])),
            (false, true) => ChangeMembers::RemoveNodes(BTreeSet::from([node_id])),
            (false, false) => {
                return Err(ServiceError::not_found(format!("node {node_id} is not a member of this cluster")))
            }
        };
        let timeout = self.requests().membership_timeout;
        match tokio::time::timeout(timeout, self.raft().change_membership(change, false)).await {
            Ok(Ok(_)) => self.members(Consistency::Stale).await,
            Ok(Err(error)) => Err(membership_error(error)),
            Err(_) => Err(ServiceError::ambiguous(format!(
                "removing node {node_id} did not finish within {}s; check /api/v1/raft/peers",
                timeout.as_secs()
            ))),
        }
    }

    async fn forward_membership<F, Fut>(&self, leader: u64, call: F) -> Result<Vec<Member>, ServiceError>
    where
        F: FnOnce(MembersClient<tonic::transport::Channel>, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<crate::pb::PeersReply>, tonic::Status>>,
    {
        let addr = self
            .member_addr(leader)
            .ok_or_else(|| ServiceError::unavailable(format!("leader {leader} has no known address; retry")))?;
        let client = MembersClient::new(self.channels().channel(&addr)?);
        match call(client, self.requests().membership_timeout).await {
            Ok(reply) => Ok(reply.into_inner().members.into_iter().map(Member::from).collect()),
            Err(status) if is_never_sent(&status) => Err(ServiceError::unavailable(format!(
                "leader {leader} could not take the change ({}); nothing changed, retry",
                status.message()
            ))),
            Err(status) => Err(ServiceError::from(status)),
        }
    }

    /// Asks the cluster reachable at `target` to add this node, retrying until `deadline`.
    /// A node whose data directory already holds a cluster does nothing.
    pub async fn join(&self, target: &str, advertise_grpc_addr: &str, wait: Duration) -> Result<(), NodeError> {
        let join_error = |message: String| NodeError::Join { target: target.to_string(), message };
        if self.raft().is_initialized().await.map_err(|error| join_error(error.to_string()))? {
            tracing::info!(node_id = self.id(), "already a member; not joining again");
            return Ok(());
        }
        let channel = Channels::default().channel(target).map_err(|error| join_error(error.message))?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let request = AddPeerRequest { node_id: self.id(), grpc_addr: advertise_grpc_addr.to_string() };
            match MembersClient::new(channel.clone()).add_peer(request).await {
                Ok(_) => return Ok(()),
                Err(status) if tokio::time::Instant::now() >= deadline => {
                    return Err(join_error(status.message().to_string()))
                }
                Err(status) => {
                    tracing::info!(%target, error = %status.message(), "join not accepted yet, retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

fn membership_error(error: RaftError<u64, ClientWriteError<u64, BasicNode>>) -> ServiceError {
    match error {
        RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => {
            ServiceError::unavailable("leadership moved during the membership change; nothing changed, retry")
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(error)) => {
            ServiceError::new(ErrorCode::Conflict, error.to_string())
        }
        RaftError::Fatal(error) => ServiceError::unavailable(format!("raft stopped: {error}")),
    }
}

impl Member {
    pub fn into_pb(self) -> crate::pb::Member {
        crate::pb::Member { node_id: self.node_id, grpc_addr: self.grpc_addr, kind: self.kind.to_string() }
    }
}

impl From<crate::pb::Member> for Member {
    fn from(member: crate::pb::Member) -> Self {
        Member {
            node_id: member.node_id,
            grpc_addr: member.grpc_addr,
            kind: if member.kind == "voter" { "voter" } else { "learner" },
        }
    }
}
