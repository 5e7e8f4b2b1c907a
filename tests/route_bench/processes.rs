//! The processes the route benchmark measures: a three-node cluster of real `shardkeeper serve`
//! processes whose nodes each serve the benchmark's routes, and HAProxy in TCP mode as the
//! reference proxy. Every process dies with this one (killed on drop).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A loopback port in 20000-31999 (below the ephemeral range) that was free a moment ago.
pub fn free_port() -> u16 {
    loop {
        let port = 20_000 + rand::random::<u16>() % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// One route of every node: its name, its shard and the port it listens on at each node.
pub struct BenchRoute {
    pub name: String,
    pub destination: String,
    pub ports: Vec<u16>,
}

pub struct ShardkeeperProcesses {
    children: Vec<Child>,
    pub urls: Vec<String>,
    _data: tempfile::TempDir,
}

impl ShardkeeperProcesses {
    /// Starts `size` nodes of one cluster, node `i` serving every route on `route.ports[i]`.
    pub fn start(size: usize, routes: &[BenchRoute]) -> ShardkeeperProcesses {
        let data = tempfile::tempdir().expect("temporary directory");
        let grpc: Vec<String> = (0..size).map(|_| format!("127.0.0.1:{}", free_port())).collect();
        let http: Vec<String> = (0..size).map(|_| format!("127.0.0.1:{}", free_port())).collect();
        let initial_cluster: Vec<String> = grpc.iter().enumerate().map(|(i, addr)| format!("{}={addr}", i + 1)).collect();
        let children = (0..size)
            .map(|index| {
                let config = write_config(data.path(), index, routes);
                Command::new(env!("CARGO_BIN_EXE_shardkeeper"))
                    .arg("serve")
                    .arg(format!("--config={}", config.display()))
                    .arg(format!("--node-id={}", index + 1))
                    .arg(format!("--http-addr={}", http[index]))
                    .arg(format!("--grpc-addr={}", grpc[index]))
                    .arg(format!("--data-dir={}", data.path().join(format!("node{index}")).display()))
                    .arg(format!("--initial-cluster={}", initial_cluster.join(",")))
                    .env("RUST_LOG", "error,openraft=off")
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .expect("spawn shardkeeper")
            })
            .collect();
        let urls = http.iter().map(|addr| format!("http://{addr}")).collect();
        ShardkeeperProcesses { children, urls, _data: data }
    }

    pub fn pid(&self, index: usize) -> u32 {
        self.children[index].id()
    }
}

impl Drop for ShardkeeperProcesses {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn write_config(dir: &Path, index: usize, routes: &[BenchRoute]) -> PathBuf {
    let mut text = String::new();
    for route in routes {
        text.push_str(&format!(
            "[[routes]]\nname = \"{}\"\nbind_address = \"127.0.0.1\"\nbind_port = {}\ndestinations = \"{}\"\nmax_connections = 10000\n\n",
            route.name, route.ports[index], route.destination
        ));
    }
    let path = dir.join(format!("node{index}.toml"));
    std::fs::write(&path, text).expect("write a node config");
    path
}

/// HAProxy 2.6 in TCP mode on `port`, forwarding to `backend` (`host:port`).
pub struct HaProxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl HaProxy {
    pub fn start(port: u16, backend: &str) -> HaProxy {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("haproxy.cfg");
        let text = format!(
            "global\n    maxconn 8000\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n\
             frontend mysql\n    bind 127.0.0.1:{port}\n    default_backend primary\n\
             backend primary\n    server primary {backend}\n"
        );
        std::fs::write(&config, text).expect("write haproxy.cfg");
        let program = ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .expect("haproxy is missing: apt-get install haproxy (scripts/route-bench.sh does)");
        let child = Command::new(program)
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn haproxy");
        HaProxy { child, _dir: dir }
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of process `pid`, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
