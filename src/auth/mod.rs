//! Who is calling and what they may do: principals, roles, tokens, the members' cluster secret, the
//! one table of required roles, and the safe-default check of the addresses a node binds.
//!
//! Owns: every authentication and authorisation decision. The REST layer (`api::auth_layer`) and
//! the gRPC layers (`admin_grpc`, `member_rpc`) only ask this module and render its answer; no
//! handler checks a role itself. Must not touch HTTP framing or envelopes. Imports only `error`.
//!
//! The acting principal's name travels with the work of one request as a task-local (`acting_as`),
//! over a forwarded call as metadata (`PRINCIPAL_METADATA`), so that the leader audits who did it.

mod cluster_secret;
mod exposure;
mod policy;
pub(crate) mod tokens;

use std::future::Future;

use serde::{Deserialize, Serialize};

pub use cluster_secret::{ClusterSecret, ClusterSecretError, MEMBER_SECRET_METADATA};
pub use exposure::{check_exposure, Exposure};
pub use policy::{grpc_required_role, http_access, HttpAccess};
pub use tokens::{sha256_hex, AuthConfig, AuthFailure, TokenEntry, TokenError, TokenTable};

/// Metadata key of a forwarded call naming the principal the forwarding node authorised.
pub const PRINCIPAL_METADATA: &str = "x-shardkeeper-principal";

/// Who the audit log names for work no client asked for (probes, repairs, recoveries).
pub const SYSTEM_PRINCIPAL: &str = "shardkeeper";

/// Who the audit log names when authentication is off (no tokens configured).
pub const ANONYMOUS_PRINCIPAL: &str = "anonymous";

/// What a token may do; each role includes the ones below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Reads, switchover / failover, acknowledging recoveries, maintenance and drain, promotion
    /// rules, slot migrations.
    Operator,
    /// Everything: create and delete, membership, credentials.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

tokio::task_local! {
    static ACTING_PRINCIPAL: String;
}

/// Runs `work` on behalf of the principal named `name` (what `acting_principal` answers inside).
pub async fn acting_as<F: Future>(name: String, work: F) -> F::Output {
    ACTING_PRINCIPAL.scope(name, work).await
}

/// The principal the current request acts for, or `SYSTEM_PRINCIPAL` outside any request.
pub fn acting_principal() -> String {
    ACTING_PRINCIPAL.try_with(Clone::clone).unwrap_or_else(|_| SYSTEM_PRINCIPAL.to_string())
}

/// The principal of the client request this task serves, if it serves one.
pub fn acting_principal_in_request() -> Option<String> {
    ACTING_PRINCIPAL.try_with(Clone::clone).ok()
}

/// True for names a token may carry: they travel in gRPC metadata and log lines as they are.
pub fn is_valid_principal_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"._-@".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_names_are_checked() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for good in ["alice", "ci-bot", "ops.team@site"] {
            assert!(is_valid_principal_name(good), "{good}");
        }
        for bad in ["", "a b", "x:y", "line\nbreak", &"a".repeat(65)] {
            assert!(!is_valid_principal_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn the_acting_principal_is_scoped_to_its_work() {
        assert_eq!(acting_principal(), SYSTEM_PRINCIPAL);
        let inside = acting_as("alice".to_string(), async { acting_principal() }).await;
        assert_eq!(inside, "alice");
        assert_eq!(acting_principal(), SYSTEM_PRINCIPAL);
    }
}
