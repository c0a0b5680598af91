//! TLS towards PAC Access Central: trust exactly the certificate the
//! administrator installed (`pac.certificate_path`), nothing else.
//!
//! PAC's certificate is self-signed, often without the name or address the
//! integration uses, sometimes marked as a CA. So the check is a pin: the
//! server's certificate must be byte for byte one of the certificates in the
//! installed PEM file, and the handshake must be signed by its key. No CA,
//! no system roots, no "accept any certificate".

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use rustls_pki_types::pem::PemObject;

/// The message of a refused server certificate.
pub const MISMATCH: &str = "the server's certificate is not the one in pac.certificate_path: \
download the certificate again from PAC Access Central (Tools > Manage OEM Interface) and \
install it at pac.certificate_path, or check that pac.address and pac.port point at PAC";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "pac.certificate_path holds no PEM certificate (a block \"-----BEGIN CERTIFICATE-----\")"
    )]
    NoCertificate,
    #[error("pac.certificate_path is not a valid PEM certificate: {0}")]
    BadPem(String),
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The server presented a certificate other than the installed one.
#[derive(Debug, thiserror::Error)]
#[error("{MISMATCH}")]
pub struct CertificateMismatch;

/// A rustls client configuration trusting exactly the certificates of
/// `certificate_pem` (ring provider).
pub fn client_config(certificate_pem: &str) -> Result<rustls::ClientConfig, TlsError> {
    let mut certs = Vec::new();
    for c in CertificateDer::pem_slice_iter(certificate_pem.as_bytes()) {
        certs.push(c.map_err(|e| TlsError::BadPem(e.to_string()))?);
    }
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedCertificate {
        certs,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

#[derive(Debug)]
struct PinnedCertificate {
    certs: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.certs.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(CertificateMismatch)),
            )))
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

/// Whether `err` (or anything under it) is the refusal of a certificate
/// other than the installed one.
pub fn is_certificate_mismatch(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if is_mismatch_here(e) {
            return true;
        }
        // io::Error hides its inner error from source(): look inside.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && (is_mismatch_here(inner) || is_certificate_mismatch(inner))
        {
            return true;
        }
        cur = e.source();
    }
    false
}

fn is_mismatch_here(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.downcast_ref::<CertificateMismatch>().is_some() {
        return true;
    }
    matches!(
        e.downcast_ref::<rustls::Error>(),
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(o)))
            if o.0.downcast_ref::<CertificateMismatch>().is_some()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_certificate_is_refused_with_the_setting_named() {
        let e = client_config("hello").unwrap_err();
        assert!(e.to_string().contains("pac.certificate_path"), "{e}");
    }

    #[test]
    fn mismatch_is_found_under_io_errors() {
        let inner = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(CertificateMismatch),
        )));
        let io = std::io::Error::other(inner);
        assert!(is_certificate_mismatch(&io));
        assert!(!is_certificate_mismatch(&std::io::Error::other("x")));
    }
}
