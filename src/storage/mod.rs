//! Durable storage: the only module that imports sled.
//!
//! Owns the on-disk layout: in sled, a format version and two typed key spaces (raft log entries
//! by index, raft's own small records); beside sled's files, the latest state-machine snapshot
//! (`snapshot_file`). Values are JSON so the directory stays inspectable. Database passwords inside
//! log entries and snapshots are sealed (`sealing`): `encode_sealed` / `decode_sealed` run serde
//! with the node's `KeyRing` in scope (`meta::with_secret_codec`), so the bytes on disk hold only
//! ciphertext while every value above this module holds plain `meta::Secret`s. The data directory
//! is private to the user running the node (`data_dir`). Must not know raft semantics beyond keys.

mod data_dir;
pub mod sealing;
mod snapshot_file;

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use snapshot_file::SnapshotFile;
use serde::Serialize;

use crate::meta::{with_secret_codec, SealedSecret, SecretCodec, SecretCodecError};
pub use data_dir::open_data_dir;
use sealing::{KeyFileError, KeyRing};

/// Bumped whenever the on-disk layout changes incompatibly.
pub const FORMAT_VERSION: u64 = 1;

const FORMAT_KEY: &[u8] = b"format_version";
const LOG_TREE: &str = "raft_log";
const RECORDS_TREE: &str = "raft_records";
/// Where earlier builds kept the snapshot; read when there is no snapshot file yet.
const SNAPSHOT_TREE: &str = "snapshot";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage i/o failed: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored value under {key} is corrupt: {source}")]
    Corrupt { key: String, source: serde_json::Error },
    #[error("cannot encode value for {key}: {source}")]
    Encode { key: String, source: serde_json::Error },
    #[error("the blocking {task} task ended before it finished: {reason}")]
    BlockingTask { task: &'static str, reason: String },
    #[error("snapshot file i/o failed: {0}")]
    SnapshotFile(std::io::Error),
    #[error("data directory has format version {found}, this build reads version {FORMAT_VERSION}")]
    FormatVersion { found: u64 },
    #[error("stored value under {key}: {source}")]
    Secret { key: String, source: SecretCodecError },
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

/// Small named records raft keeps beside its log.
#[derive(Clone, Copy, Debug)]
pub enum Record {
    Vote,
    Committed,
    LastPurged,
    /// The cluster this data directory belongs to (`raft::identity`).
    ClusterId,
}

impl Record {
    fn key(self) -> &'static str {
        match self {
            Record::Vote => "vote",
            Record::Committed => "committed",
            Record::LastPurged => "last_purged",
            Record::ClusterId => "cluster_id",
        }
    }
}

/// A handle on the data directory. Cheap to clone (sled trees are reference counted).
#[derive(Clone)]
pub struct Storage {
    db: sled::Db,
    log: sled::Tree,
    records: sled::Tree,
    snapshot: sled::Tree,
    snapshot_file: SnapshotFile,
    /// Seals the database passwords of log entries and snapshots.
    codec: Arc<dyn SecretCodec>,
}

impl Storage {
    /// Opens (or creates) the store in `dir` with no key: passwords are stored in plain text.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        Storage::open_with_keys(dir, KeyRing::plaintext())
    }

    /// Opens (or creates) the store in `dir`, checking the format version and that `keys` open
    /// every sealed password in the log (the snapshot's are opened when it is loaded).
    pub fn open_with_keys(dir: &Path, keys: KeyRing) -> Result<Self, StorageError> {
        let db = sled::Config::new().path(dir).open()?;
        match db.get(FORMAT_KEY)? {
            Some(raw) => {
                let found = decode::<u64>(FORMAT_KEY_NAME, &raw)?;
                if found != FORMAT_VERSION {
                    return Err(StorageError::FormatVersion { found });
                }
            }
            None => {
                db.insert(FORMAT_KEY, encode(FORMAT_KEY_NAME, &FORMAT_VERSION)?)?;
                db.flush()?;
            }
        }
        let storage = Storage {
            log: db.open_tree(LOG_TREE)?,
            records: db.open_tree(RECORDS_TREE)?,
            snapshot: db.open_tree(SNAPSHOT_TREE)?,
            snapshot_file: SnapshotFile::in_dir(dir),
            db,
            codec: Arc::new(keys),
        };
        storage.check_sealed_log()?;
        Ok(storage)
    }

    /// Opens every sealed password in the log, so that a node lacking a key refuses to start
    /// instead of failing when raft first reads the entry.
    fn check_sealed_log(&self) -> Result<(), StorageError> {
        for item in self.log.iter() {
            let (_, raw) = item?;
            let value: serde_json::Value = decode(LOG_TREE, &raw)?;
            open_every_sealed(&value, self.codec.as_ref())
                .map_err(|source| StorageError::Secret { key: LOG_TREE.to_string(), source })?;
        }
        Ok(())
    }

    /// Encodes a value that may hold `meta::Secret`s (a snapshot's data), sealing them.
    pub fn encode_sealed<T: Serialize>(&self, key: &str, value: &T) -> Result<Vec<u8>, StorageError> {
        let (encoded, failure) = with_secret_codec(&self.codec, || serde_json::to_vec(value));
        if let Some(source) = failure {
            return Err(StorageError::Secret { key: key.to_string(), source });
        }
        encoded.map_err(|source| StorageError::Encode { key: key.to_string(), source })
    }

    /// Decodes what `encode_sealed` wrote (or a plain value of an earlier build), opening secrets.
    pub fn decode_sealed<T: DeserializeOwned>(&self, key: &str, raw: &[u8]) -> Result<T, StorageError> {
        let (decoded, failure) = with_secret_codec(&self.codec, || serde_json::from_slice(raw));
        if let Some(source) = failure {
            return Err(StorageError::Secret { key: key.to_string(), source });
        }
        decoded.map_err(|source| StorageError::Corrupt { key: key.to_string(), source })
    }

    /// Waits until everything written so far is on disk.
    ///
    /// The wait runs on a tokio blocking thread, never on sled's own I/O pool: sled 0.34's
    /// `flush_async` parks a pool thread until the buffer is written, and that write is queued on
    /// the same pool, which in practice stays at seven threads per process. Seven flushes at
    /// once (several in-process nodes under load) then wait on writes nobody runs, forever.
    pub async fn flush(&self) -> Result<(), StorageError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|join| StorageError::BlockingTask { task: "flush", reason: join.to_string() })??;
        Ok(())
    }

    pub fn read_record<T: DeserializeOwned>(&self, record: Record) -> Result<Option<T>, StorageError> {
        self.records
            .get(record.key())?
            .map(|raw| decode(record.key(), &raw))
            .transpose()
    }

    /// Writes a record; call `flush` before acknowledging it.
    pub fn write_record<T: Serialize>(&self, record: Record, value: &T) -> Result<(), StorageError> {
        self.records.insert(record.key(), encode(record.key(), value)?)?;
        Ok(())
    }

    /// Stores log entries (index, value) in one batch; call `flush` before acknowledging them.
    pub fn append_log<T: Serialize>(&self, entries: impl IntoIterator<Item = (u64, T)>) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
        for (index, entry) in entries {
            batch.insert(&index.to_be_bytes(), self.encode_sealed(LOG_TREE, &entry)?);
        }
        self.log.apply_batch(batch)?;
        Ok(())
    }

    /// Log entries with `start <= index < end`, in index order.
    pub fn read_log<T: DeserializeOwned>(&self, start: u64, end: u64) -> Result<Vec<T>, StorageError> {
        if start >= end {
            return Ok(Vec::new());
        }
        self.log
            .range(start.to_be_bytes()..end.to_be_bytes())
            .map(|item| {
                let (_, raw) = item?;
                self.decode_sealed(LOG_TREE, &raw)
            })
            .collect()
    }

    /// The entry with the highest index, if any.
    pub fn last_log<T: DeserializeOwned>(&self) -> Result<Option<T>, StorageError> {
        self.log.last()?.map(|(_, raw)| self.decode_sealed(LOG_TREE, &raw)).transpose()
    }

    /// Removes every entry with `index >= from` (conflicting suffix).
    pub fn truncate_log_from(&self, from: u64) -> Result<(), StorageError> {
        self.remove_log_keys(self.log.range(from.to_be_bytes()..))
    }

    /// Removes every entry with `index <= upto` (behind a snapshot).
    pub fn purge_log_upto(&self, upto: u64) -> Result<(), StorageError> {
        self.remove_log_keys(self.log.range(..=upto.to_be_bytes()))
    }

    fn remove_log_keys(&self, keys: sled::Iter) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
        for item in keys {
            let (key, _) = item?;
            batch.remove(key);
        }
        self.log.apply_batch(batch)?;
        Ok(())
    }

    /// The stored snapshot: its metadata and its data, as `write_snapshot` stored them. Where
    /// there is no snapshot file yet, the snapshot an earlier build kept in sled (metadata and
    /// data under two keys, or before that one JSON document holding both).
    pub fn read_snapshot<M: DeserializeOwned>(&self) -> Result<Option<(M, Vec<u8>)>, StorageError> {
        if let Some(stored) = self.snapshot_file.read().map_err(StorageError::SnapshotFile)? {
            return Ok(Some((decode(SNAPSHOT_META_KEY, &stored.meta)?, stored.data)));
        }
        if let Some(raw_meta) = self.snapshot.get(SNAPSHOT_META_KEY)? {
            let meta = decode(SNAPSHOT_META_KEY, &raw_meta)?;
            let data = self.snapshot.get(SNAPSHOT_DATA_KEY)?.map(|raw| raw.to_vec()).unwrap_or_default();
            return Ok(Some((meta, data)));
        }
        let Some(raw) = self.snapshot.get(LEGACY_SNAPSHOT_KEY)? else { return Ok(None) };
        let legacy: LegacySnapshot<M> = decode(LEGACY_SNAPSHOT_KEY, &raw)?;
        Ok(Some((legacy.meta, legacy.data)))
    }

    /// [`read_snapshot`](Self::read_snapshot) on a blocking thread.
    pub async fn read_snapshot_in_background<M: DeserializeOwned + Send + 'static>(
        &self,
    ) -> Result<Option<(M, Vec<u8>)>, StorageError> {
        let storage = self.clone();
        tokio::task::spawn_blocking(move || storage.read_snapshot())
            .await
            .map_err(|join| StorageError::BlockingTask { task: "snapshot read", reason: join.to_string() })?
    }

    /// Replaces the stored snapshot durably (on a blocking thread) and hands the data back.
    pub async fn write_snapshot<M: Serialize>(&self, meta: &M, data: Vec<u8>) -> Result<Vec<u8>, StorageError> {
        let meta = encode(SNAPSHOT_META_KEY, meta)?;
        let file = self.snapshot_file.clone();
        let data = tokio::task::spawn_blocking(move || file.write(&meta, &data).map(|()| data))
            .await
            .map_err(|join| StorageError::BlockingTask { task: "snapshot write", reason: join.to_string() })?
            .map_err(StorageError::SnapshotFile)?;
        if !self.snapshot.is_empty() {
            self.snapshot.clear()?;
        }
        Ok(data)
    }
}

/// Before the snapshot had its own file and its data was stored as raw bytes, meta and data were
/// one JSON document in sled (the data a JSON array of numbers, about four times its size).
const LEGACY_SNAPSHOT_KEY: &str = "snapshot";
const SNAPSHOT_META_KEY: &str = "meta";
const SNAPSHOT_DATA_KEY: &str = "data";

#[derive(serde::Deserialize)]
struct LegacySnapshot<M> {
    meta: M,
    data: Vec<u8>,
}

const FORMAT_KEY_NAME: &str = "format_version";

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|source| StorageError::Encode { key: key.to_string(), source })
}

fn decode<T: DeserializeOwned>(key: &str, raw: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(raw).map_err(|source| StorageError::Corrupt { key: key.to_string(), source })
}

/// Opens every sealed secret inside a stored JSON value, whatever its type.
fn open_every_sealed(value: &serde_json::Value, codec: &dyn SecretCodec) -> Result<(), SecretCodecError> {
    match value {
        serde_json::Value::Object(fields) => {
            if fields.len() == 2 && fields.contains_key("sealed_with") && fields.contains_key("ciphertext") {
                if let Ok(sealed) = SealedSecret::deserialize(value) {
                    return codec.open(&sealed).map(drop);
                }
            }
            fields.values().try_for_each(|field| open_every_sealed(field, codec))
        }
        serde_json::Value::Array(items) => items.iter().try_for_each(|item| open_every_sealed(item, codec)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens `dir` once sled's lock on it is free: a dropped `Storage` releases it only when
    /// sled's flusher thread ends, a moment later.
    fn reopen(open: impl Fn() -> Result<Storage, StorageError>) -> Result<Storage, StorageError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match open() {
                Err(error) if error.to_string().contains("could not acquire lock") && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                opened => return opened,
            }
        }
    }

    #[test]
    fn log_ranges_truncate_and_purge() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        storage.append_log((1..=10u64).map(|index| (index, index * 10))).unwrap();
        assert_eq!(storage.read_log::<u64>(3, 6).unwrap(), vec![30, 40, 50]);
        storage.truncate_log_from(8).unwrap();
        assert_eq!(storage.last_log::<u64>().unwrap(), Some(70));
        storage.purge_log_upto(4).unwrap();
        assert_eq!(storage.read_log::<u64>(0, 100).unwrap(), vec![50, 60, 70]);
    }

    #[tokio::test]
    async fn snapshots_live_in_their_file_and_those_of_earlier_builds_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        assert_eq!(storage.read_snapshot::<String>().unwrap(), None);
        let legacy = serde_json::json!({"meta": "m0", "data": [1, 2, 3]});
        storage.snapshot.insert(LEGACY_SNAPSHOT_KEY, serde_json::to_vec(&legacy).unwrap()).unwrap();
        assert_eq!(storage.read_snapshot::<String>().unwrap(), Some(("m0".to_string(), vec![1, 2, 3])));
        storage.snapshot.insert(SNAPSHOT_META_KEY, &b"\"m1\""[..]).unwrap();
        storage.snapshot.insert(SNAPSHOT_DATA_KEY, &b"d1"[..]).unwrap();
        assert_eq!(storage.read_snapshot::<String>().unwrap(), Some(("m1".to_string(), b"d1".to_vec())));

        let data = storage.write_snapshot(&"m2", b"{\"state\": 2}".to_vec()).await.unwrap();
        assert_eq!(data, b"{\"state\": 2}");
        assert!(storage.snapshot.is_empty(), "the copies kept in sled are removed");
        drop(storage);
        let reopened = reopen(|| Storage::open(dir.path())).unwrap();
        let expected = Some(("m2".to_string(), b"{\"state\": 2}".to_vec()));
        assert_eq!(reopened.read_snapshot_in_background::<String>().await.unwrap(), expected);
    }

    fn keys(text: &str) -> KeyRing {
        KeyRing::parse(Path::new("keys"), text).unwrap()
    }

    #[test]
    fn a_plain_log_reads_with_a_key_and_a_sealed_one_needs_its_key_to_open() {
        use crate::meta::Secret;
        const KEY: &str = "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let dir = tempfile::tempdir().unwrap();
        let plain = Storage::open(dir.path()).unwrap();
        plain.append_log([(1u64, Secret::new("written-plain"))]).unwrap();
        plain.db.flush().unwrap();
        drop(plain);
        let sealed = reopen(|| Storage::open_with_keys(dir.path(), keys(KEY))).unwrap();
        assert_eq!(sealed.read_log::<Secret>(1, 2).unwrap(), vec![Secret::new("written-plain")]);
        sealed.append_log([(2u64, Secret::new("written-sealed"))]).unwrap();
        let raw = sealed.log.get(2u64.to_be_bytes()).unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("written-sealed"));
        sealed.db.flush().unwrap();
        drop(sealed);

        let refused = reopen(|| Storage::open(dir.path())).err().map(|error| error.to_string()).unwrap_or_default();
        assert!(refused.contains("sealed with key \"k1\", but no secrets.key_file"), "{refused}");
        let other = "k2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let refused = reopen(|| Storage::open_with_keys(dir.path(), keys(other))).err().map(|error| error.to_string());
        assert!(refused.unwrap_or_default().contains("which secrets.key_file does not hold"));
        let reopened = reopen(|| Storage::open_with_keys(dir.path(), keys(KEY))).unwrap();
        assert_eq!(reopened.last_log::<Secret>().unwrap(), Some(Secret::new("written-sealed")));
    }

    #[test]
    fn reopening_keeps_records_and_rejects_other_format_versions() {
        let dir = tempfile::tempdir().unwrap();
        {
            let storage = Storage::open(dir.path()).unwrap();
            storage.write_record(Record::Vote, &"v1").unwrap();
            storage.db.flush().unwrap();
        }
        {
            let storage = reopen(|| Storage::open(dir.path())).unwrap();
            assert_eq!(storage.read_record::<String>(Record::Vote).unwrap().as_deref(), Some("v1"));
            storage.db.insert(FORMAT_KEY, encode("format_version", &99u64).unwrap()).unwrap();
            storage.db.flush().unwrap();
        }
        assert!(matches!(reopen(|| Storage::open(dir.path())), Err(StorageError::FormatVersion { found: 99 })));
    }
}
