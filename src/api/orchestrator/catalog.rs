//! The orchestrator view of the fleet's declared state: every shard is one v2 "cluster" (one
//! replication tree), named by its master's `host:port` and aliased `namespace.cluster.shard-index`.
//! Pure: builds `ShardTree`s from the metadata and resolves the `{name}` of a request.
//!
//! A `ShardTree` copies only what the views need (no credentials, no node passwords), so nothing
//! built from it can leak a secret.

use crate::meta::{Cluster, NodeRole, PromotionRule};

/// A declared database node, without its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub addr: String,
    pub role: NodeRole,
    pub promotion_rule: PromotionRule,
    pub diverged: Option<String>,
}

/// One shard of one cluster: a v2 cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardTree {
    pub namespace: String,
    pub cluster: String,
    pub shard: usize,
    /// The master's `host:port`, or the alias when the shard has no master.
    pub name: String,
    /// `namespace.cluster.shard-index`.
    pub alias: String,
    /// Declared order; the master is not necessarily first.
    pub members: Vec<Member>,
    /// The cluster fails over dead masters automatically.
    pub auto_failover: bool,
}

impl ShardTree {
    pub fn master(&self) -> Option<&Member> {
        self.members.iter().find(|member| member.role == NodeRole::Master)
    }
}

/// `namespace.cluster.shard-index`: the alias of a shard.
pub fn alias(namespace: &str, cluster: &str, shard: usize) -> String {
    format!("{namespace}.{cluster}.{shard}")
}

/// Every shard of every cluster, in (namespace, cluster, shard) order.
pub fn shard_trees(clusters: &[(String, Cluster)]) -> Vec<ShardTree> {
    let mut trees = Vec::new();
    for (namespace, cluster) in clusters {
        for (index, shard) in cluster.shards.iter().enumerate() {
            let alias = alias(namespace, &cluster.name, index);
            let members: Vec<Member> = shard
                .nodes
                .iter()
                .map(|node| Member {
                    id: node.id.clone(),
                    addr: node.addr.clone(),
                    role: node.role,
                    promotion_rule: node.promotion_rule,
                    diverged: node.diverged.clone(),
                })
                .collect();
            let name = shard.master().map(|master| master.addr.clone()).unwrap_or_else(|| alias.clone());
            trees.push(ShardTree {
                namespace: namespace.clone(),
                cluster: cluster.name.clone(),
                shard: index,
                name,
                alias,
                members,
                auto_failover: cluster.policy.auto_failover,
            });
        }
    }
    trees
}

/// The tree a `{name}` hint names: a cluster name (master `host:port`) first, then an alias, then
/// the `host:port` of any member (an instance key hint). `None` when nothing matches.
pub fn resolve<'a>(trees: &'a [ShardTree], hint: &str) -> Option<&'a ShardTree> {
    let hint = hint.trim();
    if hint.is_empty() {
        return None;
    }
    trees
        .iter()
        .find(|tree| tree.name == hint)
        .or_else(|| trees.iter().find(|tree| tree.alias == hint))
        .or_else(|| trees.iter().find(|tree| tree.members.iter().any(|member| same_addr(&member.addr, hint))))
}

/// The declared member at `host`:`port` and its tree. `host` may be a bracketed or bare IPv6
/// literal.
pub fn find_instance<'a>(trees: &'a [ShardTree], host: &str, port: u16) -> Option<(&'a ShardTree, &'a Member)> {
    let host = unbracket(host);
    trees.iter().find_map(|tree| {
        tree.members
            .iter()
            .find(|member| split_addr(&member.addr) == (host.to_string(), port))
            .map(|member| (tree, member))
    })
}

/// The port segment of `/instances/{host}/{port}`: a number 1..=65535.
pub fn parse_port(text: &str) -> Result<u16, String> {
    let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    match digits.then(|| text.parse::<u16>().ok()).flatten() {
        Some(port) if port > 0 => Ok(port),
        _ => Err(format!("invalid instance key: port {text:?} is not a number from 1 to 65535")),
    }
}

/// `host:port` → (host, port), IPv6 brackets removed; port 0 when there is none or it is bad.
pub fn split_addr(addr: &str) -> (String, u16) {
    let (host, port) = match addr.strip_prefix('[').and_then(|rest| rest.split_once("]:")) {
        Some((host, port)) => (host, port),
        None => addr.rsplit_once(':').unwrap_or((addr, "")),
    };
    (host.to_string(), port.parse().unwrap_or(0))
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(host)
}

/// `a` and `b` name the same `host:port` (IPv6 brackets and all).
fn same_addr(a: &str, b: &str) -> bool {
    a == b || (split_addr(a) == split_addr(b) && split_addr(a).1 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{ClusterCredentials, ClusterPolicy, Node, Secret, Shard};

    fn node(id: &str, addr: &str, role: NodeRole) -> Node {
        Node {
            id: id.to_string(),
            addr: addr.to_string(),
            role,
            created_at: 0,
            password: Secret::new("node-secret"),
            promotion_rule: PromotionRule::Neutral,
            diverged: None,
            name: None,
            admin_state: Default::default(),
        }
    }

    fn cluster(name: &str, shards: Vec<Vec<Node>>) -> Cluster {
        Cluster {
            name: name.to_string(),
            version: 1,
            credentials: ClusterCredentials { password: Secret::new("admin-secret"), ..ClusterCredentials::default() },
            policy: ClusterPolicy::default(),
            shards: shards.into_iter().map(|nodes| Shard { nodes, ..Shard::default() }).collect(),
        }
    }

    /// ns1/c1: shard 0 (master 10.0.0.1:3306, replica 10.0.0.2:3306), shard 1 without master;
    /// ns2/c2: shard 0 with an IPv6 master.
    fn fleet() -> Vec<ShardTree> {
        shard_trees(&[
            (
                "ns1".to_string(),
                cluster(
                    "c1",
                    vec![
                        vec![node("a", "10.0.0.2:3306", NodeRole::Slave), node("b", "10.0.0.1:3306", NodeRole::Master)],
                        vec![node("c", "10.0.0.3:3306", NodeRole::Slave)],
                    ],
                ),
            ),
            ("ns2".to_string(), cluster("c2", vec![vec![node("d", "[::1]:3307", NodeRole::Master)]])),
        ])
    }

    #[test]
    fn trees_are_named_by_master_and_aliased_by_position() {
        let trees = fleet();
        let names: Vec<(&str, &str)> = trees.iter().map(|tree| (tree.name.as_str(), tree.alias.as_str())).collect();
        assert_eq!(names, [("10.0.0.1:3306", "ns1.c1.0"), ("ns1.c1.1", "ns1.c1.1"), ("[::1]:3307", "ns2.c2.0")]);
        assert_eq!(trees[0].master().map(|m| m.id.as_str()), Some("b"));
        assert!(trees[1].master().is_none());
        assert!(!format!("{trees:?}").contains("secret"), "no secret is copied");
    }

    #[test]
    fn resolve_accepts_name_alias_or_member_key() {
        let trees = fleet();
        let cases = [
            ("10.0.0.1:3306", Some("ns1.c1.0")),
            ("ns1.c1.0", Some("ns1.c1.0")),
            ("10.0.0.2:3306", Some("ns1.c1.0")),
            (" ns1.c1.0 ", Some("ns1.c1.0")),
            ("ns1.c1.1", Some("ns1.c1.1")),
            ("10.0.0.3:3306", Some("ns1.c1.1")),
            ("[::1]:3307", Some("ns2.c2.0")),
            ("ns2.c2.0", Some("ns2.c2.0")),
            ("10.0.0.1", None),
            ("10.0.0.1:3307", None),
            ("ns1.c1", None),
            ("ns1.c1.2", None),
            ("", None),
        ];
        for (hint, expected) in cases {
            assert_eq!(resolve(&trees, hint).map(|tree| tree.alias.as_str()), expected, "{hint:?}");
        }
    }

    #[test]
    fn find_instance_by_host_and_port() {
        let trees = fleet();
        let found =
            |host: &str, port: u16| find_instance(&trees, host, port).map(|(tree, m)| (tree.shard, m.id.clone()));
        assert_eq!(found("10.0.0.2", 3306), Some((0, "a".to_string())));
        assert_eq!(found("10.0.0.3", 3306), Some((1, "c".to_string())));
        assert_eq!(found("::1", 3307), Some((0, "d".to_string())));
        assert_eq!(found("[::1]", 3307), Some((0, "d".to_string())));
        assert_eq!(found("10.0.0.2", 3307), None);
        assert_eq!(found("10.0.0.9", 3306), None);
    }

    #[test]
    fn ports_are_numbers_from_1_to_65535() {
        let cases: [(&str, Option<u16>); 9] = [
            ("3306", Some(3306)),
            ("1", Some(1)),
            ("65535", Some(65535)),
            ("0", None),
            ("65536", None),
            ("abc", None),
            ("-1", None),
            ("", None),
            ("+33", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_port(text).ok(), expected, "{text:?}");
        }
        assert!(parse_port("abc").unwrap_err().contains("\"abc\""));
    }

    #[test]
    fn split_addr_handles_ipv6_and_garbage() {
        assert_eq!(split_addr("127.0.0.1:3306"), ("127.0.0.1".to_string(), 3306));
        assert_eq!(split_addr("db-1.example:3307"), ("db-1.example".to_string(), 3307));
        assert_eq!(split_addr("[::1]:3306"), ("::1".to_string(), 3306));
        assert_eq!(split_addr("nohost"), ("nohost".to_string(), 0));
    }
}
