//! The MySQL Router REST API flavor (/api/20190715) on an in-process shardkeeper node: Router's
//! shapes and codes with no routes (empty lists, the honest-zero connection pool, router status),
//! Router's RFC 7807 answers to unknown names and paths (404), other methods (405) and query
//! strings (400), swagger.json naming exactly the served paths; and, with routes on real MariaDB
//! servers, REST figures that match what real clients did through the routes.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use reqwest::Method;
use serde_json::{json, Value};
use shardkeeper::router::RouteConfig;
use tokio::net::TcpStream;

use crate::harness::{eventually, get_json, http, post_json, TestCluster};
use crate::mariadb::{start_many, MariaDbServer, ADMIN_PASSWORD, ADMIN_USER, APP_DATABASE, APP_PASSWORD, APP_USER};

const BASE: &str = "/api/20190715";

/// One HTTP answer of this flavor.
struct Reply {
    status: u16,
    content_type: Option<String>,
    allow: Option<String>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.text))
    }
}

/// `method` on `node` + `/api/20190715` + `path`.
async fn call(node: &str, method: Method, path: &str) -> Reply {
    let url = format!("{node}{BASE}{path}");
    let response =
        http().request(method.clone(), &url).send().await.unwrap_or_else(|error| panic!("{method} {url}: {error}"));
    let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_string());
    let (content_type, allow) = (header("content-type"), header("allow"));
    let status = response.status().as_u16();
    Reply { status, content_type, allow, text: response.text().await.unwrap() }
}

/// The JSON of a 200 answer to GET `path`.
async fn get_ok(node: &str, path: &str) -> Value {
    let reply = call(node, Method::GET, path).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"), "GET {path}");
    reply.json()
}

/// Checks that GET `path` is Router's 404 for exactly that path.
async fn assert_not_found(node: &str, path: &str) {
    let reply = call(node, Method::GET, path).await;
    assert_eq!(reply.status, 404, "GET {path}: {}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"), "GET {path}");
    let instance = reqwest::Url::parse(&format!("http://x{BASE}{path}")).unwrap().path().to_string();
    assert_eq!(reply.json(), json!({"title": "URI not found", "status": 404, "instance": instance}), "GET {path}");
}

/// The paths of swagger.json with their parameter replaced by `route`, `metadata` or the pool.
fn concrete_paths(swagger: &Value, route: &str, metadata: &str) -> Vec<String> {
    swagger["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|path| {
            path.replace("{routeName}", route)
                .replace("{metadataName}", metadata)
                .replace("{connectionPoolName}", "main")
        })
        .collect()
}

// With no route declared, every list is empty, the one pool is all zeros, and the names of the
// document's examples are unknown.
#[tokio::test]
async fn with_no_routes_lists_are_empty_and_the_pool_is_honest_zeros() {
    let cluster = TestCluster::start(1).await;
    let node = cluster.url(0);

    assert_eq!(get_ok(&node, "/routes").await, json!({"items": []}));
    assert_eq!(get_ok(&node, "/routes/").await, json!({"items": []}), "a trailing slash is accepted");
    assert_eq!(get_ok(&node, "/metadata").await, json!({"items": []}));
    assert_eq!(get_ok(&node, "/routing/status").await, json!({"maxTotalConnections": 0, "currentTotalConnections": 0}));
    assert_eq!(get_ok(&node, "/connection_pool").await, json!({"items": [{"name": "main"}]}));
    assert_eq!(
        get_ok(&node, "/connection_pool/main/config").await,
        json!({"maxIdleServerConnections": 0, "idleTimeoutInMs": 0})
    );
    assert_eq!(
        get_ok(&node, "/connection_pool/main/status").await,
        json!({"idleServerConnections": 0, "reusedServerConnections": 0, "stashedServerConnections": 0})
    );

    let status = get_ok(&node, "/router/status").await;
    assert_eq!(status["processId"], std::process::id(), "{status}");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["productEdition"], "shardkeeper - Apache-2.0");
    let started = status["timeStarted"].as_str().unwrap();
    let started_at =
        humantime_serde::re::humantime::parse_rfc3339(started).unwrap_or_else(|error| panic!("{started}: {error}"));
    assert!(started_at <= std::time::SystemTime::now(), "{started}");
    assert!(started.len() == 27 && started.ends_with('Z'), "microseconds, UTC: {started}");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(status["hostname"], hostname.trim());

    for name in ["myCluster_rw", "myCluster_ro"] {
        for item in ["config", "status", "health", "destinations", "connections", "blockedHosts"] {
            assert_not_found(&node, &format!("/routes/{name}/{item}")).await;
        }
    }
    for item in ["config", "status"] {
        assert_not_found(&node, &format!("/metadata/myCluster/{item}")).await;
        assert_not_found(&node, &format!("/connection_pool/other/{item}")).await;
    }
    cluster.shutdown().await;
}

// Paths outside the document, malformed segments, other methods and query strings get Router's
// own RFC 7807 answers; swagger.json names exactly the paths that are routed.
#[tokio::test]
async fn bad_requests_get_routers_problem_answers() {
    let cluster = TestCluster::start(1).await;
    let node = cluster.url(0);

    for path in [
        "",
        "/",
        "/nothing",
        "/routes/x",
        "/routes/x/unknown",
        "/routes//status",
        "/routes/a/b/status",
        "/routes/%FF/status",
        "/metadata/x",
        "/router",
        "/clusters",
        "/connection_pool/main",
        "/swagger.json/x",
    ] {
        assert_not_found(&node, path).await;
    }

    let swagger = get_ok(&node, "/swagger.json").await;
    assert_eq!(
        swagger,
        serde_json::from_str::<Value>(include_str!("../../src/api/mysql_router/swagger.json")).unwrap()
    );
    let paths = concrete_paths(&swagger, "no_such_route", "no.such");
    assert_eq!(paths.len(), 16, "{paths:?}");
    for path in &paths {
        // A path that is routed answers 405 to another method (an unrouted one would be a 404).
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let reply = call(&node, method.clone(), path).await;
            assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
            assert_eq!(reply.allow.as_deref(), Some("GET,HEAD"), "{method} {path}");
            assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"));
            assert_eq!(
                reply.json(),
                json!({"title": "HTTP Method not allowed", "status": 405, "detail": "only HTTP Methods GET,HEAD are supported"})
            );
        }
        for query in ["?x=1", "?fetchWholeTopology=1", "?a"] {
            let reply = call(&node, Method::GET, &format!("{path}{query}")).await;
            assert_eq!(reply.status, 400, "GET {path}{query}: {}", reply.text);
            assert_eq!(reply.content_type.as_deref(), Some("application/problem+json"));
            assert_eq!(
                reply.json(),
                json!({"title": "validation error", "status": 400, "detail": "parameters not allowed"})
            );
        }
        let head = call(&node, Method::HEAD, path).await;
        let get = call(&node, Method::GET, path).await;
        assert_eq!(head.status, get.status, "HEAD {path} answers as GET");
        assert!(head.text.is_empty(), "HEAD {path} has no body");
    }
    let reply = call(&node, Method::GET, "/routes?").await;
    assert_eq!((reply.status, reply.json()), (200, json!({"items": []})), "an empty query string is no parameter");

    let served: BTreeSet<String> = paths.into_iter().collect();
    assert!(served.contains("/routing/status") && served.contains("/swagger.json"), "{served:?}");
    cluster.shutdown().await;
}

/// How long shardkeeper may take to set up replication, follow it in the routes, or switch over.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);

fn route(name: &str, destinations: &str, extra: &str) -> RouteConfig {
    toml::from_str(&format!(
        "name = \"{name}\"\nbind_address = \"127.0.0.1\"\nbind_port = 0\ndestinations = \"{destinations}\"\n{extra}"
    ))
    .unwrap()
}

/// Login options for the application account through a route listening on `port`.
fn through(port: u16) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(APP_USER))
        .pass(Some(APP_PASSWORD))
        .db_name(Some(APP_DATABASE))
        .prefer_socket(false)
        .into()
}

/// `{"address", "port"}` of a `host:port`.
fn destination(addr: &str) -> Value {
    let (address, port) = addr.rsplit_once(':').unwrap();
    json!({"address": address, "port": port.parse::<u16>().unwrap()})
}

/// The route's items of `what` (destinations, connections ...).
async fn items(node: &str, route: &str, what: &str) -> Vec<Value> {
    get_ok(node, &format!("/routes/{route}/{what}")).await["items"].as_array().unwrap().clone()
}

/// The sum of figure `field` over `connections`.
fn bytes(connections: &[Value], field: &str) -> u64 {
    connections.iter().map(|connection| connection[field].as_u64().unwrap()).sum()
}

fn time(value: &Value) -> SystemTime {
    let text = value.as_str().unwrap_or_else(|| panic!("a timestamp: {value}"));
    assert!(text.len() == 27 && text.ends_with('Z'), "microseconds, UTC: {text}");
    humantime_serde::re::humantime::parse_rfc3339(text).unwrap()
}

async fn server_id(conn: &mut Conn) -> u32 {
    conn.query_first::<u32, _>("SELECT @@server_id").await.unwrap().unwrap()
}

/// (id, addr) of shard 0's declared master and the addrs of the others.
async fn declared_roles(node: &str) -> (String, String, BTreeSet<String>) {
    let (status, body) = get_json(&format!("{node}/api/v1/namespaces/ns/clusters/c")).await;
    assert_eq!(status, 200, "{body}");
    let nodes = body["data"]["cluster"]["shards"][0]["nodes"].as_array().unwrap().clone();
    let master = nodes.iter().find(|node| node["role"] == "master").expect("a master");
    let replicas =
        nodes.iter().filter(|node| node["role"] != "master").map(|node| node["addr"].as_str().unwrap().to_string());
    (master["id"].as_str().unwrap().to_string(), master["addr"].as_str().unwrap().to_string(), replicas.collect())
}

// Routes on a real MariaDB shard: before the cluster exists they are listed but not alive; once it
// exists the REST figures follow what real clients do through them (connections, bytes, times,
// totals, the replica a SECONDARY route picked, a host blocked after failed handshakes) and the
// destinations follow a planned switchover to the new primary.
#[tokio::test]
async fn rest_figures_match_what_clients_did_through_real_routes() {
    let routes = vec![
        route("c_rw", "shard://ns/c/0?role=PRIMARY", ""),
        route("c_ro", "shard://ns/c/0?role=SECONDARY", "routing_strategy = \"round-robin-with-fallback\""),
        route("c_strict", "shard://ns/c/0?role=PRIMARY", "max_connect_errors = 2\nmax_connections = 8"),
        route("later_rw", "shard://ns/later/0?role=PRIMARY", ""),
    ];
    let (cluster, servers) =
        tokio::join!(TestCluster::start_with(1, |config| config.routes = routes.clone()), start_many(3, 9301));
    let node = cluster.url(0);

    // Declared, listening, nowhere to go yet.
    let names: Vec<Value> = get_ok(&node, "/routes").await["items"].as_array().unwrap().clone();
    assert_eq!(
        names,
        [json!({"name": "c_rw"}), json!({"name": "c_ro"}), json!({"name": "c_strict"}), json!({"name": "later_rw"})]
    );
    assert_eq!(get_ok(&node, "/metadata").await, json!({"items": [{"name": "ns.c"}, {"name": "ns.later"}]}));
    assert_eq!(get_ok(&node, "/routes/c_rw/health").await, json!({"isAlive": false}));
    assert!(items(&node, "c_rw", "destinations").await.is_empty());
    assert_eq!(get_ok(&node, "/metadata/ns.c/config").await["nodes"], json!([]));
    assert_eq!(
        get_ok(&node, "/routing/status").await,
        json!({"maxTotalConnections": 3 * 512 + 8, "currentTotalConnections": 0})
    );
    let rw_config = get_ok(&node, "/routes/c_rw/config").await;
    let rw_port = rw_config["bindPort"].as_u64().unwrap() as u16;
    assert_ne!(rw_port, 0, "the bound port, not the declared 0");
    assert_eq!(
        rw_config,
        json!({
            "bindAddress": "127.0.0.1", "bindPort": rw_port, "clientConnectTimeoutInMs": 9000,
            "destinationConnectTimeoutInMs": 5000, "maxActiveConnections": 512, "maxConnectErrors": 100,
            "protocol": "classic", "routingStrategy": "first-available", "mode": "read-write"
        })
    );
    let ro_config = get_ok(&node, "/routes/c_ro/config").await;
    assert_eq!(
        (&ro_config["mode"], &ro_config["routingStrategy"]),
        (&json!("read-only"), &json!("round-robin-with-fallback"))
    );
    let ro_port = ro_config["bindPort"].as_u64().unwrap() as u16;
    let strict_config = get_ok(&node, "/routes/c_strict/config").await;
    assert_eq!((&strict_config["maxConnectErrors"], &strict_config["maxActiveConnections"]), (&json!(2), &json!(8)));
    let strict_port = strict_config["bindPort"].as_u64().unwrap() as u16;

    // The cluster: three servers, the first declared master.
    let (status, body) = post_json(&format!("{node}/api/v1/namespaces"), json!({"namespace": "ns"})).await;
    assert_eq!(status, 201, "{body}");
    let addrs: Vec<String> = servers.iter().map(MariaDbServer::addr).collect();
    let create = json!({"name": "c", "nodes": addrs, "replicas": 3, "user": ADMIN_USER, "password": ADMIN_PASSWORD});
    let (status, body) = post_json(&format!("{node}/api/v1/namespaces/ns/clusters"), create).await;
    assert_eq!(status, 201, "{body}");
    // Replication set up and repaired before any client comes (setting it up may end sessions).
    eventually("shard 0 all healthy", SETTLE_WITHIN, || async {
        let (status, body) = get_json(&format!("{node}/api/v1/namespaces/ns/clusters/c/health")).await;
        let findings = body["data"]["shards"][0]["findings"].as_array()?.clone();
        let kinds: Vec<&str> = findings.iter().filter_map(|finding| finding["kind"].as_str()).collect();
        (status == 200 && kinds == ["AllHealthy"]).then_some(())
    })
    .await;
    let (_, master, replicas) = declared_roles(&node).await;
    let server_of = |addr: &str| servers.iter().find(|server| server.addr() == addr).unwrap().server_id();

    eventually("c_rw routes to the master", SETTLE_WITHIN, || async {
        (items(&node, "c_rw", "destinations").await == [destination(&master)]).then_some(())
    })
    .await;
    assert_eq!(get_ok(&node, "/routes/c_rw/health").await, json!({"isAlive": true}));
    let replica_destinations: BTreeSet<String> = replicas.iter().map(|addr| destination(addr).to_string()).collect();
    eventually("c_ro routes to both replicas", SETTLE_WITHIN, || async {
        let listed: BTreeSet<String> =
            items(&node, "c_ro", "destinations").await.iter().map(Value::to_string).collect();
        (listed == replica_destinations).then_some(())
    })
    .await;

    // Two clients through c_rw: the master answers; the figures count them and their bytes.
    let mut first = Conn::new(through(rw_port)).await.unwrap();
    let mut second = Conn::new(through(rw_port)).await.unwrap();
    assert_eq!(server_id(&mut first).await, server_of(&master));
    first.query_drop("CREATE TABLE IF NOT EXISTS routed (id INT PRIMARY KEY)").await.unwrap();
    first.query_drop("INSERT INTO routed (id) VALUES (1)").await.unwrap();
    let big: String = second.query_first("SELECT REPEAT('x', 200000)").await.unwrap().unwrap();
    assert_eq!(big.len(), 200_000);
    assert_eq!(
        get_ok(&node, "/routes/c_rw/status").await,
        json!({"activeConnections": 2, "totalConnections": 2, "blockedHosts": 0})
    );
    assert_eq!(get_ok(&node, "/routing/status").await["currentTotalConnections"], 2);
    // A byte is counted just after it is passed on: the client may see it a moment earlier.
    let connections = eventually("the 200000-byte result counted", SETTLE_WITHIN, || async {
        let connections = items(&node, "c_rw", "connections").await;
        (bytes(&connections, "bytesFromServer") >= 200_000).then_some(connections)
    })
    .await;
    assert_eq!(connections.len(), 2, "{connections:?}");
    for connection in &connections {
        assert_eq!(connection["destinationAddress"], master.as_str(), "{connection}");
        assert!(connection["sourceAddress"].as_str().unwrap().starts_with("127.0.0.1:"), "{connection}");
        assert!(connection["bytesToServer"].as_u64().unwrap() > 0, "{connection}");
        assert!(connection["bytesFromServer"].as_u64().unwrap() > 0, "{connection}");
        let started = time(&connection["timeStarted"]);
        let connected = time(&connection["timeConnectedToServer"]);
        assert!(started <= connected && connected <= SystemTime::now(), "{connection}");
        time(&connection["timeLastSentToServer"]);
        time(&connection["timeLastReceivedFromServer"]);
    }

    // 50000 more bytes sent by the second client show in the figures.
    let to_server = bytes(&connections, "bytesToServer");
    let length: u64 = second.query_first(format!("SELECT LENGTH('{}')", "y".repeat(50_000))).await.unwrap().unwrap();
    assert_eq!(length, 50_000);
    eventually("50000 more bytes to the server counted", SETTLE_WITHIN, || async {
        (bytes(&items(&node, "c_rw", "connections").await, "bytesToServer") >= to_server + 50_000).then_some(())
    })
    .await;

    first.disconnect().await.unwrap();
    eventually("one connection left on c_rw", SETTLE_WITHIN, || async {
        let status = get_ok(&node, "/routes/c_rw/status").await;
        (status == json!({"activeConnections": 1, "totalConnections": 2, "blockedHosts": 0})).then_some(())
    })
    .await;
    assert_eq!(items(&node, "c_rw", "connections").await.len(), 1);

    // A reader through c_ro lands on a replica.
    let mut reader = Conn::new(through(ro_port)).await.unwrap();
    let reader_id = server_id(&mut reader).await;
    assert!(replicas.iter().any(|addr| server_of(addr) == reader_id), "server {reader_id} is a replica");
    assert_eq!(
        get_ok(&node, "/routes/c_ro/status").await,
        json!({"activeConnections": 1, "totalConnections": 1, "blockedHosts": 0})
    );
    let reader_connections = items(&node, "c_ro", "connections").await;
    assert_eq!(reader_connections.len(), 1, "{reader_connections:?}");
    let reader_addr = replicas.iter().find(|addr| server_of(addr) == reader_id).unwrap();
    assert_eq!(reader_connections[0]["destinationAddress"], reader_addr.as_str());
    reader.disconnect().await.unwrap();

    // Two handshakes abandoned from 127.0.0.1 block the host on c_strict (max_connect_errors = 2).
    for _ in 0..2 {
        drop(TcpStream::connect(("127.0.0.1", strict_port)).await.unwrap());
    }
    eventually("127.0.0.1 blocked on c_strict", SETTLE_WITHIN, || async {
        (items(&node, "c_strict", "blockedHosts").await == [json!("127.0.0.1")]).then_some(())
    })
    .await;
    assert_eq!(get_ok(&node, "/routes/c_strict/status").await["blockedHosts"], 1);
    let refused = Conn::new(through(strict_port)).await.expect_err("a blocked host is refused");
    assert!(refused.to_string().contains("blocked"), "{refused}");
    assert!(items(&node, "c_rw", "blockedHosts").await.is_empty(), "other routes keep the host");

    // The metadata instance of ns/c: its three servers, refreshed by the routes, read from this node.
    let expected_nodes: Vec<Value> = addrs
        .iter()
        .map(|addr| {
            let (host, port) = addr.rsplit_once(':').unwrap();
            json!({"hostname": host, "port": port.parse::<u16>().unwrap()})
        })
        .collect();
    assert_eq!(
        get_ok(&node, "/metadata/ns.c/config").await,
        json!({"clusterName": "ns.c", "timeRefreshInMs": 500, "nodes": expected_nodes})
    );
    let status = get_ok(&node, "/metadata/ns.c/status").await;
    let refreshed = status["refreshSucceeded"].as_u64().unwrap();
    assert!(refreshed > 0, "{status}");
    assert_eq!(status["refreshFailed"], 0);
    let (raft_host, raft_port) =
        cluster.grpc_addr(0).rsplit_once(':').map(|(h, p)| (h.to_string(), p.to_string())).unwrap();
    assert_eq!(
        (status["lastRefreshHostname"].as_str(), status["lastRefreshPort"].to_string()),
        (Some(raft_host.as_str()), raft_port)
    );
    let last = time(&status["timeLastRefreshSucceeded"]);
    assert!(SystemTime::now().duration_since(last).unwrap() < SETTLE_WITHIN, "{status}");
    eventually("the routes keep refreshing", SETTLE_WITHIN, || async {
        (get_ok(&node, "/metadata/ns.c/status").await["refreshSucceeded"].as_u64()? > refreshed).then_some(())
    })
    .await;
    assert_eq!(get_ok(&node, "/metadata/ns.later/config").await["nodes"], json!([]));

    // A planned switchover: c_rw's destination becomes the new master, new clients land there, and
    // the connection to the old master is closed.
    let url = format!("{node}/api/v1/namespaces/ns/clusters/c/shards/0/failover");
    eventually("a switchover succeeds", SETTLE_WITHIN, || async {
        (post_json(&url, json!({})).await.0 == 200).then_some(())
    })
    .await;
    let (_, new_master, _) = declared_roles(&node).await;
    assert_ne!(new_master, master);
    eventually("c_rw routes to the new master", SETTLE_WITHIN, || async {
        (items(&node, "c_rw", "destinations").await == [destination(&new_master)]).then_some(())
    })
    .await;
    let mut after = Conn::new(through(rw_port)).await.unwrap();
    assert_eq!(server_id(&mut after).await, server_of(&new_master));
    eventually("the connection to the old master closed", SETTLE_WITHIN, || async {
        let connections = items(&node, "c_rw", "connections").await;
        let destinations: Vec<&str> = connections.iter().filter_map(|c| c["destinationAddress"].as_str()).collect();
        (destinations == [new_master.as_str()]).then_some(())
    })
    .await;
    assert_eq!(get_ok(&node, "/routes/c_rw/status").await["totalConnections"], 3);
    after.disconnect().await.unwrap();
    drop(second);
    cluster.shutdown().await;
}
