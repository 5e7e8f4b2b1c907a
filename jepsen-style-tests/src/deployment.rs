//! The docker-compose deployment under test (deploy/docker-compose.yml) as the suite sees it from
//! the host: which containers exist, their private addresses and the host ports they publish, and
//! the host-side operations every nemesis is made of (signals, `docker start`, iptables inside a
//! container's network namespace, the libfaketime offset file). Nothing here decides when to act.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::Command;

/// One container of the deployment.
#[derive(Debug, Clone)]
pub struct Host {
    /// Compose service name, also the name the other containers resolve (`sk1`, `db2`).
    pub name: &'static str,
    pub container: &'static str,
    /// Address on the deployment's private network.
    pub ip: &'static str,
    /// Where the host reaches it: the REST API of a shardkeeper node, the MariaDB port of a server.
    pub host_port: u16,
}

impl Host {
    /// The REST base URL of a shardkeeper node (https: the deployment runs with TLS).
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.host_port)
    }
}

pub const SHARDKEEPER_NODES: [Host; 3] = [
    Host { name: "sk1", container: "shardkeeper-sk1", ip: "172.28.0.11", host_port: 9701 },
    Host { name: "sk2", container: "shardkeeper-sk2", ip: "172.28.0.12", host_port: 9702 },
    Host { name: "sk3", container: "shardkeeper-sk3", ip: "172.28.0.13", host_port: 9703 },
];

pub const DATABASE_SERVERS: [Host; 3] = [
    Host { name: "db1", container: "shardkeeper-db1", ip: "172.28.0.21", host_port: 3311 },
    Host { name: "db2", container: "shardkeeper-db2", ip: "172.28.0.22", host_port: 3312 },
    Host { name: "db3", container: "shardkeeper-db3", ip: "172.28.0.23", host_port: 3313 },
];

/// A shardkeeper node's PRIMARY route to the demo shard (`shop_rw` in deploy/shardkeeper.toml),
/// as the host reaches it.
#[derive(Debug, Clone)]
pub struct Route {
    /// `sk1-route`: the node serving it, for the history.
    pub name: &'static str,
    pub host_port: u16,
}

pub const ROUTES: [Route; 3] = [
    Route { name: "sk1-route", host_port: 6441 },
    Route { name: "sk2-route", host_port: 6442 },
    Route { name: "sk3-route", host_port: 6443 },
];

/// The demo shard registered by the compose file's `register` service.
pub const DEMO_NAMESPACE: &str = "demo";
pub const DEMO_CLUSTER: &str = "shop";
pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "demo-app-pass";
pub const APP_DATABASE: &str = "app";

/// The shardkeeper node with this raft id (1-based, as in the compose file).
pub fn shardkeeper_node(raft_id: u64) -> Option<&'static Host> {
    SHARDKEEPER_NODES.get(usize::try_from(raft_id).ok()?.checked_sub(1)?)
}

/// The database server a shardkeeper node address (`db2:3306`) names.
pub fn database_server(addr: &str) -> Option<&'static Host> {
    let name = addr.split(':').next()?;
    DATABASE_SERVERS.iter().find(|host| host.name == name)
}

/// Runs a command on the host and fails with its stderr when it exits non-zero.
async fn run(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = tokio::time::timeout(Duration::from_secs(30), Command::new(program).args(args).output())
        .await
        .with_context(|| format!("{program} {} did not finish within 30s", args.join(" ")))?
        .with_context(|| format!("cannot run {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Host process ids of every process in the container (its tini and what tini runs).
async fn container_pids(host: &Host) -> anyhow::Result<Vec<String>> {
    let listing = run("docker", &["top", host.container, "-o", "pid"]).await?;
    Ok(listing.lines().skip(1).map(|line| line.trim().to_string()).filter(|pid| !pid.is_empty()).collect())
}

/// Sends `signal` (`STOP`, `CONT`) to every process of the container. A process that ended
/// between the listing and the signal (a health check's short-lived command) is no error.
pub async fn signal_processes(host: &Host, signal: &str) -> anyhow::Result<()> {
    let pids = container_pids(host).await?;
    if pids.is_empty() {
        bail!("{} has no running process", host.container);
    }
    let flag = format!("-{signal}");
    for pid in &pids {
        if let Err(error) = run("kill", &[flag.as_str(), pid.as_str()]).await {
            if !error.to_string().contains("No such process") {
                return Err(error);
            }
        }
    }
    Ok(())
}

/// SIGKILL of the container's init, which takes every process of the container with it.
pub async fn kill(host: &Host) -> anyhow::Result<()> {
    run("docker", &["kill", "--signal", "KILL", host.container]).await.map(drop)
}

/// Starts a killed container again on its volume.
pub async fn start(host: &Host) -> anyhow::Result<()> {
    run("docker", &["start", host.container]).await.map(drop)
}

pub async fn is_running(host: &Host) -> bool {
    run("docker", &["inspect", "--format", "{{.State.Running}}", host.container])
        .await
        .is_ok_and(|out| out.trim() == "true")
}

/// Throws a database server's data away: stops it, empties its data volume with a throwaway
/// container of the same image, and starts it again as a blank server.
pub async fn wipe_database(host: &Host) -> anyhow::Result<()> {
    let volume = run(
        "docker",
        &["inspect", "--format", "{{range .Mounts}}{{if eq .Destination \"/var/lib/mysql\"}}{{.Name}}{{end}}{{end}}", host.container],
    )
    .await?;
    let volume = volume.trim();
    if volume.is_empty() {
        bail!("{} has no volume on /var/lib/mysql", host.container);
    }
    let image = run("docker", &["inspect", "--format", "{{.Config.Image}}", host.container]).await?;
    if is_running(host).await {
        kill(host).await?;
    }
    let mount = format!("{volume}:/var/lib/mysql");
    run(
        "docker",
        &["run", "--rm", "--network", "none", "--entrypoint", "/usr/bin/find", "-v", &mount, image.trim(),
          "/var/lib/mysql", "-mindepth", "1", "-delete"],
    )
    .await?;
    start(host).await
}

/// Runs iptables inside the container's network namespace (with the host's iptables binary).
async fn iptables(host: &Host, rule: &[&str]) -> anyhow::Result<()> {
    let pid = run("docker", &["inspect", "--format", "{{.State.Pid}}", host.container]).await?;
    let pid = pid.trim();
    if pid == "0" || pid.is_empty() {
        bail!("{} is not running", host.container);
    }
    let mut args = vec!["--target", pid, "--net", "iptables", "-w"];
    args.extend_from_slice(rule);
    run("nsenter", &args).await.map(drop)
}

/// `host` drops every packet arriving from `from` (one-way: `host` still sends to `from`).
pub async fn drop_incoming(host: &Host, from: &Host) -> anyhow::Result<()> {
    iptables(host, &["-A", "INPUT", "-s", from.ip, "-j", "DROP"]).await
}

/// Cuts `a` and `b` apart in both directions.
pub async fn cut(a: &Host, b: &Host) -> anyhow::Result<()> {
    drop_incoming(a, b).await?;
    drop_incoming(b, a).await
}

/// `host` talks to nobody, the host's clients included (they arrive from the bridge's gateway).
pub async fn isolate_completely(host: &Host) -> anyhow::Result<()> {
    iptables(host, &["-A", "INPUT", "!", "-i", "lo", "-j", "DROP"]).await?;
    iptables(host, &["-A", "OUTPUT", "!", "-o", "lo", "-j", "DROP"]).await
}

/// Removes every rule the nemesis added in the container's namespace.
pub async fn heal_network(host: &Host) -> anyhow::Result<()> {
    if !is_running(host).await {
        return Ok(());
    }
    iptables(host, &["-F", "INPUT"]).await?;
    iptables(host, &["-F", "OUTPUT"]).await
}

/// The libfaketime offset file of each shardkeeper node, bind-mounted into its container by
/// jepsen-style-tests/docker-compose.faults.yml (`FAKETIME_TIMESTAMP_FILE`).
pub struct ClockFiles {
    pub directory: PathBuf,
}

impl ClockFiles {
    fn path(&self, host: &Host) -> PathBuf {
        self.directory.join(host.name).join("offset")
    }

    /// Shifts the node's wall clock by `seconds` (negative: into the past); 0 restores it.
    pub fn set_offset(&self, host: &Host, seconds: i64) -> anyhow::Result<()> {
        let path = self.path(host);
        std::fs::write(&path, format!("{seconds:+}\n")).with_context(|| format!("cannot write {}", path.display()))
    }
}
