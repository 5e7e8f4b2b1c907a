//! The Members gRPC service: what a member calls on the leader. Nothing here forwards again (hop
//! budget 1), and a "not the leader" refusal is marked so that the sender knows nothing happened.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::error::{ErrorCode, ServiceError};
use crate::meta::Command;
use crate::node::{LeaderCallAnswerer, Member, Node, WriteAttempt};
use crate::pb;
use crate::pb::members_server::Members;
use crate::transport::NOT_LEADER_METADATA;

pub struct MembersService {
    node: Node,
    leader_calls: Arc<dyn LeaderCallAnswerer>,
}

impl MembersService {
    pub fn new(node: Node, leader_calls: Arc<dyn LeaderCallAnswerer>) -> Self {
        MembersService { node, leader_calls }
    }
}

type GrpcResult<T> = Result<Response<T>, Status>;

fn not_leader(reason: String) -> Status {
    let mut status = Status::unavailable(reason);
    status.metadata_mut().insert(NOT_LEADER_METADATA, tonic::metadata::MetadataValue::from_static("1"));
    status
}

/// Every service error leaves as a status with its table code; an unavailable one is marked as
/// "nothing done" so the sender may retry.
fn to_status(error: ServiceError) -> Status {
    if error.code == ErrorCode::Unavailable {
        return not_leader(error.message);
    }
    Status::from(error)
}

fn peers_reply(outcome: Result<Vec<Member>, ServiceError>) -> GrpcResult<pb::PeersReply> {
    let members = outcome.map_err(to_status)?;
    Ok(Response::new(pb::PeersReply { members: members.into_iter().map(Member::into_pb).collect() }))
}

#[tonic::async_trait]
impl Members for MembersService {
    async fn propose(&self, request: Request<pb::ProposeRequest>) -> GrpcResult<pb::ProposeReply> {
        let command: Command = serde_json::from_slice(&request.into_inner().command_json)
            .map_err(|error| Status::invalid_argument(format!("malformed command: {error}")))?;
        match self.node.write_as_leader(command).await {
            WriteAttempt::Finished(outcome) => {
                let response = outcome.map_err(to_status)?;
                let response_json = serde_json::to_vec(&response)
                    .map_err(|error| Status::internal(format!("cannot encode response: {error}")))?;
                Ok(Response::new(pb::ProposeReply { response_json }))
            }
            WriteAttempt::NotDone(reason) => Err(not_leader(reason)),
        }
    }

    async fn read_index(&self, _request: Request<pb::ReadIndexRequest>) -> GrpcResult<pb::ReadIndexReply> {
        let index = self.node.read_index_as_leader().await.map_err(not_leader)?;
        Ok(Response::new(pb::ReadIndexReply { index }))
    }

    async fn leader_call(&self, request: Request<pb::LeaderCallRequest>) -> GrpcResult<pb::LeaderCallReply> {
        let call_json = request.into_inner().call_json;
        let reply_json = self.leader_calls.answer_leader_call_json(&call_json).await.map_err(to_status)?;
        Ok(Response::new(pb::LeaderCallReply { reply_json }))
    }

    async fn add_peer(&self, request: Request<pb::AddPeerRequest>) -> GrpcResult<pb::PeersReply> {
        let request = request.into_inner();
        peers_reply(self.node.add_peer(request.node_id, request.grpc_addr).await)
    }

    async fn remove_peer(&self, request: Request<pb::RemovePeerRequest>) -> GrpcResult<pb::PeersReply> {
        peers_reply(self.node.remove_peer(request.into_inner().node_id).await)
    }
}
