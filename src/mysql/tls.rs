//! `DbTls`: whether and how a session speaks TLS to its server: the driver's options (verified
//! against the configured CA) and whether a server that does not offer TLS is refused. Built from
//! `[fleet.tls]` by `crate::tls`.

use mysql_async::SslOpts;

/// Default: plain text. Cheap to clone.
#[derive(Clone, Default)]
pub struct DbTls {
    ssl: Option<SslOpts>,
    require: bool,
}

impl std::fmt::Debug for DbTls {
    // The options may hold the client key: show only what is configured.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("DbTls").field("enabled", &self.ssl.is_some()).field("require", &self.require).finish()
    }
}

impl DbTls {
    /// TLS whenever the server offers it, with `ssl`; never plain text with `require`.
    pub fn new(ssl: SslOpts, require: bool) -> DbTls {
        DbTls { ssl: Some(ssl), require }
    }

    /// The driver's TLS options; none: plain text.
    pub fn ssl_opts(&self) -> Option<&SslOpts> {
        self.ssl.as_ref()
    }

    /// True when a server that does not offer TLS must be refused.
    pub fn is_required(&self) -> bool {
        self.require
    }
}
