//! The state machine adapter: applies committed entries to the in-memory `MetaState`, builds and
//! installs snapshots, and persists the latest snapshot in storage.
//!
//! The applied state lives in memory; on restart it is rebuilt from the stored snapshot and openraft
//! re-applies the committed log after it. Readers share the state through `MetaReader`. Snapshot
//! data is encoded through `Storage::encode_sealed`, so its database passwords are sealed on disk
//! and in InstallSnapshot alike (every member holds the same key file).

use std::io::Cursor;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, BasicNode, Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};

use super::TypeConfig;
use crate::meta::{CommandResult, MetaState, Response};
use crate::storage::Storage;

type RaftStorageError = StorageError<u64>;

/// Names the snapshot's data in storage errors.
const SNAPSHOT_DATA: &str = "snapshot data";

/// What the state machine has applied so far.
#[derive(Clone, Debug, Default)]
pub struct AppliedState {
    pub last_applied: Option<LogId<u64>>,
    pub last_membership: StoredMembership<u64, BasicNode>,
    pub meta: MetaState,
}

/// Read access to the applied metadata, shared by the state machine and the service layer.
#[derive(Clone, Default)]
pub struct MetaReader {
    state: Arc<RwLock<AppliedState>>,
}

impl MetaReader {
    /// Runs `read` on the current applied state. Keep `read` short: the state machine waits for it.
    pub fn read<T>(&self, read: impl FnOnce(&AppliedState) -> T) -> T {
        read(&self.lock_for_read())
    }

    /// A copy of the applied metadata, for work that must not hold the lock.
    pub fn snapshot(&self) -> MetaState {
        self.read(|applied| applied.meta.clone())
    }

    /// The index of the last applied entry (0 before any), to notice changes cheaply.
    pub fn applied_index(&self) -> u64 {
        self.read(|applied| applied.last_applied.map_or(0, |log_id| log_id.index))
    }

    fn lock_for_read(&self) -> RwLockReadGuard<'_, AppliedState> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct StateMachineStore {
    reader: MetaReader,
    storage: Storage,
    snapshots_built: u64,
}


fn snapshot_error(
    make: fn(Option<openraft::storage::SnapshotSignature<u64>>, AnyError) -> StorageIOError<u64>,
    error: impl std::error::Error + 'static,
) -> RaftStorageError {
    make(None, AnyError::new(&error)).into()
}

impl StateMachineStore {
    /// Loads the stored snapshot, if any, as the starting state.
    #[allow(clippy::result_large_err)] // openraft's own error type, kept whole for its traits
    pub fn open(storage: Storage) -> Result<Self, RaftStorageError> {
        let store = StateMachineStore { reader: MetaReader::default(), storage, snapshots_built: 0 };
        let stored: Option<(SnapshotMeta<u64, BasicNode>, Vec<u8>)> =
            store.storage.read_snapshot().map_err(|error| snapshot_error(StorageIOError::read_snapshot, error))?;
        if let Some((meta, data)) = stored {
            store.replace_state(&meta, &data)?;
        }
        Ok(store)
    }

    pub fn reader(&self) -> MetaReader {
        self.reader.clone()
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, AppliedState> {
        self.reader.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[allow(clippy::result_large_err)] // openraft's own error type, kept whole for its traits
    fn replace_state(&self, meta: &SnapshotMeta<u64, BasicNode>, data: &[u8]) -> Result<(), RaftStorageError> {
        let decoded: MetaState = self
            .storage
            .decode_sealed(SNAPSHOT_DATA, data)
            .map_err(|error| snapshot_error(StorageIOError::read_snapshot, error))?;
        *self.write_state() = AppliedState {
            last_applied: meta.last_log_id,
            last_membership: meta.last_membership.clone(),
            meta: decoded,
        };
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, RaftStorageError> {
        // Under the lock only a copy is made, which shares the namespaces map (`MetaState`); encoding
        // runs on a blocking thread.
        let started = std::time::Instant::now();
        let (last_applied, last_membership, state) = self
            .reader
            .read(|applied| (applied.last_applied, applied.last_membership.clone(), applied.meta.clone()));
        let copied = started.elapsed();
        let storage = self.storage.clone();
        let data = tokio::task::spawn_blocking(move || storage.encode_sealed(SNAPSHOT_DATA, &state))
            .await
            .map_err(|error| snapshot_error(StorageIOError::write_snapshot, error))?
            .map_err(|error| snapshot_error(StorageIOError::write_snapshot, error))?;
        self.snapshots_built += 1;
        let snapshot_id = match last_applied {
            Some(log_id) => format!("{}-{}-{}", log_id.leader_id.term, log_id.index, self.snapshots_built),
            None => format!("empty-{}", self.snapshots_built),
        };
        let meta = SnapshotMeta { last_log_id: last_applied, last_membership, snapshot_id };
        let encoded = started.elapsed();
        let data = self
            .storage
            .write_snapshot(&meta, data)
            .await
            .map_err(|error| snapshot_error(StorageIOError::write_snapshot, error))?;
        tracing::info!(
            snapshot_id = %meta.snapshot_id,
            bytes = data.len(),
            copy_ms = copied.as_millis() as u64,
            encode_ms = (encoded - copied).as_millis() as u64,
            write_ms = (started.elapsed() - encoded).as_millis() as u64,
            "snapshot built"
        );
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>), RaftStorageError> {
        Ok(self.reader.read(|state| (state.last_applied, state.last_membership.clone())))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResult>, RaftStorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut state = self.write_state();
        let mut results = Vec::new();
        for entry in entries {
            state.last_applied = Some(entry.log_id);
            let result = match entry.payload {
                EntryPayload::Blank => Ok(Response::Done),
                EntryPayload::Normal(command) => {
                    let result = state.meta.apply(&command);
                    if let Err(rejection) = &result {
                        tracing::debug!(command = command.kind(), %rejection, "command rejected");
                    }
                    result
                }
                EntryPayload::Membership(membership) => {
                    state.last_membership = StoredMembership::new(Some(entry.log_id), membership);
                    Ok(Response::Done)
                }
            };
            results.push(result);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        StateMachineStore { reader: self.reader.clone(), storage: self.storage.clone(), snapshots_built: self.snapshots_built }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, RaftStorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), RaftStorageError> {
        let data = snapshot.into_inner();
        self.replace_state(meta, &data)?;
        self.storage
            .write_snapshot(meta, data)
            .await
            .map(drop)
            .map_err(|error| snapshot_error(StorageIOError::write_snapshot, error))
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, RaftStorageError> {
        let stored: Option<(SnapshotMeta<u64, BasicNode>, Vec<u8>)> =
            self.storage
                .read_snapshot_in_background()
                .await
                .map_err(|error| snapshot_error(StorageIOError::read_snapshot, error))?;
        Ok(stored.map(|(meta, data)| Snapshot { meta, snapshot: Box::new(Cursor::new(data)) }))
    }
}
