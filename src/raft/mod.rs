//! openraft glue: the type configuration, the tuned openraft `Config`, the sled-backed log store and
//! state machine, and the gRPC network client.
//!
//! Owns nothing of the domain: commands are `meta::Command`, outcomes `meta::CommandResult`.

pub mod identity;
mod log_store;
mod network;
mod state_machine;

use std::io::Cursor;
use std::sync::Arc;

pub use identity::ClusterIdentity;
pub use log_store::LogStore;
pub use network::NetworkFactory;
pub use state_machine::{AppliedState, MetaReader, StateMachineStore};

use crate::config::RaftConfig;
use crate::meta::{Command, CommandResult};

openraft::declare_raft_types!(
    /// shardkeeper's raft types: node ids are u64, a member's address is its gRPC address.
    pub TypeConfig:
        D = Command,
        R = CommandResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;

/// The openraft configuration built from shardkeeper's documented raft settings.
#[allow(clippy::result_large_err)] // openraft's own error type, kept whole for its traits
pub fn openraft_config(settings: &RaftConfig) -> Result<Arc<openraft::Config>, openraft::ConfigError> {
    let config = openraft::Config {
        cluster_name: "shardkeeper".to_string(),
        heartbeat_interval: millis(settings.heartbeat_interval),
        election_timeout_min: millis(settings.election_timeout_min),
        election_timeout_max: millis(settings.election_timeout_max),
        install_snapshot_timeout: millis(settings.install_snapshot_timeout),
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(settings.snapshot_logs),
        max_in_snapshot_log_to_keep: settings.logs_kept_after_snapshot,
        ..Default::default()
    };
    Ok(Arc::new(config.validate()?))
}

fn millis(duration: std::time::Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod conformance {
    use openraft::testing::{StoreBuilder, Suite};
    use openraft::StorageError;

    use super::{LogStore, StateMachineStore, TypeConfig};
    use crate::storage::Storage;

    /// Builds a fresh sled-backed log store and state machine on a temporary directory.
    struct SledStoreBuilder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for SledStoreBuilder {
        async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError<u64>> {
            let dir = tempfile::tempdir().expect("temporary directory");
            let storage = Storage::open(dir.path()).expect("open sled");
            let state_machine = StateMachineStore::open(storage.clone())?;
            Ok((dir, LogStore::new(storage), state_machine))
        }
    }

    /// openraft's storage conformance suite against the sled store.
    #[test]
    #[allow(clippy::result_large_err)] // openraft's own error type, kept whole for its traits
    fn sled_store_passes_openraft_suite() -> Result<(), StorageError<u64>> {
        Suite::test_all(SledStoreBuilder)
    }
}
