//! JSON:API documents of the MaxScale flavor, built from the service's `Server`: the server
//! resource (`id`, `type`, `relationships.services` = this node's routes using it,
//! `relationships.monitors` = its cluster as `namespace.cluster`, `attributes.parameters`,
//! `attributes.state` in MaxScale's words, statistics from this node's router, `links.self`) and
//! the connection list. Pure. Never carries a password: the node's secret is not read here.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::state::{state_words, StateInputs};
use crate::meta::server_names::uri_name;
use crate::meta::NodeRole;
use crate::service::{RoutedConnection, Server};

/// `http://<host>` of the request, for `links`.
pub struct Links {
    pub base: String,
}

impl Links {
    pub fn servers(&self) -> String {
        format!("{}/v1/servers/", self.base)
    }

    pub fn server(&self, name: &str) -> String {
        format!("{}/v1/servers/{}", self.base, uri_name(name))
    }
}

pub fn server_document(server: &Server, links: &Links) -> Value {
    json!({"links": {"self": links.server(&server.name)}, "data": server_resource(server, links)})
}

pub fn server_list_document(servers: &[Server], links: &Links) -> Value {
    let data: Vec<Value> = servers.iter().map(|server| server_resource(server, links)).collect();
    json!({"links": {"self": links.servers()}, "data": data})
}

pub fn server_resource(server: &Server, links: &Links) -> Value {
    let (address, port) = crate::service::split_addr(&server.node.addr).unwrap_or_else(|_| (server.node.addr.clone(), 0));
    let live = server.observation.as_ref().and_then(|observation| observation.state.as_ref());
    let state = state_words(&StateInputs {
        role: server.node.role,
        admin_state: server.node.admin_state,
        observation: server.observation.as_ref(),
        master_addr: server.master_addr.as_deref(),
        connections: server.connections,
    });
    let (master_id, depth) = match server.node.role {
        NodeRole::Master => (-1, 0),
        NodeRole::Slave => (server.master_server_id.map_or(-1, i64::from), 1),
    };
    let services: Vec<Value> = server.routes.iter().map(|route| json!({"id": route, "type": "services"})).collect();
    let monitor = format!("{}.{}", server.location.cluster.namespace, server.location.cluster.cluster);
    json!({
        "id": uri_name(&server.name),
        "type": "servers",
        "relationships": {
            "services": {"links": {"self": format!("{}/v1/services/", links.base)}, "data": services},
            "monitors": {"links": {"self": format!("{}/v1/monitors/", links.base)}, "data": [{"id": monitor, "type": "monitors"}]},
        },
        "attributes": {
            "parameters": {"address": address, "port": port, "protocol": "MariaDBBackend", "shard": server.location.shard},
            "state": state,
            "status": state,
            "version_string": live.map(|state| state.version.clone()),
            "node_id": live.map_or(-1, |state| i64::from(state.server_id)),
            "master_id": master_id,
            "replication_depth": depth,
            "slaves": server.replica_server_ids,
            "statistics": {
                "connections": server.connections,
                "total_connections": server.total_connections,
                "active_operations": 0,
            },
            "shardkeeper": {
                "namespace": server.location.cluster.namespace,
                "cluster": server.location.cluster.cluster,
                "shard": server.location.shard,
                "node_id": server.node.id,
                "role": server.node.role.as_str(),
                "admin_state": server.node.admin_state,
                "last_error": server.observation.as_ref().and_then(|observation| observation.last_error.clone()),
            },
        },
        "links": {"self": links.server(&server.name)},
    })
}

/// `GET /v1/servers/:name/connections`: this node's routed connections to the server.
pub fn connections_document(server_name: &str, connections: &[RoutedConnection], links: &Links) -> Value {
    let data: Vec<Value> = connections
        .iter()
        .map(|routed| {
            let connection = &routed.connection;
            json!({
                "id": connection.id.to_string(),
                "type": "connections",
                "attributes": {
                    "service": routed.route,
                    "client": connection.source.to_string(),
                    "server": connection.destination,
                    "bytes_to_server": connection.bytes_to_server,
                    "bytes_from_server": connection.bytes_from_server,
                    "started_at": timestamp(Some(connection.started_at)),
                    "connected_to_server_at": timestamp(connection.connected_to_server_at),
                    "last_sent_to_server": timestamp(connection.last_sent_to_server),
                    "last_received_from_server": timestamp(connection.last_received_from_server),
                },
            })
        })
        .collect();
    json!({"links": {"self": format!("{}/connections", links.server(server_name))}, "data": data})
}

fn timestamp(time: Option<SystemTime>) -> Option<String> {
    time.map(|time| humantime_serde::re::humantime::format_rfc3339_millis(time).to_string())
}
