//! Encrypted runs: every listener of the run presents the run's one certificate, and every client accepts a
//! peer only if it presents exactly that certificate (pinning, so no CA and no host names are involved). The
//! client proves it belongs to the run with the secret in its hello, which only ever travels inside TLS.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::{client, server, TlsAcceptor, TlsConnector};

/// The run's certificate and key, as TLS client and server configurations.
#[derive(Clone)]
pub struct RunTls {
    certificate: CertificateDer<'static>,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

/// Why a run's identity could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    #[error("holds no certificate")]
    NoCertificate,
    #[error("holds no private key")]
    NoPrivateKey,
    #[error("holds a certificate and key that TLS refuses: {0}")]
    Unusable(String),
}

impl RunTls {
    /// From PEM text holding one `CERTIFICATE` and one `PRIVATE KEY` block; anything around them (the secret
    /// on the first line of a secret file) is ignored.
    pub fn from_pem(pem: &[u8]) -> Result<RunTls, IdentityError> {
        let certificate =
            CertificateDer::pem_slice_iter(pem).find_map(Result::ok).ok_or(IdentityError::NoCertificate)?;
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|_| IdentityError::NoPrivateKey)?;
        // ring rather than aws-lc-rs: no cmake and minutes less of C to build. rustls marks it deprecated for
        // lacking post-quantum key exchange, which matters for recordings decrypted years later, not for
        // keeping a run's traffic from its network.
        #[allow(deprecated)]
        let provider = Arc::new(ring::default_provider());
        let unusable = |e: rustls::Error| IdentityError::Unusable(e.to_string());
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(unusable)?
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .map_err(unusable)?;
        let pinned =
            Pinned { certificate: certificate.clone(), algorithms: provider.signature_verification_algorithms };
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(unusable)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(pinned))
            .with_no_client_auth();
        client.enable_sni = false;
        Ok(RunTls { certificate, client: Arc::new(client), server: Arc::new(server) })
    }

    /// The run's certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        self.certificate.as_ref()
    }

    /// The client side of a handshake with `peer`: fails unless it presents the run's certificate.
    pub async fn connect(&self, stream: TcpStream, peer: SocketAddr) -> io::Result<client::TlsStream<TcpStream>> {
        TlsConnector::from(self.client.clone())
            .connect(ServerName::IpAddress(peer.ip().into()), stream)
            .await
            .map_err(|e| explain(e, peer))
    }

    /// The server side of a handshake, presenting the run's certificate.
    pub async fn accept(&self, stream: TcpStream) -> io::Result<server::TlsStream<TcpStream>> {
        TlsAcceptor::from(self.server.clone()).accept(stream).await
    }
}

impl std::fmt::Debug for RunTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunTls").finish_non_exhaustive()
    }
}

/// A refused certificate said plainly; other failures (no TLS at all, a reset) keep rustls' words.
fn explain(e: io::Error, peer: SocketAddr) -> io::Error {
    let refused = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).is_some_and(|e| {
        matches!(e, rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
    });
    if refused {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("the peer at {peer} did not present the run's certificate"),
        )
    } else {
        io::Error::new(e.kind(), format!("TLS handshake with {peer} failed: {e}"))
    }
}

/// Accepts exactly the run's certificate. The handshake's signatures are still checked, so the peer must hold
/// the run's private key too.
#[derive(Debug)]
struct Pinned {
    certificate: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.certificate.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../protocol/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
    }

    #[test]
    fn a_secret_file_gives_its_certificate_and_key() {
        let tls = RunTls::from_pem(&fixture("run.secret")).expect("identity");
        let other = RunTls::from_pem(&fixture("other.secret")).expect("identity");
        assert_ne!(tls.certificate(), other.certificate());
        assert_eq!(tls.certificate()[0], 0x30, "DER starts with a SEQUENCE");
    }

    #[test]
    fn a_file_without_a_certificate_or_a_key_says_which() {
        let text = String::from_utf8(fixture("run.secret")).expect("utf-8");
        let key_start = text.find("-----BEGIN PRIVATE KEY").expect("key");
        let cert_start = text.find("-----BEGIN CERTIFICATE").expect("cert");
        assert_eq!(RunTls::from_pem(b"0123 just a secret\n").unwrap_err(), IdentityError::NoCertificate);
        assert_eq!(RunTls::from_pem(&text.as_bytes()[..key_start]).unwrap_err(), IdentityError::NoPrivateKey);
        let key_only = format!("{}{}", &text[..cert_start], &text[key_start..]);
        assert_eq!(RunTls::from_pem(key_only.as_bytes()).unwrap_err(), IdentityError::NoCertificate);
    }
}
