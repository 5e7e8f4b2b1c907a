//! Reading PEM certificates and private keys, with the key file's mode checked before it is read.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// A file's certificates, with its PEM text.
#[derive(Debug)]
pub(super) struct Certificates {
    pub pem: Vec<u8>,
    pub ders: Vec<CertificateDer<'static>>,
}

/// A private key, with its PEM text. Its Debug output shows nothing of it.
pub(super) struct PrivateKey {
    pub pem: Vec<u8>,
    pub der: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PrivateKey(redacted)")
    }
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { setting, path: path.to_path_buf(), source })
}

/// The certificates in `path` (at least one).
pub(super) fn read_certificates(setting: &'static str, path: &Path) -> Result<Certificates, TlsError> {
    let pem = read(setting, path)?;
    let ders = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::Invalid { setting, path: path.to_path_buf(), message: error.to_string() })?;
    if ders.is_empty() {
        return Err(TlsError::NoCertificate { setting, path: path.to_path_buf() });
    }
    Ok(Certificates { pem, ders })
}

/// The private key in `path`, which only its owner may read.
pub(super) fn read_private_key(setting: &'static str, path: &Path) -> Result<PrivateKey, TlsError> {
    let metadata =
        std::fs::metadata(path).map_err(|source| TlsError::Read { setting, path: path.to_path_buf(), source })?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TlsError::KeyReadable { setting, path: path.to_path_buf(), mode });
    }
    let pem = read(setting, path)?;
    // The parser's message could quote the file; say only that no usable key was found.
    let no_key = || TlsError::NoKey { setting, path: path.to_path_buf() };
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| no_key())?;
    rustls::crypto::ring::sign::any_supported_type(&der).map_err(|_| no_key())?;
    Ok(PrivateKey { pem, der })
}

/// The certificate and key files of one identity: both or neither.
pub(super) fn pair<'a>(
    section: &str,
    cert: Option<&'a Path>,
    key: Option<&'a Path>,
) -> Result<Option<(&'a Path, &'a Path)>, TlsError> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (None, None) => Ok(None),
        _ => Err(TlsError::Settings(format!("{section} cert_file and key_file go together"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_readable_by_others_or_missing_or_garbled_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("node.key");
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = read_private_key("[tls] key_file", &key).unwrap_err().to_string();
        assert!(error.contains("readable by group or others") && error.contains("644"), "{error}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let error = read_private_key("[tls] key_file", &key).unwrap_err().to_string();
        assert!(error.contains("no usable PEM private key") && !error.contains("c2Vj"), "{error}");
        let error = read_certificates("[tls] cert_file", &dir.path().join("absent.crt")).unwrap_err().to_string();
        assert!(error.contains("cannot read [tls] cert_file") && error.contains("absent.crt"), "{error}");
        std::fs::write(dir.path().join("empty.crt"), "").unwrap();
        let error = read_certificates("[tls] cert_file", &dir.path().join("empty.crt")).unwrap_err().to_string();
        assert!(error.contains("no PEM certificate"), "{error}");
        assert!(pair("[tls]", Some(&key), None).is_err());
    }
}
