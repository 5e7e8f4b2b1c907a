//! The Raft gRPC service: decodes openraft messages, hands them to the local raft, encodes the reply.
//! Messages from another cluster (a different cluster id) are refused before raft sees them.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Request, Response, Status};

use crate::pb::raft_server::Raft as RaftApi;
use crate::pb::RaftPayload;
use crate::raft::identity::CLUSTER_ID_METADATA;
use crate::raft::{ClusterIdentity, Raft};

pub struct RaftService {
    raft: Raft,
    identity: ClusterIdentity,
}

impl RaftService {
    pub fn new(raft: Raft, identity: ClusterIdentity) -> Self {
        RaftService { raft, identity }
    }

    /// The message, once its sender is known to belong to this cluster.
    async fn admit<T: DeserializeOwned>(&self, request: Request<RaftPayload>) -> Result<T, Status> {
        let incoming = request.metadata().get(CLUSTER_ID_METADATA).and_then(|value| value.to_str().ok());
        if let Err(reason) = self.identity.admit(incoming).await {
            tracing::warn!(%reason, "refused a raft message from another cluster");
            return Err(Status::failed_precondition(reason));
        }
        serde_json::from_slice(&request.into_inner().json)
            .map_err(|error| Status::invalid_argument(format!("malformed raft message: {error}")))
    }
}

fn encode<T: Serialize>(outcome: &T) -> Result<Response<RaftPayload>, Status> {
    serde_json::to_vec(outcome)
        .map(|json| Response::new(RaftPayload { json }))
        .map_err(|error| Status::internal(format!("cannot encode raft reply: {error}")))
}

#[tonic::async_trait]
impl RaftApi for RaftService {
    async fn append_entries(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        encode(&self.raft.append_entries(self.admit(request).await?).await)
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        encode(&self.raft.vote(self.admit(request).await?).await)
    }

    async fn install_snapshot(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        encode(&self.raft.install_snapshot(self.admit(request).await?).await)
    }
}
