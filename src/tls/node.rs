//! `NodeTls`: this node's certificate on REST and gRPC, the cluster CA that members-only calls
//! must prove themselves with (mutual TLS), and the CA the members' channels verify peers against.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use super::pem::{pair, read_certificates, read_private_key, Certificates};
use super::TlsError;
use crate::config::TlsConfig;

/// The loaded `[tls]` files. Cheap to clone.
#[derive(Clone)]
pub struct NodeTls {
    rest: Arc<ServerConfig>,
    identity: Identity,
    /// The cluster CA; set: members-only calls need a client certificate it signed.
    client_ca: Option<Certificate>,
    peer_ca: Certificate,
}

impl std::fmt::Debug for NodeTls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("NodeTls").field("mutual", &self.client_ca.is_some()).finish_non_exhaustive()
    }
}

impl NodeTls {
    /// Reads and checks the `[tls]` files; none when `cert_file` and `key_file` are not set.
    pub fn load(config: &TlsConfig) -> Result<Option<NodeTls>, TlsError> {
        let Some((cert_file, key_file)) = pair("[tls]", config.cert_file.as_deref(), config.key_file.as_deref())?
        else {
            if config.client_ca_file.is_some() || config.ca_file.is_some() {
                return Err(TlsError::Settings("[tls] client_ca_file and ca_file need cert_file and key_file".into()));
            }
            return Ok(None);
        };
        let chain = read_certificates("[tls] cert_file", cert_file)?;
        let key = read_private_key("[tls] key_file", key_file)?;
        let client_ca = config
            .client_ca_file
            .as_deref()
            .map(|path| read_certificates("[tls] client_ca_file", path).map(|ca| (path, ca)))
            .transpose()?;
        if let Some((path, ca)) = &client_ca {
            let roots = roots("[tls] client_ca_file", path, ca)?;
            WebPkiClientVerifier::builder(Arc::new(roots)).build().map_err(|error| TlsError::Invalid {
                setting: "[tls] client_ca_file",
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        }
        let peer_ca = match (config.ca_file.as_deref(), &client_ca) {
            (Some(path), _) => {
                let ca = read_certificates("[tls] ca_file", path)?;
                roots("[tls] ca_file", path, &ca)?;
                ca.pem
            }
            (None, Some((_, ca))) => ca.pem.clone(),
            (None, None) => {
                return Err(TlsError::Settings(
                    "[tls] needs ca_file or client_ca_file: the CA this node verifies the other members against".into(),
                ))
            }
        };
        let mut rest = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain.ders.clone(), key.der.clone_key())
            .map_err(|error| TlsError::Invalid {
                setting: "[tls] cert_file",
                path: cert_file.to_path_buf(),
                message: format!("does not go with key_file {}: {error}", key_file.display()),
            })?;
        rest.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Some(NodeTls {
            rest: Arc::new(rest),
            identity: Identity::from_pem(&chain.pem, &key.pem),
            client_ca: client_ca.map(|(_, ca)| Certificate::from_pem(ca.pem)),
            peer_ca: Certificate::from_pem(peer_ca),
        }))
    }

    /// True when members-only calls need a client certificate from the cluster CA.
    pub fn is_mutual(&self) -> bool {
        self.client_ca.is_some()
    }

    /// The REST server's acceptor (HTTP/2 and HTTP/1.1, no client certificate).
    pub fn rest_acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.rest.clone())
    }

    /// The gRPC server's settings: with a cluster CA, a client certificate is verified when one is
    /// presented (the members' checks then insist on one), optional for the public Admin service.
    /// A handshake must finish within `handshake_timeout`.
    pub fn grpc_server(&self, handshake_timeout: std::time::Duration) -> ServerTlsConfig {
        let config = ServerTlsConfig::new().identity(self.identity.clone()).timeout(handshake_timeout);
        match &self.client_ca {
            Some(ca) => config.client_ca_root(ca.clone()).client_auth_optional(true),
            None => config,
        }
    }

    /// The members' channels' settings: verify the peer against the CA and, with mutual TLS,
    /// present this node's certificate.
    pub fn member_client(&self) -> ClientTlsConfig {
        let config = ClientTlsConfig::new().ca_certificate(self.peer_ca.clone());
        match &self.client_ca {
            Some(_) => config.identity(self.identity.clone()),
            None => config,
        }
    }
}

/// The certificates of a CA file as trust anchors (each must parse as one).
fn roots(setting: &'static str, path: &std::path::Path, ca: &Certificates) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for der in &ca.ders {
        store
            .add(der.clone())
            .map_err(|error| TlsError::Invalid { setting, path: path.to_path_buf(), message: error.to_string() })?;
    }
    Ok(store)
}
