//! rustls client configuration: ring provider, TLS 1.3 and 1.2, roots from a CA bundle file.
//!
//! The roots come from a PEM bundle on disk (design.md "Dependencies": no webpki-roots), by
//! default Debian's `/etc/ssl/certs/ca-certificates.crt`; the path is configurable so a static
//! binary works on any distribution and tests can trust a throwaway CA. Reading the file is disk
//! I/O, which is why this lives in `driver/`. An unreadable, malformed or empty bundle is an
//! error naming the file: a client that trusts nothing would fail every call later, far from
//! the cause.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{self, PemObject};
use rustls::{ClientConfig, RootCertStore};

/// Debian/Ubuntu's bundle (`ca-certificates`); also where Alpine's lands.
pub const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug)]
pub enum TlsConfigError {
    Read {
        path: PathBuf,
        error: io::Error,
    },
    Pem {
        path: PathBuf,
        error: pem::Error,
    },
    /// The file holds no certificate rustls accepts (`skipped` were present but unparsable).
    NoCertificates {
        path: PathBuf,
        skipped: usize,
    },
    Rustls(rustls::Error),
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => {
                write!(f, "cannot read CA bundle {}: {error}", path.display())
            }
            Self::Pem { path, error } => {
                write!(f, "CA bundle {} is not valid PEM: {error}", path.display())
            }
            Self::NoCertificates { path, skipped } => write!(
                f,
                "CA bundle {} holds no usable certificate ({skipped} unparsable); \
                 install ca-certificates or point the config at a PEM bundle",
                path.display()
            ),
            Self::Rustls(e) => write!(f, "cannot build the TLS client configuration: {e}"),
        }
    }
}

impl std::error::Error for TlsConfigError {}

/// Loads the root store from a PEM bundle.
pub fn load_roots(path: &Path) -> Result<RootCertStore, TlsConfigError> {
    let pem_bytes = std::fs::read(path).map_err(|error| TlsConfigError::Read {
        path: path.to_owned(),
        error,
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem_bytes)
        .collect::<Result<_, _>>()
        .map_err(|error| TlsConfigError::Pem {
            path: path.to_owned(),
            error,
        })?;
    let mut roots = RootCertStore::empty();
    let (added, skipped) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsConfigError::NoCertificates {
            path: path.to_owned(),
            skipped,
        });
    }
    log::debug!(
        "tls roots loaded path={} added={added} skipped={skipped}",
        path.display()
    );
    Ok(roots)
}

/// A client configuration trusting the bundle at `ca_bundle`: ring, TLS 1.3 + 1.2, ALPN http/1.1.
pub fn client_config(ca_bundle: &Path) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let roots = load_roots(ca_bundle)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsConfigError::Rustls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/tls")
            .join(name)
    }

    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("vpcflow-tls-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn loads_the_test_ca() {
        assert_eq!(load_roots(&fixture("ca.pem")).unwrap().len(), 1);
        let cfg = client_config(&fixture("ca.pem")).unwrap();
        assert_eq!(cfg.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn errors_name_the_file() {
        let missing = fixture("does-not-exist.pem");
        let err = client_config(&missing).unwrap_err();
        assert!(matches!(err, TlsConfigError::Read { .. }));
        assert!(err.to_string().contains("does-not-exist.pem"), "{err}");

        let empty = temp_file("empty.pem", b"");
        let err = client_config(&empty).unwrap_err();
        assert!(
            matches!(err, TlsConfigError::NoCertificates { skipped: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains(&*empty.to_string_lossy()), "{err}");

        // A private key is PEM but not a certificate: still nothing to trust.
        let err = client_config(&fixture("leaf.pk8.pem")).unwrap_err();
        assert!(
            matches!(err, TlsConfigError::NoCertificates { .. }),
            "{err}"
        );

        let broken = temp_file(
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
        );
        let err = client_config(&broken).unwrap_err();
        assert!(matches!(err, TlsConfigError::Pem { .. }), "{err}");
        for p in [empty, broken] {
            std::fs::remove_file(p).unwrap();
        }
    }
}
