//! Test harness: shardkeeper clusters of in-process nodes on loopback port 0, and of real
//! `shardkeeper` processes for crash tests; plus polling helpers (no fixed sleeps).

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use shardkeeper::config::Config;
use shardkeeper::server::{self, Listeners, RunningNode};
use tokio::net::TcpListener;

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("http client")
}

/// A client of https servers whose certificates `ca_pem` signed (and no others).
pub fn https(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).expect("CA certificate"))
        .build()
        .expect("https client")
}

/// The REST client of a node configured as `config`: https trusting its CA when it serves TLS.
fn client_for(config: &Config) -> reqwest::Client {
    if config.tls.cert_file.is_none() {
        return http();
    }
    let ca_file = config.tls.ca_file.as_ref().or(config.tls.client_ca_file.as_ref()).expect("a CA in [tls]");
    https(&std::fs::read(ca_file).expect("read the CA"))
}

/// Polls `check` until it answers `Some` or `within` passes.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// GET `url` and answer (status, JSON body).
pub async fn get_json(url: &str) -> (u16, Value) {
    let response = http().get(url).send().await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POST `body` to `url` and answer (status, JSON body).
pub async fn post_json(url: &str, body: Value) -> (u16, Value) {
    let response = http().post(url).json(&body).send().await.unwrap_or_else(|error| panic!("POST {url}: {error}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits until `base` answers /readyz with 200.
pub async fn wait_until_ready(base: &str, what: &str, within: Duration) {
    wait_until_ready_with(&http(), base, what, within).await
}

/// Waits until `base` answers /readyz with 200 to `client`.
async fn wait_until_ready_with(client: &reqwest::Client, base: &str, what: &str, within: Duration) {
    let url = format!("{base}/readyz");
    eventually(what, within, || async {
        let response = client.get(&url).send().await.ok()?;
        (response.status().as_u16() == 200).then_some(())
    })
    .await;
}

/// Fresh REST and gRPC listeners on loopback port 0.
async fn bind_loopback() -> Listeners {
    Listeners {
        http: TcpListener::bind("127.0.0.1:0").await.expect("bind http"),
        grpc: TcpListener::bind("127.0.0.1:0").await.expect("bind grpc"),
    }
}

/// The config of node `index` (id `index + 1`) serving on `listeners`, with data under `data`.
fn node_config(index: usize, listeners: &Listeners, data: &std::path::Path) -> Config {
    Config {
        node_id: index as u64 + 1,
        http_addr: listeners.http.local_addr().unwrap().to_string(),
        grpc_addr: listeners.grpc.local_addr().unwrap().to_string(),
        data_dir: data.join(format!("node{}", index + 1)),
        ..Config::default()
    }
}

/// A cluster of in-process nodes, each with its own data directory and fixed loopback ports.
pub struct TestCluster {
    nodes: Vec<Option<RunningNode>>,
    configs: Vec<Config>,
    _data: tempfile::TempDir,
}

impl TestCluster {
    pub async fn start(size: usize) -> TestCluster {
        Self::start_with(size, |_| {}).await
    }

    /// Starts `size` nodes after letting `tune` adjust each node's config.
    pub async fn start_with(size: usize, tune: impl Fn(&mut Config)) -> TestCluster {
        let data = tempfile::tempdir().expect("temporary directory");
        let mut listeners = Vec::new();
        for _ in 0..size {
            listeners.push(bind_loopback().await);
        }
        let initial_cluster = listeners
            .iter()
            .enumerate()
            .map(|(index, bound)| format!("{}={}", index + 1, bound.grpc.local_addr().unwrap()))
            .collect::<Vec<_>>()
            .join(",");
        let mut configs = Vec::new();
        for (index, bound) in listeners.iter().enumerate() {
            let mut config =
                Config { initial_cluster: Some(initial_cluster.clone()), ..node_config(index, bound, data.path()) };
            tune(&mut config);
            configs.push(config);
        }
        let starts = configs.iter().cloned().zip(listeners).map(|(config, bound)| server::start(config, bound));
        let nodes = futures::future::join_all(starts)
            .await
            .into_iter()
            .map(|started| Some(started.expect("node starts")))
            .collect();
        let cluster = TestCluster { nodes, configs, _data: data };
        cluster.wait_ready().await;
        cluster
    }

    pub fn size(&self) -> usize {
        self.configs.len()
    }

    /// The gRPC address node `node_index` is configured with (also while it is down).
    pub fn grpc_addr(&self, node_index: usize) -> String {
        self.configs[node_index].grpc_addr.clone()
    }

    /// The REST base URL of node `node_index`: https when it serves TLS.
    pub fn url(&self, node_index: usize) -> String {
        let config = &self.configs[node_index];
        let scheme = if config.tls.cert_file.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", config.http_addr)
    }

    /// A REST client of node `node_index` (trusting its CA when it serves TLS).
    pub fn client(&self, node_index: usize) -> reqwest::Client {
        client_for(&self.configs[node_index])
    }

    pub fn running(&self, node_index: usize) -> &RunningNode {
        self.nodes[node_index].as_ref().expect("node is running")
    }

    pub fn is_running(&self, node_index: usize) -> bool {
        self.nodes[node_index].is_some()
    }

    /// Waits until every running node answers /readyz with 200.
    pub async fn wait_ready(&self) {
        for index in (0..self.size()).filter(|index| self.is_running(*index)) {
            let what = format!("node {} ready", index + 1);
            wait_until_ready_with(&self.client(index), &self.url(index), &what, Duration::from_secs(20)).await;
        }
    }

    /// The index of the node every running node agrees is leader.
    pub async fn leader_index(&self) -> usize {
        eventually("an agreed leader", Duration::from_secs(20), || async {
            let mut leaders = (0..self.size())
                .filter(|index| self.is_running(*index))
                .map(|index| self.running(index).node.raft().metrics().borrow().current_leader);
            let first = leaders.next()??;
            let agreed = leaders.all(|leader| leader == Some(first));
            let index = (first - 1) as usize;
            (agreed && self.is_running(index)).then_some(index)
        })
        .await
    }

    pub async fn follower_index(&self) -> usize {
        let leader = self.leader_index().await;
        (0..self.size()).find(|index| *index != leader && self.is_running(*index)).expect("a running follower")
    }

    /// Stops node `node_index` abruptly (servers aborted, raft stopped without hand-off).
    pub async fn crash(&mut self, node_index: usize) {
        let node = self.nodes[node_index].take().expect("node is running");
        node.crash().await;
    }

    /// Starts node `node_index` again on its data directory and ports.
    pub async fn restart(&mut self, node_index: usize) {
        assert!(!self.is_running(node_index), "node {} is still running", node_index + 1);
        let config = self.configs[node_index].clone();
        let listeners = eventually("ports free again", Duration::from_secs(10), || {
            let config = config.clone();
            async move { Listeners::bind(&config).await.ok() }
        })
        .await;
        self.nodes[node_index] = Some(server::start(config, listeners).await.expect("node restarts"));
    }

    /// The config node `node_index` runs with (or ran with, while it is down).
    pub fn config(&self, node_index: usize) -> &Config {
        &self.configs[node_index]
    }

    /// Starts the stopped node `node_index` again after `tune` changed its config (kept for later
    /// restarts); answers why it did not start instead of panicking.
    pub async fn try_restart_with(&mut self, node_index: usize, tune: impl FnOnce(&mut Config)) -> Result<(), server::ServerError> {
        assert!(!self.is_running(node_index), "node {} is still running", node_index + 1);
        tune(&mut self.configs[node_index]);
        let config = self.configs[node_index].clone();
        let listeners = eventually("ports free again", Duration::from_secs(10), || {
            let config = config.clone();
            async move { Listeners::bind(&config).await.ok() }
        })
        .await;
        self.nodes[node_index] = Some(server::start(config, listeners).await?);
        Ok(())
    }

    /// Starts one more node that joins through node `via`'s gRPC address; answers its index.
    pub async fn join_new_node(&mut self, via: usize) -> usize {
        let index = self.size();
        let listeners = bind_loopback().await;
        let config = Config {
            join: Some(self.configs[via].grpc_addr.clone()),
            raft: self.configs[via].raft.clone(),
            ..node_config(index, &listeners, self._data.path())
        };
        self.configs.push(config.clone());
        self.nodes.push(Some(server::start(config, listeners).await.expect("joining node starts")));
        index
    }

    pub async fn shutdown(mut self) {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            node.shutdown().await;
        }
    }
}

/// A cluster of real `shardkeeper serve` processes, for SIGKILL tests.
pub struct ProcessCluster {
    children: Vec<Option<Child>>,
    args: Vec<Vec<String>>,
    http_addrs: Vec<String>,
    _data: tempfile::TempDir,
}

/// A loopback port that was free a moment ago, chosen below Linux's ephemeral range (32768+) so
/// that no port-0 listener of a concurrently running test can take it while a process restarts.
fn free_port() -> u16 {
    loop {
        let port = 20_000 + rand::random::<u16>() % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl ProcessCluster {
    pub fn start(size: usize) -> ProcessCluster {
        let data = tempfile::tempdir().expect("temporary directory");
        let grpc_addrs: Vec<String> = (0..size).map(|_| format!("127.0.0.1:{}", free_port())).collect();
        let http_addrs: Vec<String> = (0..size).map(|_| format!("127.0.0.1:{}", free_port())).collect();
        let initial_cluster =
            grpc_addrs.iter().enumerate().map(|(index, addr)| format!("{}={addr}", index + 1)).collect::<Vec<_>>();
        let args = (0..size)
            .map(|index| {
                let data_dir: PathBuf = data.path().join(format!("node{}", index + 1));
                vec![
                    "serve".to_string(),
                    format!("--node-id={}", index + 1),
                    format!("--http-addr={}", http_addrs[index]),
                    format!("--grpc-addr={}", grpc_addrs[index]),
                    format!("--data-dir={}", data_dir.display()),
                    format!("--initial-cluster={}", initial_cluster.join(",")),
                ]
            })
            .collect();
        let mut cluster = ProcessCluster { children: (0..size).map(|_| None).collect(), args, http_addrs, _data: data };
        for index in 0..size {
            cluster.spawn(index);
        }
        cluster
    }

    pub fn spawn(&mut self, index: usize) {
        let child = Command::new(env!("CARGO_BIN_EXE_shardkeeper"))
            .args(&self.args[index])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn shardkeeper");
        self.children[index] = Some(child);
    }

    pub fn url(&self, index: usize) -> String {
        format!("http://{}", self.http_addrs[index])
    }

    pub fn size(&self) -> usize {
        self.args.len()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children[index].take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    pub fn kill_all(&mut self) {
        for index in 0..self.size() {
            self.kill(index);
        }
    }

    /// Waits until `index` answers /readyz with 200.
    pub async fn wait_ready(&self, index: usize) {
        wait_until_ready(&self.url(index), &format!("process {} ready", index + 1), Duration::from_secs(30)).await;
    }

    /// The index of the leader, as node `asked` reports it.
    pub async fn leader_index(&self, asked: usize) -> usize {
        let url = format!("{}/api/v1/status", self.url(asked));
        eventually("a leader in status", Duration::from_secs(30), || async {
            let (status, body) = get_json(&url).await;
            let leader = body["data"]["leader_id"].as_u64().filter(|_| status == 200)?;
            Some((leader - 1) as usize)
        })
        .await
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}
