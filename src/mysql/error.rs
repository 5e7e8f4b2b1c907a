//! `DbError`, the one error type of the MySQL / MariaDB layer. It owns the translation of
//! `mysql_async` errors into a few kinds the failure detector and the executors can act on
//! (unreachable, timeout, server error, connection lost, unexpected answer, bad GTID text).
//!
//! No variant ever carries a password: messages come from the server or the driver, and the
//! client scrubs the secret out of any server message about a statement that carried one.

use std::time::Duration;

/// Everything that can go wrong while talking to a database server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// No session could be opened: refused, unroutable, reset during the handshake, bad address.
    /// Nothing was executed.
    #[error("cannot connect to {addr}: {message}")]
    Unreachable { addr: String, message: String },

    /// A network step (connect or one statement) did not finish in time. When `op` is a statement
    /// that changes state, it may or may not have taken effect.
    #[error("{op} on {addr} timed out after {after:?}")]
    Timeout {
        addr: String,
        op: String,
        after: Duration,
    },

    /// The server answered with an error (including errors during login, e.g. 1045 access denied).
    #[error("{op} on {addr} failed with server error {code} ({state}): {message}")]
    Server {
        addr: String,
        op: String,
        code: u16,
        state: String,
        message: String,
    },

    /// The session broke while a statement was in flight; the statement may or may not have taken
    /// effect.
    #[error("connection to {addr} lost during {op}: {message}")]
    ConnectionLost {
        addr: String,
        op: String,
        message: String,
    },

    /// The server answered something this module cannot interpret (missing column, bad number).
    #[error("unexpected answer from {addr} to {op}: {message}")]
    Unexpected {
        addr: String,
        op: String,
        message: String,
    },

    /// A GTID set in text form could not be parsed.
    #[error("invalid gtid set {text:?}: {reason}")]
    InvalidGtid { text: String, reason: String },
}

/// MySQL / MariaDB error code: unknown system variable (semi-sync plugin not loaded).
pub const ER_UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;
/// MySQL / MariaDB error code: unknown thread id (the session ended before `KILL`).
pub const ER_NO_SUCH_THREAD: u16 = 1094;

impl DbError {
    /// True when the server could not be talked to at all (connect failed or timed out, or an
    /// established session broke): the signal the failure detector counts.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            DbError::Unreachable { .. } | DbError::Timeout { .. } | DbError::ConnectionLost { .. }
        )
    }

    /// True when a state-changing statement may or may not have taken effect.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            DbError::Timeout { op, .. } => op != "connect",
            DbError::ConnectionLost { .. } => true,
            _ => false,
        }
    }

    /// The server error code, if the server answered with an error.
    pub fn server_code(&self) -> Option<u16> {
        match self {
            DbError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn invalid_gtid(text: &str, reason: impl Into<String>) -> DbError {
        DbError::InvalidGtid {
            text: text.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unexpected(addr: &str, op: &str, message: impl Into<String>) -> DbError {
        DbError::Unexpected {
            addr: addr.to_string(),
            op: op.to_string(),
            message: message.into(),
        }
    }

    /// Translates a driver error. `connecting` says whether the session was being opened (an I/O
    /// failure then means unreachable, not lost). `secret`, when the statement carried one, is
    /// scrubbed from the server's message (syntax errors quote the statement).
    pub(crate) fn from_driver(
        addr: &str,
        op: &str,
        connecting: bool,
        err: mysql_async::Error,
        secret: Option<&str>,
    ) -> DbError {
        let addr = addr.to_string();
        let op = op.to_string();
        match err {
            mysql_async::Error::Server(e) => DbError::Server {
                addr,
                op,
                code: e.code,
                state: e.state,
                message: scrub(&e.message, secret),
            },
            mysql_async::Error::Io(e) if connecting => DbError::Unreachable {
                addr,
                message: e.to_string(),
            },
            mysql_async::Error::Io(e) => DbError::ConnectionLost {
                addr,
                op,
                message: e.to_string(),
            },
            mysql_async::Error::Driver(e) if connecting => DbError::Unreachable {
                addr,
                message: e.to_string(),
            },
            mysql_async::Error::Driver(e) => match e {
                mysql_async::DriverError::ConnectionClosed => DbError::ConnectionLost {
                    addr,
                    op,
                    message: e.to_string(),
                },
                // Conversion errors carry values; never echo them.
                mysql_async::DriverError::FromValue { .. }
                | mysql_async::DriverError::FromRow { .. } => DbError::Unexpected {
                    addr,
                    op,
                    message: "value conversion failed".to_string(),
                },
                other => DbError::Unexpected {
                    addr,
                    op,
                    message: other.to_string(),
                },
            },
            mysql_async::Error::Url(e) => DbError::Unreachable {
                addr,
                message: e.to_string(),
            },
            mysql_async::Error::Other(e) => {
                let message = scrub(&e.to_string(), secret);
                if connecting {
                    DbError::Unreachable { addr, message }
                } else {
                    DbError::ConnectionLost { addr, op, message }
                }
            }
        }
    }
}

/// Removes every occurrence of the secret (raw and as escaped inside a literal) from a message.
fn scrub(message: &str, secret: Option<&str>) -> String {
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return message.to_string();
    };
    let escaped = super::dialect::escape_string(secret);
    let mut out = message.replace(&escaped, "<redacted>");
    out = out.replace(secret, "<redacted>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_never_echo_the_secret() {
        let cases = [
            (
                "near 'MASTER_PASSWORD='p''w\\\\d', MASTER_USE_GTID' at line 1",
                "p'w\\d",
            ),
            ("near 'MASTER_PASSWORD='hunter2'' at line 1", "hunter2"),
        ];
        for (message, secret) in cases {
            let err = mysql_async::Error::Server(mysql_async::ServerError {
                code: 1064,
                message: message.to_string(),
                state: "42000".to_string(),
            });
            let db = DbError::from_driver("h:1", "repoint", false, err, Some(secret));
            let shown = db.to_string();
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
            assert_eq!(db.server_code(), Some(1064));
        }
    }

    #[test]
    fn kinds() {
        let t = DbError::Timeout {
            addr: "a".into(),
            op: "connect".into(),
            after: Duration::ZERO,
        };
        assert!(t.is_unreachable() && !t.is_ambiguous());
        let t = DbError::Timeout {
            addr: "a".into(),
            op: "promote".into(),
            after: Duration::ZERO,
        };
        assert!(t.is_unreachable() && t.is_ambiguous());
        let s = DbError::Server {
            addr: "a".into(),
            op: "probe".into(),
            code: 1045,
            state: "28000".into(),
            message: "access denied".into(),
        };
        assert!(!s.is_unreachable() && !s.is_ambiguous());
    }
}
