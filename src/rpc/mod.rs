//! gRPC: the generated code, the tonic servers (thin) and the client channel cache.
//!
//! Owns: the Raft service between nodes, the Admin service (forwarded writes, read index,
//! membership, and every native operation for gRPC admin clients), and the classification of
//! transport failures into "never sent" versus "outcome unknown".

mod admin_service;
mod channels;
mod raft_service;

use std::future::Future;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

pub use admin_service::AdminService;
pub use channels::{is_never_sent, Channels, NOT_LEADER_METADATA};
pub use raft_service::RaftService;

use crate::service::MetaService;

/// Generated protobuf and tonic code for proto/shardkeeper.proto.
pub mod pb {
    tonic::include_proto!("shardkeeper.v1");
}

/// Serves the Raft and Admin services on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    service: MetaService,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let raft = RaftService::new(service.node().raft().clone(), service.node().identity().clone());
    let admin = AdminService::new(service);
    // `Server::tcp_nodelay` applies only to listeners tonic binds itself: set it on this one, or
    // small replies (raft acks, forwarded writes' answers) wait on Nagle and the peer's delayed ACK.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(pb::raft_server::RaftServer::new(raft).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(pb::admin_server::AdminServer::new(admin))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// Largest raft message accepted (snapshots travel in chunks well below this).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
