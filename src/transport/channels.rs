//! One lazily connected tonic channel per peer address, shared by raft replication and forwarding.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::error::ServiceError;

/// Metadata key a node sets when it refuses a forwarded request because it is not the leader:
/// nothing was done, so the sender may retry elsewhere.
pub const NOT_LEADER_METADATA: &str = "x-shardkeeper-not-leader";

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone, Default)]
pub struct Channels {
    cache: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Channels {
    /// The channel to `addr` (`host:port`), created on first use.
    pub fn channel(&self, addr: &str) -> Result<Channel, ServiceError> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(channel) = cache.get(addr) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|error| ServiceError::invalid(format!("peer address \"{addr}\" is not host:port: {error}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5));
        let channel = endpoint.connect_lazy();
        cache.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }
}

/// True when the request certainly never reached the peer's application: the connection could not
/// be made, or the peer said it is not the leader. Any other failure leaves the outcome unknown.
pub fn is_never_sent(status: &tonic::Status) -> bool {
    if status.metadata().get(NOT_LEADER_METADATA).is_some() {
        return true;
    }
    if status.code() != tonic::Code::Unavailable {
        return false;
    }
    let mut chain = status.message().to_ascii_lowercase();
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        chain.push_str(&error.to_string().to_ascii_lowercase());
        source = error.source();
    }
    ["tcp connect error", "connection refused", "error trying to connect", "failed to connect"]
        .iter()
        .any(|marker| chain.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_never_sent_and_a_bad_address_is_invalid() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let channels = Channels::default();
        let mut client = crate::pb::members_client::MembersClient::new(channels.channel(&addr).unwrap());
        let status = client.read_index(crate::pb::ReadIndexRequest {}).await.unwrap_err();
        assert!(is_never_sent(&status), "{status:?}");
        assert!(!is_never_sent(&tonic::Status::deadline_exceeded("timeout")));
        assert!(channels.channel("not an address").is_err());
    }
}
