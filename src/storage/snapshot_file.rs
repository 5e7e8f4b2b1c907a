//! The state-machine snapshot as one file beside sled's files, outside sled.
//!
//! A snapshot holds the whole metadata (100-200 MB for a few million namespaces). Kept in sled,
//! every byte of it went out with sled's next flush, which is the flush the raft log waits for
//! (openraft 0.9's core waits for each log flush). As a file, it is written to a temporary name,
//! synced in chunks so that the disk never holds a large unsynced backlog that a log `fsync` might
//! queue behind, then renamed into place: a crash leaves the old snapshot or the new one, whole.
//!
//! Layout: the magic line `shardkeeper-snapshot-1\n`, the metadata's length (u64, little endian),
//! the metadata (JSON), the data (raw bytes, to the end of the file).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"shardkeeper-snapshot-1\n";
/// How much is written between two syncs of the data.
const SYNC_EVERY: usize = 8 * 1024 * 1024;

/// Where the snapshot of one data directory lives.
#[derive(Clone, Debug)]
pub(super) struct SnapshotFile {
    path: PathBuf,
}

/// A stored snapshot: its encoded metadata and its data.
pub(super) struct StoredSnapshot {
    pub(super) meta: Vec<u8>,
    pub(super) data: Vec<u8>,
}

impl SnapshotFile {
    pub(super) fn in_dir(dir: &Path) -> SnapshotFile {
        SnapshotFile { path: dir.join("metadata-snapshot") }
    }

    /// The stored snapshot, or `None` before the first one.
    pub(super) fn read(&self) -> io::Result<Option<StoredSnapshot>> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        let corrupt = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", self.path.display()));
        let rest = content.strip_prefix(MAGIC).ok_or_else(|| corrupt("not a shardkeeper snapshot"))?;
        let (length, rest) = rest.split_first_chunk::<8>().ok_or_else(|| corrupt("truncated header"))?;
        let meta_length = usize::try_from(u64::from_le_bytes(*length)).map_err(|_| corrupt("bad metadata length"))?;
        if rest.len() < meta_length {
            return Err(corrupt("truncated metadata"));
        }
        let header_length = MAGIC.len() + 8 + meta_length;
        let meta = rest[..meta_length].to_vec();
        content.drain(..header_length);
        Ok(Some(StoredSnapshot { meta, data: content }))
    }

    /// Replaces the stored snapshot durably. Blocking: run it on a blocking thread.
    pub(super) fn write(&self, meta: &[u8], data: &[u8]) -> io::Result<()> {
        let temporary = self.path.with_extension("tmp");
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
        file.write_all(MAGIC)?;
        file.write_all(&(meta.len() as u64).to_le_bytes())?;
        file.write_all(meta)?;
        for chunk in data.chunks(SYNC_EVERY) {
            file.write_all(chunk)?;
            file.sync_data()?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, &self.path)?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = SnapshotFile::in_dir(dir.path());
        assert!(file.read().unwrap().is_none());
        let data: Vec<u8> = (0..SYNC_EVERY * 2 + 5).map(|i| (i % 251) as u8).collect();
        file.write(b"{\"id\":1}", &data).unwrap();
        file.write(b"{\"id\":2}", b"second").unwrap();
        let stored = file.read().unwrap().unwrap();
        assert_eq!((stored.meta.as_slice(), stored.data.as_slice()), (&b"{\"id\":2}"[..], &b"second"[..]));
        file.write(b"{\"id\":3}", &data).unwrap();
        assert_eq!(file.read().unwrap().unwrap().data, data);
        assert!(!dir.path().join("metadata-snapshot.tmp").exists());

        fs::write(dir.path().join("metadata-snapshot"), b"shardkeeper-snapshot-1\n\x10\0\0\0\0\0\0\0{}").unwrap();
        assert_eq!(file.read().err().map(|error| error.kind()), Some(io::ErrorKind::InvalidData));
        fs::write(dir.path().join("metadata-snapshot"), b"something else").unwrap();
        assert_eq!(file.read().err().map(|error| error.kind()), Some(io::ErrorKind::InvalidData));
    }
}
