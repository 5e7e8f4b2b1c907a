//! The Node handle: one raft member with its storage, its applied metadata and its peers.
//!
//! Owns leadership concerns in one place: waiting a bounded time for a leader, forwarding writes to
//! it once (hop budget 1), linearizable reads through the leader's read index, membership changes,
//! and status / readiness. The service layer calls `propose` and `read` and knows nothing of this.

mod batcher;
mod leader_call;
mod membership;
mod read;
mod status;
mod write;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::BasicNode;

pub use leader_call::{LeaderCallAnswerer, LeaderRoute};
pub use read::Consistency;
pub use status::{Member, NodeStatus};
pub use write::WriteAttempt;

use crate::auth::ClusterSecret;
use crate::config::{Config, RequestConfig};
use batcher::ProposalBatcher;
use crate::error::ServiceError;
use crate::raft::identity::cluster_id_of;
use crate::raft::{openraft_config, ClusterIdentity, LogStore, MetaReader, NetworkFactory, Raft, StateMachineStore};
use crate::transport::Channels;
use crate::storage::{Storage, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("invalid raft settings: {0}")]
    RaftConfig(#[from] openraft::ConfigError),
    #[error("raft failed to start: {0}")]
    RaftStart(String),
    #[error("cannot form the initial cluster: {0}")]
    Bootstrap(String),
    #[error("cannot join the cluster through {target}: {message}")]
    Join { target: String, message: String },
}

struct NodeInner {
    id: u64,
    raft: Raft,
    batcher: ProposalBatcher,
    reader: MetaReader,
    channels: Channels,
    identity: ClusterIdentity,
    cluster_secret: Option<ClusterSecret>,
    requests: RequestConfig,
}

/// A running raft member. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

impl Node {
    /// Opens the storage and starts raft. The node is not yet part of a cluster: call `bootstrap` or
    /// `join` (both are no-ops on a data directory that already holds a cluster).
    /// Members' calls present `cluster_secret` and are accepted only with it (none: unauthenticated);
    /// with `member_tls` they go over TLS.
    pub async fn start(
        config: &Config,
        storage: Storage,
        cluster_secret: Option<ClusterSecret>,
        member_tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Result<Node, NodeError> {
        let raft_config = openraft_config(&config.raft)?;
        let channels = Channels::new(cluster_secret.as_ref(), member_tls);
        let identity = ClusterIdentity::load(storage.clone())?;
        let state_machine =
            StateMachineStore::open(storage.clone()).map_err(|error| NodeError::RaftStart(error.to_string()))?;
        let reader = state_machine.reader();
        let raft = Raft::new(
            config.node_id,
            raft_config,
            NetworkFactory::new(channels.clone(), identity.clone()),
            LogStore::new(storage),
            state_machine,
        )
        .await
        .map_err(|error| NodeError::RaftStart(error.to_string()))?;
        let restarted = raft.is_initialized().await.map_err(|error| NodeError::RaftStart(error.to_string()))?;
        if restarted {
            hold_off_elections(&raft, config.raft.restart_hold_off());
        }
        let batcher = ProposalBatcher::start(raft.clone());
        let inner = NodeInner {
            id: config.node_id,
            raft,
            batcher,
            reader,
            channels,
            identity,
            cluster_secret,
            requests: config.requests.clone(),
        };
        Ok(Node { inner: Arc::new(inner) })
    }

    /// The secret members' calls must present; none when members' calls are unauthenticated.
    pub fn cluster_secret(&self) -> Option<&ClusterSecret> {
        self.inner.cluster_secret.as_ref()
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    pub fn reader(&self) -> &MetaReader {
        &self.inner.reader
    }

    /// The cluster this member belongs to, shared with the raft client and server.
    pub fn identity(&self) -> &ClusterIdentity {
        &self.inner.identity
    }

    fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    pub fn request_config(&self) -> &RequestConfig {
        &self.inner.requests
    }

    fn requests(&self) -> &RequestConfig {
        &self.inner.requests
    }

    /// Before serving: a member that will form the cluster of `members` takes its id now, so that
    /// a message from another cluster arriving before `bootstrap` cannot become its identity.
    pub async fn claim_identity(&self, members: &BTreeMap<u64, String>) -> Result<(), NodeError> {
        let initialized = self.raft().is_initialized().await.map_err(|error| NodeError::Bootstrap(error.to_string()))?;
        if !initialized {
            self.identity().adopt(&cluster_id_of(members)).await?;
        }
        Ok(())
    }

    /// Forms a new cluster of `members` unless this node already belongs to one. Every member may
    /// call it with the same list; only the first initialization takes effect.
    pub async fn bootstrap(&self, members: BTreeMap<u64, String>) -> Result<(), NodeError> {
        let raft = self.raft();
        if raft.is_initialized().await.map_err(|error| NodeError::Bootstrap(error.to_string()))? {
            tracing::info!(node_id = self.id(), "resuming the cluster found in the data directory");
            return Ok(());
        }
        self.identity().adopt(&cluster_id_of(&members)).await?;
        let nodes: BTreeMap<u64, BasicNode> =
            members.into_iter().map(|(id, addr)| (id, BasicNode::new(addr))).collect();
        match raft.initialize(nodes).await {
            Ok(()) => Ok(()),
            Err(openraft::error::RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => Ok(()),
            Err(error) => Err(NodeError::Bootstrap(error.to_string())),
        }
    }

    /// Stops raft after the servers stopped; storage is flushed by every acknowledged write already.
    pub async fn shutdown(&self) {
        if let Err(error) = self.raft().shutdown().await {
            tracing::warn!(%error, "raft did not shut down cleanly");
        }
    }

    /// Waits until a leader is known or `deadline` passes (then 503: retry).
    async fn wait_for_leader(&self, deadline: tokio::time::Instant) -> Result<u64, ServiceError> {
        let mut metrics = self.raft().metrics();
        loop {
            if let Some(leader) = metrics.borrow_and_update().current_leader {
                return Ok(leader);
            }
            match tokio::time::timeout_at(deadline, metrics.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err(ServiceError::unavailable("this node is shutting down; retry on another node")),
                Err(_) => return Err(no_leader_error(self.requests().leader_wait)),
            }
        }
    }

    /// The gRPC address of member `node_id`, from the current membership.
    fn member_addr(&self, node_id: u64) -> Option<String> {
        let metrics = self.raft().metrics();
        let metrics = metrics.borrow();
        metrics.membership_config.membership().get_node(&node_id).map(|node| node.addr.clone())
    }

    /// Waits for the leader to change (or a short while) before retrying a request that was refused
    /// because leadership moved.
    async fn wait_for_leadership_change(&self, previous_leader: u64, deadline: tokio::time::Instant) {
        let mut metrics = self.raft().metrics();
        let pause = tokio::time::Instant::now() + Duration::from_millis(50);
        let _ = tokio::time::timeout_at(deadline.min(pause), async {
            while metrics.borrow_and_update().current_leader == Some(previous_leader) {
                if metrics.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
    }
}

/// A member restarting on its data directory must not start an election before the leader's
/// heartbeats reach it again: without pre-vote, its higher term would depose a healthy leader. It
/// campaigns only once it has heard of a leader, or after `hold_off` with none.
fn hold_off_elections(raft: &Raft, hold_off: Duration) {
    raft.runtime_config().elect(false);
    let raft = raft.clone();
    tokio::spawn(async move {
        let mut metrics = raft.metrics();
        let _ = tokio::time::timeout(hold_off, metrics.wait_for(|metrics| metrics.current_leader.is_some())).await;
        raft.runtime_config().elect(true);
    });
}

fn no_leader_error(waited: Duration) -> ServiceError {
    ServiceError::unavailable(format!(
        "no raft leader is available after waiting {}ms; the cluster may be electing one, retry shortly",
        waited.as_millis()
    ))
}
