//! Hand-built routes in Router's shapes, and each shape checked against its swagger.json definition.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{json, Value};

use super::app::{PoolConfigView, PoolStatusView, RouterStatusView};
use super::metadata::{MetadataConfigView, MetadataStatusView};
use super::views::*;
use super::SWAGGER;
use crate::router::{
    ConnectionStatus, Destination, DestinationStatus, RouteConfig, RouteRole, RouteStatus, RoutingStrategy,
};
use crate::service::{RoutedCluster, RouterProcess};

/// 2020-06-11T21:28:20 UTC plus `micros`.
fn at(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_591_910_900) + Duration::from_micros(micros)
}

fn destination(addr: &str, quarantined: bool) -> DestinationStatus {
    DestinationStatus {
        node_id: "n".repeat(40),
        addr: addr.to_string(),
        quarantined,
        active_connections: 1,
        total_connections: 1,
    }
}

fn connection(source: &str, connected: bool) -> ConnectionStatus {
    ConnectionStatus {
        id: 1,
        source: source.parse().unwrap(),
        destination: "127.0.0.1:3310".to_string(),
        destination_node_id: "n".repeat(40),
        bytes_to_server: 743,
        bytes_from_server: 2952,
        started_at: at(882_204),
        connected_to_server_at: connected.then(|| at(882_513)),
        last_sent_to_server: connected.then(|| at(886_969)),
        last_received_from_server: connected.then(|| at(886_968)),
    }
}

fn route(role: RouteRole) -> RouteStatus {
    let config: RouteConfig = toml::from_str(
        "name = \"orders_rw\"\nbind_address = \"0.0.0.0\"\nbind_port = 0\n\
         destinations = \"shard://prod/orders/0?role=PRIMARY\"\nconnect_timeout = \"15s\"\nmax_connect_errors = 100",
    )
    .unwrap();
    RouteStatus {
        config,
        destination: Destination { namespace: "prod".into(), cluster: "orders".into(), shard: 0, role },
        routing_strategy: RoutingStrategy::FirstAvailable,
        local_addr: Some("0.0.0.0:6446".parse::<SocketAddr>().unwrap()),
        is_alive: true,
        unavailable_reason: None,
        active_connections: 1,
        total_connections: 7,
        blocked_hosts: vec!["10.0.0.9".parse().unwrap(), "::1".parse().unwrap()],
        destinations: vec![destination("127.0.0.1:3320", false), destination("[::1]:3330", true)],
        connections: vec![connection("127.0.0.1:54098", true), connection("127.0.0.1:54099", false)],
        topology_refreshes: 4,
        last_topology_refresh: Some(at(0)),
    }
}

fn to_json(view: impl Serialize) -> Value {
    serde_json::to_value(view).unwrap()
}

#[test]
fn timestamps_are_utc_with_microseconds() {
    assert_eq!(format_time(at(882_204)), "2020-06-11T21:28:20.882204Z");
    assert_eq!(format_time(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
}

#[test]
fn addresses_split_into_address_and_port() {
    let cases = [
        ("127.0.0.1:3306", ("127.0.0.1", 3306)),
        ("db-1.example:13306", ("db-1.example", 13306)),
        ("[::1]:3306", ("::1", 3306)),
        ("[fe80::1%eth0]:3307", ("fe80::1%eth0", 3307)),
        ("db1", ("db1", 0)),
        ("db1:notaport", ("db1:notaport", 0)),
        ("::1", ("::1", 0)),
        (":3306", (":3306", 0)),
    ];
    for (addr, (address, port)) in cases {
        assert_eq!(split_addr(addr), (address.to_string(), port), "{addr}");
    }
}

#[test]
fn config_reports_the_bound_port_timeouts_in_ms_and_the_mode() {
    assert_eq!(
        to_json(RouteConfigView::of(&route(RouteRole::Primary))),
        json!({
            "bindAddress": "0.0.0.0",
            "bindPort": 6446,
            "clientConnectTimeoutInMs": 9000,
            "destinationConnectTimeoutInMs": 15000,
            "maxActiveConnections": 512,
            "maxConnectErrors": 100,
            "protocol": "classic",
            "routingStrategy": "first-available",
            "mode": "read-write"
        })
    );
    let mut unbound = route(RouteRole::Secondary);
    unbound.local_addr = None;
    unbound.routing_strategy = RoutingStrategy::RoundRobinWithFallback;
    let view = RouteConfigView::of(&unbound);
    assert_eq!((view.bind_port, view.mode, view.routing_strategy), (0, "read-only", "round-robin-with-fallback"));
    assert_eq!(RouteConfigView::of(&route(RouteRole::PrimaryAndSecondary)).mode, "read-only");
}

#[test]
fn status_counts_connections_and_blocked_hosts() {
    assert_eq!(
        to_json(RouteStatusView::of(&route(RouteRole::Primary))),
        json!({"activeConnections": 1, "totalConnections": 7, "blockedHosts": 2})
    );
    assert_eq!(to_json(blocked_hosts(&route(RouteRole::Primary))), json!({"items": ["10.0.0.9", "::1"]}));
}

#[test]
fn health_needs_a_listener_and_a_destination_out_of_quarantine() {
    let alive = |edit: fn(&mut RouteStatus)| {
        let mut status = route(RouteRole::Primary);
        edit(&mut status);
        RouteHealthView::of(&status).is_alive
    };
    assert!(alive(|_| {}));
    assert!(!alive(|route| route.is_alive = false), "listener down");
    assert!(!alive(|route| route.destinations.clear()), "no destination");
    assert!(!alive(|route| route.destinations.retain(|destination| destination.quarantined)), "all quarantined");
    assert_eq!(to_json(RouteHealthView::of(&route(RouteRole::Primary))), json!({"isAlive": true}));
}

#[test]
fn destinations_are_address_and_port_in_strategy_order() {
    assert_eq!(
        to_json(destinations(&route(RouteRole::Primary))),
        json!({"items": [{"address": "127.0.0.1", "port": 3320}, {"address": "::1", "port": 3330}]})
    );
}

#[test]
fn connections_carry_bytes_and_the_times_reached() {
    assert_eq!(
        to_json(connections(&route(RouteRole::Primary))),
        json!({"items": [
            {
                "bytesFromServer": 2952,
                "bytesToServer": 743,
                "sourceAddress": "127.0.0.1:54098",
                "destinationAddress": "127.0.0.1:3310",
                "timeStarted": "2020-06-11T21:28:20.882204Z",
                "timeConnectedToServer": "2020-06-11T21:28:20.882513Z",
                "timeLastSentToServer": "2020-06-11T21:28:20.886969Z",
                "timeLastReceivedFromServer": "2020-06-11T21:28:20.886968Z"
            },
            {
                "bytesFromServer": 2952,
                "bytesToServer": 743,
                "sourceAddress": "127.0.0.1:54099",
                "destinationAddress": "127.0.0.1:3310",
                "timeStarted": "2020-06-11T21:28:20.882204Z"
            }
        ]})
    );
}

#[test]
fn routing_status_sums_the_routes() {
    let mut second = route(RouteRole::Secondary);
    second.config.max_connections = 100;
    second.active_connections = 4;
    let routes = [route(RouteRole::Primary), second];
    assert_eq!(
        to_json(RoutingStatusView::of(&routes)),
        json!({"maxTotalConnections": 612, "currentTotalConnections": 5})
    );
    assert_eq!(to_json(RoutingStatusView::of(&[])), json!({"maxTotalConnections": 0, "currentTotalConnections": 0}));
}

#[test]
fn router_status_names_this_process() {
    let process =
        RouterProcess { process_id: 6435, started_at: at(420_619), hostname: Some("boat".into()), version: "0.1.0" };
    assert_eq!(
        to_json(RouterStatusView::of(process.clone())),
        json!({
            "processId": 6435,
            "productEdition": "shardkeeper - Apache-2.0",
            "timeStarted": "2020-06-11T21:28:20.420619Z",
            "version": "0.1.0",
            "hostname": "boat"
        })
    );
    let nameless = RouterStatusView::of(RouterProcess { hostname: None, ..process });
    assert!(to_json(nameless).get("hostname").is_none());
}

/// The property names of swagger definition `name`.
fn properties(name: &str) -> Vec<String> {
    let document: Value = serde_json::from_str(SWAGGER).unwrap();
    let mut names: Vec<String> = document["definitions"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("definition {name} has properties"))
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

fn keys(value: &Value) -> Vec<String> {
    let mut names: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

#[test]
fn every_view_has_exactly_the_properties_swagger_describes() {
    let primary = route(RouteRole::Primary);
    let cluster = RoutedCluster {
        name: "prod.orders".into(),
        namespace: "prod".into(),
        cluster: "orders".into(),
        exists: true,
        servers: vec!["127.0.0.1:3310".into()],
        routes: vec!["orders_rw".into()],
        topology_refreshes: 2,
        last_topology_refresh: Some(at(0)),
    };
    let process = RouterProcess { process_id: 1, started_at: at(0), hostname: Some("h".into()), version: "0.1.0" };
    let pool_config = PoolConfigView { max_idle_server_connections: 0, idle_timeout_in_ms: 0 };
    let pool_status =
        PoolStatusView { idle_server_connections: 0, reused_server_connections: 0, stashed_server_connections: 0 };
    let cases = [
        ("RouteConfig", to_json(RouteConfigView::of(&primary))),
        ("RouteStatus", to_json(RouteStatusView::of(&primary))),
        ("RouteHealth", to_json(RouteHealthView::of(&primary))),
        ("RouteDestinationSummary", to_json(&destinations(&primary).items[0])),
        ("RouteConnectionsSummary", to_json(&connections(&primary).items[0])),
        ("RoutingGlobalStatus", to_json(RoutingStatusView::of(std::slice::from_ref(&primary)))),
        ("RouterStatus", to_json(RouterStatusView::of(process))),
        ("MetadataConfig", to_json(MetadataConfigView::of(&cluster))),
        ("MetadataStatus", to_json(MetadataStatusView::of(&cluster, Some("127.0.0.1:7001")))),
        ("ConnectionPoolConfig", to_json(pool_config)),
        ("ConnectionPoolStatus", to_json(pool_status)),
        ("RouteSummary", to_json(&names(["orders_rw".to_string()]).items[0])),
    ];
    for (definition, value) in cases {
        assert_eq!(keys(&value), properties(definition), "{definition}");
    }
}
