//! MariaDB test servers: real `mariadbd` processes on loopback, each in its own temporary
//! directory, for tests of what shardkeeper does to a MySQL/MariaDB fleet. No Docker and no system
//! service: every server runs with `--no-defaults` on a port in 10000–19999 (never 3306), with its
//! socket, pid file, log and data inside its temporary directory, and dies with its owner (Drop
//! sends SIGKILL; the process also gets SIGKILL if the thread that spawned it dies).
//!
//! This module owns those processes and directories only: it never touches a system service, and
//! leaves replication, semi-sync and `read_only` to the tests and to shardkeeper (every server
//! starts writable, as a blank primary with an empty `gtid_binlog_state`).
//!
//! Each data directory is a copy of one template (about 0.2 s to a ready server instead of about
//! 0.85 s with `mariadb-install-db` per server). The template is made once by `mariadb-install-db`
//! with the accounts below, and cached under Cargo's target tmp directory, keyed by the server
//! version and this module's settings.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row, Value};

/// The admin account (`shardkeeper`@`%` and @`127.0.0.1`): ALL PRIVILEGES WITH GRANT OPTION.
pub const ADMIN_USER: &str = "shardkeeper";
/// The admin password; it holds a quote so that quoting bugs show.
pub const ADMIN_PASSWORD: &str = "sk'pass";
/// The application account (`app`@`%` and @`127.0.0.1`): SELECT, INSERT, UPDATE, DELETE and CREATE
/// on database `app` only, so `read_only=ON` blocks its writes (no SUPER, no READ_ONLY ADMIN).
pub const APP_USER: &str = "app";
/// The application password.
pub const APP_PASSWORD: &str = "app-pass";
/// The application database, present (empty) on every server.
pub const APP_DATABASE: &str = "app";

/// Accounts and database of every server, run once in bootstrap mode when the template is made.
/// Bootstrap writes no binlog, and `sql_log_bin=0` would keep these statements out of it anyway: a
/// blank server must have an empty `gtid_binlog_state` (or every replica would look errant).
const SETUP_SQL: &str = "\
SET sql_log_bin=0;
FLUSH PRIVILEGES;
CREATE DATABASE app;
CREATE USER 'shardkeeper'@'%' IDENTIFIED BY 'sk''pass';
CREATE USER 'shardkeeper'@'127.0.0.1' IDENTIFIED BY 'sk''pass';
GRANT ALL PRIVILEGES ON *.* TO 'shardkeeper'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'shardkeeper'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER 'app'@'%' IDENTIFIED BY 'app-pass';
CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-pass';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON app.* TO 'app'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON app.* TO 'app'@'127.0.0.1';
";

/// InnoDB files and sizes, the same for `mariadb-install-db` and `mariadbd` (they must agree):
/// small buffers for speed; simulated AIO so no io_uring or memlock limit matters.
const INNODB_ARGS: &[&str] = &[
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--innodb-data-file-path=ibdata1:10M:autoextend",
    "--innodb-use-native-aio=OFF",
];

/// How long a server may take to accept connections.
const START_WITHIN: Duration = Duration::from_secs(60);
/// How many ports a first start tries when another process takes its port first.
const PORT_ATTEMPTS: usize = 5;

/// One `mariadbd` process in its own temporary directory; SIGKILLed when dropped.
pub struct MariaDbServer {
    server_id: u32,
    port: u16,
    /// The running process; behind a lock so that a test can kill and restart a server it also
    /// lends out (`&self`).
    child: Mutex<Option<Child>>,
    dir: tempfile::TempDir,
    /// Arguments added to the command line (TLS files, say), kept for restarts.
    extra_args: Vec<String>,
}

impl MariaDbServer {
    /// Starts a blank server with `server_id` (unique per server) and waits, polling against a
    /// deadline, until the admin account can log in. Panics with the log tail if it fails.
    pub async fn start(server_id: u32) -> MariaDbServer {
        Self::start_with_args(server_id, Vec::new()).await
    }

    /// Starts a blank server as `start` does, with `extra_args` added to its command line (e.g.
    /// `--ssl-cert=...`).
    pub async fn start_with_args(server_id: u32, extra_args: Vec<String>) -> MariaDbServer {
        let dir = tempfile::Builder::new().prefix("mariadb-").tempdir().expect("temporary directory");
        copy_dir(template(), &dir.path().join("data"));
        fs::create_dir(dir.path().join("tmp")).expect("tmp directory");
        for attempt in 1..=PORT_ATTEMPTS {
            let port = reserve_port();
            match launch(dir.path(), port, server_id, &extra_args).await {
                Ok(child) => return MariaDbServer { server_id, port, child: Mutex::new(Some(child)), dir, extra_args },
                Err(failure) if failure.port_taken && attempt < PORT_ATTEMPTS => continue,
                Err(failure) => panic!("mariadb server {server_id} did not start on port {port}: {}", failure.report),
            }
        }
        unreachable!("the last attempt panics")
    }

    /// Starts the server again after [`kill`](Self::kill) (or after it exited by itself), on the
    /// same data directory, port and config (InnoDB and binlog crash recovery run as after a real
    /// crash), and waits until the admin can log in.
    pub async fn restart(&self) {
        assert!(!self.is_running(), "mariadb server {} is still running", self.server_id);
        self.kill();
        let deadline = Instant::now() + START_WITHIN;
        loop {
            match launch(self.dir.path(), self.port, self.server_id, &self.extra_args).await {
                Ok(child) => {
                    *self.child() = Some(child);
                    return;
                }
                Err(failure) if failure.port_taken && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(failure) => panic!("mariadb server {} did not restart: {}", self.server_id, failure.report),
            }
        }
    }

    /// "127.0.0.1:PORT", the address shardkeeper is given for this server.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The loopback TCP port, also its `report_port`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `server_id` it was started with.
    pub fn server_id(&self) -> u32 {
        self.server_id
    }

    /// The process id, while it has not been killed.
    pub fn pid(&self) -> Option<u32> {
        self.child().as_ref().map(Child::id)
    }

    /// The admin account's name (see [`ADMIN_USER`]).
    pub fn admin_user(&self) -> &'static str {
        ADMIN_USER
    }

    /// The admin account's password (see [`ADMIN_PASSWORD`]).
    pub fn admin_password(&self) -> &'static str {
        ADMIN_PASSWORD
    }

    /// Whether the process is alive (a paused process is alive).
    pub fn is_running(&self) -> bool {
        self.child().as_mut().is_some_and(|child| child.try_wait().expect("wait on mariadbd").is_none())
    }

    /// Options to log in as the admin over TCP, for tests that handle errors or time limits.
    pub fn admin_opts(&self) -> Opts {
        self.opts(ADMIN_USER, ADMIN_PASSWORD, None)
    }

    /// Options to log in as the application account, database `app`, over TCP.
    pub fn app_opts(&self) -> Opts {
        self.opts(APP_USER, APP_PASSWORD, Some(APP_DATABASE))
    }

    /// A new admin connection; panics if it fails.
    pub async fn admin_conn(&self) -> Conn {
        let server_id = self.server_id;
        Conn::new(self.admin_opts()).await.unwrap_or_else(|error| panic!("admin login to server {server_id}: {error}"))
    }

    /// A new application connection (database `app`); panics if it fails.
    pub async fn app_conn(&self) -> Conn {
        let server_id = self.server_id;
        Conn::new(self.app_opts()).await.unwrap_or_else(|error| panic!("app login to server {server_id}: {error}"))
    }

    /// Runs `sql` (one or more statements) as the admin on a fresh connection; panics if it fails.
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.admin_conn().await;
        let outcome = conn.query_drop(sql).await;
        let _ = conn.disconnect().await;
        outcome.unwrap_or_else(|error| panic!("server {}: {sql}: {error}", self.server_id));
    }

    /// Runs query `sql` as the admin and answers its rows, each value as text (NULL as None);
    /// panics if the login or the query fails.
    pub async fn query_strings(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let outcome = self.try_query_strings(sql).await;
        outcome.unwrap_or_else(|error| panic!("server {}: {sql}: {error}", self.server_id))
    }

    /// The first column of the first row of query `sql` as the admin (None for no row or NULL);
    /// panics if the login or the query fails.
    pub async fn query_value(&self, sql: &str) -> Option<String> {
        first_value(self.query_strings(sql).await)
    }

    /// [`query_strings`](Self::query_strings) that answers a failed login or query instead of
    /// panicking: for polls whose query may fail for a while.
    pub async fn try_query_strings(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, mysql_async::Error> {
        let mut conn = Conn::new(self.admin_opts()).await?;
        let outcome = conn.query::<Row, _>(sql).await;
        let _ = conn.disconnect().await;
        Ok(outcome?.into_iter().map(|row| row.unwrap().into_iter().map(text).collect()).collect())
    }

    /// [`query_value`](Self::query_value) that answers a failed login or query instead of panicking.
    pub async fn try_query_value(&self, sql: &str) -> Result<Option<String>, mysql_async::Error> {
        Ok(first_value(self.try_query_strings(sql).await?))
    }

    /// SIGKILL, then reap: no chance to flush anything. Does nothing if it is not running.
    pub fn kill(&self) {
        if let Some(mut child) = self.child().take() {
            let _ = child.kill();
            child.wait().expect("reap mariadbd");
        }
    }

    /// SIGSTOP: the process stays alive and its port open, but nothing answers (a login hangs).
    /// Returns once every thread of the process is stopped: `kill` returns when the signal is
    /// queued, and a thread running on another CPU could otherwise still answer one more query.
    pub fn pause(&self) {
        self.signal("STOP");
        let pid = self.pid().unwrap_or_else(|| panic!("mariadb server {} is not running", self.server_id));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !every_thread_stopped(pid) {
            assert!(std::time::Instant::now() < deadline, "mariadb server {} did not stop within 5 s", self.server_id);
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// The last lines of the server's log (mariadbd's stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(self.dir.path(), 0)
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn signal(&self, name: &str) {
        let pid = self.pid().unwrap_or_else(|| panic!("mariadb server {} is not running", self.server_id));
        let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed: {status}");
    }

    fn opts(&self, user: &str, password: &str, database: Option<&str>) -> Opts {
        login_opts(self.port, user, password, database)
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `count` servers concurrently, with server ids `first_server_id`, `first_server_id + 1`...
pub async fn start_many(count: usize, first_server_id: u32) -> Vec<MariaDbServer> {
    let starts = (0..count as u32).map(|offset| MariaDbServer::start(first_server_id + offset));
    futures::future::join_all(starts).await
}

/// Why one launch of `mariadbd` failed: whether another process held its port, and a report
/// (what happened and the tail of the server's log).
struct Failure {
    port_taken: bool,
    report: String,
}

/// Spawns `mariadbd` on the data directory under `dir` and waits until the admin can log in.
async fn launch(dir: &Path, port: u16, server_id: u32, extra_args: &[String]) -> Result<Child, Failure> {
    let log_path = dir.join("mariadbd.log");
    let log = fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("mariadbd log");
    let log_start = log.metadata().expect("log metadata").len();
    let mut command = match find_program("setpriv") {
        // PR_SET_PDEATHSIG: the server dies with the spawning thread even if Drop never runs.
        Some(setpriv) => {
            let mut command = Command::new(setpriv);
            command.arg("--pdeathsig=KILL").arg("--").arg(mariadbd());
            command
        }
        None => Command::new(mariadbd()),
    };
    command.args(server_args(dir, port, server_id)).args(extra_args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    let mut child = command.spawn().expect("spawn mariadbd");
    let opts = login_opts(port, ADMIN_USER, ADMIN_PASSWORD, None);
    let deadline = Instant::now() + START_WITHIN;
    loop {
        if let Some(status) = child.try_wait().expect("wait on mariadbd") {
            let tail = log_tail(dir, log_start);
            let port_taken = tail.contains("Address already in use");
            return Err(Failure { port_taken, report: format!("mariadbd exited ({status}); its log:\n{tail}") });
        }
        if let Ok(Ok(conn)) = tokio::time::timeout(Duration::from_secs(2), Conn::new(opts.clone())).await {
            let _ = conn.disconnect().await;
            return Ok(child);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let tail = log_tail(dir, log_start);
            return Err(Failure {
                port_taken: false,
                report: format!("not ready within {START_WITHIN:?}; log:\n{tail}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Options to log in over TCP to 127.0.0.1:`port` (never through the socket, where the accounts
/// for `%` and 127.0.0.1 would not match).
fn login_opts(port: u16, user: &str, password: &str, database: Option<&str>) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .db_name(database)
        .prefer_socket(false)
        .into()
}

/// The command line of a server whose files live under `dir`.
fn server_args(dir: &Path, port: u16, server_id: u32) -> Vec<String> {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut args = vec![
        "--no-defaults".to_string(),
        "--user=root".to_string(),
        format!("--datadir={}", path("data")),
        format!("--tmpdir={}", path("tmp")),
        format!("--socket={}", path("mariadbd.sock")),
        format!("--pid-file={}", path("mariadbd.pid")),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_string(),
        "--skip-name-resolve".to_string(),
        format!("--server-id={server_id}"),
        "--log-bin=mariadb-bin".to_string(),
        "--relay-log=relay-bin".to_string(),
        "--log-slave-updates=ON".to_string(),
        "--binlog-format=ROW".to_string(),
        "--gtid-strict-mode=ON".to_string(),
        "--report-host=127.0.0.1".to_string(),
        format!("--report-port={port}"),
        "--read-only=OFF".to_string(),
        // Acknowledged commits survive SIGKILL.
        "--innodb-flush-log-at-trx-commit=1".to_string(),
        "--sync-binlog=1".to_string(),
    ];
    args.extend(INNODB_ARGS.iter().map(|arg| arg.to_string()));
    args
}

/// Whether every thread of process `pid` is in the stopped state (`T` in /proc/<pid>/task/*/stat).
fn every_thread_stopped(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.flatten().all(|task| {
        let stat = fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state follows the parenthesised command name, which may itself contain spaces.
        stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) == Some("T")
    })
}

/// The log written since byte `from`, its last 40 lines.
fn log_tail(dir: &Path, from: u64) -> String {
    let bytes = fs::read(dir.join("mariadbd.log")).unwrap_or_default();
    let since = String::from_utf8_lossy(bytes.get(from as usize..).unwrap_or_default()).into_owned();
    let lines: Vec<&str> = since.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A loopback port in 10000–19999 that was free a moment ago and that this process has not
/// handed out before (so concurrent starts and restarts never compete for one). The range is
/// below Linux's ephemeral ports (32768+): an outgoing connection (a replica's IO thread, a
/// pooled client) could otherwise hold a killed server's port as its local port for as long as
/// it lives, and the restart could never bind it. `harness::free_port` uses 20000–31999.
fn reserve_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let port = 10_000 + rand::random::<u16>() % 10_000;
        if !handed_out.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.insert(port);
            return port;
        }
    }
}

/// The template data directory: made once per process, or found in the cache from an earlier run.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(make_template)
}

/// Runs `mariadb-install-db` (with [`SETUP_SQL`]) into a staging directory and renames it into the
/// cache, unless a template for this server version and these settings is already there.
fn make_template() -> PathBuf {
    let version = Command::new(mariadbd()).arg("--version").output().expect("mariadbd --version").stdout;
    let key = fnv1a(&[&version, SETUP_SQL.as_bytes(), INNODB_ARGS.join(" ").as_bytes()]);
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mariadb-templates");
    let template = cache.join(format!("{key:016x}"));
    if template.is_dir() {
        return template;
    }
    fs::create_dir_all(&cache).expect("template cache directory");
    let staging = tempfile::Builder::new().prefix("staging-").tempdir_in(&cache).expect("staging directory");
    let setup = staging.path().join("setup.sql");
    fs::write(&setup, SETUP_SQL).expect("write setup.sql");
    let data = staging.path().join("data");
    let output = Command::new(find_program("mariadb-install-db").unwrap_or_else(|| missing("mariadb-install-db")))
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg("--user=root")
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg("--skip-name-resolve")
        .arg(format!("--extra-file={}", setup.display()))
        .args(INNODB_ARGS)
        .output()
        .expect("run mariadb-install-db");
    assert!(
        output.status.success(),
        "mariadb-install-db failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Another test process may have won the race; either template is as good.
    if fs::rename(&data, &template).is_err() && !template.is_dir() {
        panic!("could not move the template into {}", template.display());
    }
    template
}

/// Copies directory `from` into `to` (which must not exist), recursively.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap_or_else(|error| panic!("create {}: {error}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|error| panic!("read {}: {error}", from.display())) {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap_or_else(|error| panic!("copy to {}: {error}", target.display()));
        }
    }
}

/// The `mariadbd` binary.
fn mariadbd() -> PathBuf {
    static MARIADBD: OnceLock<PathBuf> = OnceLock::new();
    MARIADBD.get_or_init(|| find_program("mariadbd").unwrap_or_else(|| missing("mariadbd"))).clone()
}

/// `name` on PATH or in the directories Debian installs programs to (PATH often lacks /usr/sbin).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fixed = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"].map(PathBuf::from);
    std::env::split_paths(&path).chain(fixed).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

fn missing(name: &str) -> ! {
    panic!("{name} not found: run scripts/test.sh, which installs mariadb-server, or apt-get install mariadb-server")
}

/// The first column of the first row, if any.
fn first_value(rows: Vec<Vec<Option<String>>>) -> Option<String> {
    rows.into_iter().next().and_then(|row| row.into_iter().next().flatten())
}

/// A value of the text protocol as text; NULL as None.
fn text(value: Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::Int(number) => Some(number.to_string()),
        Value::UInt(number) => Some(number.to_string()),
        Value::Float(number) => Some(number.to_string()),
        Value::Double(number) => Some(number.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// FNV-1a over `parts`: a cache key that stays the same across Rust versions.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    parts
        .iter()
        .flat_map(|part| part.iter().chain(b"\0"))
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3))
}
