//! Authentication and roles on every API, the members-only gRPC surface, the safe default, and the
//! limits on hostile input: real nodes over real sockets (and real MariaDB for the switchover).

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};
use shardkeeper::auth::{sha256_hex, Role, TokenEntry};
use shardkeeper::config::Config;
use shardkeeper::pb;
use shardkeeper::server::{self, Listeners};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::Request;

use crate::harness::{eventually, http, TestCluster};
use crate::mariadb::{start_many, ADMIN_PASSWORD, ADMIN_USER};

const VIEWER: &str = "viewer-token-vera";
const OPERATOR: &str = "operator-token-otto";
const ADMIN: &str = "admin-token-ada";
const SECRET: &str = "cluster-secret-0123456789abcdef0123456789abcdef";

/// Three tokens (vera viewer, otto operator, ada admin) and the cluster secret in `secret_file`.
fn secure(config: &mut Config, secret_file: &std::path::Path) {
    let token = |name: &str, role, token: &str| TokenEntry { name: name.into(), role, token_sha256: sha256_hex(token) };
    config.auth.tokens =
        vec![token("vera", Role::Viewer, VIEWER), token("otto", Role::Operator, OPERATOR), token("ada", Role::Admin, ADMIN)];
    config.cluster_secret_file = Some(secret_file.to_path_buf());
}

struct SecureCluster {
    cluster: TestCluster,
    _secret_dir: tempfile::TempDir,
}

impl SecureCluster {
    async fn start(size: usize) -> SecureCluster {
        let secret_dir = tempfile::tempdir().unwrap();
        let secret_file = secret_dir.path().join("cluster-secret");
        std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
        let cluster = TestCluster::start_with(size, |config| secure(config, &secret_file)).await;
        SecureCluster { cluster, _secret_dir: secret_dir }
    }
}

/// (status, headers, JSON body) of `method url` with `authorization` (none when `None`).
async fn call(method: &str, url: &str, authorization: Option<String>, body: Option<Value>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = http().request(method.parse().unwrap(), url);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap_or_else(|error| panic!("{method} {url}: {error}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

fn basic(name: &str, token: &str) -> Option<String> {
    use base64::Engine;
    Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{name}:{token}"))))
}

/// Audit events (principal, operation, outcome) seen by this test binary.
fn audit_log() -> &'static Mutex<Vec<(String, String, String)>> {
    static LOG: OnceLock<Mutex<Vec<(String, String, String)>>> = OnceLock::new();
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(AuditRecorder);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    LOG.get_or_init(Mutex::default)
}

struct AuditRecorder;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AuditRecorder {
    fn on_event(&self, event: &tracing::Event<'_>, _context: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "audit" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        audit_log().lock().unwrap().push((fields.get("principal"), fields.get("operation"), fields.get("outcome")));
    }
}

#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> String {
        self.0.iter().find(|(field, _)| field == name).map(|(_, value)| value.clone()).unwrap_or_default()
    }
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_string(), format!("{value:?}")));
    }
}

// Without valid credentials every flavor answers 401 in its own envelope with WWW-Authenticate;
// liveness and readiness stay open; a bad token is no better than none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_access_without_credentials_on_any_flavor() {
    let secure = SecureCluster::start(1).await;
    let base = secure.cluster.url(0);

    let (status, headers, body) = call("GET", &format!("{base}/api/v1/namespaces"), None, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("credentials"), "{body}");
    assert_eq!(headers.get_all("www-authenticate").iter().count(), 1, "{headers:?}");

    let (status, _, body) = call("POST", &format!("{base}/api/v1/namespaces"), bearer("wrong"), Some(json!({"namespace": "x"}))).await;
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("invalid credentials")), "{body}");

    let (status, _, body) = call("GET", &format!("{base}/api/v2/clusters"), None, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!((body["status"].as_str(), body["error"]["code"].as_str()), (Some("error"), Some("UNAUTHORIZED")), "{body}");

    let (status, headers, body) = call("GET", &format!("{base}/api/20190715/routes"), None, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!((body["status"].as_u64(), body["title"].as_str()), (Some(401), Some("Unauthorized")), "{body}");
    let challenges: Vec<_> = headers.get_all("www-authenticate").iter().map(|value| value.to_str().unwrap().to_string()).collect();
    assert!(challenges.iter().any(|challenge| challenge.starts_with("Basic")), "{challenges:?}");

    let (status, _, body) = call("GET", &format!("{base}/v1/servers"), basic("otto", "not-otto's"), None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["errors"][0]["detail"].is_string(), "{body}");

    for open in ["/healthz", "/readyz"] {
        let (status, _, body) = call("GET", &format!("{base}{open}"), None, None).await;
        assert_eq!(status, 200, "{open}: {body}");
    }
    // Basic works where the copied product takes it (the route itself is another flavor's: 404
    // without it, never 401), and nowhere else.
    let (status, _, body) = call("GET", &format!("{base}/v1/servers"), basic("vera", VIEWER), None).await;
    assert!(status != 401 && status != 403, "{status} {body}");
    let (status, _, body) = call("GET", &format!("{base}/api/v1/namespaces"), basic("vera", VIEWER), None).await;
    assert_eq!(status, 401, "{body}");
    secure.cluster.shutdown().await;
}

// A viewer reads and cannot write; an oversized body is 413 for someone allowed to send it, and
// 401 (unread) for anyone else; a refused write changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_and_cannot_write_and_big_bodies_are_refused() {
    let secure = SecureCluster::start(1).await;
    let namespaces = format!("{}/api/v1/namespaces", secure.cluster.url(0));

    let (status, _, body) = call("POST", &namespaces, bearer(VIEWER), Some(json!({"namespace": "ns"}))).await;
    assert_eq!(status, 403, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("vera has role viewer") && message.contains("admin"), "{message}");
    let (status, _, body) = call("POST", &namespaces, bearer(OPERATOR), Some(json!({"namespace": "ns"}))).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = call("GET", &namespaces, bearer(VIEWER), None).await;
    assert_eq!((status, body["data"]["namespaces"].clone()), (200, json!([])), "{body}");

    let (status, _, body) = call("POST", &namespaces, bearer(ADMIN), Some(json!({"namespace": "ns"}))).await;
    assert_eq!(status, 201, "{body}");
    let big = json!({"namespace": "x".repeat(2 * 1024 * 1024)});
    let (status, _, _) = call("POST", &namespaces, bearer(ADMIN), Some(big.clone())).await;
    assert_eq!(status, 413);
    let (status, _, _) = call("POST", &namespaces, None, Some(big)).await;
    assert_eq!(status, 401);
    let (_, _, body) = call("GET", &namespaces, bearer(VIEWER), None).await;
    assert_eq!(body["data"]["namespaces"], json!(["ns"]));
    secure.cluster.shutdown().await;
}

// Against real MariaDB servers: an operator switches over through a follower and changes a
// promotion rule through a follower (the leader audits it under the operator's name), but cannot
// delete the cluster; an admin can.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_switch_over_but_only_admins_delete_and_the_leader_audits_forwarded_writes() {
    audit_log();
    let (secure, servers) = tokio::join!(SecureCluster::start(3), start_many(3, 191));
    let cluster = &secure.cluster;
    let follower = cluster.follower_index().await;
    let base = cluster.url(follower);
    let (status, _, body) = call("POST", &format!("{base}/api/v1/namespaces"), bearer(ADMIN), Some(json!({"namespace": "ns"}))).await;
    assert_eq!(status, 201, "{body}");
    let nodes: Vec<String> = servers.iter().map(|server| server.addr()).collect();
    let create = json!({"name": "c", "nodes": nodes, "replicas": 3, "user": ADMIN_USER, "password": ADMIN_PASSWORD});
    let (status, _, body) = call("POST", &format!("{base}/api/v1/namespaces/ns/clusters"), bearer(ADMIN), Some(create)).await;
    assert_eq!(status, 201, "{body}");
    let cluster_url = format!("{base}/api/v1/namespaces/ns/clusters/c");
    eventually("shard 0 all healthy", Duration::from_secs(30), || async {
        let (status, _, body) = call("GET", &format!("{cluster_url}/health"), bearer(VIEWER), None).await;
        (status == 200 && body["data"]["shards"][0]["findings"][0]["kind"] == "AllHealthy").then_some(())
    })
    .await;

    let (status, _, body) = call("GET", &cluster_url, bearer(VIEWER), None).await;
    assert_eq!(status, 200, "{body}");
    let replica = body["data"]["cluster"]["shards"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["role"] == "slave")
        .map(|node| node["id"].as_str().unwrap().to_string())
        .expect("a replica");
    let rule_url = format!("{cluster_url}/shards/0/nodes/{replica}/promotion-rule");
    let (status, _, body) = call("POST", &rule_url, bearer(VIEWER), Some(json!({"promotion_rule": "prefer"}))).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = call("POST", &rule_url, bearer(OPERATOR), Some(json!({"promotion_rule": "prefer"}))).await;
    assert_eq!(status, 200, "{body}");
    let audited = |operation: &str, outcome: &str| {
        let wanted = ("otto".to_string(), operation.to_string(), outcome.to_string());
        audit_log().lock().unwrap().iter().filter(|event| **event == wanted).count()
    };
    assert_eq!(audited("set_promotion_rule", "applied"), 1, "{:?}", audit_log().lock().unwrap());

    let (status, _, body) = call("POST", &format!("{cluster_url}/shards/0/failover"), bearer(OPERATOR), Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["new_master_id"].is_string(), "{body}");
    // The switchover ran on the leader as the operator: its raft writes are audited under otto.
    assert_eq!(audited("begin_recovery", "applied"), 1, "{:?}", audit_log().lock().unwrap());
    assert_eq!(audited("finish_recovery", "applied"), 1, "{:?}", audit_log().lock().unwrap());

    let (status, _, body) = call("DELETE", &cluster_url, bearer(OPERATOR), None).await;
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = call("DELETE", &cluster_url, bearer(ADMIN), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(audit_log().lock().unwrap().iter().filter(|event| event.0 == "ada" && event.1 == "delete_cluster").count(), 1);
    let (status, _, _) = call("GET", &cluster_url, bearer(VIEWER), None).await;
    assert_eq!(status, 404);
    secure.cluster.shutdown().await;
}

fn with_metadata<T>(message: T, entries: &[(&'static str, &str)]) -> Request<T> {
    let mut request = Request::new(message);
    for (key, value) in entries {
        request.metadata_mut().insert(*key, value.parse().unwrap());
    }
    request
}

// The members-only services take the cluster secret and nothing else: a client token, even an
// admin's, is no member credential, and a would-be member without the secret is refused. The
// public Admin service is authorised like REST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_only_grpc_needs_the_cluster_secret_and_admin_grpc_needs_roles() {
    let secure = SecureCluster::start(3).await;
    let leader = secure.cluster.leader_index().await;
    let addr = format!("http://{}", secure.cluster.grpc_addr(leader));
    let admin_token = format!("Bearer {ADMIN}");

    let mut members = pb::members_client::MembersClient::connect(addr.clone()).await.unwrap();
    for metadata in [vec![], vec![("authorization", admin_token.as_str())], vec![("x-shardkeeper-member-secret", "guess-guess-guess-guess-guess-guess")]] {
        let refused = members.read_index(with_metadata(pb::ReadIndexRequest {}, &metadata)).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{metadata:?}: {refused:?}");
    }
    let join = pb::AddPeerRequest { node_id: 9, grpc_addr: "127.0.0.1:1".into() };
    let refused = members.add_peer(with_metadata(join, &[("authorization", &admin_token)])).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let index = members.read_index(with_metadata(pb::ReadIndexRequest {}, &[("x-shardkeeper-member-secret", SECRET)])).await;
    assert!(index.is_ok(), "{index:?}");
    let mut raft = pb::raft_client::RaftClient::connect(addr.clone()).await.unwrap();
    let refused = raft.vote(with_metadata(pb::RaftPayload { json: b"{}".to_vec() }, &[("authorization", &admin_token)])).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    let mut admin = pb::admin_client::AdminClient::connect(addr).await.unwrap();
    let namespace = |name: &str| pb::NamespaceRef { namespace: name.into(), consistency: String::new() };
    let refused = admin.list_namespaces(pb::ListNamespacesRequest { consistency: String::new() }).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let viewer = format!("Bearer {VIEWER}");
    let refused = admin.create_namespace(with_metadata(namespace("g"), &[("authorization", &viewer)])).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let status = admin.status(with_metadata(pb::StatusRequest {}, &[("authorization", &viewer)])).await.unwrap().into_inner();
    assert_eq!(status.members.len(), 3);
    admin.create_namespace(with_metadata(namespace("g"), &[("authorization", &admin_token)])).await.expect("admin writes");
    let listed = admin
        .list_namespaces(with_metadata(pb::ListNamespacesRequest { consistency: String::new() }, &[("authorization", &viewer)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.names, ["g"]);
    let huge = namespace(&"n".repeat(5 * 1024 * 1024));
    let refused = admin.create_namespace(with_metadata(huge, &[("authorization", &admin_token)])).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{}", refused.message());
    let peers = secure.cluster.running(leader).node.members(shardkeeper::node::Consistency::Stale).await.unwrap();
    assert_eq!(peers.len(), 3, "the refused join changed the membership");
    secure.cluster.shutdown().await;
}

async fn listeners_on(ip: &str) -> Listeners {
    Listeners {
        http: TcpListener::bind(format!("{ip}:0")).await.unwrap(),
        grpc: TcpListener::bind(format!("{ip}:0")).await.unwrap(),
    }
}

fn solo_config(data: &std::path::Path, listeners: &Listeners) -> Config {
    Config {
        http_addr: listeners.http.local_addr().unwrap().to_string(),
        grpc_addr: listeners.grpc.local_addr().unwrap().to_string(),
        data_dir: data.to_path_buf(),
        ..Config::default()
    }
}

// Without credentials a node serves loopback only: any other address is refused with a clear
// message (also with tokens but no cluster secret for gRPC), unless `insecure` says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_credentials_refuses_other_addresses_unless_insecure() {
    let data = tempfile::tempdir().unwrap();
    let listeners = listeners_on("0.0.0.0").await;
    let config = solo_config(&data.path().join("a"), &listeners);
    let refusal = server::start(config, listeners).await.err().expect("refused").to_string();
    assert!(refusal.contains("refusing to serve") && refusal.contains("--insecure"), "{refusal}");
    assert!(!data.path().join("a").exists(), "a refused node created its data directory");

    let secret_dir = tempfile::tempdir().unwrap();
    let secret_file: PathBuf = secret_dir.path().join("secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    let listeners = listeners_on("0.0.0.0").await;
    let mut config = solo_config(&data.path().join("b"), &listeners);
    secure(&mut config, &secret_file);
    config.cluster_secret_file = None;
    let refusal = server::start(config, listeners).await.err().expect("refused").to_string();
    assert!(refusal.contains("cluster_secret_file"), "{refusal}");

    let listeners = listeners_on("0.0.0.0").await;
    let config = Config { insecure: true, ..solo_config(&data.path().join("c"), &listeners) };
    let running = server::start(config, listeners).await.expect("--insecure starts");
    let (status, _, _) = call("GET", &format!("http://127.0.0.1:{}/api/v1/namespaces", running.http_addr.port()), None, None).await;
    assert_eq!(status, 200);
    running.shutdown().await;

    let listeners = listeners_on("0.0.0.0").await;
    let mut config = solo_config(&data.path().join("d"), &listeners);
    secure(&mut config, &secret_file);
    let running = server::start(config, listeners).await.expect("credentials start on any address");
    running.shutdown().await;
}

// A client that never finishes its headers is cut off after the header read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stuck_in_its_headers_is_cut_off() {
    let cluster = TestCluster::start_with(1, |config| config.limits.http_header_read_timeout = Duration::from_millis(300)).await;
    let mut slow = TcpStream::connect(cluster.running(0).http_addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "a client stuck in its headers was not cut off");
    assert!(started.elapsed() >= Duration::from_millis(250), "cut off after {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&buffer).contains("200 OK"), "{}", String::from_utf8_lossy(&buffer));
    cluster.shutdown().await;
}

// With every connection slot taken a further client waits, and is served once a slot frees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_further_clients_until_a_slot_frees() {
    let cluster = TestCluster::start_with(1, |config| config.limits.http_max_connections = 1).await;
    let addr = cluster.running(0).http_addr;
    let holder = TcpStream::connect(addr).await.unwrap();
    // Accepted first, the holder owns the only slot: a later client's request is not answered.
    let mut waiting = eventually("a client held back by the cap", Duration::from_secs(5), || async {
        let mut probe = TcpStream::connect(addr).await.ok()?;
        probe.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.ok()?;
        let mut byte = [0u8; 1];
        tokio::time::timeout(Duration::from_millis(300), probe.read(&mut byte)).await.is_err().then_some(probe)
    })
    .await;
    drop(holder);
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), waiting.read_to_end(&mut answer)).await.expect("answered").unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    cluster.shutdown().await;
}
