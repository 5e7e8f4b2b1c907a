//! Runs sysbench (Debian's package) against one `host:port` and reads its figures.

use std::process::Command;

/// What one sysbench run measured.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    pub transactions_per_second: f64,
    pub p95_ms: f64,
    pub errors: u64,
}

/// The common options: MySQL driver, the admin account (sysbench's prepare needs DROP and INDEX),
/// database `app`, four tables.
fn base_args(port: u16, user: &str, password: &str, table_size: u64) -> Vec<String> {
    vec![
        "--db-driver=mysql".into(),
        "--mysql-host=127.0.0.1".into(),
        format!("--mysql-port={port}"),
        format!("--mysql-user={user}"),
        format!("--mysql-password={password}"),
        "--mysql-db=app".into(),
        "--mysql-ssl=off".into(),
        "--tables=4".into(),
        format!("--table-size={table_size}"),
    ]
}

/// `sysbench oltp_read_write prepare` (the tables every OLTP test uses).
pub fn prepare(port: u16, user: &str, password: &str, table_size: u64) {
    let mut args = vec!["oltp_read_write".to_string()];
    args.extend(base_args(port, user, password, table_size));
    args.push("prepare".into());
    let output = Command::new("sysbench").args(&args).output().expect("run sysbench (apt-get install sysbench)");
    assert!(output.status.success(), "sysbench prepare failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// One timed run of `test` (oltp_point_select, oltp_read_write, ...) with `threads` clients.
pub fn run(test: &str, port: u16, user: &str, password: &str, table_size: u64, threads: u32, seconds: u32) -> Figures {
    let mut args = vec![test.to_string()];
    args.extend(base_args(port, user, password, table_size));
    args.extend([
        format!("--threads={threads}"),
        format!("--time={seconds}"),
        "--percentile=95".into(),
        "--rand-type=uniform".into(),
        "run".into(),
    ]);
    let output = Command::new("sysbench").args(&args).output().expect("run sysbench");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "sysbench {test} on port {port} failed:\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    parse(&text).unwrap_or_else(|| panic!("unreadable sysbench output:\n{text}"))
}

/// Reads `transactions: N (X per sec.)`, `95th percentile: Y` and `ignored errors: N`.
fn parse(text: &str) -> Option<Figures> {
    let field = |label: &str| text.lines().find_map(|line| line.trim().strip_prefix(label).map(str::trim));
    let transactions = field("transactions:")?;
    let per_second = transactions.split('(').nth(1)?.split_whitespace().next()?.parse().ok()?;
    let p95_ms = field("95th percentile:")?.parse().ok()?;
    let errors = field("ignored errors:").and_then(|value| value.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    Some(Figures { transactions_per_second: per_second, p95_ms, errors })
}
