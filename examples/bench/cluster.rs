//! The two systems under test, each a 3-member cluster of real processes on loopback: shardkeeper
//! (`shardkeeper serve`) and etcd (Debian's `etcd` 3.4, default tuning). Starting, health,
//! leader discovery, SIGKILL and restart of members, the CPU time their processes used, and the
//! requests that the load runs send (the same client code drives both; only the URL and body
//! differ).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// The namespace (shardkeeper) or key (etcd) that every read asks for.
pub const READ_NAME: &str = "bench-read";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Shardkeeper,
    Etcd,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Shardkeeper => "shardkeeper",
            Kind::Etcd => "etcd",
        }
    }
}

/// What one request of a load run does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    /// shardkeeper: `POST /api/v1/namespaces`; etcd: `POST /v3/kv/put`.
    Write,
    /// shardkeeper: `GET /api/v1/namespaces/{name}`; etcd: `POST /v3/kv/range`.
    LinearizableRead,
    /// shardkeeper: `...?consistency=stale`; etcd: `range` with `"serializable": true`.
    StaleRead,
}

/// One member's REST endpoint and one operation: everything a client task needs to build its
/// requests. Cheap to clone into every client task.
#[derive(Clone)]
pub struct Target {
    kind: Kind,
    op: Op,
    url: String,
    read_body: String,
}

impl Target {
    pub fn new(kind: Kind, op: Op, base: &str) -> Target {
        let url = match (kind, op) {
            (Kind::Shardkeeper, Op::Write) => format!("{base}/api/v1/namespaces"),
            (Kind::Shardkeeper, Op::LinearizableRead) => format!("{base}/api/v1/namespaces/{READ_NAME}"),
            (Kind::Shardkeeper, Op::StaleRead) => format!("{base}/api/v1/namespaces/{READ_NAME}?consistency=stale"),
            (Kind::Etcd, Op::Write) => format!("{base}/v3/kv/put"),
            (Kind::Etcd, _) => format!("{base}/v3/kv/range"),
        };
        let key = base64(etcd_key(READ_NAME).as_bytes());
        let read_body = match op {
            Op::StaleRead => format!(r#"{{"key":"{key}","serializable":true}}"#),
            _ => format!(r#"{{"key":"{key}"}}"#),
        };
        Target { kind, op, url, read_body }
    }

    /// The request for a write of the unique `name` (reads ignore it).
    pub fn request(&self, http: &reqwest::Client, name: &str) -> reqwest::RequestBuilder {
        let body = match (self.kind, self.op) {
            (Kind::Shardkeeper, Op::Write) => namespace_doc(name),
            (Kind::Shardkeeper, _) => return http.get(&self.url),
            (Kind::Etcd, Op::Write) => {
                // The value is the same document shardkeeper stores for a namespace.
                let key = base64(etcd_key(name).as_bytes());
                let value = base64(namespace_doc(name).as_bytes());
                format!(r#"{{"key":"{key}","value":"{value}"}}"#)
            }
            (Kind::Etcd, _) => self.read_body.clone(),
        };
        http.post(&self.url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body)
    }

    /// The status code of success.
    pub fn expect(&self) -> u16 {
        match (self.kind, self.op) {
            (Kind::Shardkeeper, Op::Write) => 201,
            _ => 200,
        }
    }
}

fn namespace_doc(name: &str) -> String {
    format!(r#"{{"namespace":"{name}"}}"#)
}

fn etcd_key(name: &str) -> String {
    format!("/namespaces/{name}")
}

/// Standard base64 with padding (what etcd's JSON gateway expects for bytes fields).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Free loopback ports: bound together (so they differ), then released for the servers.
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
    let listeners: Vec<TcpListener> =
        (0..count).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<_>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

struct Member {
    client_url: String,
    command: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    /// The member's raft id as the system names it (shardkeeper node id; etcd member id), learned
    /// from its own status and kept while it is down.
    id: Option<String>,
}

/// One member's answer to a status query.
#[derive(Clone, Debug)]
pub struct Status {
    pub id: String,
    pub leader: Option<String>,
    pub term: u64,
}

pub struct Cluster {
    pub kind: Kind,
    members: Vec<Member>,
    http: reqwest::Client,
}

impl Cluster {
    /// Three `shardkeeper serve` processes; `ports` holds 3 HTTP then 3 gRPC ports.
    pub fn start_shardkeeper(bin: &Path, dir: &Path, ports: &[u16]) -> Result<Cluster> {
        let initial: Vec<String> = (0..3).map(|i| format!("{}=127.0.0.1:{}", i + 1, ports[3 + i])).collect();
        let initial = initial.join(",");
        let members = (0..3)
            .map(|i| Member {
                client_url: format!("http://127.0.0.1:{}", ports[i]),
                command: vec![
                    bin.display().to_string(),
                    "serve".into(),
                    "--node-id".into(),
                    (i + 1).to_string(),
                    "--http-addr".into(),
                    format!("127.0.0.1:{}", ports[i]),
                    "--grpc-addr".into(),
                    format!("127.0.0.1:{}", ports[3 + i]),
                    "--data-dir".into(),
                    dir.join(format!("node{}", i + 1)).display().to_string(),
                    "--initial-cluster".into(),
                    initial.clone(),
                ],
                log: dir.join(format!("node{}.log", i + 1)),
                child: None,
                id: Some((i + 1).to_string()),
            })
            .collect();
        Cluster::start(Kind::Shardkeeper, dir, members)
    }

    /// Three etcd members with default tuning (heartbeat 100 ms, election 1000 ms, fsync on);
    /// `ports` holds 3 client then 3 peer ports.
    pub fn start_etcd(bin: &Path, dir: &Path, ports: &[u16]) -> Result<Cluster> {
        let peer = |i: usize| format!("http://127.0.0.1:{}", ports[3 + i]);
        let initial: Vec<String> = (0..3).map(|i| format!("m{}={}", i + 1, peer(i))).collect();
        let initial = initial.join(",");
        let token = format!("bench-{}", std::process::id());
        let members = (0..3)
            .map(|i| {
                let client = format!("http://127.0.0.1:{}", ports[i]);
                Member {
                    client_url: client.clone(),
                    command: vec![
                        bin.display().to_string(),
                        "--name".into(),
                        format!("m{}", i + 1),
                        "--data-dir".into(),
                        dir.join(format!("m{}", i + 1)).display().to_string(),
                        "--listen-client-urls".into(),
                        client.clone(),
                        "--advertise-client-urls".into(),
                        client,
                        "--listen-peer-urls".into(),
                        peer(i),
                        "--initial-advertise-peer-urls".into(),
                        peer(i),
                        "--initial-cluster".into(),
                        initial.clone(),
                        "--initial-cluster-token".into(),
                        token.clone(),
                        "--initial-cluster-state".into(),
                        "new".into(),
                        "--logger".into(),
                        "zap".into(),
                        "--log-outputs".into(),
                        "stderr".into(),
                        "--log-level".into(),
                        "warn".into(),
                    ],
                    log: dir.join(format!("m{}.log", i + 1)),
                    child: None,
                    id: None,
                }
            })
            .collect();
        Cluster::start(Kind::Etcd, dir, members)
    }

    fn start(kind: Kind, dir: &Path, members: Vec<Member>) -> Result<Cluster> {
        std::fs::create_dir_all(dir)?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).pool_max_idle_per_host(4).build()?;
        let mut cluster = Cluster { kind, members, http };
        for i in 0..3 {
            cluster.spawn(i)?;
        }
        Ok(cluster)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn url(&self, i: usize) -> &str {
        &self.members[i].client_url
    }

    /// Starts (or restarts, on its existing data directory) member `i`.
    pub fn spawn(&mut self, i: usize) -> Result<()> {
        let member = &mut self.members[i];
        let log = OpenOptions::new().create(true).append(true).open(&member.log)?;
        let child = Command::new(&member.command[0])
            .args(&member.command[1..])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", member.command[0]))?;
        member.child = Some(child);
        Ok(())
    }

    /// SIGKILLs member `i` and reaps it.
    pub fn kill(&mut self, i: usize) -> Result<()> {
        if let Some(mut child) = self.members[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Sum of user + system CPU seconds of the running members.
    pub fn cpu_seconds(&self) -> f64 {
        self.members
            .iter()
            .filter_map(|m| m.child.as_ref())
            .map(|child| process_cpu_seconds(&format!("/proc/{}/stat", child.id())).unwrap_or(0.0))
            .sum()
    }

    /// Member `i` answers its readiness probe: shardkeeper `/readyz` 200; etcd `/health` true.
    pub async fn ready(&self, i: usize) -> bool {
        let url = self.url(i);
        match self.kind {
            Kind::Shardkeeper => matches!(self.http.get(format!("{url}/readyz")).send().await,
                Ok(r) if r.status().as_u16() == 200),
            Kind::Etcd => match self.http.get(format!("{url}/health")).send().await {
                Ok(r) if r.status().as_u16() == 200 => {
                    r.json::<Value>().await.map(|v| v["health"] == "true").unwrap_or(false)
                }
                _ => false,
            },
        }
    }

    /// Member `i`'s view of raft: shardkeeper `GET /api/v1/status`; etcd
    /// `POST /v3/maintenance/status` (`leader` vs `header.member_id`, `header.raft_term`).
    pub async fn status(&self, i: usize) -> Result<Status> {
        let url = self.url(i);
        match self.kind {
            Kind::Shardkeeper => {
                let body: Value = self.http.get(format!("{url}/api/v1/status")).send().await?.json().await?;
                let data = &body["data"];
                Ok(Status {
                    id: number(&data["node_id"]).ok_or_else(|| anyhow!("no node_id in {body}"))?.to_string(),
                    leader: number(&data["leader_id"]).map(|id| id.to_string()),
                    term: number(&data["term"]).unwrap_or(0),
                })
            }
            Kind::Etcd => {
                let body: Value =
                    self.http.post(format!("{url}/v3/maintenance/status")).body("{}").send().await?.json().await?;
                let header = &body["header"];
                Ok(Status {
                    id: number(&header["member_id"]).ok_or_else(|| anyhow!("no member_id in {body}"))?.to_string(),
                    leader: number(&body["leader"]).filter(|&id| id != 0).map(|id| id.to_string()),
                    term: number(&header["raft_term"]).unwrap_or(0),
                })
            }
        }
    }

    /// Member `i`'s raft id, once learned.
    pub fn id(&self, i: usize) -> Option<String> {
        self.members[i].id.clone()
    }

    /// The member index that a raft id names, from the ids the members reported.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.id.as_deref() == Some(id))
    }

    /// Highest term any reachable member reports.
    pub async fn max_term(&self) -> u64 {
        let mut max = 0;
        for i in 0..self.len() {
            if let Ok(status) = self.status(i).await {
                max = max.max(status.term);
            }
        }
        max
    }

    /// Polls (every 50 ms, until `within` passes) until every member is up and ready and all of
    /// them name the same leader; answers the leader's index.
    pub async fn wait_stable(&mut self, within: Duration) -> Result<usize> {
        let deadline = Instant::now() + within;
        loop {
            let last = match self.check_stable().await {
                Ok(leader) => return Ok(leader),
                Err(why) => why,
            };
            if Instant::now() >= deadline {
                bail!("{} cluster not stable after {:?}: {last}\n{}", self.kind.name(), within, self.log_tails());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn check_stable(&mut self) -> std::result::Result<usize, String> {
        let mut leader: Option<String> = None;
        for i in 0..self.len() {
            if let Some(child) = self.members[i].child.as_mut() {
                if let Ok(Some(exit)) = child.try_wait() {
                    return Err(format!("member {} exited: {exit}", i + 1));
                }
            } else {
                return Err(format!("member {} is not running", i + 1));
            }
            if !self.ready(i).await {
                return Err(format!("member {} not ready", i + 1));
            }
            let status = self.status(i).await.map_err(|e| format!("member {} status: {e}", i + 1))?;
            self.members[i].id = Some(status.id.clone());
            let Some(this_leader) = status.leader else {
                return Err(format!("member {} knows no leader", i + 1));
            };
            match &leader {
                Some(l) if *l != this_leader => return Err("members name different leaders".into()),
                _ => leader = Some(this_leader),
            }
        }
        let leader = leader.unwrap_or_default();
        self.index_of(&leader).ok_or_else(|| format!("leader {leader} is not a known member"))
    }

    /// Creates the record that reads ask for (idempotent).
    pub async fn seed_read_record(&self, leader: usize) -> Result<()> {
        let target = Target::new(self.kind, Op::Write, self.url(leader));
        let response = target.request(&self.http, READ_NAME).send().await?;
        let status = response.status().as_u16();
        if status != target.expect() && !(self.kind == Kind::Shardkeeper && status == 409) {
            bail!("{}: seeding {READ_NAME} answered {status}: {}", self.kind.name(), response.text().await?);
        }
        Ok(())
    }

    /// The last lines of every member's log, for error messages.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for (i, member) in self.members.iter().enumerate() {
            let mut text = String::new();
            if let Ok(mut file) = File::open(&member.log) {
                let _ = file.read_to_string(&mut text);
            }
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(5)..].join("\n    ");
            out.push_str(&format!(
                "  {} member {} log ({}):\n    {tail}\n",
                self.kind.name(),
                i + 1,
                member.log.display()
            ));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            let _ = self.kill(i);
        }
    }
}

/// A JSON number, or a number in a string (etcd's gateway writes 64-bit integers as strings).
fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// utime + stime of a `/proc/<pid>/stat` file, in seconds (USER_HZ is 100 on Linux).
pub fn process_cpu_seconds(stat_path: &str) -> Option<f64> {
    let text = std::fs::read_to_string(stat_path).ok()?;
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
