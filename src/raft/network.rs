//! The raft network client: openraft's messages, JSON encoded, over the Raft gRPC service.
//!
//! Connection failures are reported as `Unreachable` (openraft backs off), other transport failures
//! as `Network`, and errors the remote raft returned as `RemoteError`.

use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};

use super::identity::{ClusterIdentity, CLUSTER_ID_METADATA};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::TypeConfig;
use crate::pb::raft_client::RaftClient;
use crate::pb::RaftPayload;
use crate::transport::{is_never_sent, Channels};

#[derive(Clone)]
pub struct NetworkFactory {
    channels: Channels,
    identity: ClusterIdentity,
}

impl NetworkFactory {
    pub fn new(channels: Channels, identity: ClusterIdentity) -> Self {
        NetworkFactory { channels, identity }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Self::Network {
        let client = match self.channels.channel(&node.addr) {
            Ok(channel) => Some(RaftClient::new(channel)),
            Err(error) => {
                tracing::warn!(target_node = target, %error, "raft peer has an unusable address");
                None
            }
        };
        PeerConnection { target, client, identity: self.identity.clone() }
    }
}

pub struct PeerConnection {
    target: u64,
    client: Option<RaftClient<tonic::transport::Channel>>,
    identity: ClusterIdentity,
}

#[derive(Clone, Copy)]
enum RaftCall {
    AppendEntries,
    Vote,
    InstallSnapshot,
}

impl PeerConnection {
    async fn call<Req, Resp, Err>(
        &mut self,
        call: RaftCall,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, RPCError<u64, BasicNode, RaftError<u64, Err>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        Err: std::error::Error + DeserializeOwned,
    {
        let Some(client) = self.client.as_mut() else {
            let error = std::io::Error::other(format!("node {} has no usable address", self.target));
            return Err(RPCError::Unreachable(Unreachable::new(&error)));
        };
        let json = serde_json::to_vec(request).map_err(|error| RPCError::Network(NetworkError::new(&error)))?;
        let mut grpc_request = tonic::Request::new(RaftPayload { json });
        grpc_request.set_timeout(timeout);
        if let Some(id) = self.identity.get().and_then(|id| id.parse().ok()) {
            grpc_request.metadata_mut().insert(CLUSTER_ID_METADATA, id);
        }
        let reply = match call {
            RaftCall::AppendEntries => client.append_entries(grpc_request).await,
            RaftCall::Vote => client.vote(grpc_request).await,
            RaftCall::InstallSnapshot => client.install_snapshot(grpc_request).await,
        };
        let payload = match reply {
            Ok(reply) => reply.into_inner(),
            Err(status) if is_never_sent(&status) => return Err(RPCError::Unreachable(Unreachable::new(&status))),
            Err(status) => return Err(RPCError::Network(NetworkError::new(&status))),
        };
        let outcome: Result<Resp, RaftError<u64, Err>> =
            serde_json::from_slice(&payload.json).map_err(|error| RPCError::Network(NetworkError::new(&error)))?;
        outcome.map_err(|error| RPCError::RemoteError(RemoteError::new(self.target, error)))
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(RaftCall::AppendEntries, &request, option.hard_ttl()).await
    }

    async fn install_snapshot(
        &mut self,
        request: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<u64>, RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>> {
        self.call(RaftCall::InstallSnapshot, &request, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        request: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(RaftCall::Vote, &request, option.hard_ttl()).await
    }

    /// Retry an unreachable peer every 50 ms: a restarted member hears heartbeats again within a
    /// heartbeat or two, long before its election timeout.
    fn backoff(&self) -> openraft::network::Backoff {
        openraft::network::Backoff::new(std::iter::repeat(Duration::from_millis(50)))
    }
}
