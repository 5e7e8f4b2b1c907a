//! The Members gRPC service: what a member calls on the leader. Nothing here forwards again (hop
//! budget 1), and a "not the leader" refusal is marked so that the sender knows nothing happened.
//! A forwarded request was authorised on the node the client called; it runs here as the
//! principal that node names in `PRINCIPAL_METADATA`, so the leader's audit log names it.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::auth::{acting_as, is_valid_principal_name, PRINCIPAL_METADATA, SYSTEM_PRINCIPAL};
use crate::error::ServiceError;
use crate::meta::Command;
use crate::node::{LeaderCallAnswerer, Member, Node, WriteAttempt};
use crate::pb;
use crate::pb::members_server::Members;
use crate::transport::status_from as to_status;

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

/// Who the forwarding member says the request acts for; a member's own work otherwise.
fn forwarded_principal<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get(PRINCIPAL_METADATA)
        .and_then(|value| value.to_str().ok())
        .filter(|name| is_valid_principal_name(name))
        .unwrap_or(SYSTEM_PRINCIPAL)
        .to_string()
}

fn peers_reply(outcome: Result<Vec<Member>, ServiceError>) -> GrpcResult<pb::PeersReply> {
    let members = outcome.map_err(to_status)?;
    Ok(Response::new(pb::PeersReply { members: members.into_iter().map(Member::into_pb).collect() }))
}

#[tonic::async_trait]
impl Members for MembersService {
    async fn propose(&self, request: Request<pb::ProposeRequest>) -> GrpcResult<pb::ProposeReply> {
        let principal = forwarded_principal(&request);
        let command: Command = serde_json::from_slice(&request.into_inner().command_json)
            .map_err(|error| Status::invalid_argument(format!("malformed command: {error}")))?;
        match acting_as(principal, self.node.write_as_leader(command)).await {
            WriteAttempt::Finished(outcome) => {
                let response = outcome.map_err(to_status)?;
                let response_json = serde_json::to_vec(&response)
                    .map_err(|error| Status::internal(format!("cannot encode response: {error}")))?;
                Ok(Response::new(pb::ProposeReply { response_json }))
            }
            WriteAttempt::NotDone(reason) => Err(to_status(ServiceError::unavailable(reason))),
        }
    }

    async fn read_index(&self, _request: Request<pb::ReadIndexRequest>) -> GrpcResult<pb::ReadIndexReply> {
        let index = self.node.read_index_as_leader().await.map_err(|reason| to_status(ServiceError::unavailable(reason)))?;
        Ok(Response::new(pb::ReadIndexReply { index }))
    }

    async fn leader_call(&self, request: Request<pb::LeaderCallRequest>) -> GrpcResult<pb::LeaderCallReply> {
        let principal = forwarded_principal(&request);
        let call_json = request.into_inner().call_json;
        let answer = acting_as(principal, self.leader_calls.answer_leader_call_json(&call_json)).await;
        let reply_json = answer.map_err(to_status)?;
        Ok(Response::new(pb::LeaderCallReply { reply_json }))
    }

    async fn add_peer(&self, request: Request<pb::AddPeerRequest>) -> GrpcResult<pb::PeersReply> {
        let principal = forwarded_principal(&request);
        let request = request.into_inner();
        peers_reply(acting_as(principal, self.node.add_peer(request.node_id, request.grpc_addr)).await)
    }

    async fn remove_peer(&self, request: Request<pb::RemovePeerRequest>) -> GrpcResult<pb::PeersReply> {
        let principal = forwarded_principal(&request);
        peers_reply(acting_as(principal, self.node.remove_peer(request.into_inner().node_id)).await)
    }
}
