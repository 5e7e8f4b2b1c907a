//! The native REST API (kvrocks-controller compatible, /api/v1) and the operations endpoints,
//! against a real 3-node cluster: exact JSON shapes, status codes, error envelopes, compare-and-set
//! with If-Match, and read consistency.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{eventually, http, TestCluster};

/// How long a stale read may take to catch up with a write.
const CATCH_UP: Duration = Duration::from_secs(10);

const PASSWORD: &str = "s3cret-Pa55word";

/// A thin client for one node that remembers every response body, so a test can check that no
/// secret ever left the server.
struct Api {
    client: reqwest::Client,
    base: String,
    bodies: Mutex<Vec<String>>,
}

/// One HTTP answer.
struct Reply {
    status: u16,
    etag: Option<String>,
    allow: Option<String>,
    json: Value,
}

enum Body {
    None,
    Json(Value),
    Raw { content_type: Option<&'static str>, text: String },
}

impl Api {
    fn new(base: String) -> Api {
        Api { client: http(), base, bodies: Mutex::new(Vec::new()) }
    }

    async fn send(&self, method: Method, path: &str, body: Body, if_match: Option<&str>) -> Reply {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.base));
        if let Some(version) = if_match {
            request = request.header("if-match", version);
        }
        request = match body {
            Body::None => request,
            Body::Json(value) => request.json(&value),
            Body::Raw { content_type, text } => {
                let request = request.body(text);
                match content_type {
                    Some(content_type) => request.header("content-type", content_type),
                    None => request,
                }
            }
        };
        let response = request.send().await.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_string());
        let etag = header("etag");
        let allow = header("allow");
        let text = response.text().await.unwrap();
        self.bodies.lock().unwrap().push(text.clone());
        let json = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{method} {path}: {error}: {text}"));
        Reply { status, etag, allow, json }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Body::None, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Body::Json(body), None).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, Body::None, None).await
    }

    /// `data` of a reply that must have `status`.
    async fn data(&self, method: Method, path: &str, body: Body, status: u16) -> Value {
        let reply = self.send(method.clone(), path, body, None).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.json);
        reply.json["data"].clone()
    }

    /// Every body answered so far contains neither a password field nor the password.
    fn assert_no_secret_returned(&self) {
        let bodies = self.bodies.lock().unwrap();
        assert!(!bodies.is_empty());
        for body in bodies.iter() {
            assert!(!body.contains("password"), "a response names a password field: {body}");
            assert!(!body.contains("master_auth"), "a response names master_auth: {body}");
            assert!(!body.contains(PASSWORD), "a response contains the password: {body}");
        }
    }
}

/// Asserts `reply` is the native error envelope with `status` and a message containing `needle`.
fn assert_error(what: &str, reply: &Reply, status: u16, needle: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.json);
    let message =
        reply.json["error"]["message"].as_str().unwrap_or_else(|| panic!("{what}: no error envelope: {}", reply.json));
    assert_eq!(reply.json.as_object().unwrap().len(), 1, "{what}: extra top-level fields: {}", reply.json);
    assert!(message.contains(needle), "{what}: message {message:?} does not mention {needle:?}");
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> =
        value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect();
    keys.sort();
    keys
}

fn node_id_of(shard: &Value, addr: &str) -> String {
    let nodes = shard["nodes"].as_array().unwrap();
    let node = nodes.iter().find(|node| node["addr"] == addr).unwrap_or_else(|| panic!("no node {addr} in {shard}"));
    node["id"].as_str().unwrap().to_string()
}

fn role_of(shard: &Value, addr: &str) -> String {
    let nodes = shard["nodes"].as_array().unwrap();
    nodes.iter().find(|node| node["addr"] == addr).unwrap()["role"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_api_happy_path_through_a_follower() {
    // Every native endpoint and the read-only operations endpoints answer through a follower with
    // exactly the kvrocks-controller shapes and status codes (writes are forwarded to the leader),
    // and no response ever carries a password, although every create sends one.
    let cluster = TestCluster::start(3).await;
    let api = Api::new(cluster.url(cluster.follower_index().await));
    let ns = "/api/v1/namespaces/ns1";
    let c1 = "/api/v1/namespaces/ns1/clusters/c1";

    // Namespaces.
    let reply = api.post("/api/v1/namespaces", json!({"namespace": "ns1"})).await;
    assert_eq!((reply.status, reply.json.clone()), (201, json!({"data": "created"})));
    assert_eq!(api.data(Method::GET, "/api/v1/namespaces", Body::None, 200).await, json!({"namespaces": ["ns1"]}));
    assert_eq!(api.data(Method::GET, ns, Body::None, 200).await, json!({"namespace": "ns1"}));

    // Clusters: four nodes, two per shard, slots split evenly.
    let create = json!({
        "name": "c1",
        "nodes": ["db1.example:3306", "db2.example:3306", "db3.example:3306", "db4.example:3306"],
        "replicas": 2,
        "password": PASSWORD,
    });
    let reply = api.post(&format!("{ns}/clusters"), create).await;
    assert_eq!((reply.status, reply.json.clone()), (201, json!({"data": "created"})));
    assert_eq!(reply.etag.as_deref(), Some("\"0\""));
    assert_eq!(api.data(Method::GET, &format!("{ns}/clusters"), Body::None, 200).await, json!({"clusters": ["c1"]}));

    let reply = api.get(c1).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag.as_deref(), Some("\"0\""));
    assert_eq!(keys(&reply.json), ["data"]);
    assert_eq!(keys(&reply.json["data"]), ["cluster"]);
    let view = &reply.json["data"]["cluster"];
    assert_eq!(keys(view), ["name", "policy", "shards", "version"]);
    assert_eq!((view["name"].clone(), view["version"].clone()), (json!("c1"), json!(0)));
    let shards = view["shards"].as_array().unwrap().clone();
    assert_eq!(shards.len(), 2);
    for (index, (shard, slots, addrs)) in [
        (&shards[0], "0-8191", ["db1.example:3306", "db2.example:3306"]),
        (&shards[1], "8192-16383", ["db3.example:3306", "db4.example:3306"]),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(keys(shard), ["import_slot", "migrating_slot", "nodes", "slot_ranges"], "shard {index}");
        assert_eq!(shard["slot_ranges"], json!([slots]));
        assert_eq!((shard["import_slot"].clone(), shard["migrating_slot"].clone()), (json!(-1), json!(-1)));
        let nodes = shard["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 2);
        for (node, (addr, role)) in nodes.iter().zip(addrs.into_iter().zip(["master", "slave"])) {
            assert_eq!(keys(node), ["addr", "admin_state", "created_at", "id", "promotion_rule", "role"]);
            assert_eq!((node["addr"].as_str(), node["role"].as_str()), (Some(addr), Some(role)));
            let id = node["id"].as_str().unwrap();
            assert!(id.len() == 40 && id.bytes().all(|byte| byte.is_ascii_alphanumeric()), "node id {id}");
            assert!(node["created_at"].as_i64().unwrap() > 1_600_000_000);
        }
    }

    // Shards: list and get answer the same views as the cluster.
    assert_eq!(api.data(Method::GET, &format!("{c1}/shards"), Body::None, 200).await, json!({"shards": shards}));
    assert_eq!(api.data(Method::GET, &format!("{c1}/shards/1"), Body::None, 200).await, json!({"shard": shards[1]}));

    let reply = api
        .post(&format!("{c1}/shards"), json!({"nodes": ["db5.example:3306", "db6.example:3306"], "password": PASSWORD}))
        .await;
    assert_eq!(
        (reply.status, reply.json.clone(), reply.etag),
        (201, json!({"data": "created"}), Some("\"1\"".to_string()))
    );
    let shard2 = api.data(Method::GET, &format!("{c1}/shards/2"), Body::None, 200).await["shard"].clone();
    assert_eq!(shard2["slot_ranges"], json!([]), "a new shard owns no slots");
    assert_eq!(
        (role_of(&shard2, "db5.example:3306"), role_of(&shard2, "db6.example:3306")),
        ("master".into(), "slave".into())
    );

    // Nodes.
    let reply = api
        .post(
            &format!("{c1}/shards/2/nodes"),
            json!({"addr": "db7.example:3306", "role": "slave", "password": PASSWORD}),
        )
        .await;
    assert_eq!((reply.status, reply.json.clone()), (201, json!({"data": "created"})));
    let nodes = api.data(Method::GET, &format!("{c1}/shards/2/nodes"), Body::None, 200).await;
    assert_eq!(keys(&nodes), ["nodes"]);
    let listed = nodes["nodes"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|node| keys(node) == ["addr", "admin_state", "created_at", "id", "promotion_rule", "role"]));
    let shard2 = json!({"nodes": listed});
    let db7 = node_id_of(&shard2, "db7.example:3306");
    let reply = api.delete(&format!("{c1}/shards/2/nodes/{db7}")).await;
    assert_eq!((reply.status, reply.json.clone()), (200, json!({"data": "ok"})));
    assert_eq!(
        api.data(Method::GET, &format!("{c1}/shards/2/nodes"), Body::None, 200).await["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Failover needs live servers: with none of these example hosts reachable, nothing can be
    // promoted, the call answers 409 and the roles stay as they were.
    let db5 = node_id_of(&shard2, "db5.example:3306");
    let failover = format!("{c1}/shards/2/failover");
    assert_error("failover without live servers", &api.post(&failover, json!({})).await, 409, "");
    let preferred = json!({"preferred_node_id": db5});
    assert_error("failover to an unreachable node", &api.post(&failover, preferred).await, 409, "");
    let shard2 = api.data(Method::GET, &format!("{c1}/shards/2"), Body::None, 200).await["shard"].clone();
    assert_eq!(
        (role_of(&shard2, "db5.example:3306"), role_of(&shard2, "db6.example:3306")),
        ("master".into(), "slave".into())
    );

    // Slot migration (metadata only): a range as a string, a single slot as a number, and back.
    let migrate = format!("{c1}/migrate");
    let body = Body::Json(json!({"target": 2, "slot": "0-99", "slot_only": true}));
    assert_eq!(api.data(Method::POST, &migrate, body, 200).await, json!("ok"));
    let body = Body::Json(json!({"target": 2, "slot": 100, "slot_only": "true"}));
    assert_eq!(api.data(Method::POST, &migrate, body, 200).await, json!("ok"));
    let view = api.data(Method::GET, c1, Body::None, 200).await["cluster"].clone();
    assert_eq!(view["shards"][0]["slot_ranges"], json!(["101-8191"]));
    assert_eq!(view["shards"][2]["slot_ranges"], json!(["0-100"]));
    let body = Body::Json(json!({"target": 0, "slot": "0-100", "slot_only": true}));
    assert_eq!(api.data(Method::POST, &migrate, body, 200).await, json!("ok"));
    let view = api.data(Method::GET, c1, Body::None, 200).await["cluster"].clone();
    assert_eq!(view["shards"][0]["slot_ranges"], json!(["0-8191"]));
    assert_eq!(view["shards"][2]["slot_ranges"], json!([]));
    // create shard, create node, delete node, three migrations.
    assert_eq!(view["version"], json!(6));

    // Delete the empty shard, then the cluster and the namespace.
    assert_eq!(api.data(Method::DELETE, &format!("{c1}/shards/2"), Body::None, 200).await, json!("ok"));
    assert_eq!(api.data(Method::GET, c1, Body::None, 200).await["cluster"]["shards"].as_array().unwrap().len(), 2);

    // Import reads the live servers: an unreachable one is a bad request that changes nothing.
    let reply = api
        .post(&format!("{ns}/clusters/c9/import"), json!({"nodes": ["db9.example:3306"], "password": PASSWORD}))
        .await;
    assert_error("import", &reply, 400, "db9.example:3306");
    assert_error("cluster not imported", &api.get(&format!("{ns}/clusters/c9")).await, 404, "does not exist");

    assert_eq!(api.data(Method::DELETE, c1, Body::None, 200).await, json!("ok"));
    assert_error("deleted cluster", &api.get(c1).await, 404, "does not exist");
    assert_eq!(api.data(Method::DELETE, ns, Body::None, 200).await, json!("ok"));
    assert_eq!(api.data(Method::GET, "/api/v1/namespaces", Body::None, 200).await, json!({"namespaces": []}));

    // Operations endpoints.
    assert_eq!(api.data(Method::GET, "/healthz", Body::None, 200).await, json!("ok"));
    assert_eq!(api.data(Method::GET, "/readyz", Body::None, 200).await, json!("ready"));
    let status = api.data(Method::GET, "/api/v1/status", Body::None, 200).await;
    assert_eq!(keys(&status), ["last_applied", "leader_id", "members", "node_id", "role", "term"]);
    assert_eq!(status["role"], json!("follower"));
    assert!(status["leader_id"].is_u64() && status["leader_id"] != status["node_id"], "{status}");
    assert!(status["term"].as_u64().unwrap() >= 1 && status["last_applied"].as_u64().unwrap() >= 1);
    let members = status["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    for member in members {
        assert_eq!(keys(member), ["grpc_addr", "kind", "node_id"]);
        assert_eq!(member["kind"], json!("voter"));
    }
    assert_eq!(api.data(Method::GET, "/api/v1/raft/peers", Body::None, 200).await, json!({"members": members}));

    api.assert_no_secret_returned();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_api_refuses_bad_input_and_leaves_state_unchanged() {
    // Every kind of bad request answers its exact status in the error envelope with a message that
    // says what is wrong, through a follower, and changes nothing: the cluster's body and version are
    // the same afterwards. If-Match is a compare-and-set: a stale version is 412, the current one works.
    let cluster = TestCluster::start(3).await;
    let api = Api::new(cluster.url(cluster.follower_index().await));
    let ns = "/api/v1/namespaces/ns";
    let c1 = "/api/v1/namespaces/ns/clusters/c1";
    assert_eq!(
        api.data(Method::POST, "/api/v1/namespaces", Body::Json(json!({"namespace": "ns"})), 201).await,
        json!("created")
    );
    let create = json!({"name": "c1", "nodes": ["db1:3306", "db2:3306", "db3:3306", "db4:3306"], "replicas": 2, "password": PASSWORD});
    assert_eq!(api.data(Method::POST, &format!("{ns}/clusters"), Body::Json(create), 201).await, json!("created"));
    let before = api.get(c1).await;
    assert_eq!((before.status, before.etag.as_deref()), (200, Some("\"0\"")));
    let shard0 = before.json["data"]["cluster"]["shards"][0].clone();
    let master = node_id_of(&shard0, "db1:3306");
    let long_name = "n".repeat(129);
    let json_type = Some("application/json");

    let raw = |content_type: Option<&'static str>, text: &str| Body::Raw { content_type, text: text.to_string() };
    #[rustfmt::skip]
    let cases: Vec<(&str, Method, String, Body, u16, &str)> = vec![
        ("malformed json", Method::POST, "/api/v1/namespaces".into(), raw(json_type, "{\"namespace\": "), 400, "not valid json"),
        ("empty body", Method::POST, "/api/v1/namespaces".into(), raw(json_type, ""), 400, "empty"),
        ("text content type", Method::POST, "/api/v1/namespaces".into(), raw(Some("text/plain"), "{\"namespace\": \"x\"}"), 400, "content-type"),
        ("wrong content type", Method::POST, "/api/v1/namespaces".into(), raw(Some("text/plain"), "{\"namespace\": \"x\"}"), 400, "application/json"),
        ("missing field", Method::POST, "/api/v1/namespaces".into(), Body::Json(json!({})), 400, "missing field `namespace`"),
        ("wrong type", Method::POST, "/api/v1/namespaces".into(), Body::Json(json!({"namespace": 5})), 400, "namespace"),
        ("empty name", Method::POST, "/api/v1/namespaces".into(), Body::Json(json!({"namespace": ""})), 400, "must not be empty"),
        ("long name", Method::POST, "/api/v1/namespaces".into(), Body::Json(json!({"namespace": long_name})), 400, "129 bytes"),
        ("slash in name", Method::POST, "/api/v1/namespaces".into(), Body::Json(json!({"namespace": "a/b"})), 400, "'/'"),
        ("duplicate namespace", Method::POST, "/api/v1/namespaces".into(), Body::Json(json!({"namespace": "ns"})), 409, "already exists"),
        ("unknown namespace", Method::GET, "/api/v1/namespaces/nope".into(), Body::None, 404, "\"nope\" does not exist"),
        ("delete unknown namespace", Method::DELETE, "/api/v1/namespaces/nope".into(), Body::None, 404, "does not exist"),
        ("delete busy namespace", Method::DELETE, ns.into(), Body::None, 409, "still holds clusters"),
        ("clusters of unknown namespace", Method::GET, "/api/v1/namespaces/nope/clusters".into(), Body::None, 404, "does not exist"),
        ("unknown cluster", Method::GET, format!("{ns}/clusters/nope"), Body::None, 404, "\"nope\" does not exist"),
        ("duplicate cluster", Method::POST, format!("{ns}/clusters"), Body::Json(json!({"name": "c1", "nodes": ["db8:3306"]})), 409, "already exists"),
        ("cluster in unknown namespace", Method::POST, "/api/v1/namespaces/nope/clusters".into(), Body::Json(json!({"name": "c2", "nodes": ["db8:3306"]})), 404, "does not exist"),
        ("empty cluster name", Method::POST, format!("{ns}/clusters"), Body::Json(json!({"name": "", "nodes": ["db8:3306"]})), 400, "must not be empty"),
        ("long cluster name", Method::POST, format!("{ns}/clusters"), Body::Json(json!({"name": "c".repeat(129), "nodes": ["db8:3306"]})), 400, "129 bytes"),
        ("address without port", Method::POST, format!("{ns}/clusters"), Body::Json(json!({"name": "c2", "nodes": ["db8"]})), 400, "not host:port"),
        ("replicas do not divide", Method::POST, format!("{ns}/clusters"), Body::Json(json!({"name": "c2", "nodes": ["a:1", "b:1", "c:1"], "replicas": 2})), 400, "cannot be split"),
        ("negative replicas", Method::POST, format!("{ns}/clusters"), Body::Json(json!({"name": "c2", "nodes": ["a:1"], "replicas": -1})), 400, "replicas"),
        ("import into unknown namespace", Method::POST, "/api/v1/namespaces/nope/clusters/c2/import".into(), Body::Json(json!({"nodes": ["db8:3306"]})), 404, "does not exist"),
        ("import over existing cluster", Method::POST, format!("{c1}/import"), Body::Json(json!({"nodes": ["db8:3306"]})), 409, "already exists"),
        ("shard index not a number", Method::GET, format!("{c1}/shards/abc"), Body::None, 400, "shard index \"abc\""),
        ("negative shard index", Method::GET, format!("{c1}/shards/-1"), Body::None, 400, "shard index \"-1\""),
        ("unknown shard", Method::GET, format!("{c1}/shards/9"), Body::None, 404, "shard 9 does not exist"),
        ("nodes of unknown shard", Method::GET, format!("{c1}/shards/9/nodes"), Body::None, 404, "shard 9"),
        ("shard without nodes", Method::POST, format!("{c1}/shards"), Body::Json(json!({"nodes": []})), 400, "at least one node"),
        ("shard with a used address", Method::POST, format!("{c1}/shards"), Body::Json(json!({"nodes": ["db1:3306"]})), 409, "already used"),
        ("slot 16384", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 1, "slot": 16384, "slot_only": true})), 400, "16384"),
        ("slot range backwards", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 1, "slot": "5-2", "slot_only": true})), 400, "5-2"),
        ("slot not a number", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 1, "slot": "x", "slot_only": true})), 400, "slot"),
        ("slot missing", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 1, "slot_only": true})), 400, "missing field `slot`"),
        ("slot_only not a boolean", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 1, "slot": 5, "slot_only": "yes"})), 400, "slot_only"),
        ("migrate to unknown shard", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 9, "slot": 5, "slot_only": true})), 404, "shard 9"),
        ("migrate with data", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 1, "slot": 5, "slot_only": false})), 400, "slot_only"),
        ("migrate slots the target owns", Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 0, "slot": 5, "slot_only": true})), 400, "already belong"),
        ("role boss", Method::POST, format!("{c1}/shards/0/nodes"), Body::Json(json!({"addr": "db8:3306", "role": "boss"})), 400, "\"boss\""),
        ("second master", Method::POST, format!("{c1}/shards/0/nodes"), Body::Json(json!({"addr": "db8:3306", "role": "master"})), 409, "already has master"),
        ("node with a used address", Method::POST, format!("{c1}/shards/1/nodes"), Body::Json(json!({"addr": "db1:3306"})), 409, "already used"),
        ("node address with bad port", Method::POST, format!("{c1}/shards/0/nodes"), Body::Json(json!({"addr": "db8:99999"})), 400, "99999"),
        ("delete the master", Method::DELETE, format!("{c1}/shards/0/nodes/{master}"), Body::None, 409, "is the master"),
        ("delete unknown node", Method::DELETE, format!("{c1}/shards/0/nodes/{}", "x".repeat(40)), Body::None, 404, "does not exist"),
        ("delete shard owning slots", Method::DELETE, format!("{c1}/shards/0"), Body::None, 409, "still owns slots 0-8191"),
        ("failover to unknown node", Method::POST, format!("{c1}/shards/0/failover"), Body::Json(json!({"preferred_node_id": "nope"})), 404, "\"nope\""),
        ("failover to the master", Method::POST, format!("{c1}/shards/0/failover"), Body::Json(json!({"preferred_node_id": master})), 409, "already the master"),
        ("failover with a misspelt field", Method::POST, format!("{c1}/shards/0/failover"), Body::Json(json!({"preferred": "x"})), 400, "unknown field `preferred`"),
        ("unknown consistency", Method::GET, "/api/v1/namespaces?consistency=eventual".into(), Body::None, 400, "\"eventual\""),
        ("peer without node id", Method::POST, "/api/v1/raft/peers".into(), Body::Json(json!({"grpc_addr": "x:1"})), 400, "missing field `node_id`"),
        ("peer id not a number", Method::DELETE, "/api/v1/raft/peers/abc".into(), Body::None, 400, "raft node id \"abc\""),
        ("unknown route", Method::GET, "/api/v1/nope".into(), Body::None, 404, "no route for GET /api/v1/nope"),
        ("unknown route outside the api", Method::GET, "/nope".into(), Body::None, 404, "no route"),
        ("body over 1 MiB", Method::POST, "/api/v1/namespaces".into(), raw(json_type, &format!("{{\"namespace\": \"{}\"}}", "x".repeat(1 << 20))), 413, "larger than"),
    ];
    for (what, method, path, body, status, needle) in cases {
        let reply = api.send(method, &path, body, None).await;
        assert_error(what, &reply, status, needle);
    }

    // Wrong method: 405 in the envelope, with Allow.
    let reply = api.send(Method::PUT, "/api/v1/namespaces", Body::None, None).await;
    assert_error("wrong method", &reply, 405, "PUT");
    let allow = reply.allow.expect("405 names the allowed methods");
    assert!(allow.contains("GET") && allow.contains("POST"), "allow: {allow}");

    // If-Match: unparsable is 400, a stale version is 412 on every cluster mutation.
    let failover = format!("{c1}/shards/0/failover");
    let reply = api.send(Method::POST, &failover, Body::None, Some("abc")).await;
    assert_error("unparsable if-match", &reply, 400, "if-match");
    let slave = node_id_of(&shard0, "db2:3306");
    let stale: Vec<(Method, String, Body)> = vec![
        (Method::DELETE, c1.to_string(), Body::None),
        (Method::POST, format!("{c1}/shards"), Body::Json(json!({"nodes": ["db8:3306"]}))),
        (Method::DELETE, format!("{c1}/shards/0"), Body::None),
        (Method::POST, format!("{c1}/shards/0/nodes"), Body::Json(json!({"addr": "db8:3306"}))),
        (Method::DELETE, format!("{c1}/shards/0/nodes/{slave}"), Body::None),
        (Method::POST, failover.clone(), Body::None),
        (Method::POST, format!("{c1}/migrate"), Body::Json(json!({"target": 1, "slot": 5, "slot_only": true}))),
    ];
    for (method, path, body) in stale {
        let what = format!("stale if-match on {method} {path}");
        let reply = api.send(method, &path, body, Some("\"7\"")).await;
        assert_error(&what, &reply, 412, "cluster version is 0, expected 7");
    }

    // Nothing above changed the cluster.
    let after = api.get(c1).await;
    assert_eq!(
        (after.status, after.etag.clone(), after.json.clone()),
        (before.status, before.etag.clone(), before.json.clone())
    );
    assert_eq!(api.data(Method::GET, "/api/v1/namespaces", Body::None, 200).await, json!({"namespaces": ["ns"]}));
    assert_eq!(api.data(Method::GET, &format!("{ns}/clusters"), Body::None, 200).await, json!({"clusters": ["c1"]}));

    // The current version, quoted or bare, lets the mutation through and bumps the version.
    let node = Body::Json(json!({"addr": "db8:3306", "password": PASSWORD}));
    let reply = api.send(Method::POST, &format!("{c1}/shards/0/nodes"), node, Some("\"0\"")).await;
    assert_eq!(
        (reply.status, reply.json.clone(), reply.etag),
        (201, json!({"data": "created"}), Some("\"1\"".to_string()))
    );
    let migrate = Body::Json(json!({"target": 1, "slot": 5, "slot_only": true}));
    let reply = api.send(Method::POST, &format!("{c1}/migrate"), migrate, Some("1")).await;
    assert_eq!((reply.status, reply.json.clone(), reply.etag), (200, json!({"data": "ok"}), Some("\"2\"".to_string())));
    let reply = api.send(Method::POST, &failover, Body::None, Some("*")).await;
    assert_error("failover past if-match without live servers", &reply, 409, "");
    let reply = api.get(c1).await;
    assert_eq!((reply.etag.as_deref(), reply.json["data"]["cluster"]["version"].clone()), (Some("\"2\""), json!(2)));

    api.assert_no_secret_returned();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_and_linearizable_reads_agree_after_a_write() {
    // A linearizable read on a follower sees a write acknowledged by the leader at once; a stale read
    // on that follower catches up, and then both answer exactly the same bodies, for every read
    // endpoint.
    let cluster = TestCluster::start(3).await;
    let leader = Api::new(cluster.url(cluster.leader_index().await));
    let follower = Api::new(cluster.url(cluster.follower_index().await));
    let c1 = "/api/v1/namespaces/ns/clusters/c1";

    assert_eq!(
        leader.data(Method::POST, "/api/v1/namespaces", Body::Json(json!({"namespace": "ns"})), 201).await,
        json!("created")
    );
    let create = json!({"name": "c1", "nodes": ["db1:3306", "db2:3306"], "replicas": 1, "password": PASSWORD});
    assert_eq!(
        leader.data(Method::POST, "/api/v1/namespaces/ns/clusters", Body::Json(create), 201).await,
        json!("created")
    );
    let migrate = json!({"target": 1, "slot": "0-9", "slot_only": true});
    assert_eq!(leader.data(Method::POST, &format!("{c1}/migrate"), Body::Json(migrate), 200).await, json!("ok"));

    let linearizable = follower.get(c1).await;
    assert_eq!((linearizable.status, linearizable.json["data"]["cluster"]["version"].clone()), (200, json!(1)));
    assert_eq!(linearizable.json["data"]["cluster"]["shards"][1]["slot_ranges"], json!(["0-9", "8192-16383"]));

    let paths = [
        "/api/v1/namespaces".to_string(),
        "/api/v1/namespaces/ns".to_string(),
        "/api/v1/namespaces/ns/clusters".to_string(),
        c1.to_string(),
        format!("{c1}/shards"),
        format!("{c1}/shards/1"),
        format!("{c1}/shards/1/nodes"),
        "/api/v1/raft/peers".to_string(),
    ];
    for path in paths {
        let linearizable = follower.get(&path).await;
        assert_eq!(linearizable.status, 200, "{path}: {}", linearizable.json);
        let explicit = follower.get(&format!("{path}?consistency=linearizable")).await;
        assert_eq!(explicit.json, linearizable.json, "{path}");
        let stale_path = format!("{path}?consistency=stale");
        let (follower_ref, stale_ref, expected) = (&follower, stale_path.as_str(), &linearizable.json);
        let stale = eventually(&format!("the stale read of {path} to catch up"), CATCH_UP, move || async move {
            let stale = follower_ref.get(stale_ref).await;
            (stale.json == *expected).then_some(stale)
        })
        .await;
        assert_eq!((stale.status, stale.etag), (200, linearizable.etag), "{path}");
        let on_leader = leader.get(&stale_path).await;
        assert_eq!(on_leader.json, linearizable.json, "{path} on the leader");
    }

    leader.assert_no_secret_returned();
    follower.assert_no_secret_returned();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_peers_are_listed_added_and_removed_through_a_follower() {
    // GET/POST/DELETE /api/v1/raft/peers through a follower: a joined fourth node is listed as a
    // voter, adding a present member again changes nothing, removing it answers the new member list
    // (which every remaining node then reports), and removing it twice is 404.
    let mut cluster = TestCluster::start(3).await;
    let follower_index = cluster.follower_index().await;
    let joined_index = cluster.join_new_node(follower_index).await;
    let api = Api::new(cluster.url(follower_index));
    let joined = Api::new(cluster.url(joined_index));
    let joined_id = joined.data(Method::GET, "/api/v1/status", Body::None, 200).await["node_id"].as_u64().unwrap();

    let before = api.data(Method::GET, "/api/v1/raft/peers", Body::None, 200).await["members"].clone();
    let members = before.as_array().unwrap();
    assert_eq!(members.len(), 4, "{before}");
    assert!(members.iter().all(|member| member["kind"] == "voter"), "{before}");
    let joined_member = members.iter().find(|member| member["node_id"] == joined_id).unwrap().clone();

    let again = json!({"node_id": joined_id, "grpc_addr": joined_member["grpc_addr"]});
    assert_eq!(api.data(Method::POST, "/api/v1/raft/peers", Body::Json(again), 200).await, json!({"members": before}));

    let removed =
        api.data(Method::DELETE, &format!("/api/v1/raft/peers/{joined_id}"), Body::None, 200).await["members"].clone();
    let expected: Vec<Value> = members.iter().filter(|member| member["node_id"] != joined_id).cloned().collect();
    assert_eq!(removed, json!(expected));
    for index in (0..3).filter(|index| *index != joined_index) {
        let node = Api::new(cluster.url(index));
        let (node_ref, expected) = (&node, &removed);
        eventually(&format!("node {index} to report the smaller membership"), CATCH_UP, move || async move {
            let members = node_ref.get("/api/v1/raft/peers?consistency=stale").await.json["data"]["members"].clone();
            (members == *expected).then_some(())
        })
        .await;
    }
    let reply = api.delete(&format!("/api/v1/raft/peers/{joined_id}")).await;
    assert_error("removing a removed node", &reply, 404, "not a member");
    cluster.shutdown().await;
}

async fn last_applied(api: &Api) -> u64 {
    api.data(Method::GET, "/api/v1/status", Body::None, 200).await["last_applied"].as_u64().expect("last_applied")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_raft_entries_and_keep_their_own_answers() {
    // 120 creates at once, half to the leader and half through a follower, each name twice: the
    // leader commits them in batches (fewer raft entries than writes), and every caller still gets
    // its own answer: one 201 and one 409 per name, and every name exists afterwards.
    let cluster = TestCluster::start(3).await;
    let leader = Api::new(cluster.url(cluster.leader_index().await));
    let follower = Api::new(cluster.url(cluster.follower_index().await));
    let applied_before = last_applied(&leader).await;
    let names: Vec<String> = (0..60).map(|n| format!("batch-{n}")).collect();
    let writes = names.iter().chain(names.iter()).enumerate().map(|(index, name)| {
        let api = if index % 2 == 0 { &leader } else { &follower };
        async move { (name.clone(), api.post("/api/v1/namespaces", json!({"namespace": name})).await.status) }
    });
    let answers = futures::future::join_all(writes).await;
    for name in &names {
        let mut statuses: Vec<u16> = answers.iter().filter(|(written, _)| written == name).map(|(_, status)| *status).collect();
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{name}");
    }
    let entries = last_applied(&leader).await - applied_before;
    println!("{} writes committed in {entries} raft entries", answers.len());
    assert!(entries < answers.len() as u64, "{entries} raft entries for {} writes", answers.len());
    let listed = leader.data(Method::GET, "/api/v1/namespaces", Body::None, 200).await;
    for name in &names {
        assert!(listed["namespaces"].as_array().unwrap().iter().any(|listed| listed == name.as_str()), "{name} missing");
    }
    cluster.shutdown().await;
}
