//! The database connections' TLS (`[fleet.tls]`): the configured CA only (no built-in roots), an
//! optional client certificate, and `require`.

use mysql_async::{ClientIdentity, SslOpts};

use super::pem::{pair, read_certificates, read_private_key};
use super::TlsError;
use crate::config::DbTlsConfig;
use crate::mysql::DbTls;

/// Reads and checks the `[fleet.tls]` files; plain text when `ca_file` is not set.
pub fn load_db_tls(config: &DbTlsConfig) -> Result<DbTls, TlsError> {
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
    Ok(DbTls::new(ssl, config.require))
}
