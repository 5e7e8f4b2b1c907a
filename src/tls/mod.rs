//! TLS: the PEM files of `[tls]` and `[fleet.tls]`, read and checked once at start, and the
//! rustls, tonic and mysql_async settings made from them. One crypto provider (ring) for the whole
//! process, installed by `install_crypto_provider`.
//!
//! Owns: reading certificates and keys (a key readable by group or others is refused), and what
//! each server or client is given: `NodeTls` for REST, gRPC and the members' channels,
//! `load_db_tls` for the database connections (`mysql::DbTls`). Imports only `config` and
//! `mysql`'s `DbTls`; the servers and clients take what it builds.

mod db;
mod node;
mod pem;

pub use db::load_db_tls;
pub use node::NodeTls;

use std::path::PathBuf;

/// Makes ring the process's rustls crypto provider; later calls do nothing. rustls 0.23.48 marks
/// ring's provider deprecated for want of post-quantum key exchange; the alternative, aws-lc-rs,
/// needs cmake and nasm to build, and tonic and mysql_async use ring here too.
#[allow(deprecated)]
pub fn install_crypto_provider() {
    // A provider already installed (by an earlier node in this process) is the same one.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why a node's TLS files cannot be used; names the file and the setting, never a key's content.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {setting} {path}: {source}")]
    Read { setting: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{setting} {path} is readable by group or others (mode {mode:o}): chmod 600 it")]
    KeyReadable { setting: &'static str, path: PathBuf, mode: u32 },
    #[error("{setting} {path} holds no PEM certificate")]
    NoCertificate { setting: &'static str, path: PathBuf },
    #[error("{setting} {path} holds no usable PEM private key")]
    NoKey { setting: &'static str, path: PathBuf },
    #[error("{setting} {path} is not valid: {message}")]
    Invalid { setting: &'static str, path: PathBuf, message: String },
    #[error("TLS settings: {0}")]
    Settings(String),
}
