//! Route declarations: the `[[routes]]` sections of a node's config file, the counterpart of MySQL
//! Router's `[routing:NAME]` sections, with Router's option names so that a Router config carries
//! over. Plain serde data with documented defaults; `destinations` is parsed by `Destination`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One route: a listener whose connections go to one shard's servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique on this node; names the route in the MySQL Router and MaxScale APIs.
    pub name: String,
    /// Address the listener binds. Default 127.0.0.1.
    #[serde(default = "default_bind_address")]
    pub bind_address: String,
    /// Port the listener binds (0: any free port, for tests).
    pub bind_port: u16,
    /// `shard://NAMESPACE/CLUSTER/SHARD-INDEX?role=PRIMARY|SECONDARY|PRIMARY_AND_SECONDARY`.
    pub destinations: String,
    /// Router's meaning. Default as MySQL Router's for metadata-cache destinations: first-available
    /// for PRIMARY, round-robin for SECONDARY and PRIMARY_AND_SECONDARY (Router's bootstrap writes
    /// round-robin-with-fallback for SECONDARY; say so here to get it).
    #[serde(default)]
    pub routing_strategy: Option<RoutingStrategy>,
    /// Most client connections served at once; one more gets a MySQL error. Default 512.
    #[serde(default = "default_max_connections")]
    pub max_connections: u64,
    /// How long connecting to a destination may take before it is quarantined. Default 5s.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// How long a client may take to finish the MySQL handshake. Default 9s.
    #[serde(default = "default_client_connect_timeout", with = "humantime_serde")]
    pub client_connect_timeout: Duration,
    /// A client host whose handshakes fail this many times in a row is blocked. Default 100.
    #[serde(default = "default_max_connect_errors")]
    pub max_connect_errors: u64,
    /// Close the connections to a primary when another server is promoted. Default true.
    #[serde(default = "default_true")]
    pub disconnect_on_promoted_to_primary: bool,
}

/// How a route picks among its eligible destinations (MySQL Router's `routing_strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingStrategy {
    /// Always the first available destination, in order.
    FirstAvailable,
    /// The first available; a destination that failed stays skipped until the list is exhausted.
    NextAvailable,
    /// Each new connection to the next destination in turn.
    RoundRobin,
    /// Round robin over replicas; the primary when no replica qualifies.
    RoundRobinWithFallback,
}

impl RoutingStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingStrategy::FirstAvailable => "first-available",
            RoutingStrategy::NextAvailable => "next-available",
            RoutingStrategy::RoundRobin => "round-robin",
            RoutingStrategy::RoundRobinWithFallback => "round-robin-with-fallback",
        }
    }
}

fn default_bind_address() -> String {
    "127.0.0.1".to_string()
}

fn default_max_connections() -> u64 {
    512
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_client_connect_timeout() -> Duration {
    Duration::from_secs(9)
}

fn default_max_connect_errors() -> u64 {
    100
}

fn default_true() -> bool {
    true
}
