//! The MaxScale flavor (`/v1/servers`) against a three-node shardkeeper managing three real
//! MariaDB servers: state words from live probes, every documented code and bad input, names,
//! maintenance and drain replicated through raft, and failover never promoting a server in
//! maintenance.

use std::time::Duration;

use serde_json::{json, Value};

use crate::failover::Fleet;
use crate::harness::{eventually, get_json, http};

const WITHIN: Duration = Duration::from_secs(30);

/// Sends `method url` with a raw body; answers (status, JSON body or null).
async fn send(method: reqwest::Method, url: &str, body: Option<&str>) -> (u16, Value) {
    let mut request = http().request(method.clone(), url);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap_or_else(|error| panic!("{method} {url}: {error}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn patch(url: &str, body: &str) -> (u16, Value) {
    send(reqwest::Method::PATCH, url, Some(body)).await
}

async fn post(url: &str, body: &str) -> (u16, Value) {
    send(reqwest::Method::POST, url, Some(body)).await
}

async fn put(url: &str) -> (u16, Value) {
    send(reqwest::Method::PUT, url, None).await
}

async fn delete(url: &str) -> (u16, Value) {
    send(reqwest::Method::DELETE, url, None).await
}

/// The detail of a MaxScale error envelope.
fn detail(body: &Value) -> String {
    body["errors"][0]["detail"].as_str().unwrap_or_else(|| panic!("not a maxscale error envelope: {body}")).to_string()
}

/// The state string of server `name`, as node `base` serves it.
async fn state_of(base: &str, name: &str) -> String {
    let (status, body) = get_json(&format!("{base}/v1/servers/{name}")).await;
    if status != 200 {
        return format!("http {status}: {body}");
    }
    body["data"]["attributes"]["state"].as_str().unwrap_or("?").to_string()
}

async fn wait_state(base: &str, name: &str, wanted: &str) {
    eventually(&format!("server {name} in state {wanted:?} on {base}"), WITHIN, || async {
        (state_of(base, name).await == wanted).then_some(())
    })
    .await;
}

/// A loopback port nothing listens on (20000-31999, as the harness's ports).
fn closed_port() -> u16 {
    loop {
        let port = 29_000 + rand::random::<u16>() % 3_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

// List and get with MaxScale's state words for the master and replicas, renames by PATCH (names
// case-insensitive, whitespace as hyphens), create / delete with every documented code, 403 for an
// invalid body, maintenance and drain set on one node and read back from the others, and "Down"
// once a replica is SIGKILLed. No response ever carries a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_resource_answers_as_maxscale_documents() {
    let fleet = Fleet::start(401, json!({})).await;
    fleet.wait_all_healthy().await;
    let base = fleet.shardkeeper.url(0);
    let servers_url = format!("{base}/v1/servers");
    let (_, master_addr) = fleet.master().await;
    let replicas: Vec<String> = fleet.servers.iter().map(|server| server.addr()).filter(|addr| *addr != master_addr).collect();

    // Unnamed nodes go by their address.
    wait_state(&base, &master_addr, "Master, Running").await;
    for replica in &replicas {
        wait_state(&base, replica, "Slave, Running").await;
    }
    let (status, list) = get_json(&servers_url).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["links"]["self"], format!("{servers_url}/"));
    let data = list["data"].as_array().expect("a resource collection");
    assert_eq!(data.len(), 3, "{list}");
    let master = data.iter().find(|server| server["id"] == master_addr.as_str()).expect("the master listed");
    assert_eq!(master["type"], "servers");
    assert_eq!(master["relationships"]["monitors"]["data"], json!([{"id": "ns.c", "type": "monitors"}]));
    assert_eq!(master["attributes"]["parameters"]["port"], fleet.server(&master_addr).port());
    assert_eq!(master["attributes"]["node_id"], fleet.server(&master_addr).server_id());
    assert_eq!(master["attributes"]["master_id"], -1);
    assert_eq!(master["attributes"]["slaves"].as_array().map(Vec::len), Some(2), "{master}");
    assert_eq!(master["attributes"]["statistics"]["connections"], 0);
    assert_eq!(master["links"]["self"], format!("{servers_url}/{master_addr}"));
    assert!(!list.to_string().to_lowercase().contains("password"), "a password field in {list}");

    // Names: PATCH data.id renames; lookups ignore case and read whitespace as hyphens.
    let rename = |name: &str| format!(r#"{{"data": {{"id": "{name}", "type": "servers"}}}}"#);
    assert_eq!(patch(&format!("{servers_url}/{master_addr}"), &rename("server1")).await.0, 204);
    assert_eq!(patch(&format!("{servers_url}/{}", replicas[0]), &rename("db two")).await.0, 204);
    assert_eq!(patch(&format!("{servers_url}/{}", replicas[1]), &rename("server3")).await.0, 204);
    let (status, one) = get_json(&format!("{servers_url}/SERVER1")).await;
    assert_eq!((status, one["data"]["id"].as_str()), (200, Some("server1")), "{one}");
    let (status, two) = get_json(&format!("{servers_url}/DB-Two")).await;
    assert_eq!((status, two["data"]["id"].as_str()), (200, Some("db-two")), "{two}");
    assert_eq!(two["data"]["attributes"]["master_id"], fleet.server(&master_addr).server_id());
    let (status, body) = patch(&format!("{servers_url}/server3"), &rename("Server1")).await;
    assert_eq!(status, 403, "a taken name: {body}");
    assert!(detail(&body).contains("already used"), "{body}");

    // Documented codes and bad input, in MaxScale's envelope.
    let (status, body) = get_json(&format!("{servers_url}/nope")).await;
    assert_eq!((status, detail(&body).contains("does not exist")), (404, true), "{body}");
    let (status, body) = get_json(&format!("{base}/v1/services")).await;
    assert_eq!((status, detail(&body).contains("no resource")), (404, true), "not served: {body}");
    let (status, body) = put(&format!("{servers_url}/server1")).await;
    assert_eq!((status, detail(&body).contains("not allowed")), (405, true), "{body}");
    assert_eq!(get_json(&format!("{servers_url}/")).await.0, 200, "the collection with a trailing slash");
    let (status, body) = patch(&format!("{servers_url}/server3"), "{not json").await;
    assert_eq!((status, detail(&body).contains("not valid json")), (403, true), "{body}");
    assert_eq!(patch(&format!("{servers_url}/nope"), &rename("x")).await.0, 404);
    let (status, body) = patch(&format!("{servers_url}/server3"), r#"{"data": {"attributes": {"parameters": {"weight": 2}}}}"#).await;
    assert_eq!((status, detail(&body).contains("not supported")), (403, true), "{body}");
    let (status, body) = patch(&format!("{servers_url}/server3"), r#"{"data": {"relationships": {"monitors": {"data": [{"id": "ns.other"}]}}}}"#).await;
    assert_eq!((status, detail(&body).contains("another cluster")), (403, true), "{body}");

    let spare_port = closed_port();
    let new_server = |name: &str, monitor: &str| {
        format!(
            r#"{{"data": {{"id": "{name}", "type": "servers",
                "attributes": {{"parameters": {{"address": "127.0.0.1", "port": {spare_port}, "protocol": "MariaDBBackend"}}}},
                "relationships": {{"monitors": {{"data": [{{"id": "{monitor}", "type": "monitors"}}]}}}}}}}}"#
        )
    };
    let (status, body) = post(&servers_url, "[1,").await;
    assert_eq!((status, detail(&body).contains("not valid json")), (403, true), "{body}");
    let (status, body) = post(&servers_url, r#"{"data": {"id": "spare", "attributes": {"parameters": {"address": "127.0.0.1"}}}}"#).await;
    assert_eq!((status, detail(&body).contains("\"port\" is required")), (403, true), "{body}");
    assert_eq!(post(&servers_url, &new_server("spare", "ns.missing")).await.0, 404);
    let (status, body) = post(&servers_url, &new_server("Server1", "ns.c")).await;
    assert_eq!(status, 403, "a taken name: {body}");
    assert_eq!(post(&servers_url, &new_server("spare", "ns.c")).await.0, 204);
    assert_eq!(post(&servers_url, &new_server("spare2", "ns.c")).await.0, 403, "the same address twice");
    wait_state(&base, "spare", "Down").await;
    let (status, body) = get_json(&format!("{}/api/v1/namespaces/ns/clusters/c/shards/0/nodes", fleet.shardkeeper.url(2))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["nodes"].as_array().unwrap().iter().any(|node| node["name"] == "spare"), "{body}");

    let (status, body) = delete(&format!("{servers_url}/server1")).await;
    assert_eq!((status, detail(&body).contains("in use")), (403, true), "deleting the master: {body}");
    assert_eq!(delete(&format!("{servers_url}/nope")).await.0, 404);
    assert_eq!(delete(&format!("{servers_url}/SPARE")).await.0, 204);
    assert_eq!(get_json(&format!("{servers_url}/spare")).await.0, 404);

    // Connections: none routed on this node (no route declared).
    let (status, body) = get_json(&format!("{servers_url}/server1/connections")).await;
    assert_eq!((status, body["data"].clone()), (200, json!([])), "{body}");
    assert_eq!(delete(&format!("{servers_url}/server1/connections")).await.0, 204);
    assert_eq!(get_json(&format!("{servers_url}/nope/connections")).await.0, 404);

    // Maintenance and drain: set through one node, replicated, read back from the others.
    assert_eq!(put(&format!("{servers_url}/db-two/set?state=maintenance&force=yes")).await.0, 204);
    for node in 0..3 {
        wait_state(&fleet.shardkeeper.url(node), "db-two", "Maintenance, Running").await;
    }
    let nodes_url = format!("{}/api/v1/namespaces/ns/clusters/c/shards/0/nodes", fleet.shardkeeper.url(1));
    let (_, nodes) = get_json(&nodes_url).await;
    let held = nodes["data"]["nodes"].as_array().unwrap().iter().find(|node| node["name"] == "db two").cloned().expect("db two");
    assert_eq!(held["admin_state"], "maintenance", "{held}");
    assert_eq!(put(&format!("{servers_url}/DB%20TWO/clear?state=maintenance")).await.0, 204);
    wait_state(&fleet.shardkeeper.url(2), "db-two", "Slave, Running").await;
    assert_eq!(put(&format!("{servers_url}/server3/set?state=drain")).await.0, 204);
    wait_state(&fleet.shardkeeper.url(1), "server3", "Drained, Slave, Running").await;
    assert_eq!(put(&format!("{servers_url}/server3/clear?state=maintenance")).await.0, 204, "clearing a state not held");
    assert_eq!(state_of(&base, "server3").await, "Drained, Slave, Running");
    assert_eq!(put(&format!("{servers_url}/server3/clear?state=drain")).await.0, 204);
    wait_state(&base, "server3", "Slave, Running").await;
    for (query, fragment) in [("state=master", "set by the monitor"), ("state=bogus", "invalid state"), ("", "state parameter is required"), ("state=maintenance&force=maybe", "force must be")] {
        let (status, body) = put(&format!("{servers_url}/server3/set?{query}")).await;
        assert_eq!((status, detail(&body).contains(fragment)), (403, true), "{query}: {body}");
    }
    assert_eq!(put(&format!("{servers_url}/nope/set?state=maintenance")).await.0, 404);

    // The native extension: same state through the native API, with its own codes.
    let (_, nodes) = get_json(&nodes_url).await;
    let id = nodes["data"]["nodes"].as_array().unwrap().iter().find(|node| node["name"] == "server3").unwrap()["id"].as_str().unwrap().to_string();
    let admin_url = format!("{nodes_url}/{id}/admin_state");
    let native_put = |body: &'static str, if_match: Option<&'static str>| {
        let url = admin_url.clone();
        async move {
            let mut request = http().put(&url).header("content-type", "application/json").body(body);
            if let Some(version) = if_match {
                request = request.header("if-match", version);
            }
            request.send().await.expect("native put").status().as_u16()
        }
    };
    assert_eq!(native_put(r#"{"admin_state": "paused"}"#, None).await, 400);
    assert_eq!(native_put(r#"{"admin_state": "maintenance"}"#, Some("\"0\"")).await, 412);
    assert_eq!(native_put(r#"{"admin_state": "maintenance"}"#, None).await, 200);
    wait_state(&base, "server3", "Maintenance, Running").await;
    assert_eq!(native_put(r#"{"admin_state": "active"}"#, None).await, 200);

    // PATCH moves a server: probed at its new address (nothing there: Down), then back.
    let port_of = |port: u16| format!(r#"{{"data": {{"attributes": {{"parameters": {{"port": {port}}}}}}}}}"#);
    assert_eq!(patch(&format!("{servers_url}/server3"), &port_of(closed_port())).await.0, 204);
    wait_state(&base, "server3", "Down").await;
    let (status, body) = patch(&format!("{servers_url}/server3"), &port_of(fleet.server(&master_addr).port())).await;
    assert_eq!((status, detail(&body).contains("already used")), (403, true), "the master's address: {body}");
    let own_port = fleet.server(&replicas[1]).port();
    assert_eq!(patch(&format!("{servers_url}/server3"), &port_of(own_port)).await.0, 204);
    wait_state(&base, "server3", "Slave, Running").await;

    // A SIGKILLed replica is Down.
    let killed = fleet.servers.iter().position(|server| server.addr() == replicas[1]).unwrap();
    fleet.servers[killed].kill();
    wait_state(&base, "server3", "Down").await;
    fleet.shardkeeper.shutdown().await;
}

// Failover never promotes a server in maintenance: with the first declared replica (which wins a
// tie by declaration order) in maintenance, SIGKILL of the master promotes the other replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_passes_over_a_server_in_maintenance() {
    let fleet = Fleet::start(411, json!({})).await;
    fleet.wait_all_healthy().await;
    let (old_master_id, master_addr) = fleet.master().await;
    let replicas: Vec<String> = fleet.servers.iter().map(|server| server.addr()).filter(|addr| *addr != master_addr).collect();
    let follower = fleet.shardkeeper.follower_index().await;
    let base = fleet.shardkeeper.url(follower);
    assert_eq!(put(&format!("{base}/v1/servers/{}/set?state=maintenance", replicas[0])).await.0, 204);
    wait_state(&fleet.shardkeeper.url(0), &replicas[0], "Maintenance, Running").await;

    let killed = fleet.servers.iter().position(|server| server.addr() == master_addr).unwrap();
    fleet.servers[killed].kill();
    let new_master = eventually("a new master", WITHIN, || async {
        let (id, addr) = fleet.master().await;
        (id != old_master_id).then_some(addr)
    })
    .await;
    assert_eq!(new_master, replicas[1], "the replica in maintenance was promoted");
    wait_state(&base, &replicas[1], "Master, Running").await;
    assert_eq!(state_of(&base, &replicas[0]).await, "Maintenance, Running");

    // A switchover to the server in maintenance is refused with a clear error.
    let switchover = format!("{}/api/v1/namespaces/ns/clusters/c/shards/0/failover", fleet.shardkeeper.url(0));
    let (_, server) = get_json(&format!("{base}/v1/servers/{}", replicas[0])).await;
    let preferred = server["data"]["attributes"]["shardkeeper"]["node_id"].as_str().expect("the node id").to_string();
    let (status, body) = crate::harness::post_json(&switchover, json!({"preferred_node_id": preferred})).await;
    assert!(status >= 400, "{body}");
    assert!(body.to_string().contains("in maintenance"), "{body}");
    fleet.shardkeeper.shutdown().await;
}

/// A route on every shardkeeper node, declared as the router tests do.
fn route(name: &str, destinations: &str, extra: &str) -> shardkeeper::router::RouteConfig {
    toml::from_str(&format!("name = \"{name}\"\nbind_port = 0\ndestinations = \"{destinations}\"\n{extra}")).expect("a route config")
}

fn routed(config: &mut shardkeeper::config::Config) {
    config.routes = vec![
        route("rw", "shard://ns/c/0?role=PRIMARY", ""),
        route("ro", "shard://ns/c/0?role=SECONDARY", "routing_strategy = \"round-robin-with-fallback\""),
    ];
}

/// A connection through route `name` of shardkeeper node `node`, as the application user.
async fn connect_through(fleet: &Fleet, node: usize, name: &str) -> mysql_async::Conn {
    use crate::mariadb::{APP_DATABASE, APP_PASSWORD, APP_USER};
    let addr = fleet.shardkeeper.running(node).router.route(name).and_then(|route| route.local_addr).expect("the route is bound");
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(addr.ip().to_string())
        .tcp_port(addr.port())
        .user(Some(APP_USER))
        .pass(Some(APP_PASSWORD))
        .db_name(Some(APP_DATABASE))
        .prefer_socket(false);
    tokio::time::timeout(Duration::from_secs(5), mysql_async::Conn::new(opts))
        .await
        .expect("connecting through the route took over 5 s")
        .expect("connects through the route")
}

async fn server_id_on(conn: &mut mysql_async::Conn) -> Result<u32, mysql_async::Error> {
    use mysql_async::prelude::Queryable;
    Ok(conn.query_first::<u32, _>("SELECT @@server_id").await?.expect("a server id"))
}

/// The server ids `count` fresh connections through route `name` of node `node` reach.
async fn fresh_server_ids(fleet: &Fleet, node: usize, name: &str, count: usize) -> Vec<u32> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let mut conn = connect_through(fleet, node, name).await;
        ids.push(server_id_on(&mut conn).await.expect("a query through the route"));
        let _ = conn.disconnect().await;
    }
    ids
}

/// Polls `conn` with queries until one fails: the router closed it.
async fn wait_closed(what: &str, conn: &mut mysql_async::Conn) {
    let deadline = std::time::Instant::now() + WITHIN;
    while server_id_on(conn).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "{what} still open after {WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether route `name` of node `node` would send a new connection to `addr` now.
fn is_destination(fleet: &Fleet, node: usize, name: &str, addr: &str) -> bool {
    fleet.shardkeeper.running(node).router.route(name).is_some_and(|route| route.destinations.iter().any(|d| d.addr == addr))
}

// Real clients through real routes: drain keeps new connections away from a replica while its
// established connection keeps working ("Draining" until it closes, then "Drained"); the figures
// and relationships of the answering node's router show in the resource; a server with routed
// connections cannot be deleted; maintenance with force=yes closes this node's connections to it,
// and with both replicas in maintenance the SECONDARY route falls back to the primary;
// DELETE .../connections closes the connections to the primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maintenance_and_drain_steer_routed_connections() {
    let fleet = Fleet::start_with(421, json!({}), routed).await;
    fleet.wait_all_healthy().await;
    let node = 1;
    let base = fleet.shardkeeper.url(node);
    let (_, master_addr) = fleet.master().await;
    let master_id = fleet.server(&master_addr).server_id();
    let server_id_of = |addr: &str| fleet.server(addr).server_id();
    // The route sees the replicas attached once the leader's observations (copied to this
    // follower) do, a little after the health check above.
    let replicas: Vec<String> = fleet.servers.iter().map(|server| server.addr()).filter(|addr| *addr != master_addr).collect();
    eventually("both replicas are destinations of ro", WITHIN, || async {
        replicas.iter().all(|addr| is_destination(&fleet, node, "ro", addr)).then_some(())
    })
    .await;

    let mut held = connect_through(&fleet, node, "ro").await;
    let held_id = server_id_on(&mut held).await.expect("a query through ro");
    let x = fleet.servers.iter().find(|server| server.server_id() == held_id).expect("a replica").addr();
    let y = fleet.servers.iter().map(|server| server.addr()).find(|addr| *addr != x && *addr != master_addr).unwrap();
    let (status, body) = get_json(&format!("{base}/v1/servers/{x}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["relationships"]["services"]["data"], json!([{"id": "ro", "type": "services"}]));
    assert_eq!(body["data"]["attributes"]["statistics"]["connections"], 1, "{body}");
    let (_, connections) = get_json(&format!("{base}/v1/servers/{x}/connections")).await;
    assert_eq!(connections["data"].as_array().map(Vec::len), Some(1), "{connections}");
    assert_eq!(connections["data"][0]["attributes"]["service"], "ro");

    // Drain X: no new connection reaches it, the held one keeps working.
    assert_eq!(put(&format!("{}/v1/servers/{x}/set?state=drain", fleet.shardkeeper.url(0))).await.0, 204);
    wait_state(&base, &x, "Draining, Slave, Running").await;
    eventually("the route stops choosing the draining replica", WITHIN, || async { (!is_destination(&fleet, node, "ro", &x)).then_some(()) }).await;
    assert_eq!(fresh_server_ids(&fleet, node, "ro", 4).await, vec![server_id_of(&y); 4], "new connections avoid the draining replica");
    assert_eq!(server_id_on(&mut held).await.expect("the held connection still works"), held_id);
    let (status, body) = delete(&format!("{base}/v1/servers/{x}")).await;
    assert_eq!((status, detail(&body).contains("in use")), (403, true), "deleting a server with a routed connection: {body}");
    held.disconnect().await.expect("disconnect");
    wait_state(&base, &x, "Drained, Slave, Running").await;

    // Maintenance of X (and force=yes on Y, closing this node's connection to it).
    assert_eq!(put(&format!("{base}/v1/servers/{x}/clear?state=drain")).await.0, 204);
    assert_eq!(put(&format!("{base}/v1/servers/{x}/set?state=maintenance")).await.0, 204);
    let mut on_y = connect_through(&fleet, node, "ro").await;
    assert_eq!(server_id_on(&mut on_y).await.expect("a query"), server_id_of(&y));
    assert_eq!(put(&format!("{base}/v1/servers/{y}/set?state=maintenance&force=yes")).await.0, 204);
    wait_closed("the forced connection", &mut on_y).await;
    wait_state(&base, &y, "Maintenance, Running").await;
    eventually("the route leaves both replicas", WITHIN, || async {
        (!is_destination(&fleet, node, "ro", &x) && !is_destination(&fleet, node, "ro", &y)).then_some(())
    })
    .await;
    assert_eq!(fresh_server_ids(&fleet, node, "ro", 2).await, vec![master_id; 2], "no replica qualifies: the fallback is the primary");

    // DELETE .../connections closes this node's routed connections to the primary.
    let mut on_master = connect_through(&fleet, node, "rw").await;
    assert_eq!(server_id_on(&mut on_master).await.expect("a query"), master_id);
    let (_, connections) = get_json(&format!("{base}/v1/servers/{master_addr}/connections")).await;
    assert_eq!(connections["data"].as_array().map(Vec::len), Some(1), "{connections}");
    assert_eq!(connections["data"][0]["attributes"]["service"], "rw");
    assert_eq!(delete(&format!("{base}/v1/servers/{master_addr}/connections")).await.0, 204);
    wait_closed("the connection to the primary", &mut on_master).await;

    // X in maintenance, unrouted, no connections: it can go.
    assert_eq!(delete(&format!("{base}/v1/servers/{x}")).await.0, 204);
    assert_eq!(get_json(&format!("{base}/v1/servers/{x}")).await.0, 404);
    fleet.shardkeeper.shutdown().await;
}
