//! Node configuration: plain serde data with documented defaults.
//!
//! Sources, later ones winning: the defaults below, the TOML file given by `--config`, then
//! `SHARDKEEPER_*` environment variables and command-line flags (see `cli`). Durations are written in
//! human form ("100ms", "5s").

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// This node's raft id; unique in the cluster. Default 1.
    pub node_id: u64,
    /// REST API listen address. Default 127.0.0.1:9700.
    pub http_addr: String,
    /// gRPC (raft + admin) listen address. Default 127.0.0.1:9800.
    pub grpc_addr: String,
    /// gRPC address the other nodes use to reach this one. Default: `grpc_addr`.
    pub advertise_grpc_addr: Option<String>,
    /// Where the raft log, vote and snapshots live. Default ./shardkeeper-data.
    pub data_dir: PathBuf,
    /// "1=HOST:GRPCPORT,2=...": the members of a new cluster; every member gets the same list.
    /// Ignored when the data directory already holds a cluster. With neither this nor `join`, the
    /// node forms a one-node cluster of itself.
    pub initial_cluster: Option<String>,
    /// gRPC address of any member of a running cluster to join (as learner, then voter).
    pub join: Option<String>,
    pub raft: RaftConfig,
    pub requests: RequestConfig,
    pub fleet: FleetConfig,
    /// The ProxySQL admin endpoint the orchestrator flavor reads `runtime_mysql_servers` from.
    pub proxysql: Option<ProxySqlConfig>,
    /// MySQL routes this node serves (`[[routes]]`, docs/routing.md). Default none.
    pub routes: Vec<RouteConfig>,
    /// Client tokens and their roles (`[auth]`, docs/security.md). Default none: auth is off and
    /// only loopback addresses may be bound.
    pub auth: crate::auth::AuthConfig,
    /// A file holding the secret every member presents on members-only gRPC calls (the same file
    /// content on every member). Default none: those calls are unauthenticated, loopback only.
    pub cluster_secret_file: Option<PathBuf>,
    /// Serve non-loopback addresses without credentials anyway. Default false.
    pub insecure: bool,
    pub limits: LimitsConfig,
    /// How database passwords are protected at rest (`[secrets]`, docs/security.md).
    pub secrets: SecretsConfig,
    /// TLS of the REST and gRPC servers and of the members' channels (`[tls]`, docs/security.md).
    /// Default none: plain text.
    pub tls: TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_id: 1,
            http_addr: "127.0.0.1:9700".to_string(),
            grpc_addr: "127.0.0.1:9800".to_string(),
            advertise_grpc_addr: None,
            data_dir: PathBuf::from("./shardkeeper-data"),
            initial_cluster: None,
            join: None,
            raft: RaftConfig::default(),
            requests: RequestConfig::default(),
            fleet: FleetConfig::default(),
            proxysql: None,
            routes: Vec::new(),
            auth: crate::auth::AuthConfig::default(),
            cluster_secret_file: None,
            insecure: false,
            limits: LimitsConfig::default(),
            secrets: SecretsConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Config {
    pub fn advertised_grpc_addr(&self) -> &str {
        self.advertise_grpc_addr.as_deref().unwrap_or(&self.grpc_addr)
    }

    /// The members of a new cluster: the `initial_cluster` list, or this node alone.
    pub fn initial_members(&self) -> Result<BTreeMap<u64, String>, ConfigError> {
        match &self.initial_cluster {
            Some(list) => parse_initial_cluster(list),
            None => Ok(BTreeMap::from([(self.node_id, self.advertised_grpc_addr().to_string())])),
        }
    }
}

/// Secrets at rest (docs/security.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// File of named keys (`KEY_ID HEX` a line, the first seals, all open; mode 0600) that seals the
    /// database passwords in the raft log and snapshots. Default none: passwords are stored in
    /// plain text and the node warns at start.
    pub key_file: Option<PathBuf>,
}

/// TLS of this node's servers and of its channels to the other members (docs/security.md). PEM
/// files, read once at start; a key file must not be readable by group or others (mode 0600).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// This node's certificate chain, served on REST and gRPC and, with `client_ca_file`, presented
    /// to the other members. Set with `key_file`; then both ports speak TLS only. Default none.
    pub cert_file: Option<PathBuf>,
    /// The private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// The cluster CA: members-only gRPC calls must come with a client certificate it signed
    /// (mutual TLS), and this node presents its own certificate on its calls to the others. The
    /// public Admin service and REST ask for no client certificate. Default none.
    pub client_ca_file: Option<PathBuf>,
    /// The CA this node verifies the other members' servers against. Default `client_ca_file`.
    pub ca_file: Option<PathBuf>,
}

/// TLS of the connections to the database servers (`[fleet.tls]`, docs/security.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbTlsConfig {
    /// The CA the database servers' certificates must chain to (their names must match the
    /// addresses they are declared with). Set: TLS whenever a server offers it. Default none:
    /// plain text.
    pub ca_file: Option<PathBuf>,
    /// Refuse a server that does not offer TLS instead of talking plain text to it. Needs
    /// `ca_file`. Default false.
    pub require: bool,
    /// A client certificate to present, for servers that require one (`REQUIRE X509`). Set with
    /// `key_file`. Default none.
    pub cert_file: Option<PathBuf>,
    /// The private key of `cert_file`.
    pub key_file: Option<PathBuf>,
}

/// Raft timing and snapshot policy. Tuned for fast leader failover on a LAN. openraft 0.9 lets a
/// follower elect only after the leader lease (= `election_timeout_max`) plus its own election
/// timeout (drawn once from [min, max)) have passed without a heartbeat: 600-800 ms by default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftConfig {
    /// How often the leader sends heartbeats. Default 50ms.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// Election timeout is drawn from [min, max). Defaults 200ms and 400ms.
    #[serde(with = "humantime_serde")]
    pub election_timeout_min: Duration,
    #[serde(with = "humantime_serde")]
    pub election_timeout_max: Duration,
    /// Timeout of one snapshot chunk transfer. Default 2s.
    #[serde(with = "humantime_serde")]
    pub install_snapshot_timeout: Duration,
    /// Build a snapshot after this many applied entries since the last one. Default 5000.
    pub snapshot_logs: u64,
    /// Entries kept in the log behind a snapshot, so that briefly lagging followers catch up from
    /// the log instead of a snapshot. Default 1000.
    pub logs_kept_after_snapshot: u64,
}

impl RaftConfig {
    /// How long a restarted member waits to hear of a leader before it may campaign.
    pub fn restart_hold_off(&self) -> Duration {
        self.election_timeout_max.saturating_mul(2)
    }
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            heartbeat_interval: Duration::from_millis(50),
            election_timeout_min: Duration::from_millis(200),
            election_timeout_max: Duration::from_millis(400),
            install_snapshot_timeout: Duration::from_secs(2),
            snapshot_logs: 5000,
            logs_kept_after_snapshot: 1000,
        }
    }
}

/// Bounds on how long a client request may wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestConfig {
    /// How long a request waits for a leader before answering 503. Default 5s.
    #[serde(with = "humantime_serde")]
    pub leader_wait: Duration,
    /// How long a write may take once sent to the leader before its outcome is reported unknown
    /// (504). Default 10s.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// How long adding a member may take (it first catches up as a learner). Default 60s.
    #[serde(with = "humantime_serde")]
    pub membership_timeout: Duration,
}

impl Default for RequestConfig {
    fn default() -> Self {
        RequestConfig {
            leader_wait: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            membership_timeout: Duration::from_secs(60),
        }
    }
}

/// Bounds on what one client can hold of a node: slow or numerous connections, huge messages.
/// Request bodies over 1 MiB are refused (413) whatever these say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// An HTTP/1 client must send a request's headers within this, and with `[tls]` a client of
    /// either port must finish its TLS handshake within it. Default 10s.
    #[serde(with = "humantime_serde")]
    pub http_header_read_timeout: Duration,
    /// Open HTTP connections at once; further ones wait to be accepted. Default 1024.
    pub http_max_connections: usize,
    /// Largest gRPC message a public Admin or Members call may carry, either way. Default 4 MiB.
    pub grpc_max_message_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            http_header_read_timeout: Duration::from_secs(10),
            http_max_connections: 1024,
            grpc_max_message_bytes: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is invalid: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("initial cluster entry \"{0}\" is not ID=HOST:PORT")]
    InitialClusterEntry(String),
    #[error("initial cluster lists node {0} twice")]
    DuplicateMember(u64),
    #[error("{0} is longer than a day; durations of settings are at most 24h")]
    Duration(String),
}

/// The longest duration a setting accepts. Longer ones are mistakes, and one near `u64::MAX`
/// seconds would overflow the deadlines computed from it.
pub const MAX_SETTING_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

impl Config {
    /// Refuses what no node can run with once every source is merged: a duration longer than
    /// `MAX_SETTING_DURATION` (named by its key).
    pub fn check(&self) -> Result<(), ConfigError> {
        let (raft, requests, fleet) = (&self.raft, &self.requests, &self.fleet);
        let mut durations = vec![
            ("raft.heartbeat_interval", raft.heartbeat_interval),
            ("raft.election_timeout_min", raft.election_timeout_min),
            ("raft.election_timeout_max", raft.election_timeout_max),
            ("raft.install_snapshot_timeout", raft.install_snapshot_timeout),
            ("requests.leader_wait", requests.leader_wait),
            ("requests.write_timeout", requests.write_timeout),
            ("requests.membership_timeout", requests.membership_timeout),
            ("limits.http_header_read_timeout", self.limits.http_header_read_timeout),
            ("fleet.probe_interval", fleet.probe_interval),
            ("fleet.failure_retry_interval", fleet.failure_retry_interval),
            ("fleet.connect_timeout", fleet.connect_timeout),
            ("fleet.query_timeout", fleet.query_timeout),
            ("fleet.repair_interval", fleet.repair_interval),
            ("fleet.repair_backoff", fleet.repair_backoff),
            ("fleet.replication_heartbeat", fleet.replication_heartbeat),
            ("fleet.replica_net_timeout", fleet.replica_net_timeout),
            ("fleet.relay_log_apply_timeout", fleet.relay_log_apply_timeout),
            ("fleet.switchover_timeout", fleet.switchover_timeout),
        ];
        for route in &self.routes {
            durations.push(("routes.connect_timeout", route.connect_timeout));
            durations.push(("routes.client_connect_timeout", route.client_connect_timeout));
        }
        match durations.into_iter().find(|(_, duration)| *duration > MAX_SETTING_DURATION) {
            Some((key, duration)) => Err(ConfigError::Duration(format!("{key} = {}", humantime_serde::re::humantime::format_duration(duration)))),
            None => Ok(()),
        }
    }

    pub fn from_toml_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source })
    }
}

// Routes: the `[[routes]]` sections, the counterpart of MySQL Router's `[routing:NAME]` sections,
// with Router's option names so that a Router config carries over (docs/routing.md). The router
// (`crate::router`) checks and serves them; they live here, at the bottom, because the config
// file holds them.

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

/// Parses "1=HOST:PORT,2=HOST:PORT".
pub fn parse_initial_cluster(list: &str) -> Result<BTreeMap<u64, String>, ConfigError> {
    let mut members = BTreeMap::new();
    for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let bad_entry = || ConfigError::InitialClusterEntry(entry.to_string());
        let (id, addr) = entry.split_once('=').ok_or_else(bad_entry)?;
        let id: u64 = id.trim().parse().map_err(|_| bad_entry())?;
        let addr = addr.trim();
        if !is_host_port(addr) {
            return Err(bad_entry());
        }
        if members.insert(id, addr.to_string()).is_some() {
            return Err(ConfigError::DuplicateMember(id));
        }
    }
    if members.is_empty() {
        return Err(ConfigError::InitialClusterEntry(list.to_string()));
    }
    Ok(members)
}

/// `host:port` with a non-empty host and a port in 1..=65535.
pub fn is_host_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port > 0),
        None => false,
    }
}

/// How the leader watches and repairs database servers. Per-cluster policies (auto_failover,
/// failure_threshold, ...) live in the cluster itself; these are the node-wide timings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// How often each server is probed unless its cluster sets its own. Default 1s.
    #[serde(with = "humantime_serde")]
    pub probe_interval: Duration,
    /// Probe spacing while a server, or its shard's master, fails. Default 200ms.
    #[serde(with = "humantime_serde")]
    pub failure_retry_interval: Duration,
    /// TCP connect and login timeout of one probe or repair connection. Default 1s.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Timeout of one statement. Default 1s.
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
    /// How often the leader analyses every cluster and starts repairs. Default 100ms.
    #[serde(with = "humantime_serde")]
    pub repair_interval: Duration,
    /// The same repair of the same node is not retried sooner than this. Default 2s.
    #[serde(with = "humantime_serde")]
    pub repair_backoff: Duration,
    /// Replication heartbeat period set on replicas. Default 500ms.
    #[serde(with = "humantime_serde")]
    pub replication_heartbeat: Duration,
    /// `slave_net_timeout` / `replica_net_timeout` set on replicas: a replica whose master sends
    /// nothing (not even a heartbeat) for this long reconnects, which shows it lost the master.
    /// Default 2s.
    #[serde(with = "humantime_serde")]
    pub replica_net_timeout: Duration,
    /// How long a failover lets the candidate apply its relay log. Default 5s.
    #[serde(with = "humantime_serde")]
    pub relay_log_apply_timeout: Duration,
    /// How long a switchover waits for the candidate to catch up before rolling back. Default 10s.
    #[serde(with = "humantime_serde")]
    pub switchover_timeout: Duration,
    /// TLS to the database servers (`[fleet.tls]`). Default none: plain text.
    pub tls: DbTlsConfig,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            probe_interval: Duration::from_secs(1),
            failure_retry_interval: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(1),
            query_timeout: Duration::from_secs(1),
            repair_interval: Duration::from_millis(100),
            repair_backoff: Duration::from_secs(2),
            replication_heartbeat: Duration::from_millis(500),
            replica_net_timeout: Duration::from_secs(2),
            relay_log_apply_timeout: Duration::from_secs(5),
            switchover_timeout: Duration::from_secs(10),
            tls: DbTlsConfig::default(),
        }
    }
}

impl FleetConfig {
    /// The bounds of every database session. Stopping replication may wait for an IO thread
    /// blocked on a silent source for up to `replica_net_timeout` (in a connect, then in a read).
    pub fn db_timeouts(&self) -> crate::mysql::DbTimeouts {
        crate::mysql::DbTimeouts {
            connect: self.connect_timeout,
            query: self.query_timeout,
            stop_replication: self.query_timeout.saturating_add(self.replica_net_timeout.saturating_mul(2)),
        }
    }

    /// The bound on a call the leader answers (a switchover at most): two switchover timeouts, the
    /// relay log apply timeout and the raft write's timeout.
    pub fn leader_call_timeout(&self, write_timeout: Duration) -> Duration {
        self.switchover_timeout.saturating_mul(2).saturating_add(self.relay_log_apply_timeout).saturating_add(write_timeout)
    }
}

/// A ProxySQL admin interface (MySQL protocol, usually port 6032).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySqlConfig {
    /// host:port of the admin interface.
    pub addr: String,
    pub user: String,
    /// Never logged or returned.
    pub password: crate::meta::Secret,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found writing the fuzz target config_toml: `replica_net_timeout = "18446744073709551615s"` made
    /// `db_timeouts` overflow a `Duration` and panic at start; every derived timeout saturates.
    #[test]
    fn derived_timeouts_of_huge_durations_saturate() {
        let config: Config = toml::from_str(
            "[fleet]\nreplica_net_timeout = \"18446744073709551615s\"\nswitchover_timeout = \"18446744073709551615s\"\n\
             [raft]\nelection_timeout_max = \"18446744073709551615s\"",
        )
        .unwrap();
        assert_eq!(config.fleet.db_timeouts().stop_replication, Duration::MAX);
        assert_eq!(config.fleet.leader_call_timeout(Duration::from_secs(10)), Duration::MAX);
        assert_eq!(config.raft.restart_hold_off(), Duration::MAX);
        let defaults = Config::default();
        assert_eq!(defaults.fleet.db_timeouts().stop_replication, Duration::from_secs(5));
        assert_eq!(defaults.fleet.leader_call_timeout(Duration::from_secs(10)), Duration::from_secs(35));
        assert_eq!(defaults.raft.restart_hold_off(), Duration::from_millis(800));
        let refused = config.check().unwrap_err().to_string();
        assert!(refused.starts_with("raft.election_timeout_max = ") && refused.contains("longer than a day"), "{refused}");
        assert!(defaults.check().is_ok());
        let day: Config = toml::from_str("[fleet]\nprobe_interval = \"24h\"\n[[routes]]\nname = \"r\"\nbind_port = 0\n\
             destinations = \"shard://a/b/0?role=PRIMARY\"\nconnect_timeout = \"25h\"").unwrap();
        assert!(day.check().unwrap_err().to_string().starts_with("routes.connect_timeout = 1day 1h"));
    }

    #[test]
    fn initial_cluster_lists_parse_or_say_what_is_wrong() {
        let parsed = parse_initial_cluster("1=127.0.0.1:9801, 2=node2:9800,3=[::1]:9803").unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[&3], "[::1]:9803");
        for bad in ["", "1", "x=a:1", "1=nohost", "1=a:0", "1=a:70000", "1=:9800"] {
            assert!(parse_initial_cluster(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(matches!(parse_initial_cluster("1=a:1,1=b:2"), Err(ConfigError::DuplicateMember(1))));
    }

    #[test]
    fn toml_uses_documented_keys_and_human_durations() {
        let config: Config = toml::from_str(
            "node_id = 3\ndata_dir = \"/var/lib/sk\"\n[raft]\nheartbeat_interval = \"50ms\"\nsnapshot_logs = 10\n",
        )
        .unwrap();
        assert_eq!(config.node_id, 3);
        assert_eq!(config.raft.heartbeat_interval, Duration::from_millis(50));
        assert_eq!(config.raft.snapshot_logs, 10);
        assert_eq!(config.http_addr, "127.0.0.1:9700");
        assert!(toml::from_str::<Config>("nodeid = 3").is_err());
    }

    #[test]
    fn the_config_example_in_the_security_guide_parses_and_its_tokens_load() {
        let guide = include_str!("../docs/security.md");
        let start = guide.find("```toml\n").expect("a toml example") + "```toml\n".len();
        let length = guide[start..].find("```").expect("the end of the example");
        let config: Config = toml::from_str(&guide[start..start + length]).unwrap();
        assert_eq!(config.cluster_secret_file, Some(PathBuf::from("/etc/shardkeeper/cluster-secret")));
        assert_eq!(config.limits, LimitsConfig::default());
        let roles: Vec<_> = config.auth.tokens.iter().map(|token| token.role.as_str()).collect();
        assert_eq!(roles, ["viewer", "operator", "admin"]);
        let auth = crate::auth::AuthConfig { tokens_file: None, ..config.auth };
        let tokens = crate::auth::TokenTable::load(&auth).unwrap();
        let principal = tokens.authorize(Some("Bearer bar"), false, crate::auth::Role::Operator).unwrap();
        assert_eq!(principal.name, "oncall");
    }

    #[test]
    fn the_tls_example_in_the_security_guide_parses() {
        let guide = include_str!("../docs/security.md");
        let settings = guide.find("### The settings").expect("the TLS settings");
        let start = settings + guide[settings..].find("```toml\n").expect("a toml example") + "```toml\n".len();
        let length = guide[start..].find("```").expect("the end of the example");
        let config: Config = toml::from_str(&guide[start..start + length]).unwrap();
        assert_eq!(config.tls.key_file, Some(PathBuf::from("/etc/shardkeeper/tls/node.key")));
        assert_eq!(config.tls.ca_file, None);
        assert!(config.fleet.tls.require && config.fleet.tls.cert_file.is_none());
    }

    #[test]
    fn the_config_example_in_the_operations_guide_parses() {
        let guide = include_str!("../docs/operations.md");
        let start = guide.find("```toml\n").expect("a toml example") + "```toml\n".len();
        let length = guide[start..].find("```").expect("the end of the example");
        let config: Config = toml::from_str(&guide[start..start + length]).unwrap();
        assert_eq!(FleetConfig { tls: DbTlsConfig::default(), ..config.fleet.clone() }, FleetConfig::default());
        assert!(config.fleet.tls.require && config.fleet.tls.ca_file.is_some());
        assert_eq!(config.tls.client_ca_file, Some(PathBuf::from("/etc/shardkeeper/tls/ca.crt")));
        let proxysql = config.proxysql.expect("the proxysql section");
        assert_eq!(proxysql.addr, "127.0.0.1:6032");
        let debug = format!("{proxysql:?}");
        assert!(debug.contains("redacted") && !debug.contains("password: \""), "{debug}");
    }
}
