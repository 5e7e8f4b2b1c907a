//! The replicated metadata: domain types, the commands that change them and the pure state machine.
//!
//! Owns: namespaces, clusters, shards, nodes, recovery records, slot math, and `MetaState::apply`.
//! Must not touch: I/O, clocks, randomness, raft or HTTP. Everything the proposer chose (ids, times)
//! arrives inside the command, so every raft member computes the same outcome.

mod apply;
mod apply_node_admin;
mod command;
mod error;
mod fleet_view;
mod recovery;
mod secret;
pub mod server_names;
mod slots;
mod types;

pub use command::{Command, CommandResult, NodeSpec, Response};
pub use error::{MetaError, MetaErrorKind};
pub use slots::{split_evenly, SlotRange, SlotRangeParseError, SLOT_COUNT};
pub use recovery::{
    NodeRef, Recovery, RecoveryIntent, RecoveryKind, RecoveryOutcome, RecoveryState, RecoveryStep, MAX_RECOVERIES,
};
pub use secret::{with_secret_codec, SealedSecret, Secret, SecretCodec, SecretCodecError};
pub use types::{
    AdminState, Cluster, ClusterCredentials, ClusterPolicy, MetaState, Namespace, Node, NodeRole, PromotionRule, Shard,
    MAX_NAME_LEN, NODE_ID_LEN,
};
