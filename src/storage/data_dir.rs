//! The data directory as a private place: created 0700, its files 0600, looser ones tightened.
//!
//! Owns: the process umask (set to 077 before anything is written: sled creates files of its own,
//! its segment and snapshot files, with no say over their mode), creating and tightening the data
//! directory, and choosing the key ring from `secrets.key_file`. Must not touch: what the files
//! hold.

use std::fs::{self, DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use super::sealing::KeyRing;
use super::{Storage, StorageError};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Makes `data_dir` private (creating it 0700, tightening what an earlier run left looser), reads
/// the key file if there is one, and opens the store in `data_dir/raft`.
///
/// Sets the process umask to 077: every file this process creates from then on is its owner's
/// alone. shardkeeper writes no file meant for others.
pub fn open_data_dir(data_dir: &Path, key_file: Option<&Path>) -> Result<Storage, StorageError> {
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
    let io = |source| StorageError::DataDir { path: data_dir.display().to_string(), source };
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(data_dir).map_err(io)?;
    let tightened = tighten(data_dir).map_err(io)?;
    if tightened > 0 {
        tracing::warn!(data_dir = %data_dir.display(), tightened, "data directory was readable by others: tightened to 0700 directories and 0600 files");
    }
    let keys = match key_file {
        Some(path) => {
            let keys = KeyRing::load(path)?;
            let key_ids: Vec<&str> = keys.key_ids().collect();
            tracing::info!(key_file = %path.display(), sealing_key = keys.sealing_key_id(), ?key_ids, "database passwords are sealed at rest");
            keys
        }
        None => {
            tracing::warn!("no secrets.key_file configured: database passwords are stored in plain text in the raft log and snapshots (docs/security.md)");
            KeyRing::plaintext()
        }
    };
    Storage::open_with_keys(&data_dir.join("raft"), keys)
}

/// Sets every directory under `path` (itself included) to 0700 and every file to 0600 where
/// group or others had any access; returns how many it changed. Symbolic links are left alone.
fn tighten(path: &Path) -> std::io::Result<usize> {
    let metadata = fs::symlink_metadata(path)?;
    let mode = metadata.permissions().mode() & 0o777;
    let mut changed = 0;
    if metadata.is_dir() {
        if mode & 0o077 != 0 {
            fs::set_permissions(path, Permissions::from_mode(DIR_MODE))?;
            changed += 1;
        }
        for entry in fs::read_dir(path)? {
            changed += tighten(&entry?.path())?;
        }
    } else if metadata.is_file() && mode & 0o077 != 0 {
        fs::set_permissions(path, Permissions::from_mode(FILE_MODE))?;
        changed += 1;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_data_dir_is_private_and_a_loose_one_is_tightened() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("fresh");
        let storage = open_data_dir(&fresh, None).unwrap();
        storage.append_log([(1u64, 10u64)]).unwrap();
        storage.db.flush().unwrap();
        drop(storage);
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&fresh.join("raft")), 0o700);
        assert_eq!(mode(&fresh.join("raft").join("db")), 0o600);

        let loose = root.path().join("loose");
        fs::create_dir_all(loose.join("raft")).unwrap();
        fs::set_permissions(&loose, Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(loose.join("raft"), Permissions::from_mode(0o750)).unwrap();
        fs::write(loose.join("raft").join("old-file"), b"x").unwrap();
        fs::set_permissions(loose.join("raft").join("old-file"), Permissions::from_mode(0o644)).unwrap();
        assert_eq!(tighten(&loose).unwrap(), 3);
        assert_eq!((mode(&loose), mode(&loose.join("raft").join("old-file"))), (0o700, 0o600));
        assert_eq!(tighten(&loose).unwrap(), 0);
    }
}
