//! The Raft gRPC service: decodes openraft messages, hands them to the local raft, encodes the reply.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Request, Response, Status};

use super::pb::raft_server::Raft as RaftApi;
use super::pb::RaftPayload;
use crate::raft::Raft;

pub struct RaftService {
    raft: Raft,
}

impl RaftService {
    pub fn new(raft: Raft) -> Self {
        RaftService { raft }
    }
}

fn decode<T: DeserializeOwned>(request: Request<RaftPayload>) -> Result<T, Status> {
    serde_json::from_slice(&request.into_inner().json)
        .map_err(|error| Status::invalid_argument(format!("malformed raft message: {error}")))
}

fn encode<T: Serialize>(outcome: &T) -> Result<Response<RaftPayload>, Status> {
    serde_json::to_vec(outcome)
        .map(|json| Response::new(RaftPayload { json }))
        .map_err(|error| Status::internal(format!("cannot encode raft reply: {error}")))
}

#[tonic::async_trait]
impl RaftApi for RaftService {
    async fn append_entries(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        encode(&self.raft.append_entries(decode(request)?).await)
    }

    async fn vote(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        encode(&self.raft.vote(decode(request)?).await)
    }

    async fn install_snapshot(&self, request: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        encode(&self.raft.install_snapshot(decode(request)?).await)
    }
}
