//! The members' client side: one lazily connected channel per peer, shared by raft replication and
//! forwarding, and the classification of transport failures into "never sent" versus "outcome
//! unknown". Below `raft` and `node`; imports only `pb`, `auth` and `error`.

mod channels;

pub use channels::{is_never_sent, status_from, Channels, MemberChannel, MemberCredential, NOT_LEADER_METADATA};
