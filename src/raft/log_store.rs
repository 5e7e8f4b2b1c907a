//! The raft log and vote on sled. A log append or a vote is flushed to disk before openraft hears
//! that it is durable: that flush is the durability point of every write.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};

use super::TypeConfig;
use crate::storage::{Record, Storage};

type RaftStorageError = StorageError<u64>;

/// A log flush at least this long is logged: openraft 0.9's core waits for every flush, so a
/// follower that flushes for longer than its election timeout hears no heartbeat meanwhile.
const SLOW_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);

#[derive(Clone)]
pub struct LogStore {
    storage: Storage,
}

impl LogStore {
    pub fn new(storage: Storage) -> Self {
        LogStore { storage }
    }
}

fn io_error(make: fn(AnyError) -> StorageIOError<u64>, error: impl std::error::Error + 'static) -> RaftStorageError {
    make(AnyError::new(&error)).into()
}

fn index_bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(start) => *start,
        Bound::Excluded(start) => start.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(end) => end.saturating_add(1),
        Bound::Excluded(end) => *end,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, RaftStorageError> {
        let (start, end) = index_bounds(&range);
        self.storage.read_log(start, end).map_err(|error| io_error(StorageIOError::read_logs, error))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, RaftStorageError> {
        let last_purged_log_id: Option<LogId<u64>> = self
            .storage
            .read_record(Record::LastPurged)
            .map_err(|error| io_error(StorageIOError::read_logs, error))?;
        let last_entry: Option<Entry<TypeConfig>> =
            self.storage.last_log().map_err(|error| io_error(StorageIOError::read_logs, error))?;
        let last_log_id = last_entry.map(|entry| entry.log_id).or(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), RaftStorageError> {
        let write_vote = |error| io_error(StorageIOError::write_vote, error);
        self.storage.write_record(Record::Vote, vote).map_err(write_vote)?;
        self.storage.flush().await.map_err(write_vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, RaftStorageError> {
        self.storage.read_record(Record::Vote).map_err(|error| io_error(StorageIOError::read_vote, error))
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> Result<(), RaftStorageError> {
        // Not flushed on its own: a lost committed index is only re-learned from the leader, and the
        // next log flush persists it anyway.
        self.storage
            .write_record(Record::Committed, &committed)
            .map_err(|error| io_error(StorageIOError::write, error))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>, RaftStorageError> {
        let committed: Option<Option<LogId<u64>>> = self
            .storage
            .read_record(Record::Committed)
            .map_err(|error| io_error(StorageIOError::read, error))?;
        Ok(committed.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), RaftStorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let write_logs = |error| io_error(StorageIOError::write_logs, error);
        self.storage
            .append_log(entries.into_iter().map(|entry| (entry.log_id.index, entry)))
            .map_err(write_logs)?;
        let started = std::time::Instant::now();
        let flushed = self.storage.flush().await;
        if started.elapsed() >= SLOW_FLUSH {
            tracing::warn!(flush_ms = started.elapsed().as_millis() as u64, "slow raft log flush: the raft core waits for it");
        }
        let outcome = flushed.as_ref().map(|_| ()).map_err(|error| std::io::Error::other(error.to_string()));
        callback.log_io_completed(outcome);
        flushed.map_err(write_logs)
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), RaftStorageError> {
        self.storage
            .truncate_log_from(log_id.index)
            .map_err(|error| io_error(StorageIOError::write_logs, error))
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), RaftStorageError> {
        let write_logs = |error| io_error(StorageIOError::write_logs, error);
        self.storage.write_record(Record::LastPurged, &log_id).map_err(write_logs)?;
        self.storage.purge_log_upto(log_id.index).map_err(write_logs)
    }
}
