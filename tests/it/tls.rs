//! TLS on every port: REST and gRPC over rustls, the members' mutual TLS with a cluster CA, the
//! key-file check at start, and TLS to real MariaDB servers (with `require`). Certificates are made
//! by rcgen for each test (`certs`).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::{json, Value};
use shardkeeper::config::{Config, DbTlsConfig, TlsConfig};
use shardkeeper::meta::Secret;
use shardkeeper::mysql::{DbClient, DbEndpoint, DbTimeouts, DbTls};
use shardkeeper::pb;
use shardkeeper::server::{self, Listeners};
use shardkeeper::tls::load_db_tls;
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::certs::{CertFiles, TestCa};
use crate::harness::{eventually, http, TestCluster};
use crate::mariadb::{MariaDbServer, ADMIN_PASSWORD, ADMIN_USER};

/// `[tls]` of a member of the cluster `ca` signs: its own certificate and mutual TLS.
fn mutual_tls(files: &CertFiles, ca: &TestCa) -> TlsConfig {
    TlsConfig {
        cert_file: Some(files.cert.clone()),
        key_file: Some(files.key.clone()),
        client_ca_file: Some(ca.ca_file()),
        ca_file: None,
    }
}

/// A gRPC channel to `addr` over TLS trusting `ca`, presenting `identity` when given.
async fn tls_channel(addr: &str, ca: &TestCa, identity: Option<&CertFiles>) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.ca_pem()));
    if let Some(files) = identity {
        tls = tls.identity(Identity::from_pem(std::fs::read(&files.cert).unwrap(), std::fs::read(&files.key).unwrap()));
    }
    Endpoint::from_shared(format!("https://{addr}"))?.tls_config(tls)?.connect().await
}

async fn namespaces(client: &reqwest::Client, base: &str, consistency: &str) -> Option<Vec<String>> {
    let response = client.get(format!("{base}/api/v1/namespaces?consistency={consistency}")).send().await.ok()?;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    serde_json::from_value(body["data"]["namespaces"].clone()).ok()
}

// Three members with mutual TLS form a cluster, replicate, and forward a write from a follower to
// the leader; REST answers over https only, the Admin service over TLS without a client
// certificate; the members' services refuse a caller without a certificate of the cluster CA (one
// of another CA cannot even finish the handshake), so such a node can neither call raft nor join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutual_tls_cluster_works_and_refuses_plain_text_and_strangers() {
    let ca = TestCa::new("cluster CA");
    let members: Vec<CertFiles> = (1..=3).map(|id| ca.issue(&format!("node{id}"))).collect();
    let cluster =
        TestCluster::start_with(3, |config| config.tls = mutual_tls(&members[config.node_id as usize - 1], &ca)).await;
    let follower = cluster.follower_index().await;
    let client = cluster.client(follower);
    let created = client
        .post(format!("{}/api/v1/namespaces", cluster.url(follower)))
        .json(&json!({"namespace": "over-tls"}))
        .send()
        .await
        .expect("https POST");
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
    for index in 0..cluster.size() {
        let seen = namespaces(&cluster.client(index), &cluster.url(index), "linearizable").await;
        assert_eq!(seen, Some(vec!["over-tls".to_string()]), "node {}", index + 1);
        let base = cluster.url(index);
        eventually("stale read converges", Duration::from_secs(5), || async {
            (namespaces(&client, &base, "stale").await? == ["over-tls"]).then_some(())
        })
        .await;
    }

    let http_addr = cluster.running(0).http_addr;
    let plain = http().get(format!("http://{http_addr}/readyz")).send().await;
    assert!(plain.is_err(), "plain http to the https port answered: {plain:?}");
    let untrusted = crate::harness::https(&TestCa::new("other CA").ca_pem()).get(cluster.url(0) + "/readyz").send().await;
    assert!(untrusted.is_err(), "a client trusting another CA accepted the node: {untrusted:?}");

    let leader = cluster.leader_index().await;
    let grpc_addr = cluster.grpc_addr(leader);
    let mut admin = pb::admin_client::AdminClient::new(tls_channel(&grpc_addr, &ca, None).await.expect("TLS channel"));
    let listed = admin.list_namespaces(pb::ListNamespacesRequest { consistency: "stale".into() }).await.unwrap();
    assert_eq!(listed.into_inner().names, ["over-tls"]);
    let plain_grpc = async {
        let mut plain = pb::admin_client::AdminClient::connect(format!("http://{grpc_addr}")).await?;
        plain.list_namespaces(pb::ListNamespacesRequest { consistency: String::new() }).await.map_err(Box::from)
    };
    let plain_grpc: Result<_, Box<dyn std::error::Error>> = plain_grpc.await;
    assert!(plain_grpc.is_err(), "plain-text gRPC to the TLS port answered");

    let mut anonymous = pb::members_client::MembersClient::new(tls_channel(&grpc_addr, &ca, None).await.unwrap());
    let refused = anonymous.read_index(pb::ReadIndexRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    assert!(std::error::Error::source(&refused).is_none(), "a service's refusal carries no transport error");
    let mut raft = pb::raft_client::RaftClient::new(tls_channel(&grpc_addr, &ca, None).await.unwrap());
    let refused = raft.vote(pb::RaftPayload { json: b"{}".to_vec() }).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");

    let stranger_ca = TestCa::new("stranger CA");
    let stranger = stranger_ca.issue("node4");
    let stranger_call = async {
        let mut members = pb::members_client::MembersClient::new(tls_channel(&grpc_addr, &ca, Some(&stranger)).await?);
        members.read_index(pb::ReadIndexRequest {}).await?;
        let join = pb::AddPeerRequest { node_id: 4, grpc_addr: "127.0.0.1:1".into() };
        members.add_peer(join).await.map_err(Box::from)
    };
    let stranger_call: Result<_, Box<dyn std::error::Error>> = stranger_call.await;
    let refusal = stranger_call.expect_err("a certificate of another CA was accepted");
    // The TLS layer closed the connection (the server's UnknownCA alert, a broken pipe or a request
    // cancelled by the close, depending on timing): a transport error, never a status that a
    // members' service answered.
    let by_transport = refusal.downcast_ref::<tonic::transport::Error>().is_some()
        || refusal.downcast_ref::<tonic::Status>().is_some_and(|status| std::error::Error::source(status).is_some());
    assert!(by_transport, "the handshake did not refuse the stranger's CA: {refusal:?}");
    let peers = cluster.running(leader).node.members(shardkeeper::node::Consistency::Stale).await.unwrap();
    assert_eq!(peers.len(), 3, "the stranger's join changed the membership");

    // A loaded machine may move the leadership meanwhile: ask whoever leads, never be refused.
    let member_files = ca.issue("node5");
    eventually("a read index for a certificate of the cluster CA", Duration::from_secs(20), || async {
        let leader_addr = cluster.grpc_addr(cluster.leader_index().await);
        let mut member = pb::members_client::MembersClient::new(tls_channel(&leader_addr, &ca, Some(&member_files)).await.ok()?);
        let index = member.read_index(pb::ReadIndexRequest {}).await;
        let refused = index.as_ref().is_err_and(|status| status.code() == tonic::Code::Unauthenticated);
        assert!(!refused, "a certificate of the cluster CA was refused: {index:?}");
        index.ok()
    })
    .await;
    cluster.shutdown().await;
}

async fn loopback_listeners() -> Listeners {
    Listeners {
        http: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        grpc: TcpListener::bind("127.0.0.1:0").await.unwrap(),
    }
}

fn solo_config(data: &std::path::Path, listeners: &Listeners, tls: TlsConfig) -> Config {
    Config {
        http_addr: listeners.http.local_addr().unwrap().to_string(),
        grpc_addr: listeners.grpc.local_addr().unwrap().to_string(),
        data_dir: data.to_path_buf(),
        tls,
        ..Config::default()
    }
}

// A key file others may read, a missing certificate, and half an identity stop a node before it
// opens its data directory, each with an error that names the setting and the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_to_start_with_a_readable_key_or_missing_files() {
    let ca = TestCa::new("cluster CA");
    let files = ca.issue("node1");
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let listeners = loopback_listeners().await;
    let config = solo_config(&data.path().join("a"), &listeners, mutual_tls(&files, &ca));
    let refusal = server::start(config, listeners).await.err().expect("refused").to_string();
    assert!(refusal.contains("[tls] key_file") && refusal.contains("readable by group or others"), "{refusal}");
    assert!(refusal.contains(&files.key.display().to_string()) && refusal.contains("644"), "{refusal}");
    assert!(!data.path().join("a").exists(), "a refused node created its data directory");

    std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let missing = TlsConfig { cert_file: Some(data.path().join("absent.crt")), ..mutual_tls(&files, &ca) };
    let listeners = loopback_listeners().await;
    let refusal = server::start(solo_config(&data.path().join("b"), &listeners, missing), listeners).await.err().unwrap();
    assert!(refusal.to_string().contains("cannot read [tls] cert_file") && refusal.to_string().contains("absent.crt"), "{refusal}");
    let half = TlsConfig { key_file: None, ..mutual_tls(&files, &ca) };
    let listeners = loopback_listeners().await;
    let refusal = server::start(solo_config(&data.path().join("c"), &listeners, half), listeners).await.err().unwrap();
    assert!(refusal.to_string().contains("cert_file and key_file go together"), "{refusal}");

    let listeners = loopback_listeners().await;
    let node = server::start(solo_config(&data.path().join("d"), &listeners, mutual_tls(&files, &ca)), listeners).await;
    node.expect("a node with a 0600 key starts").shutdown().await;
}

/// A MariaDB server with TLS: a certificate `ca` issues.
async fn mariadb_with_tls(server_id: u32, ca: &TestCa) -> MariaDbServer {
    let files = ca.issue(&format!("mariadb{server_id}"));
    let args = vec![
        format!("--ssl-cert={}", files.cert.display()),
        format!("--ssl-key={}", files.key.display()),
        format!("--ssl-ca={}", ca.ca_file().display()),
    ];
    MariaDbServer::start_with_args(server_id, args).await
}

fn db_client(server: &MariaDbServer, tls: DbTls) -> DbClient {
    let endpoint = DbEndpoint { addr: server.addr(), user: ADMIN_USER.into(), password: Secret::new(ADMIN_PASSWORD) };
    DbClient::new(endpoint, DbTimeouts::default(), tls)
}

/// The TLS connections `server` has accepted so far.
async fn tls_accepts(server: &MariaDbServer) -> u64 {
    let rows = server.query_strings("SHOW GLOBAL STATUS LIKE 'Ssl_accepts'").await;
    rows[0][1].as_deref().unwrap().parse().unwrap()
}

// The database connections use TLS verified against [fleet.tls] ca_file: a server with a
// certificate of that CA is reached over TLS (the server counts the TLS connection), one with a
// certificate of another CA is refused, and a server without TLS is reached in plain text only
// while `require` is off; with it, the refusal says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_connections_use_tls_and_require_refuses_a_server_without_it() {
    let ca = TestCa::new("database CA");
    let other = TestCa::new("other CA");
    let (good, wrong, plain) = tokio::join!(
        mariadb_with_tls(951, &ca),
        mariadb_with_tls(952, &other),
        MariaDbServer::start(953),
    );
    let preferred = load_db_tls(&DbTlsConfig { ca_file: Some(ca.ca_file()), ..DbTlsConfig::default() }).unwrap();
    let required = load_db_tls(&DbTlsConfig { ca_file: Some(ca.ca_file()), require: true, ..DbTlsConfig::default() }).unwrap();

    let before = tls_accepts(&good).await;
    let state = db_client(&good, required.clone()).probe().await.expect("probe over TLS");
    assert_eq!(state.server_id, 951);
    assert!(tls_accepts(&good).await > before, "the probe did not use TLS");

    let refused = db_client(&wrong, preferred.clone()).probe().await.expect_err("a certificate of another CA");
    assert!(refused.to_string().contains("cannot connect"), "{refused}");

    let refused = db_client(&plain, required.clone()).probe().await.expect_err("a server without TLS under require");
    assert!(refused.to_string().contains("does not offer TLS") && refused.to_string().contains("require"), "{refused}");
    let state = db_client(&plain, preferred).probe().await.expect("plain text without require");
    assert_eq!(state.server_id, 953);

    let refusal = load_db_tls(&DbTlsConfig { require: true, ..DbTlsConfig::default() }).unwrap_err();
    assert!(refusal.to_string().contains("need ca_file"), "{refusal}");
}

// A node whose [fleet.tls] requires TLS imports a server that offers it and refuses, saying why,
// to import one that does not: the node's own database connections go through [fleet.tls].
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_with_fleet_tls_required_imports_only_tls_servers() {
    let ca = TestCa::new("database CA");
    let fleet_tls = DbTlsConfig { ca_file: Some(ca.ca_file()), require: true, ..DbTlsConfig::default() };
    let (shardkeeper, good, plain) = tokio::join!(
        TestCluster::start_with(1, |config| config.fleet.tls = fleet_tls.clone()),
        mariadb_with_tls(961, &ca),
        MariaDbServer::start(962),
    );
    let base = shardkeeper.url(0);
    let client = shardkeeper.client(0);
    let post = |url: String, body: Value| {
        let client = client.clone();
        async move {
            let response = client.post(url).json(&body).send().await.expect("POST");
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = post(format!("{base}/api/v1/namespaces"), json!({"namespace": "ns"})).await;
    assert_eq!(status, 201, "{body}");
    let import = |addr: String| json!({"nodes": [addr], "user": ADMIN_USER, "password": ADMIN_PASSWORD, "policy": {"semi_sync": false}});
    let before = tls_accepts(&good).await;
    let (status, body) = post(format!("{base}/api/v1/namespaces/ns/clusters/tls/import"), import(good.addr())).await;
    assert_eq!(status, 201, "{body}");
    assert!(tls_accepts(&good).await > before, "the import did not use TLS");
    let (status, body) = post(format!("{base}/api/v1/namespaces/ns/clusters/plain/import"), import(plain.addr())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("does not offer TLS"), "{body}");
    shardkeeper.shutdown().await;
}
