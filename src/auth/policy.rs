//! The one table of who may do what: (method, path pattern) -> required role for every HTTP flavor,
//! and gRPC Admin method -> required role. Reads need a viewer; the writes listed here need an
//! operator; every other write (create, delete, membership, credentials, and any path not listed)
//! needs an admin. Pure: table-driven tests below.

use super::Role;

/// What an HTTP request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpAccess {
    /// No credentials needed (liveness, readiness, and /metrics unless protected).
    Open,
    Requires(Role),
}

/// Paths anyone may reach, whatever the method (a wrong method still gets its 405).
const OPEN_PATHS: &[&str] = &["/healthz", "/readyz"];

/// Writes an operator may make; `*` is one path segment. Every other write needs an admin.
const OPERATOR_WRITES: &[&str] = &[
    // native: switchover / failover, recoveries, promotion rules, maintenance and drain, migrations
    "/api/v1/namespaces/*/clusters/*/shards/*/failover",
    "/api/v1/namespaces/*/clusters/*/recoveries/*/acknowledge",
    "/api/v1/namespaces/*/clusters/*/shards/*/nodes/*/promotion-rule",
    "/api/v1/namespaces/*/clusters/*/shards/*/nodes/*/admin_state",
    "/api/v1/namespaces/*/clusters/*/migrate",
    // MaxScale: maintenance and drain of a server
    "/v1/servers/*/set",
    "/v1/servers/*/clear",
];

/// What `method path` needs. `protect_metrics` puts /metrics behind a viewer token.
pub fn http_access(method: &str, path: &str, protect_metrics: bool) -> HttpAccess {
    let path = normalise(path);
    if OPEN_PATHS.contains(&path) || (path == "/metrics" && !protect_metrics) {
        return HttpAccess::Open;
    }
    if is_read(method) {
        return HttpAccess::Requires(Role::Viewer);
    }
    if OPERATOR_WRITES.iter().any(|pattern| matches_pattern(pattern, path)) {
        return HttpAccess::Requires(Role::Operator);
    }
    HttpAccess::Requires(Role::Admin)
}

/// Admin gRPC methods a viewer may call.
const VIEWER_METHODS: &[&str] = &[
    "Status",
    "ListNamespaces",
    "GetNamespace",
    "ListClusters",
    "GetCluster",
    "ListShards",
    "GetShard",
    "ListNodes",
    "ClusterHealth",
    "ClusterObservations",
    "ListRecoveries",
];

/// Admin gRPC methods an operator may call; every other one needs an admin.
const OPERATOR_METHODS: &[&str] =
    &["Failover", "AcknowledgeRecovery", "SetPromotionRule", "MigrateSlot", "SetAdminState"];

/// The role an Admin gRPC method (its bare name, e.g. `CreateCluster`) needs.
pub fn grpc_required_role(method: &str) -> Role {
    if VIEWER_METHODS.contains(&method) {
        Role::Viewer
    } else if OPERATOR_METHODS.contains(&method) {
        Role::Operator
    } else {
        Role::Admin
    }
}

fn is_read(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

fn normalise(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

fn matches_pattern(pattern: &str, path: &str) -> bool {
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return true,
            (Some("*"), Some(segment)) if !segment.is_empty() => {}
            (Some(expected), Some(segment)) if expected == segment => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HttpAccess::{Open, Requires};
    use Role::{Admin, Operator, Viewer};

    #[test]
    fn every_flavor_s_paths_need_the_documented_role() {
        let shard = "/api/v1/namespaces/ns/clusters/c/shards/0";
        let cases: Vec<(&str, String, HttpAccess)> = vec![
            ("GET", "/healthz".into(), Open),
            ("POST", "/readyz".into(), Open),
            ("GET", "/metrics".into(), Open),
            ("GET", "/api/v1/status".into(), Requires(Viewer)),
            ("GET", "/api/v1/namespaces".into(), Requires(Viewer)),
            ("POST", "/api/v1/namespaces".into(), Requires(Admin)),
            ("DELETE", "/api/v1/namespaces/ns/clusters/c".into(), Requires(Admin)),
            ("POST", "/api/v1/namespaces/ns/clusters/c/import".into(), Requires(Admin)),
            ("POST", format!("{shard}/failover"), Requires(Operator)),
            ("POST", format!("{shard}/failover/"), Requires(Operator)),
            ("POST", format!("{shard}/nodes"), Requires(Admin)),
            ("DELETE", format!("{shard}/nodes/abc"), Requires(Admin)),
            ("POST", format!("{shard}/nodes/abc/promotion-rule"), Requires(Operator)),
            ("POST", format!("{shard}/nodes/abc/clear-diverged"), Requires(Admin)),
            ("PUT", format!("{shard}/nodes/abc/admin_state"), Requires(Operator)),
            ("DELETE", "/v1/servers/db1/connections".into(), Requires(Admin)),
            ("POST", "/api/v1/namespaces/ns/clusters/c/recoveries/7/acknowledge".into(), Requires(Operator)),
            ("POST", "/api/v1/namespaces/ns/clusters/c/migrate".into(), Requires(Operator)),
            ("POST", "/api/v1/raft/peers".into(), Requires(Admin)),
            ("DELETE", "/api/v1/raft/peers/4".into(), Requires(Admin)),
            ("GET", "/api/v2/clusters".into(), Requires(Viewer)),
            ("GET", "/api/20190715/routes".into(), Requires(Viewer)),
            ("GET", "/v1/servers".into(), Requires(Viewer)),
            ("PUT", "/v1/servers/db1/set".into(), Requires(Operator)),
            ("PUT", "/v1/servers/db1/clear".into(), Requires(Operator)),
            ("PUT", "/v1/servers//set".into(), Requires(Admin)),
            ("POST", "/v1/servers".into(), Requires(Admin)),
            ("PATCH", "/v1/servers/db1".into(), Requires(Admin)),
            ("DELETE", "/v1/servers/db1".into(), Requires(Admin)),
            ("POST", "/no/such/path".into(), Requires(Admin)),
            ("GET", "/no/such/path".into(), Requires(Viewer)),
        ];
        for (method, path, expected) in cases {
            assert_eq!(http_access(method, &path, false), expected, "{method} {path}");
        }
        assert_eq!(http_access("GET", "/metrics", true), Requires(Viewer));
    }

    #[test]
    fn every_admin_grpc_method_has_its_role() {
        let cases = [
            ("GetCluster", Viewer),
            ("ListRecoveries", Viewer),
            ("Failover", Operator),
            ("MigrateSlot", Operator),
            ("AcknowledgeRecovery", Operator),
            ("SetAdminState", Operator),
            ("CreateCluster", Admin),
            ("DeleteCluster", Admin),
            ("AddPeer", Admin),
            ("ClearDiverged", Admin),
            ("SomethingNew", Admin),
        ];
        for (method, role) in cases {
            assert_eq!(grpc_required_role(method), role, "{method}");
        }
    }
}
