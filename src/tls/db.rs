//! `DbTls`: how the connections to the database servers use TLS (`[fleet.tls]`): verified against
//! the configured CA only, whenever the server offers TLS, and with `require` never without it.

use mysql_async::{ClientIdentity, SslOpts};

use super::pem::{pair, read_certificates, read_private_key};
use super::TlsError;
use crate::config::DbTlsConfig;

/// The loaded `[fleet.tls]` files. Default: plain text. Cheap to clone.
#[derive(Clone, Default)]
pub struct DbTls {
    ssl: Option<SslOpts>,
    require: bool,
}

impl std::fmt::Debug for DbTls {
    // The options hold the client key: show only what is configured.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("DbTls").field("enabled", &self.ssl.is_some()).field("require", &self.require).finish()
    }
}

impl DbTls {
    /// Reads and checks the `[fleet.tls]` files.
    pub fn load(config: &DbTlsConfig) -> Result<DbTls, TlsError> {
        let identity = pair("[fleet.tls]", config.cert_file.as_deref(), config.key_file.as_deref())?;
        let Some(ca_file) = &config.ca_file else {
            if config.require || identity.is_some() {
                return Err(TlsError::Settings("[fleet.tls] require and cert_file need ca_file".into()));
            }
            return Ok(DbTls::default());
        };
        let ca = read_certificates("[fleet.tls] ca_file", ca_file)?;
        let identity = match identity {
            Some((cert_file, key_file)) => {
                let chain = read_certificates("[fleet.tls] cert_file", cert_file)?;
                let key = read_private_key("[fleet.tls] key_file", key_file)?;
                Some(ClientIdentity::new(chain.pem.into(), key.pem.into()))
            }
            None => None,
        };
        let ssl = SslOpts::default()
            .with_root_certs(vec![ca.pem.into()])
            .with_disable_built_in_roots(true)
            .with_client_identity(identity);
        Ok(DbTls { ssl: Some(ssl), require: config.require })
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
