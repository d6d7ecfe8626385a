//! TLS with rustls on the ring provider: PEM certificates and keys read from files (every
//! error names the file), the server's identity, and a client's trusted roots (the webpki
//! roots plus a private CA). Shared by the server, the worker and the load generator;
//! depends on nothing of the crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Printed with `to_string()`: each message names the file and says what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {error}")]
    Read {
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{what} {path} is not usable PEM: {reason}")]
    Pem {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("the TLS certificate {cert} and key {key} do not go together: {reason}")]
    Identity {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// The ring provider, handed to every rustls config built here.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring the process's default provider, for libraries that build their own
/// config from the default. Idempotent.
pub fn install_provider() {
    // An error only says a default is installed already, which is all this asks.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The server's identity: its rustls config (no client certificates) and the PEM text
/// of the chain and key, for the gRPC service, which takes PEM.
pub struct ServerIdentity {
    pub config: ServerConfig,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// Reads and checks the certificate chain at `cert` and the private key at `key`.
pub fn server_identity(cert: &Path, key: &Path) -> Result<ServerIdentity, TlsError> {
    let cert_pem = read("TLS certificate", cert)?;
    let chain = certificates("TLS certificate", cert, &cert_pem)?;
    let key_pem = read("TLS key", key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        what: "TLS key",
        path: key.to_owned(),
        reason: e.to_string(),
    })?;
    let identity = |reason: String| TlsError::Identity {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason,
    };
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| identity(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| identity(e.to_string()))?;
    Ok(ServerIdentity {
        config,
        cert_pem,
        key_pem,
    })
}

/// A client config trusting the webpki roots and, when given, the CA certificates in
/// the PEM file `ca`.
pub fn client_config(ca: Option<&Path>) -> Result<ClientConfig, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca {
        let pem = read("CA certificate", path)?;
        for cert in certificates("CA certificate", path, &pem)? {
            roots.add(cert).map_err(|e| TlsError::Pem {
                what: "CA certificate",
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pem {
            what: "CA certificate",
            path: ca.map(Path::to_owned).unwrap_or_default(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        what,
        path: path.to_owned(),
        error,
    })
}

/// Every certificate in `pem`; at least one.
fn certificates(
    what: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let invalid = |reason: String| TlsError::Pem {
        what,
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if certs.is_empty() {
        return Err(invalid("no CERTIFICATE section".to_owned()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "sr-tls-unit-{}-{}.pem",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn errors_name_the_file_and_what_it_should_hold() {
        let missing = Path::new("/nonexistent/cert.pem");
        let error = server_identity(missing, missing).err().unwrap().to_string();
        assert!(
            error.contains("TLS certificate /nonexistent/cert.pem"),
            "{error}"
        );
        let garbage = file("not a certificate\n");
        let error = client_config(Some(&garbage)).err().unwrap().to_string();
        assert!(error.contains(&garbage.display().to_string()), "{error}");
        assert!(error.contains("no CERTIFICATE section"), "{error}");
    }

    #[test]
    fn without_a_ca_the_client_trusts_the_webpki_roots() {
        assert!(client_config(None).is_ok());
    }
}
