//! `GET /api/v2/proxysql/servers`: ProxySQL's `runtime_mysql_servers`, with orchestrator-style
//! field names. 503 `PROXYSQL_NOT_CONFIGURED` when this node has no ProxySQL configuration, 500
//! `PROXYSQL_ERROR` when ProxySQL cannot be read. The admin password never appears.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::envelope::{ok, V2Error, V2Result};
use crate::service::proxysql::{ProxySqlError, ProxySqlServer};
use crate::service::MetaService;

const PROXYSQL_NOT_CONFIGURED: &str = "PROXYSQL_NOT_CONFIGURED";
const PROXYSQL_ERROR: &str = "PROXYSQL_ERROR";

/// One ProxySQL server entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerEntry {
    #[serde(rename = "HostgroupID")]
    pub hostgroup_id: u64,
    #[serde(rename = "Hostname")]
    pub hostname: String,
    #[serde(rename = "Port")]
    pub port: u16,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "Weight")]
    pub weight: u64,
    #[serde(rename = "Compression")]
    pub compression: u64,
    #[serde(rename = "MaxConnections")]
    pub max_connections: u64,
    #[serde(rename = "MaxReplicationLag")]
    pub max_replication_lag: u64,
    #[serde(rename = "UseSSL")]
    pub use_ssl: bool,
    #[serde(rename = "MaxLatencyMs")]
    pub max_latency_ms: u64,
    #[serde(rename = "Comment")]
    pub comment: String,
}

impl From<ProxySqlServer> for ServerEntry {
    fn from(server: ProxySqlServer) -> Self {
        ServerEntry {
            hostgroup_id: server.hostgroup_id,
            hostname: server.hostname,
            port: server.port,
            status: server.status,
            weight: server.weight,
            compression: server.compression,
            max_connections: server.max_connections,
            max_replication_lag: server.max_replication_lag,
            use_ssl: server.use_ssl,
            max_latency_ms: server.max_latency_ms,
            comment: server.comment,
        }
    }
}

fn v2_error(error: ProxySqlError) -> V2Error {
    match error {
        ProxySqlError::NotConfigured => {
            V2Error::new(StatusCode::SERVICE_UNAVAILABLE, PROXYSQL_NOT_CONFIGURED, error.to_string())
        }
        ProxySqlError::Query { .. } => {
            V2Error::new(StatusCode::INTERNAL_SERVER_ERROR, PROXYSQL_ERROR, error.to_string())
        }
    }
}

/// `GET /api/v2/proxysql/servers`.
pub(super) async fn servers(State(service): State<MetaService>) -> V2Result {
    let servers = service.proxysql_servers().await.map_err(v2_error)?;
    Ok(ok(servers.into_iter().map(ServerEntry::from).collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_codes() {
        let not_configured = v2_error(ProxySqlError::NotConfigured);
        assert_eq!((not_configured.status.as_u16(), not_configured.code), (503, "PROXYSQL_NOT_CONFIGURED"));
        let failed = v2_error(ProxySqlError::Query { addr: "127.0.0.1:6032".into(), message: "refused".into() });
        assert_eq!((failed.status.as_u16(), failed.code), (500, "PROXYSQL_ERROR"));
        assert!(failed.message.contains("refused"));
    }

    #[test]
    fn entries_use_orchestrator_field_names() {
        let entry = ServerEntry::from(ProxySqlServer {
            hostgroup_id: 10,
            hostname: "db1".to_string(),
            port: 3306,
            status: "ONLINE".to_string(),
            weight: 1,
            compression: 0,
            max_connections: 1000,
            max_replication_lag: 0,
            use_ssl: false,
            max_latency_ms: 0,
            comment: String::new(),
        });
        assert_eq!(
            serde_json::to_value(entry).unwrap(),
            serde_json::json!({
                "HostgroupID": 10, "Hostname": "db1", "Port": 3306, "Status": "ONLINE", "Weight": 1,
                "Compression": 0, "MaxConnections": 1000, "MaxReplicationLag": 0, "UseSSL": false,
                "MaxLatencyMs": 0, "Comment": "",
            })
        );
    }
}
