//! One lazily connected tonic channel per peer address, shared by raft replication and forwarding.
//! Every call on it carries this member's credential (the cluster secret) and, inside a client's
//! request, the name of the principal it acts for. With TLS the channels speak https, verify the
//! peer against the configured CA and, with mutual TLS, present this node's certificate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::auth::{ClusterSecret, MEMBER_SECRET_METADATA, PRINCIPAL_METADATA};
use crate::error::ServiceError;

/// A channel to a member whose calls carry this member's credential.
pub type MemberChannel = InterceptedService<Channel, MemberCredential>;

/// Adds the cluster secret (when configured) and the acting principal (inside a request) to
/// every outgoing members-only call.
#[derive(Clone, Default)]
pub struct MemberCredential {
    secret: Option<AsciiMetadataValue>,
}

impl Interceptor for MemberCredential {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(secret) = &self.secret {
            request.metadata_mut().insert(MEMBER_SECRET_METADATA, secret.clone());
        }
        if let Some(principal) = crate::auth::acting_principal_in_request() {
            if let Ok(value) = MetadataValue::try_from(principal.as_str()) {
                request.metadata_mut().insert(PRINCIPAL_METADATA, value);
            }
        }
        Ok(request)
    }
}

/// Metadata key a node sets when it refuses a forwarded request because it is not the leader:
/// nothing was done, so the sender may retry elsewhere.
pub const NOT_LEADER_METADATA: &str = "x-shardkeeper-not-leader";

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone, Default)]
pub struct Channels {
    cache: Arc<Mutex<HashMap<String, Channel>>>,
    credential: MemberCredential,
    tls: Option<ClientTlsConfig>,
}

impl Channels {
    /// Channels whose calls present `secret` (none: no secret is sent), over TLS with `tls`.
    pub fn new(secret: Option<&ClusterSecret>, tls: Option<ClientTlsConfig>) -> Channels {
        // A secret is printable ASCII (checked when read), so it always makes valid metadata.
        let secret = secret.and_then(|secret| AsciiMetadataValue::try_from(secret.value()).ok());
        Channels { cache: Arc::default(), credential: MemberCredential { secret }, tls }
    }

    /// The channel to `addr` (`host:port`), created on first use.
    pub fn channel(&self, addr: &str) -> Result<MemberChannel, ServiceError> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(channel) = cache.get(addr) {
            return Ok(InterceptedService::new(channel.clone(), self.credential.clone()));
        }
        let invalid = |error: tonic::transport::Error| {
            ServiceError::invalid(format!("peer address \"{addr}\" is not host:port: {error}"))
        };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}")).map_err(invalid)?;
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.clone()).map_err(invalid)?;
        }
        let endpoint = endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5));
        let channel = endpoint.connect_lazy();
        cache.insert(addr.to_string(), channel.clone());
        Ok(InterceptedService::new(channel, self.credential.clone()))
    }
}

/// A service error as the gRPC status a server sends, with its table code; an unavailable one is
/// marked as "nothing done" (`NOT_LEADER_METADATA`) so that the sender may retry elsewhere.
pub fn status_from(error: ServiceError) -> tonic::Status {
    let unavailable = error.code == crate::error::ErrorCode::Unavailable;
    let mut status = tonic::Status::from(error);
    if unavailable {
        status.metadata_mut().insert(NOT_LEADER_METADATA, MetadataValue::from_static("1"));
    }
    status
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
