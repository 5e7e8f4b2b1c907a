//! Reading ProxySQL's runtime server list (`runtime_mysql_servers`) through its admin interface
//! (MySQL protocol), for the orchestrator flavor's `/api/v2/proxysql/servers`.
//!
//! Owns: the connection to the configured admin endpoint (TCP only, no settings queries, bounded
//! connect and query times) and the interpretation of its rows. Never logs or returns the admin
//! password: it only goes into the connection options. Must not touch raft: this is a read of an
//! external system, answered by whichever node is asked.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row, Value};

use super::MetaService;
use crate::config::ProxySqlConfig;
use crate::error::ServiceError;

/// Longest wait for the TCP connection and login.
pub const PROXYSQL_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest wait for the query's answer.
pub const PROXYSQL_QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// The admin interface's usual port, when the configured address names none.
const DEFAULT_ADMIN_PORT: u16 = 6032;

/// The query, columns in the order `parse_server` reads them.
pub const RUNTIME_SERVERS_QUERY: &str = "SELECT hostgroup_id, hostname, port, status, weight, compression, \
     max_connections, max_replication_lag, use_ssl, max_latency_ms, comment FROM runtime_mysql_servers";

/// One row of `runtime_mysql_servers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySqlServer {
    pub hostgroup_id: u64,
    pub hostname: String,
    pub port: u16,
    /// `ONLINE`, `SHUNNED`, `OFFLINE_SOFT` or `OFFLINE_HARD`.
    pub status: String,
    pub weight: u64,
    pub compression: u64,
    pub max_connections: u64,
    pub max_replication_lag: u64,
    pub use_ssl: bool,
    pub max_latency_ms: u64,
    pub comment: String,
}

/// Why the server list could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxySqlError {
    /// This node has no `[proxysql]` section in its configuration.
    #[error("proxysql is not configured on this node")]
    NotConfigured,
    /// Connecting, logging in or querying failed, or the answer made no sense.
    #[error("proxysql admin at {addr}: {message}")]
    Query { addr: String, message: String },
}

impl From<ProxySqlError> for ServiceError {
    fn from(error: ProxySqlError) -> Self {
        match error {
            ProxySqlError::NotConfigured => ServiceError::unavailable(error.to_string()),
            ProxySqlError::Query { .. } => ServiceError::internal(error.to_string()),
        }
    }
}

impl MetaService {
    /// ProxySQL's runtime server list, as its admin interface answers it.
    pub async fn proxysql_servers(&self) -> Result<Vec<ProxySqlServer>, ProxySqlError> {
        let config = self.proxysql.as_ref().ok_or(ProxySqlError::NotConfigured)?;
        read_runtime_servers(config).await
    }
}

async fn read_runtime_servers(config: &ProxySqlConfig) -> Result<Vec<ProxySqlServer>, ProxySqlError> {
    let failed = |message: String| ProxySqlError::Query { addr: config.addr.clone(), message };
    let (host, port) = split_admin_addr(&config.addr).ok_or_else(|| failed("invalid address".to_string()))?;
    let opts = OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .user(Some(config.user.clone()))
        .pass(Some(config.password.expose().to_string()))
        .prefer_socket(false)
        // Known up front, so the driver sends no settings query ProxySQL's admin might refuse.
        .max_allowed_packet(Some(16 * 1024 * 1024))
        .wait_timeout(Some(28_800));
    let mut conn = tokio::time::timeout(PROXYSQL_CONNECT_TIMEOUT, Conn::new(opts))
        .await
        .map_err(|_| failed(format!("no connection within {PROXYSQL_CONNECT_TIMEOUT:?}")))?
        .map_err(|error| failed(format!("cannot connect: {error}")))?;
    let rows = tokio::time::timeout(PROXYSQL_QUERY_TIMEOUT, conn.query::<Row, _>(RUNTIME_SERVERS_QUERY)).await;
    // Close politely but briefly; the answer is already in hand (or not coming).
    let _ = tokio::time::timeout(Duration::from_millis(500), conn.disconnect()).await;
    let rows = rows
        .map_err(|_| failed(format!("no answer within {PROXYSQL_QUERY_TIMEOUT:?}")))?
        .map_err(|error| failed(format!("query failed: {error}")))?;
    rows.iter()
        .map(|row| {
            let values: Vec<Option<String>> = (0..row.len()).map(|index| row.as_ref(index).and_then(text)).collect();
            parse_server(&values).map_err(failed)
        })
        .collect()
}

/// A driver value as text (`None` for NULL). The admin interface answers text, but be lenient.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::Int(number) => Some(number.to_string()),
        Value::UInt(number) => Some(number.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Interprets one row of `RUNTIME_SERVERS_QUERY`.
pub fn parse_server(row: &[Option<String>]) -> Result<ProxySqlServer, String> {
    if row.len() != 11 {
        return Err(format!("runtime_mysql_servers answered {} columns, want 11", row.len()));
    }
    let text = |index: usize| row[index].clone().unwrap_or_default();
    let number = |index: usize, name: &str| -> Result<u64, String> {
        let value = text(index);
        value.trim().parse::<u64>().map_err(|_| format!("runtime_mysql_servers: bad {name} {value:?}"))
    };
    let port = number(2, "port")?;
    Ok(ProxySqlServer {
        hostgroup_id: number(0, "hostgroup_id")?,
        hostname: text(1),
        port: u16::try_from(port).map_err(|_| format!("runtime_mysql_servers: bad port {port}"))?,
        status: text(3),
        weight: number(4, "weight")?,
        compression: number(5, "compression")?,
        max_connections: number(6, "max_connections")?,
        max_replication_lag: number(7, "max_replication_lag")?,
        use_ssl: number(8, "use_ssl")? != 0,
        max_latency_ms: number(9, "max_latency_ms")?,
        comment: text(10),
    })
}

/// `host:port`, `[v6]:port` or a bare host (port 6032).
fn split_admin_addr(addr: &str) -> Option<(String, u16)> {
    let (host, port) = match addr.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match addr.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => (addr, None),
            Some((host, port)) => (host, Some(port)),
            None => (addr, None),
        },
    };
    let port = match port {
        None => DEFAULT_ADMIN_PORT,
        Some(port) => port.parse::<u16>().ok().filter(|port| *port != 0)?,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::meta::Secret;

    fn row(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|value| Some(value.to_string())).collect()
    }

    #[test]
    fn rows_are_interpreted() {
        let server =
            parse_server(&row(&["10", "127.0.0.1", "3306", "ONLINE", "1", "0", "1000", "10", "0", "0", "writer"]))
                .unwrap();
        assert_eq!(
            server,
            ProxySqlServer {
                hostgroup_id: 10,
                hostname: "127.0.0.1".to_string(),
                port: 3306,
                status: "ONLINE".to_string(),
                weight: 1,
                compression: 0,
                max_connections: 1000,
                max_replication_lag: 10,
                use_ssl: false,
                max_latency_ms: 0,
                comment: "writer".to_string(),
            }
        );
        let mut null_comment = row(&["20", "db2", "3307", "SHUNNED", "5", "1", "10", "0", "1", "25", ""]);
        null_comment[10] = None;
        let server = parse_server(&null_comment).unwrap();
        assert!(server.use_ssl);
        assert_eq!(server.comment, "");
    }

    #[test]
    fn bad_rows_are_refused() {
        assert!(parse_server(&row(&["10", "h", "3306"])).unwrap_err().contains("3 columns"));
        let bad_port = row(&["10", "h", "70000", "ONLINE", "1", "0", "1", "0", "0", "0", ""]);
        assert!(parse_server(&bad_port).unwrap_err().contains("port"));
        let bad_weight = row(&["10", "h", "3306", "ONLINE", "x", "0", "1", "0", "0", "0", ""]);
        assert!(parse_server(&bad_weight).unwrap_err().contains("weight"));
    }

    #[test]
    fn admin_addresses() {
        let cases = [
            ("127.0.0.1:6032", Some(("127.0.0.1", 6032))),
            ("proxysql", Some(("proxysql", 6032))),
            ("[::1]:16032", Some(("::1", 16032))),
            ("[::1]", Some(("::1", 6032))),
            ("::1", Some(("::1", 6032))),
            ("h:0", None),
            ("h:x", None),
            (":6032", None),
        ];
        for (addr, expected) in cases {
            let got = split_admin_addr(addr);
            assert_eq!(got.as_ref().map(|(h, p)| (h.as_str(), *p)), expected, "{addr}");
        }
    }

    #[test]
    fn errors_never_carry_the_password_and_map_to_service_codes() {
        let config = ProxySqlConfig {
            addr: "127.0.0.1:1".to_string(),
            user: "admin".to_string(),
            password: Secret::new("pr0xy-pa55"),
        };
        assert!(!format!("{config:?}").contains("pr0xy-pa55"));
        let not_configured: ServiceError = ProxySqlError::NotConfigured.into();
        assert_eq!(not_configured.code, ErrorCode::Unavailable);
        let failed: ServiceError = ProxySqlError::Query { addr: "a".into(), message: "m".into() }.into();
        assert_eq!(failed.code, ErrorCode::Internal);
    }

    #[tokio::test]
    async fn unreachable_admin_fails_fast_without_the_password() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let config = ProxySqlConfig {
            addr: "127.0.0.1:1".to_string(),
            user: "admin".to_string(),
            password: Secret::new("pr0xy-pa55"),
        };
        let started = std::time::Instant::now();
        let error = read_runtime_servers(&config).await.unwrap_err();
        assert!(started.elapsed() < PROXYSQL_CONNECT_TIMEOUT + Duration::from_secs(1));
        assert!(matches!(error, ProxySqlError::Query { .. }), "{error:?}");
        assert!(!error.to_string().contains("pr0xy-pa55"), "{error}");
    }
}
