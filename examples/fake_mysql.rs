//! A fake MariaDB 10.11 fleet in one process: thousands of loopback listeners, each one a database
//! server that answers exactly what shardkeeper's `DbClient` sends on connect and per probe, so
//! that the probe path of one shardkeeper leader can be measured at 1,000–10,000 endpoints
//! without running real servers (`examples/probe_scale.rs`, `scripts/probe-scale.sh`).
//!
//! ```text
//! cargo run --release --example fake_mysql -- --host 127.0.0.77 --base-port 20000 --first 0 --count 5000
//! ```
//!
//! Endpoint `i` listens on `host:(base_port + i)`. Endpoints form shards of `--shard-size` (3):
//! the first of each group of three is the master (read_only=0, no replica status, source-side
//! semi-sync on), the two others are replicas replicating from it (read_only=1, one
//! `SHOW SLAVE STATUS` row with Slave_IO_Running=Yes, replica-side semi-sync on). The GTIDs are
//! the same on all three, so shardkeeper's analysis finds every shard `AllHealthy` and plans no
//! repair. The shard layout only depends on the global index, so several processes can each host
//! one range of the same fleet (`--first`, `--count`): one process needs two descriptors per
//! endpoint (listener + connection), and the hard RLIMIT_NOFILE may be below 2 × 10,000.
//!
//! The MySQL protocol is implemented here, minimally, rather than with the `opensrv-mysql` crate:
//! that crate depends on `mysql_common` 0.32 with every default feature (zstd and zlib C builds,
//! bindgen, cmake, bigdecimal, frunk, time...: about 50 more crates), which as a dev-dependency
//! every `cargo test` of the project would compile. What is implemented: the v10 handshake with
//! `mysql_native_password` (any user, any password is accepted), `CLIENT_DEPRECATE_EOF` text
//! result sets, `COM_QUERY`, `COM_PING`, `COM_QUIT`; every other command answers an error. Result
//! packets are built once at start-up, so a probe costs the fake one small write. Multi-statement
//! queries are understood only in the form shardkeeper's probe uses.
//!
//! Statements answered: `SELECT @@version, @@session.sql_mode` (connect), the probe
//! (`SELECT @@global.version, @@global.server_id, ...`), alone or followed by `; SHOW SLAVE STATUS`
//! in one query (two result sets: what shardkeeper sends), `SHOW SLAVE STATUS`,
//! `SELECT @@global.gtid_binlog_state, @@global.gtid_slave_pos`. Anything else (a repair would
//! be: `SET GLOBAL ...`, `CHANGE MASTER ...`) answers OK, is counted as `other` and its first
//! occurrences are logged to stderr: a healthy benchmark run shows `other=0`.
//!
//! Every `--stats-every` seconds (default 1) one line goes to stdout:
//! `stats t_ms=.. open=.. accepted=.. connect=.. probe=.. slave_status=.. gtid=.. ping=.. other=..`
//! (counters are cumulative). `ready first=.. count=..` is printed once every listener is bound.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What `SELECT @@version` answers; the handshake carries the `5.5.5-` prefix as MariaDB does.
const VERSION: &str = "10.11.6-MariaDB-0+deb12u1-log";
/// MariaDB 10.11's default `sql_mode`.
const SQL_MODE: &str = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION";
/// The 20-byte scramble of every handshake (no NUL byte in it).
const SCRAMBLE: &[u8; 20] = b"fake-mysql-scramble!";

// Capability flags (Protocol::CapabilityFlags).
const CLIENT_LONG_PASSWORD: u32 = 0x1;
const CLIENT_FOUND_ROWS: u32 = 0x2;
const CLIENT_LONG_FLAG: u32 = 0x4;
const CLIENT_CONNECT_WITH_DB: u32 = 0x8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_MULTI_RESULTS: u32 = 0x2_0000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;
const CLIENT_CONNECT_ATTRS: u32 = 0x10_0000;
const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 0x20_0000;
const CLIENT_DEPRECATE_EOF: u32 = 0x100_0000;
const SERVER_CAPABILITIES: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_FOUND_ROWS
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_DEPRECATE_EOF;
/// SERVER_STATUS_AUTOCOMMIT.
const STATUS_FLAGS: u16 = 0x0002;
/// Status flag: another result set of the same query follows.
const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

// Column types.
const TYPE_LONGLONG: u8 = 0x08;
const TYPE_VAR_STRING: u8 = 0xfd;

// Commands.
const COM_QUIT: u8 = 0x01;
const COM_INIT_DB: u8 = 0x02;
const COM_QUERY: u8 = 0x03;
const COM_PING: u8 = 0x0e;

/// The columns of MariaDB 10.11's `SHOW SLAVE STATUS`, in order, with their wire types.
const SLAVE_STATUS_COLUMNS: &[(&str, u8)] = &[
    ("Slave_IO_State", TYPE_VAR_STRING),
    ("Master_Host", TYPE_VAR_STRING),
    ("Master_User", TYPE_VAR_STRING),
    ("Master_Port", TYPE_LONGLONG),
    ("Connect_Retry", TYPE_LONGLONG),
    ("Master_Log_File", TYPE_VAR_STRING),
    ("Read_Master_Log_Pos", TYPE_LONGLONG),
    ("Relay_Log_File", TYPE_VAR_STRING),
    ("Relay_Log_Pos", TYPE_LONGLONG),
    ("Relay_Master_Log_File", TYPE_VAR_STRING),
    ("Slave_IO_Running", TYPE_VAR_STRING),
    ("Slave_SQL_Running", TYPE_VAR_STRING),
    ("Replicate_Do_DB", TYPE_VAR_STRING),
    ("Replicate_Ignore_DB", TYPE_VAR_STRING),
    ("Replicate_Do_Table", TYPE_VAR_STRING),
    ("Replicate_Ignore_Table", TYPE_VAR_STRING),
    ("Replicate_Wild_Do_Table", TYPE_VAR_STRING),
    ("Replicate_Wild_Ignore_Table", TYPE_VAR_STRING),
    ("Last_Errno", TYPE_LONGLONG),
    ("Last_Error", TYPE_VAR_STRING),
    ("Skip_Counter", TYPE_LONGLONG),
    ("Exec_Master_Log_Pos", TYPE_LONGLONG),
    ("Relay_Log_Space", TYPE_LONGLONG),
    ("Until_Condition", TYPE_VAR_STRING),
    ("Until_Log_File", TYPE_VAR_STRING),
    ("Until_Log_Pos", TYPE_LONGLONG),
    ("Master_SSL_Allowed", TYPE_VAR_STRING),
    ("Master_SSL_CA_File", TYPE_VAR_STRING),
    ("Master_SSL_CA_Path", TYPE_VAR_STRING),
    ("Master_SSL_Cert", TYPE_VAR_STRING),
    ("Master_SSL_Cipher", TYPE_VAR_STRING),
    ("Master_SSL_Key", TYPE_VAR_STRING),
    ("Seconds_Behind_Master", TYPE_LONGLONG),
    ("Master_SSL_Verify_Server_Cert", TYPE_VAR_STRING),
    ("Last_IO_Errno", TYPE_LONGLONG),
    ("Last_IO_Error", TYPE_VAR_STRING),
    ("Last_SQL_Errno", TYPE_LONGLONG),
    ("Last_SQL_Error", TYPE_VAR_STRING),
    ("Replicate_Ignore_Server_Ids", TYPE_VAR_STRING),
    ("Master_Server_Id", TYPE_LONGLONG),
    ("Master_SSL_Crl", TYPE_VAR_STRING),
    ("Master_SSL_Crlpath", TYPE_VAR_STRING),
    ("Using_Gtid", TYPE_VAR_STRING),
    ("Gtid_IO_Pos", TYPE_VAR_STRING),
    ("Replicate_Do_Domain_Ids", TYPE_VAR_STRING),
    ("Replicate_Ignore_Domain_Ids", TYPE_VAR_STRING),
    ("Parallel_Mode", TYPE_VAR_STRING),
    ("SQL_Delay", TYPE_LONGLONG),
    ("SQL_Remaining_Delay", TYPE_LONGLONG),
    ("Slave_SQL_Running_State", TYPE_VAR_STRING),
    ("Slave_DDL_Groups", TYPE_LONGLONG),
    ("Slave_Non_Transactional_Groups", TYPE_LONGLONG),
    ("Slave_Transactional_Groups", TYPE_LONGLONG),
    ("Replicate_Rewrite_DB", TYPE_VAR_STRING),
];

/// The sequence number that `SHOW SLAVE STATUS` starts at when it follows the probe in one
/// multi-statement answer: the probe took its count packet, its column definitions, one row and
/// its terminator.
const SLAVE_STATUS_AFTER_PROBE_SEQ: u8 = PROBE_COLUMNS.len() as u8 + 4;

/// The probe's columns (see `dialect::probe`): names as MariaDB would show the expressions.
const PROBE_COLUMNS: &[(&str, u8)] = &[
    ("@@global.version", TYPE_VAR_STRING),
    ("@@global.server_id", TYPE_LONGLONG),
    ("@@global.read_only", TYPE_LONGLONG),
    ("@@global.log_bin", TYPE_LONGLONG),
    ("@@global.log_slave_updates", TYPE_LONGLONG),
    ("@@global.gtid_binlog_state", TYPE_VAR_STRING),
    ("@@global.gtid_slave_pos", TYPE_VAR_STRING),
    ("@@global.rpl_semi_sync_master_enabled", TYPE_LONGLONG),
    ("@@global.rpl_semi_sync_slave_enabled", TYPE_LONGLONG),
    ("(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'Rpl_semi_sync_master_status')", TYPE_VAR_STRING),
    ("(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ...)", TYPE_LONGLONG),
    ("NULL", TYPE_VAR_STRING),
];

const CONNECT_COLUMNS: &[(&str, u8)] = &[("@@version", TYPE_VAR_STRING), ("@@session.sql_mode", TYPE_VAR_STRING)];
const GTID_COLUMNS: &[(&str, u8)] =
    &[("@@global.gtid_binlog_state", TYPE_VAR_STRING), ("@@global.gtid_slave_pos", TYPE_VAR_STRING)];

struct Args {
    host: String,
    base_port: u16,
    first: u32,
    count: u32,
    shard_size: u32,
    stats_every: Duration,
    threads: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        host: "127.0.0.77".to_string(),
        base_port: 20_000,
        first: 0,
        count: 1_000,
        shard_size: 3,
        stats_every: Duration::from_secs(1),
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--host" => args.host = value(),
            "--base-port" => args.base_port = number(&flag, &value()),
            "--first" => args.first = number(&flag, &value()),
            "--count" => args.count = number(&flag, &value()),
            "--shard-size" => args.shard_size = number::<u32>(&flag, &value()).max(1),
            "--stats-every" => args.stats_every = Duration::from_secs_f64(number(&flag, &value())),
            "--threads" => args.threads = number::<usize>(&flag, &value()).max(1),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if u32::from(args.base_port) + args.first + args.count > 65_536 {
        usage("base port + first + count exceeds 65535");
    }
    args
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> T {
    text.parse().unwrap_or_else(|_| usage(&format!("{flag}: not a number: {text}")))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("fake_mysql: {problem}");
    }
    eprintln!(
        "usage: fake_mysql [--host 127.0.0.77] [--base-port 20000] [--first 0] [--count 1000] \
         [--shard-size 3] [--stats-every 1] [--threads 1]"
    );
    std::process::exit(2);
}

/// Appends one packet (header with `seq`, then `payload`).
fn packet(out: &mut Vec<u8>, seq: u8, payload: &[u8]) {
    let len = payload.len();
    assert!(len < 0xff_ffff, "packet too large");
    out.extend_from_slice(&[len as u8, (len >> 8) as u8, (len >> 16) as u8, seq]);
    out.extend_from_slice(payload);
}

fn lenenc_int(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=250 => out.push(value as u8),
        251..=0xffff => {
            out.push(0xfc);
            out.extend_from_slice(&(value as u16).to_le_bytes());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0xfd);
            out.extend_from_slice(&(value as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

fn lenenc_str(out: &mut Vec<u8>, text: &[u8]) {
    lenenc_int(out, text.len() as u64);
    out.extend_from_slice(text);
}

/// OK packet payload (`header` 0x00, or 0xfe for the end of a result set with DEPRECATE_EOF).
fn ok_payload(header: u8, status_flags: u16) -> Vec<u8> {
    let mut payload = vec![header, 0, 0];
    payload.extend_from_slice(&status_flags.to_le_bytes());
    payload.extend_from_slice(&0u16.to_le_bytes());
    payload
}

fn error_payload(code: u16, state: &str, message: &str) -> Vec<u8> {
    let mut payload = vec![0xff];
    payload.extend_from_slice(&code.to_le_bytes());
    payload.push(b'#');
    payload.extend_from_slice(state.as_bytes());
    payload.extend_from_slice(message.as_bytes());
    payload
}

/// The result-set header: column count and column definitions, sequence numbers from
/// `first_seq` (1 for a query's first result set; a later one continues the numbering).
fn result_header(columns: &[(&str, u8)], first_seq: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut count = Vec::new();
    lenenc_int(&mut count, columns.len() as u64);
    packet(&mut out, first_seq, &count);
    for (index, (name, kind)) in columns.iter().enumerate() {
        let mut def = Vec::new();
        lenenc_str(&mut def, b"def");
        lenenc_str(&mut def, b"");
        lenenc_str(&mut def, b"");
        lenenc_str(&mut def, b"");
        lenenc_str(&mut def, name.as_bytes());
        lenenc_str(&mut def, b"");
        def.push(0x0c);
        let (charset, length, flags): (u16, u32, u16) =
            if *kind == TYPE_LONGLONG { (63, 21, 0x0080 /* BINARY */) } else { (33, 1024, 0) };
        def.extend_from_slice(&charset.to_le_bytes());
        def.extend_from_slice(&length.to_le_bytes());
        def.push(*kind);
        def.extend_from_slice(&flags.to_le_bytes());
        def.push(0);
        def.extend_from_slice(&[0, 0]);
        packet(&mut out, first_seq.wrapping_add(index as u8 + 1), &def);
    }
    out
}

/// A complete result set: the shared header, the rows, the terminator.
struct ResultSet {
    header: Arc<Vec<u8>>,
    body: Vec<u8>,
}

impl ResultSet {
    /// `header` made by `result_header(columns, first_seq)`; `more_results`: another result set
    /// of the same query follows (SERVER_MORE_RESULTS_EXISTS in the terminator).
    fn new(
        header: &Arc<Vec<u8>>,
        first_seq: u8,
        columns: usize,
        rows: &[Vec<Option<String>>],
        more_results: bool,
    ) -> ResultSet {
        let mut body = Vec::new();
        let mut seq = first_seq.wrapping_add(columns as u8 + 1);
        for row in rows {
            assert_eq!(row.len(), columns);
            let mut payload = Vec::new();
            for value in row {
                match value {
                    None => payload.push(0xfb),
                    Some(text) => lenenc_str(&mut payload, text.as_bytes()),
                }
            }
            packet(&mut body, seq, &payload);
            seq = seq.wrapping_add(1);
        }
        let flags = if more_results { STATUS_FLAGS | SERVER_MORE_RESULTS_EXISTS } else { STATUS_FLAGS };
        packet(&mut body, seq, &ok_payload(0xfe, flags));
        ResultSet { header: header.clone(), body }
    }

    fn write_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&self.body);
    }
}

/// The answers of one endpoint.
struct Endpoint {
    connect: ResultSet,
    probe: ResultSet,
    slave_status: ResultSet,
    /// The answer to the probe sent as one multi-statement query with `SHOW SLAVE STATUS`.
    probe_and_slave_status: (ResultSet, ResultSet),
    gtid: ResultSet,
}

/// Shared result-set headers.
struct Headers {
    connect: Arc<Vec<u8>>,
    probe: Arc<Vec<u8>>,
    slave_status: Arc<Vec<u8>>,
    /// `SHOW SLAVE STATUS` as the second result set after the probe's.
    slave_status_after_probe: Arc<Vec<u8>>,
    gtid: Arc<Vec<u8>>,
}

fn text(value: impl ToString) -> Option<String> {
    Some(value.to_string())
}

impl Endpoint {
    /// The endpoint with global index `index` on `host:port`.
    fn new(headers: &Headers, host: &str, base_port: u16, index: u32, shard_size: u32) -> Endpoint {
        let shard = index / shard_size;
        let master_index = shard * shard_size;
        let is_master = index == master_index;
        let server_id = index + 1;
        let master_server_id = master_index + 1;
        // Everything the shard ever wrote came from its master; all members hold all of it.
        let gtids = format!("0-{master_server_id}-{}", 1_000 + u64::from(shard) % 100_000);
        let (read_only, slave_pos, source_enabled, replica_enabled, source_status, clients) = if is_master {
            (0, String::new(), 1, 0, "ON", 12)
        } else {
            (1, gtids.clone(), 0, 1, "OFF", 0)
        };
        let probe_row = vec![
            text(VERSION),
            text(server_id),
            text(read_only),
            text(1),
            text(1),
            text(&gtids),
            text(&slave_pos),
            text(source_enabled),
            text(replica_enabled),
            text(source_status),
            text(clients),
            None,
        ];
        let slave_rows = if is_master {
            Vec::new()
        } else {
            let master_port = u32::from(base_port) + master_index;
            let columns: Vec<Option<String>> = SLAVE_STATUS_COLUMNS
                .iter()
                .map(|(name, _)| match *name {
                    "Slave_IO_State" => text("Waiting for master to send event"),
                    "Master_Host" => text(host),
                    "Master_User" => text("repl"),
                    "Master_Port" => text(master_port),
                    "Connect_Retry" => text(1),
                    "Master_Log_File" | "Relay_Master_Log_File" => text("mysql-bin.000002"),
                    "Read_Master_Log_Pos" | "Exec_Master_Log_Pos" => text(342),
                    "Relay_Log_File" => text(format!("replica{server_id}-relay-bin.000003")),
                    "Relay_Log_Pos" => text(641),
                    "Slave_IO_Running" | "Slave_SQL_Running" => text("Yes"),
                    "Last_Errno" | "Skip_Counter" | "Until_Log_Pos" | "Last_IO_Errno" | "Last_SQL_Errno"
                    | "SQL_Delay" | "Seconds_Behind_Master" | "Slave_Non_Transactional_Groups" => text(0),
                    "Relay_Log_Space" => text(2383),
                    "Until_Condition" => text("None"),
                    "Master_SSL_Allowed" | "Master_SSL_Verify_Server_Cert" => text("No"),
                    "Master_Server_Id" => text(master_server_id),
                    "Using_Gtid" => text("Slave_Pos"),
                    "Gtid_IO_Pos" => text(&gtids),
                    "Parallel_Mode" => text("optimistic"),
                    "SQL_Remaining_Delay" => None,
                    "Slave_SQL_Running_State" => text("Slave has read all relay log; waiting for more updates"),
                    "Slave_DDL_Groups" => text(7),
                    "Slave_Transactional_Groups" => text(1),
                    _ => text(""),
                })
                .collect();
            vec![columns]
        };
        let probe_rows = [probe_row];
        Endpoint {
            connect: ResultSet::new(&headers.connect, 1, CONNECT_COLUMNS.len(), &[vec![text(VERSION), text(SQL_MODE)]], false),
            probe: ResultSet::new(&headers.probe, 1, PROBE_COLUMNS.len(), &probe_rows, false),
            slave_status: ResultSet::new(&headers.slave_status, 1, SLAVE_STATUS_COLUMNS.len(), &slave_rows, false),
            probe_and_slave_status: (
                ResultSet::new(&headers.probe, 1, PROBE_COLUMNS.len(), &probe_rows, true),
                ResultSet::new(
                    &headers.slave_status_after_probe,
                    SLAVE_STATUS_AFTER_PROBE_SEQ,
                    SLAVE_STATUS_COLUMNS.len(),
                    &slave_rows,
                    false,
                ),
            ),
            gtid: ResultSet::new(&headers.gtid, 1, GTID_COLUMNS.len(), &[vec![text(&gtids), text(&slave_pos)]], false),
        }
    }
}

#[derive(Default)]
struct Stats {
    open: AtomicU64,
    accepted: AtomicU64,
    connect: AtomicU64,
    probe: AtomicU64,
    slave_status: AtomicU64,
    gtid: AtomicU64,
    ping: AtomicU64,
    other: AtomicU64,
    /// Distinct statements counted as `other`, logged once each (up to 50).
    logged: Mutex<HashSet<String>>,
}

fn main() {
    let args = parse_args();
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
    }
    .expect("tokio runtime");
    runtime.block_on(serve(args));
}

async fn serve(args: Args) {
    let headers = Headers {
        connect: Arc::new(result_header(CONNECT_COLUMNS, 1)),
        probe: Arc::new(result_header(PROBE_COLUMNS, 1)),
        slave_status: Arc::new(result_header(SLAVE_STATUS_COLUMNS, 1)),
        slave_status_after_probe: Arc::new(result_header(SLAVE_STATUS_COLUMNS, SLAVE_STATUS_AFTER_PROBE_SEQ)),
        gtid: Arc::new(result_header(GTID_COLUMNS, 1)),
    };
    let stats = Arc::new(Stats::default());
    let connection_ids = Arc::new(AtomicU64::new(u64::from(args.first) * 1_000 + 100));
    let mut listeners = Vec::with_capacity(args.count as usize);
    for index in args.first..args.first + args.count {
        let port = (u32::from(args.base_port) + index) as u16;
        let addr: SocketAddr = format!("{}:{port}", args.host).parse().unwrap_or_else(|_| usage("bad --host"));
        let listener = match TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("fake_mysql: cannot listen on {addr}: {error} (is RLIMIT_NOFILE high enough? `ulimit -n`)");
                std::process::exit(1);
            }
        };
        let endpoint = Arc::new(Endpoint::new(&headers, &args.host, args.base_port, index, args.shard_size));
        listeners.push((listener, endpoint));
    }
    for (listener, endpoint) in listeners {
        tokio::spawn(accept_loop(listener, endpoint, stats.clone(), connection_ids.clone()));
    }
    println!("ready first={} count={}", args.first, args.count);
    let started = Instant::now();
    let mut ticker = tokio::time::interval(args.stats_every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        println!(
            "stats t_ms={} open={} accepted={} connect={} probe={} slave_status={} gtid={} ping={} other={}",
            started.elapsed().as_millis(),
            load(&stats.open),
            load(&stats.accepted),
            load(&stats.connect),
            load(&stats.probe),
            load(&stats.slave_status),
            load(&stats.gtid),
            load(&stats.ping),
            load(&stats.other),
        );
    }
}

async fn accept_loop(listener: TcpListener, endpoint: Arc<Endpoint>, stats: Arc<Stats>, ids: Arc<AtomicU64>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                stats.accepted.fetch_add(1, Ordering::Relaxed);
                let id = ids.fetch_add(1, Ordering::Relaxed) as u32;
                let (endpoint, stats) = (endpoint.clone(), stats.clone());
                tokio::spawn(async move {
                    stats.open.fetch_add(1, Ordering::Relaxed);
                    let _ = session(stream, &endpoint, &stats, id).await;
                    stats.open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Err(error) => {
                // Out of descriptors, most likely: say so once in a while and keep going.
                eprintln!("fake_mysql: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one packet into `buf`; answers its sequence number, `None` at end of stream.
async fn read_packet<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<u8>> {
    let mut header = [0u8; 4];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    buf.clear();
    buf.resize(len, 0);
    reader.read_exact(buf).await?;
    Ok(Some(header[3]))
}

fn handshake(connection_id: u32) -> Vec<u8> {
    let mut payload = vec![10];
    payload.extend_from_slice(format!("5.5.5-{VERSION}").as_bytes());
    payload.push(0);
    payload.extend_from_slice(&connection_id.to_le_bytes());
    payload.extend_from_slice(&SCRAMBLE[..8]);
    payload.push(0);
    payload.extend_from_slice(&(SERVER_CAPABILITIES as u16).to_le_bytes());
    payload.push(45); // utf8mb4_general_ci
    payload.extend_from_slice(&STATUS_FLAGS.to_le_bytes());
    payload.extend_from_slice(&((SERVER_CAPABILITIES >> 16) as u16).to_le_bytes());
    payload.push(21); // length of the scramble with its terminator
    payload.extend_from_slice(&[0; 10]);
    payload.extend_from_slice(&SCRAMBLE[8..]);
    payload.push(0);
    payload.extend_from_slice(b"mysql_native_password");
    payload.push(0);
    let mut out = Vec::new();
    packet(&mut out, 0, &payload);
    out
}

async fn session(mut stream: TcpStream, endpoint: &Endpoint, stats: &Stats, connection_id: u32) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::with_capacity(2048, reader);
    let mut buf = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(4096);
    writer.write_all(&handshake(connection_id)).await?;
    // The handshake response: any user, any password.
    let Some(seq) = read_packet(&mut reader, &mut buf).await? else { return Ok(()) };
    out.clear();
    packet(&mut out, seq.wrapping_add(1), &ok_payload(0x00, STATUS_FLAGS));
    writer.write_all(&out).await?;
    while let Some(_seq) = read_packet(&mut reader, &mut buf).await? {
        out.clear();
        let Some((&command, body)) = buf.split_first() else { return Ok(()) };
        match command {
            COM_QUIT => return Ok(()),
            COM_PING | COM_INIT_DB => {
                stats.ping.fetch_add(1, Ordering::Relaxed);
                packet(&mut out, 1, &ok_payload(0x00, STATUS_FLAGS));
            }
            COM_QUERY => answer_query(body, endpoint, stats, &mut out),
            other => {
                stats.other.fetch_add(1, Ordering::Relaxed);
                let message = format!("command 0x{other:02x} is not supported by fake_mysql");
                packet(&mut out, 1, &error_payload(1047, "08S01", &message));
            }
        }
        writer.write_all(&out).await?;
    }
    Ok(())
}

fn answer_query(sql: &[u8], endpoint: &Endpoint, stats: &Stats, out: &mut Vec<u8>) {
    let starts = |prefix: &[u8]| sql.len() >= prefix.len() && sql[..prefix.len()].eq_ignore_ascii_case(prefix);
    if starts(b"SELECT @@global.version, @@global.server_id") && sql.ends_with(b"; SHOW SLAVE STATUS") {
        stats.probe.fetch_add(1, Ordering::Relaxed);
        stats.slave_status.fetch_add(1, Ordering::Relaxed);
        let (probe, slave_status) = &endpoint.probe_and_slave_status;
        probe.write_into(out);
        slave_status.write_into(out);
    } else if starts(b"SELECT @@global.version, @@global.server_id") {
        stats.probe.fetch_add(1, Ordering::Relaxed);
        endpoint.probe.write_into(out);
    } else if starts(b"SHOW SLAVE STATUS") {
        stats.slave_status.fetch_add(1, Ordering::Relaxed);
        endpoint.slave_status.write_into(out);
    } else if starts(b"SELECT @@version, @@session.sql_mode") {
        stats.connect.fetch_add(1, Ordering::Relaxed);
        endpoint.connect.write_into(out);
    } else if starts(b"SELECT @@global.gtid_binlog_state, @@global.gtid_slave_pos") {
        stats.gtid.fetch_add(1, Ordering::Relaxed);
        endpoint.gtid.write_into(out);
    } else {
        stats.other.fetch_add(1, Ordering::Relaxed);
        let statement = String::from_utf8_lossy(sql).chars().take(200).collect::<String>();
        let mut logged = stats.logged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if logged.len() < 50 && logged.insert(statement.clone()) {
            eprintln!("fake_mysql: unexpected statement answered OK: {statement}");
        }
        packet(out, 1, &ok_payload(0x00, STATUS_FLAGS));
    }
}
