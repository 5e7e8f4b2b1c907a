//! The cluster identity: a short id derived from the initial membership, stored beside the raft
//! log and sent with every raft message. A member refuses raft messages from another cluster, so a
//! stray process answering on a reused address can neither vote nor replicate into this cluster.
//!
//! A member that has no id yet (it is joining, or its data directory predates the id) adopts the
//! first one it is sent, persisting it before it answers.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::storage::{Record, Storage, StorageError};

/// gRPC metadata key carrying the sender's cluster id.
pub const CLUSTER_ID_METADATA: &str = "x-shardkeeper-cluster";

/// What to do with a raft message, given the local and the incoming cluster id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// This member has no id yet: take the sender's.
    Adopt,
    Reject,
}

pub fn verdict(local: Option<&str>, incoming: Option<&str>) -> Verdict {
    match (local, incoming) {
        (_, None) => Verdict::Accept,
        (None, Some(_)) => Verdict::Adopt,
        (Some(local), Some(incoming)) if local == incoming => Verdict::Accept,
        (Some(_), Some(_)) => Verdict::Reject,
    }
}

/// The id of a cluster formed from `members` (raft id → gRPC address): FNV-1a 64 of the canonical
/// member list, in hex. Every member computes the same id from the same `--initial-cluster`.
pub fn cluster_id_of(members: &BTreeMap<u64, String>) -> String {
    let canonical: Vec<String> = members.iter().map(|(id, addr)| format!("{id}={addr}")).collect();
    let hash = canonical.join(",").bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// This member's cluster id, shared by the raft client and server. Cheap to clone.
#[derive(Clone)]
pub struct ClusterIdentity {
    storage: Storage,
    id: Arc<RwLock<Option<String>>>,
}

impl ClusterIdentity {
    pub fn load(storage: Storage) -> Result<Self, StorageError> {
        let id = storage.read_record(Record::ClusterId)?;
        Ok(ClusterIdentity { storage, id: Arc::new(RwLock::new(id)) })
    }

    pub fn get(&self) -> Option<String> {
        self.id.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Takes `id` unless an id is set already; persisted before it counts.
    pub async fn adopt(&self, id: &str) -> Result<(), StorageError> {
        if self.get().is_some() {
            return Ok(());
        }
        self.storage.write_record(Record::ClusterId, &id)?;
        self.storage.flush().await?;
        *self.id.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(id.to_string());
        Ok(())
    }

    /// Whether to accept a raft message that carries `incoming`; adopts it when this member has none.
    pub async fn admit(&self, incoming: Option<&str>) -> Result<(), String> {
        let local = self.get();
        match verdict(local.as_deref(), incoming) {
            Verdict::Accept => Ok(()),
            Verdict::Adopt => self
                .adopt(incoming.unwrap_or_default())
                .await
                .map_err(|error| format!("cannot store the cluster id: {error}")),
            Verdict::Reject => Err(format!(
                "this member belongs to cluster {}, the message comes from cluster {}",
                local.unwrap_or_default(),
                incoming.unwrap_or_default()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let cases = [
            (None, None, Verdict::Accept),
            (Some("a"), None, Verdict::Accept),
            (None, Some("a"), Verdict::Adopt),
            (Some("a"), Some("a"), Verdict::Accept),
            (Some("a"), Some("b"), Verdict::Reject),
        ];
        for (local, incoming, expected) in cases {
            assert_eq!(verdict(local, incoming), expected, "local {local:?}, incoming {incoming:?}");
        }
    }

    #[test]
    fn the_id_depends_on_every_member_and_address_only() {
        let members = |list: &[(u64, &str)]| list.iter().map(|(id, addr)| (*id, addr.to_string())).collect();
        let a = cluster_id_of(&members(&[(1, "h1:9800"), (2, "h2:9800"), (3, "h3:9800")]));
        assert_eq!(a, cluster_id_of(&members(&[(3, "h3:9800"), (1, "h1:9800"), (2, "h2:9800")])));
        assert_ne!(a, cluster_id_of(&members(&[(1, "h1:9800"), (2, "h2:9800"), (3, "h3:9801")])));
        assert_ne!(a, cluster_id_of(&members(&[(1, "h1:9800"), (2, "h2:9800")])));
        assert_eq!(a.len(), 16);
    }

    #[tokio::test]
    async fn a_member_adopts_the_first_id_and_then_refuses_others() {
        let dir = tempfile::tempdir().unwrap();
        let identity = ClusterIdentity::load(Storage::open(dir.path()).unwrap()).unwrap();
        assert_eq!(identity.admit(Some("one")).await, Ok(()));
        assert_eq!(identity.get().as_deref(), Some("one"));
        assert!(identity.admit(Some("two")).await.is_err());
        assert_eq!(identity.admit(None).await, Ok(()));
    }
}
