//! Opening a session with the server: every connection (sink writers, database lookups,
//! the position store) is made here, so the transport and its security are decided in one
//! place.
//!
//! TLS follows libpq's `sslmode` (rustls with the `ring` provider):
//!
//! | mode | encrypts | checks the certificate chain | checks the host name |
//! |---|---|---|---|
//! | `disable` | no | – | – |
//! | `prefer` (default) | if the server offers it | only with `sslrootcert` | no |
//! | `require` | yes | only with `sslrootcert` | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! The trusted CAs are `sslrootcert=PATH` (PEM), `sslrootcert=system` (the platform's
//! store), or by default `~/.postgresql/root.crt` when it exists and the platform's store
//! otherwise.

use std::error::Error as _;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::config::Host;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::warn;

use super::DbError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// The DSN spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which CAs a verified connection trusts (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCerts {
    /// PEM certificates in a file.
    File(PathBuf),
    /// The platform's store (`sslrootcert=system`).
    System,
}

/// How a connection is secured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// The effective mode: `require` or `prefer` with `sslrootcert` is already `verify-ca`
    /// here, as libpq treats it.
    pub mode: SslMode,
    /// `None`: `~/.postgresql/root.crt` if it exists, else the platform's store.
    pub root_certs: Option<RootCerts>,
    /// The mode the DSN asked for, for messages (`require` even when it became `verify-ca`).
    pub requested: SslMode,
}

/// Everything needed to open a session: tokio-postgres's settings and the TLS ones its
/// DSN parser does not know. Derefs to the former, so it reads like one.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    pub pg: tokio_postgres::Config,
    pub tls: Tls,
}

impl Deref for ConnectConfig {
    type Target = tokio_postgres::Config;

    fn deref(&self) -> &tokio_postgres::Config {
        &self.pg
    }
}

impl DerefMut for ConnectConfig {
    fn deref_mut(&mut self) -> &mut tokio_postgres::Config {
        &mut self.pg
    }
}

/// Why a TLS connection failed; the text says what to change.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA certificates of sslrootcert=`{}`", path.display())]
    RootCertFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sslrootcert=`{}` holds no PEM certificate: give a file of `-----BEGIN CERTIFICATE-----` blocks", path.display())]
    NoRootCerts { path: PathBuf },
    #[error("sslrootcert=`{}` holds a certificate that cannot be used as a CA", path.display())]
    BadRootCert {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error(
        "no trusted CA certificates found in the system store (for sslmode={mode}): give them with sslrootcert=PATH"
    )]
    NoSystemRoots { mode: SslMode },
    #[error("cannot set up TLS")]
    Setup { source: rustls::Error },
    #[error(
        "the server does not support SSL (sslmode={mode}): turn on `ssl` on the server, or use sslmode=prefer or disable"
    )]
    NotSupported {
        mode: SslMode,
        source: tokio_postgres::Error,
    },
    #[error(
        "the server's certificate is not signed by a trusted CA (sslmode={mode}): give the CA that signed it with sslrootcert=PATH"
    )]
    Untrusted {
        mode: SslMode,
        source: tokio_postgres::Error,
    },
    #[error(
        "the server's certificate is not valid for host `{host}` (sslmode=verify-full): connect by a name the certificate lists, or use sslmode=verify-ca"
    )]
    HostnameMismatch {
        host: String,
        source: tokio_postgres::Error,
    },
    #[error("the server's certificate was refused (sslmode={mode})")]
    Certificate {
        mode: SslMode,
        source: tokio_postgres::Error,
    },
    #[error("the TLS handshake failed (sslmode={mode})")]
    Handshake {
        mode: SslMode,
        source: tokio_postgres::Error,
    },
}

/// Connects to `pg` and drives the connection on the runtime; `server` names the server
/// in errors and logs (never the password).
pub async fn connect(pg: &ConnectConfig, server: &str) -> Result<Client, DbError> {
    let tls_error = |source| DbError::Tls {
        server: server.to_owned(),
        source,
    };
    let mut settings = pg.pg.clone();
    let result = match pg.tls.mode {
        SslMode::Disable => {
            settings.ssl_mode(tokio_postgres::config::SslMode::Disable);
            open(&settings, NoTls, server).await
        }
        mode => {
            settings.ssl_mode(if mode == SslMode::Prefer {
                tokio_postgres::config::SslMode::Prefer
            } else {
                tokio_postgres::config::SslMode::Require
            });
            let tls = client_config(&pg.tls).map_err(tls_error)?;
            open(&settings, MakeRustlsConnect::new(tls), server).await
        }
    };
    result.map_err(|source| match diagnose(pg, source) {
        Ok(tls) => tls_error(tls),
        Err(source) => DbError::Connect {
            server: server.to_owned(),
            source,
        },
    })
}

async fn open<T>(
    pg: &tokio_postgres::Config,
    tls: T,
    server: &str,
) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket> + 'static + Send,
    T::TlsConnect: Send,
    T::Stream: Send + 'static,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    T::Stream: AsyncRead + AsyncWrite + Unpin,
{
    let (client, connection) = pg.connect(tls).await?;
    let server = server.to_owned();
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            warn!(%server, %error, "PostgreSQL connection lost");
        }
    });
    Ok(client)
}

/// The rustls settings for `tls`: what is trusted and what is checked.
pub fn client_config(tls: &Tls) -> Result<rustls::ClientConfig, TlsError> {
    // `ring` builds with a C compiler alone; aws-lc-rs may need cmake.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Setup { source })?;
    let verifier: Arc<dyn ServerCertVerifier> = match tls.mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(WeakVerifier {
            algorithms: provider.signature_verification_algorithms,
            chain: None,
        }),
        mode @ (SslMode::VerifyCa | SslMode::VerifyFull) => {
            let roots = Arc::new(root_store(tls.root_certs.as_ref(), mode)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| TlsError::Setup {
                    source: rustls::Error::General(e.to_string()),
                })?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(WeakVerifier {
                    algorithms: provider.signature_verification_algorithms,
                    chain: Some(webpki),
                })
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn root_store(roots: Option<&RootCerts>, mode: SslMode) -> Result<RootCertStore, TlsError> {
    let default_file = || {
        std::env::var_os("HOME")
            .map(|home| Path::new(&home).join(".postgresql/root.crt"))
            .filter(|p| p.is_file())
    };
    let file = match roots {
        Some(RootCerts::File(path)) => Some(path.clone()),
        Some(RootCerts::System) => None,
        None => default_file(),
    };
    let mut store = RootCertStore::empty();
    match file {
        Some(path) => {
            let bytes = std::fs::read(&path).map_err(|source| TlsError::RootCertFile {
                path: path.clone(),
                source,
            })?;
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                let cert = cert.map_err(|e| TlsError::RootCertFile {
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
                })?;
                store.add(cert).map_err(|source| TlsError::BadRootCert {
                    path: path.clone(),
                    source,
                })?;
            }
            if store.is_empty() {
                return Err(TlsError::NoRootCerts { path });
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                warn!(%error, "cannot read part of the system's CA certificates");
            }
            // One odd certificate in the platform's store must not stop the others.
            let (_, ignored) = store.add_parsable_certificates(found.certs);
            if ignored > 0 {
                tracing::debug!(ignored, "system CA certificates rustls cannot use");
            }
            if store.is_empty() {
                return Err(TlsError::NoSystemRoots { mode });
            }
        }
    }
    Ok(store)
}

/// Says which TLS problem `e` is, or gives it back when it is not one (refused, timed out,
/// bad password…).
fn diagnose(
    pg: &ConnectConfig,
    e: tokio_postgres::Error,
) -> Result<TlsError, tokio_postgres::Error> {
    let mode = pg.tls.requested;
    let mut not_supported = false;
    let mut cert = None;
    let mut cause = e.source();
    while let Some(c) = cause {
        if c.to_string() == "server does not support TLS" {
            not_supported = true;
        }
        let rustls_error = c.downcast_ref::<rustls::Error>().or_else(|| {
            c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(r) = rustls_error {
            cert = Some(r.clone());
            break;
        }
        cause = c.source();
    }
    if not_supported {
        return Ok(TlsError::NotSupported { mode, source: e });
    }
    Ok(match cert {
        None => return Err(e),
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                TlsError::Untrusted { mode, source: e }
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsError::HostnameMismatch {
                    host: match pg.get_hosts().first() {
                        Some(Host::Tcp(h)) => h.clone(),
                        _ => "<no host>".into(),
                    },
                    source: e,
                }
            }
            _ => TlsError::Certificate { mode, source: e },
        },
        Some(_) => TlsError::Handshake { mode, source: e },
    })
}

/// The certificate checks libpq makes short of `verify-full`. Signatures are always
/// checked, so the server must hold the key of the certificate it sent.
#[derive(Debug)]
struct WeakVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    /// `verify-ca`: the chain must lead to a trusted CA, the name is not checked. `None`
    /// for `require` and `prefer` without a CA: any certificate (libpq does the same).
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for WeakVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // WebPKI checks the chain before the name, so a name error means the chain passed.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_root_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let tls = |path: &Path| Tls {
            mode: SslMode::VerifyFull,
            root_certs: Some(RootCerts::File(path.to_owned())),
            requested: SslMode::VerifyFull,
        };
        let err = client_config(&tls(&missing)).unwrap_err();
        assert!(matches!(err, TlsError::RootCertFile { .. }), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(&tls(&empty)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "sslrootcert=`{}` holds no PEM certificate: give a file of `-----BEGIN CERTIFICATE-----` blocks",
                empty.display()
            )
        );
    }

    #[test]
    fn unverified_modes_need_no_roots() {
        for mode in [SslMode::Prefer, SslMode::Require] {
            let tls = Tls {
                mode,
                root_certs: Some(RootCerts::File("/nonexistent/ca.pem".into())),
                requested: mode,
            };
            assert!(client_config(&tls).is_ok(), "{mode}");
        }
    }
}
