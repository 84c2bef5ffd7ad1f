//! TLS for `https://` URLs: rustls with the `ring` provider, selected
//! explicitly for every configuration (no process-wide default, no aws-lc).
//!
//! - [`TlsFiles`]: one side's settings as etcd names them (`--cert-file`,
//!   `--key-file`, `--trusted-ca-file`, `--client-cert-auth`, or their
//!   `--peer-*` twins), loaded into a rustls [`ServerConfig`] by
//!   [`server_config`] and into a [`ClientConfig`] by [`client_config`].
//! - [`Stream`]: a TCP connection, plain or inside TLS; listeners and
//!   dialers split it with `tokio::io::split` and speak the same frames
//!   either way.
//! - [`accept`] and [`connect`]: the handshakes, bounded in time, every
//!   failure a [`TlsError`] (a bad certificate, a plaintext client on a TLS
//!   port, garbage): the caller logs it and closes that connection only.
//!
//! - [`identity`]: `--peer-cert-allowed-cn` and the `*-cert-allowed-hostname`
//!   checks of the other side's certificate; [`cipher_suites`]:
//!   `--cipher-suites`, Go's names mapped to rustls's suites.
//!
//! The code compiles under madsim too (its `TcpStream` has tokio's I/O
//! traits), though the simulator never configures TLS.

pub mod cipher_suites;
pub mod identity;

use identity::{CertCheck, CheckedClientVerifier, CheckedServerVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use rustls::server::WebPkiClientVerifier;
pub use rustls::{CipherSuite, ClientConfig, ServerConfig};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How long a TLS handshake may take before the connection is dropped (a
/// client that connects and says nothing must not hold a task forever).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One side's TLS files and whether it requires client certificates
/// (etcd's `TLSInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--cert-file` / `--peer-cert-file`: this member's certificate chain
    /// (PEM), presented by https listeners and, for peers, when dialing.
    pub cert_file: Option<PathBuf>,
    /// `--key-file` / `--peer-key-file`: its private key (PEM).
    pub key_file: Option<PathBuf>,
    /// `--trusted-ca-file` / `--peer-trusted-ca-file`: the CA(s) that sign
    /// the other side's certificates (PEM).
    pub trusted_ca_file: Option<PathBuf>,
    /// `--client-cert-auth` / `--peer-client-cert-auth`: refuse connections
    /// without a certificate signed by the trusted CA.
    pub client_cert_auth: bool,
    /// `--client-crl-file`: certificate revocation lists (PEM); with
    /// `client_cert_auth`, a client certificate they revoke is refused.
    pub crl_file: Option<PathBuf>,
    /// `--peer-cert-allowed-cn` / `--peer-cert-allowed-hostname` /
    /// `--client-cert-allowed-hostname`: what the other side's certificate
    /// must also satisfy, with client-cert-auth on the listener and, for
    /// peers, on the members dialed (etcd checks both ways).
    pub cert_check: Option<CertCheck>,
    /// `--cipher-suites`: the TLS 1.2 suites allowed, in order (`None`:
    /// rustls's defaults). TLS 1.3 is always on with all its suites.
    pub cipher_suites: Option<Vec<CipherSuite>>,
}

impl TlsFiles {
    /// Whether a certificate and key are configured (etcd's `!Empty()`).
    pub fn has_cert(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// The crypto provider for this side: [`provider`], restricted to
    /// `cipher_suites`.
    pub fn provider(&self) -> Arc<CryptoProvider> {
        Arc::new(cipher_suites::restrict(
            rustls::crypto::ring::default_provider(),
            self.cipher_suites.as_deref(),
        ))
    }
}

/// What the client library trusts and presents (etcdctl's `--cacert`,
/// `--cert`, `--key`, `--insecure-skip-tls-verify`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// `--cacert`: CA(s) that sign the servers' certificates.
    pub ca_file: Option<PathBuf>,
    /// `--cert`: a client certificate, for servers with client-cert-auth.
    pub cert_file: Option<PathBuf>,
    /// `--key`: its private key.
    pub key_file: Option<PathBuf>,
    /// `--insecure-skip-tls-verify`: accept any server certificate.
    pub insecure_skip_verify: bool,
}

impl ClientTlsFiles {
    /// Whether any TLS setting was given (then endpoints without a scheme
    /// use TLS, as etcdctl's do).
    pub fn any(&self) -> bool {
        self.ca_file.is_some()
            || self.cert_file.is_some()
            || self.key_file.is_some()
            || self.insecure_skip_verify
    }
}

/// Why TLS could not be set up or a handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// A certificate, key or CA file could not be read or holds nothing
    /// usable.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// The settings do not make a usable configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// The handshake failed (bad certificate, not TLS, timed out, closed).
    #[error("TLS handshake with {peer}: {why}")]
    Handshake {
        /// Who was on the other end.
        peer: String,
        /// What went wrong.
        why: String,
    },
}

/// The crypto provider every configuration uses: rustls's `ring` one.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn file_error(path: &Path, why: impl ToString) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        why: why.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| file_error(path, e))
}

/// The certificates in a PEM file (at least one).
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not a PEM certificate file: {e}")))?;
    if certificates.is_empty() {
        return Err(file_error(path, "no certificate in the file"));
    }
    Ok(certificates)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| file_error(path, format!("no usable private key: {e}")))
}

/// The certificate revocation lists in a file: PEM (at least one), or one
/// in DER, as Go's `x509.ParseCRL` (etcd's) reads them.
fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = read(path)?;
    if !bytes.starts_with(b"-----BEGIN") {
        return Ok(vec![CertificateRevocationListDer::from(bytes)]);
    }
    let crls = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not a PEM revocation list file: {e}")))?;
    if crls.is_empty() {
        return Err(file_error(path, "no revocation list in the file"));
    }
    Ok(crls)
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in load_certificates(path)? {
        roots
            .add(certificate)
            .map_err(|e| file_error(path, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(roots)
}

fn config_error(error: impl ToString) -> TlsError {
    TlsError::Config(error.to_string())
}

/// The listener side of `files`: its certificate and key, and with
/// `client_cert_auth` a verifier that requires a client certificate
/// signed by the trusted CA.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let (Some(cert_file), Some(key_file)) = (&files.cert_file, &files.key_file) else {
        return Err(TlsError::Config(
            "a TLS listener needs both a certificate and a key file".into(),
        ));
    };
    let chain = load_certificates(cert_file)?;
    let key = load_private_key(key_file)?;
    let provider = files.provider();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = if files.client_cert_auth {
        let Some(ca_file) = &files.trusted_ca_file else {
            return Err(TlsError::Config(
                "client certificate authentication needs a trusted CA file".into(),
            ));
        };
        let mut verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(load_roots(ca_file)?), provider);
        if let Some(crl_file) = &files.crl_file {
            // As etcd: the client's own certificate is looked up in the
            // lists; a certificate no list speaks for is accepted.
            verifier = verifier
                .with_crls(load_crls(crl_file)?)
                .only_check_end_entity_revocation()
                .allow_unknown_revocation_status();
        }
        let verifier: Arc<dyn rustls::server::danger::ClientCertVerifier> =
            verifier.build().map_err(config_error)?;
        let verifier = match &files.cert_check {
            Some(check) => Arc::new(CheckedClientVerifier {
                inner: verifier,
                check: check.clone(),
            }),
            None => verifier,
        };
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| file_error(key_file, format!("does not match the certificate: {e}")))?;
    Ok(Arc::new(config))
}

/// The dialing side: trust `ca_file` (or, with `insecure_skip_verify`,
/// any certificate), present `cert_file`/`key_file` if both are given.
pub fn client_config(
    ca_file: Option<&Path>,
    cert_file: Option<&Path>,
    key_file: Option<&Path>,
    insecure_skip_verify: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    build_client_config(
        provider(),
        ca_file,
        cert_file,
        key_file,
        insecure_skip_verify,
        None,
    )
}

/// [`client_config`] with `provider`, and `check` applied to verified
/// server certificates.
fn build_client_config(
    provider: Arc<CryptoProvider>,
    ca_file: Option<&Path>,
    cert_file: Option<&Path>,
    key_file: Option<&Path>,
    insecure_skip_verify: bool,
    check: Option<&CertCheck>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = if insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SkipVerify(provider)))
    } else {
        let Some(ca_file) = ca_file else {
            return Err(TlsError::Config(
                "verifying a TLS server needs a trusted CA file (this build has no system \
                 roots); give one, or skip verification explicitly"
                    .into(),
            ));
        };
        let roots = Arc::new(load_roots(ca_file)?);
        match check {
            None => builder.with_root_certificates(roots),
            Some(check) => {
                let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(config_error)?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(CheckedServerVerifier {
                        inner,
                        check: check.clone(),
                    }))
            }
        }
    };
    let config = match (cert_file, key_file) {
        (Some(cert_file), Some(key_file)) => builder
            .with_client_auth_cert(load_certificates(cert_file)?, load_private_key(key_file)?)
            .map_err(|e| file_error(key_file, format!("does not match the certificate: {e}")))?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(TlsError::Config(
                "a client certificate needs both a certificate and a key file".into(),
            ));
        }
    };
    Ok(Arc::new(config))
}

/// The peer transport's dialing side of `files`: verify peers against the
/// peer CA (and its allowed CN or hostname), present the peer certificate,
/// offer only its cipher suites (etcd does the same). With
/// `insecure_skip_verify` (generated certificates, `--peer-auto-tls`) the
/// peers' certificates are not verified.
pub fn peer_client_config(
    files: &TlsFiles,
    insecure_skip_verify: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    build_client_config(
        files.provider(),
        files.trusted_ca_file.as_deref(),
        files.cert_file.as_deref(),
        files.key_file.as_deref(),
        insecure_skip_verify,
        files.cert_check.as_ref(),
    )
}

/// Accepts any server certificate, but still checks that the handshake is
/// signed by its key (etcdctl's `--insecure-skip-tls-verify`).
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection, plain or inside TLS.
pub enum Stream {
    /// Plain TCP (`http://`).
    Plain(TcpStream),
    /// TLS over TCP (`https://`), either side.
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

impl Stream {
    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The CommonName of the certificate the other side presented (and
    /// the handshake verified), if any.
    pub fn peer_common_name(&self) -> Option<String> {
        let Stream::Tls(tls) = self else {
            return None;
        };
        let certificates = tls.get_ref().1.peer_certificates()?;
        let leaf = certificates.first()?;
        identity::CertNames::parse(leaf.as_ref())?.common_name
    }
}

/// A handshake error's text: for an alert the other side sent, Go's words
/// (`remote error: tls: bad certificate`), which etcd logs and its tests
/// look for; otherwise rustls's.
fn handshake_error_text(error: &io::Error) -> String {
    use rustls::AlertDescription as A;
    let alert = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .and_then(|e| match e {
            rustls::Error::AlertReceived(alert) => Some(*alert),
            _ => None,
        });
    let go = match alert {
        Some(A::BadCertificate) => "bad certificate",
        Some(A::UnknownCA) => "unknown certificate authority",
        Some(A::HandshakeFailure) => "handshake failure",
        Some(A::CertificateRequired) => "certificate required",
        Some(A::CertificateRevoked) => "revoked certificate",
        Some(A::CertificateExpired) => "expired certificate",
        Some(A::ProtocolVersion) => "protocol version not supported",
        _ => return error.to_string(),
    };
    format!("remote error: tls: {go}")
}

/// Runs the server side of the handshake on `tcp` (from `peer`), bounded
/// by [`HANDSHAKE_TIMEOUT`].
pub async fn accept(
    tcp: TcpStream,
    config: &Arc<ServerConfig>,
    peer: &str,
) -> Result<Stream, TlsError> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
    let failed = |why: String| TlsError::Handshake {
        peer: peer.to_string(),
        why,
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(tokio_rustls::TlsStream::Server(
            stream,
        )))),
        Ok(Err(err)) => Err(failed(handshake_error_text(&err))),
        Err(_) => Err(failed("timed out".into())),
    }
}

/// Runs the client side of the handshake on `tcp`, verifying the server's
/// certificate for `host` (a DNS name or an IP address), bounded by
/// [`HANDSHAKE_TIMEOUT`].
pub async fn connect(
    tcp: TcpStream,
    config: &Arc<ClientConfig>,
    host: &str,
) -> Result<Stream, TlsError> {
    let failed = |why: String| TlsError::Handshake {
        peer: host.to_string(),
        why,
    };
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| failed(format!("{host:?} is not a server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(tokio_rustls::TlsStream::Client(
            stream,
        )))),
        Ok(Err(err)) => Err(failed(handshake_error_text(&err))),
        Err(_) => Err(failed("timed out".into())),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How to dial: which connections use TLS and with what configuration.
#[derive(Clone, Default)]
pub struct Dialer {
    tls: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Dialer {
    /// Plain TCP only: dialing an `https://` address is an error.
    pub fn plain() -> Dialer {
        Dialer { tls: None }
    }

    /// TLS with `config` where asked for.
    pub fn with_tls(config: Arc<ClientConfig>) -> Dialer {
        Dialer { tls: Some(config) }
    }

    /// Connects to `address` (`host:port` to dial), with TLS verifying
    /// `host` when `tls`, with TCP_NODELAY set (frames are small and
    /// latency bound).
    pub async fn dial(&self, address: &str, host: &str, tls: bool) -> io::Result<Stream> {
        let config = match (&self.tls, tls) {
            (_, false) => None,
            (Some(config), true) => Some(config),
            (None, true) => {
                return Err(io::Error::other(format!(
                    "{address} asks for TLS (https), but no TLS client settings are configured"
                )));
            }
        };
        let tcp = TcpStream::connect(address).await?;
        let _ = tcp.set_nodelay(true);
        match config {
            None => Ok(Stream::Plain(tcp)),
            Some(config) => connect(tcp, config, host).await.map_err(io::Error::other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_received_are_told_in_gos_words() {
        let alert = |a| io::Error::other(rustls::Error::AlertReceived(a));
        assert_eq!(
            handshake_error_text(&alert(rustls::AlertDescription::BadCertificate)),
            "remote error: tls: bad certificate"
        );
        assert_eq!(
            handshake_error_text(&alert(rustls::AlertDescription::HandshakeFailure)),
            "remote error: tls: handshake failure"
        );
        let other = io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        ));
        assert_eq!(handshake_error_text(&other), other.to_string());
    }
}
