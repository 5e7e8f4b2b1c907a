//! gRPC at the top, beside `api`: the public Admin service (thin, over `service`) behind its one
//! authorisation layer, and the one gRPC listener that also carries the members' services from
//! `member_rpc` behind the members' check (cluster secret, cluster client certificate), over TLS
//! when `[tls]` is configured.
//!
//! Owns: turning Admin calls into service calls. Must not hold anything only members call.

mod admin_service;
mod authorized;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

pub use admin_service::AdminService;
pub use authorized::Authorized;

use crate::auth::TokenTable;
use crate::config::LimitsConfig;
use crate::member_rpc::{MemberCheck, MembersService, RaftService};
use crate::pb;
use crate::service::MetaService;
use crate::tls::NodeTls;

/// Serves the Raft, Members and Admin services on `listener` until `shutdown` resolves; over TLS
/// only with `tls`.
pub async fn serve(
    listener: TcpListener,
    service: MetaService,
    tokens: Arc<TokenTable>,
    limits: &LimitsConfig,
    tls: Option<NodeTls>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let node = service.node().clone();
    let mutual = tls.as_ref().is_some_and(NodeTls::is_mutual);
    let member_check = MemberCheck::new(node.cluster_secret().cloned(), mutual);
    let raft = pb::raft_server::RaftServer::new(RaftService::new(node.raft().clone(), node.identity().clone()))
        .max_decoding_message_size(MAX_RAFT_MESSAGE_BYTES);
    let members = pb::members_server::MembersServer::new(MembersService::new(node, Arc::new(service.clone())))
        .max_decoding_message_size(limits.grpc_max_message_bytes)
        .max_encoding_message_size(limits.grpc_max_message_bytes);
    let admin = pb::admin_server::AdminServer::new(AdminService::new(service))
        .max_decoding_message_size(limits.grpc_max_message_bytes)
        .max_encoding_message_size(limits.grpc_max_message_bytes);
    // `Server::tcp_nodelay` applies only to listeners tonic binds itself: set it on this one, or
    // small replies (raft acks, forwarded writes' answers) wait on Nagle and the peer's delayed ACK.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut server = Server::builder();
    if let Some(tls) = &tls {
        server = server.tls_config(tls.grpc_server(limits.http_header_read_timeout))?;
    }
    server
        .add_service(InterceptedService::new(raft, member_check.clone()))
        .add_service(InterceptedService::new(members, member_check))
        .add_service(Authorized::new(admin, tokens))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// Largest raft message accepted (snapshots travel in chunks well below this).
const MAX_RAFT_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
