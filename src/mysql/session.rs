//! `Session`: one open `mysql_async` connection with its detected flavor, and the low-level,
//! time-bounded ways to run statements on it. Owns the connection options (TCP only, no pool, no
//! settings queries on connect), the timeouts around every network step, the conversion of
//! driver values to text and the closing of abandoned connections. What to run lives in `ops`.

use std::future::Future;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Params, Row, Value};

use crate::mysql::dialect::{self, SqlWithSecret};
use crate::mysql::status::StatusRow;
use crate::mysql::{DbEndpoint, DbError, DbTimeouts, DbTls, Flavor, ER_UNKNOWN_SYSTEM_VARIABLE};

/// How long a discarded connection gets to say goodbye before its socket is just closed.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Large enough for any status answer; no settings query at connect time.
const MAX_ALLOWED_PACKET: usize = 16 * 1024 * 1024;
/// Client-side idea of the server's idle timeout (the server's own default); no settings query.
const WAIT_TIMEOUT_SECS: usize = 28_800;

pub(crate) struct Session {
    conn: Conn,
    pub(crate) flavor: Flavor,
    pub(crate) addr: String,
    query_timeout: Duration,
    stop_replication_timeout: Duration,
    /// The probe statement last built for this session, with the session id it spares.
    pub(crate) probe_sql: Option<(Option<u32>, String)>,
    /// A call was running on it and never finished (its future was dropped): the protocol
    /// state is unknown, so the session must not be reused.
    pub(crate) interrupted: bool,
}

/// Splits `host:port` (`[v6]:port`; a bare host means port 3306).
pub(crate) fn split_addr(addr: &str) -> Result<(String, u16), DbError> {
    let bad = || DbError::Unreachable {
        addr: addr.to_string(),
        message: "invalid address".into(),
    };
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match addr.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => return Err(bad()),
            Some((host, port)) => (host, Some(port)),
            None => (addr, None),
        }
    };
    let port = match port {
        None => 3306,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// Opens a connection; none when it took longer than the connect timeout.
async fn connect(timeouts: &DbTimeouts, opts: OptsBuilder) -> Option<Result<Conn, mysql_async::Error>> {
    tokio::time::timeout(timeouts.connect, Conn::new(opts)).await.ok()
}

/// True when the connection failed because TLS was asked for and the server does not offer it.
fn offers_no_tls(error: &mysql_async::Error) -> bool {
    matches!(error, mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer))
}

/// A driver value as text (`None` for NULL), the way the text protocol would have sent it.
pub(crate) fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        Value::Date(y, mo, d, h, mi, s, us) => Some(format!(
            "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
        )),
        Value::Time(neg, days, h, mi, s, us) => Some(format!(
            "{}{}:{mi:02}:{s:02}.{us:06}",
            if *neg { "-" } else { "" },
            u64::from(*days) * 24 + u64::from(*h)
        )),
    }
}

/// The values of a row, in column order.
pub(crate) fn row_values(row: &Row) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| row.as_ref(i).and_then(value_text))
        .collect()
}

/// A row as column name → value, for the columns `keep` accepts.
pub(crate) fn row_map(row: &Row, keep: impl Fn(&str) -> bool) -> StatusRow {
    row.columns_ref()
        .iter()
        .enumerate()
        .filter(|(_, c)| keep(&c.name_str()))
        .map(|(i, c)| {
            (
                c.name_str().into_owned(),
                row.as_ref(i).and_then(value_text),
            )
        })
        .collect()
}

impl Session {
    /// Connects (over TLS as `tls` says), logs in and detects the flavor, each step bounded.
    pub(crate) async fn open(
        endpoint: &DbEndpoint,
        timeouts: &DbTimeouts,
        tls: &DbTls,
    ) -> Result<Session, DbError> {
        let addr = endpoint.addr.clone();
        let (host, port) = split_addr(&addr)?;
        let opts = OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(Some(endpoint.user.clone()))
            .pass(Some(endpoint.password.expose().to_string()))
            .prefer_socket(false)
            .tcp_nodelay(true)
            .max_allowed_packet(Some(MAX_ALLOWED_PACKET))
            .wait_timeout(Some(WAIT_TIMEOUT_SECS))
            .stmt_cache_size(Some(8))
            .connect_attribute("program_name", "shardkeeper");
        let secret = Some(endpoint.password.expose());
        let timed_out = || DbError::Timeout { addr: addr.clone(), op: "connect".into(), after: timeouts.connect };
        let first = connect(timeouts, opts.clone().ssl_opts(tls.ssl_opts().cloned())).await.ok_or_else(timed_out)?;
        let conn = match first {
            Err(error) if offers_no_tls(&error) && tls.is_required() => {
                return Err(DbError::Unreachable {
                    addr,
                    message: "the server does not offer TLS and [fleet.tls] require is set: refusing plain text".into(),
                });
            }
            Err(error) if offers_no_tls(&error) => {
                tracing::warn!(%addr, "database server does not offer TLS; connecting in plain text");
                connect(timeouts, opts).await.ok_or_else(timed_out)?
            }
            other => other,
        }
        .map_err(|error| DbError::from_driver(&addr, "connect", true, error, secret))?;
        let mut session = Session {
            interrupted: false,
            probe_sql: None,
            conn,
            flavor: Flavor::MySql84,
            addr,
            query_timeout: timeouts.query,
            stop_replication_timeout: timeouts.stop_replication,
        };
        match session.setup().await {
            Ok(()) => {
                tracing::debug!(addr = %session.addr, flavor = %session.flavor, "database session opened");
                Ok(session)
            }
            Err(e) => {
                session.close();
                Err(e)
            }
        }
    }

    /// Detects the flavor and makes sure backslash escapes work in this session.
    async fn setup(&mut self) -> Result<(), DbError> {
        let row = self
            .first_row("connect", dialect::CONNECT_SQL)
            .await?
            .unwrap_or_default();
        let version = row.first().cloned().flatten().unwrap_or_default();
        self.flavor = Flavor::from_version(&version);
        let sql_mode = row.get(1).cloned().flatten().unwrap_or_default();
        if let Some(fix) = dialect::fix_sql_mode(&sql_mode) {
            self.execute_as("connect", &fix).await?;
        }
        Ok(())
    }

    /// The server-side id of this session (`CONNECTION_ID()`).
    pub(crate) fn id(&self) -> u32 {
        self.conn.id()
    }

    /// Closes the connection in the background, giving the server a moment to hear about it.
    pub(crate) fn close(self) {
        let conn = self.conn;
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    let _ = tokio::time::timeout(CLOSE_GRACE, conn.disconnect()).await;
                });
            }
            Err(_) => drop(conn),
        }
    }

    /// Runs a query (text protocol) and answers its rows.
    pub(crate) async fn rows(&mut self, op: &str, sql: &str) -> Result<Vec<Row>, DbError> {
        let step = self.conn.query::<Row, _>(sql);
        bounded(&self.addr, op, self.query_timeout, None, step).await
    }

    /// Runs a query of two statements (text protocol) and answers the rows of each.
    pub(crate) async fn two_row_sets(
        &mut self,
        op: &str,
        sql: &str,
    ) -> Result<(Vec<Row>, Vec<Row>), DbError> {
        let conn = &mut self.conn;
        let step = async move {
            let mut result = conn.query_iter(sql).await?;
            let first = result.collect::<Row>().await?;
            let second = result.collect::<Row>().await?;
            result.drop_result().await?;
            Ok((first, second))
        };
        bounded(&self.addr, op, self.query_timeout, None, step).await
    }

    /// The values of the first row, if any.
    pub(crate) async fn first_row(
        &mut self,
        op: &str,
        sql: &str,
    ) -> Result<Option<Vec<Option<String>>>, DbError> {
        Ok(self.rows(op, sql).await?.first().map(row_values))
    }

    /// The rows as column name → value, for the columns `keep` accepts.
    pub(crate) async fn row_maps(
        &mut self,
        op: &str,
        sql: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<StatusRow>, DbError> {
        Ok(self.rows(op, sql).await?.iter().map(|row| row_map(row, &keep)).collect())
    }

    /// Runs a statement and discards any result.
    pub(crate) async fn execute_as(&mut self, op: &str, sql: &str) -> Result<(), DbError> {
        let step = self.conn.query_drop(sql);
        bounded(&self.addr, op, self.query_timeout, None, step).await
    }

    /// Stops replication, allowing for an IO thread blocked on a silent source, after bounding
    /// the semi-sync replica's goodbye to that source (`dialect::bound_semi_sync_kill_connection`;
    /// a server without the setting is left as it is).
    pub(crate) async fn stop_replication(&mut self) -> Result<(), DbError> {
        if let Some(sql) = dialect::bound_semi_sync_kill_connection(self.flavor) {
            match self.execute_as("bound semi-sync kill connection", sql).await {
                Err(e) if e.server_code() == Some(ER_UNKNOWN_SYSTEM_VARIABLE) => {}
                other => other?,
            }
        }
        let step = self.conn.query_drop(dialect::stop_replication(self.flavor));
        bounded(&self.addr, "stop replication", self.stop_replication_timeout, None, step).await
    }

    /// Runs a statement that carries a password; errors are scrubbed of it.
    pub(crate) async fn execute_secret(
        &mut self,
        op: &str,
        sql: &SqlWithSecret,
    ) -> Result<(), DbError> {
        let step = self.conn.query_drop(sql.expose_sql());
        bounded(
            &self.addr,
            op,
            self.query_timeout,
            Some(sql.secret().expose()),
            step,
        )
        .await
    }

    /// Runs a prepared statement answering one integer, allowing `extra` time on top of the
    /// query timeout (for server-side waits).
    pub(crate) async fn exec_int(
        &mut self,
        op: &str,
        sql: &str,
        params: Params,
        extra: Duration,
    ) -> Result<Option<i64>, DbError> {
        let step = self.conn.exec_first::<Row, _, _>(sql, params);
        let row = bounded(&self.addr, op, self.query_timeout + extra, None, step).await?;
        match row.as_ref().and_then(|r| r.as_ref(0)).and_then(value_text) {
            None => Ok(None),
            Some(t) => {
                t.trim().parse::<i64>().map(Some).map_err(|_| {
                    DbError::unexpected(&self.addr, op, format!("not an integer: {t:?}"))
                })
            }
        }
    }
}

/// Bounds one network step by `limit`, translating driver errors (scrubbing `secret`).
async fn bounded<T>(
    addr: &str,
    op: &str,
    limit: Duration,
    secret: Option<&str>,
    step: impl Future<Output = Result<T, mysql_async::Error>>,
) -> Result<T, DbError> {
    match tokio::time::timeout(limit, step).await {
        Err(_) => Err(DbError::Timeout {
            addr: addr.to_string(),
            op: op.to_string(),
            after: limit,
        }),
        Ok(Err(e)) => Err(DbError::from_driver(addr, op, false, e, secret)),
        Ok(Ok(v)) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_addr_cases() {
        let ok = [
            ("127.0.0.1:3306", ("127.0.0.1", 3306)),
            ("db-1.example:13306", ("db-1.example", 13306)),
            ("db-1", ("db-1", 3306)),
            ("[::1]:3307", ("::1", 3307)),
            ("[fe80::1]", ("fe80::1", 3306)),
        ];
        for (addr, (host, port)) in ok {
            assert_eq!(
                split_addr(addr).unwrap(),
                (host.to_string(), port),
                "{addr}"
            );
        }
        for addr in [
            "",
            ":3306",
            "h:",
            "h:0",
            "h:65536",
            "h:x",
            "::1:3306",
            "[::1]3306",
            "[::1",
        ] {
            assert!(
                matches!(split_addr(addr), Err(DbError::Unreachable { .. })),
                "{addr}"
            );
        }
    }

    #[test]
    fn values_as_text() {
        let cases = [
            (Value::NULL, None),
            (Value::Bytes(b"0-1-5".to_vec()), Some("0-1-5")),
            (Value::Int(-1), Some("-1")),
            (Value::UInt(7), Some("7")),
            (Value::Double(1.5), Some("1.5")),
            (
                Value::Date(2024, 1, 2, 3, 4, 5, 6),
                Some("2024-01-02 03:04:05.000006"),
            ),
            (Value::Time(true, 1, 2, 3, 4, 0), Some("-26:03:04.000000")),
        ];
        for (value, want) in cases {
            assert_eq!(value_text(&value).as_deref(), want, "{value:?}");
        }
    }
}
