//! HTTPS with a private CA: the connector trusts exactly `ca_pem`.

use std::sync::Arc;

use astrow_pac::astrow::AstrowError;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::*;

struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let chain = vec![leaf.der().clone(), CertificateDer::from(ca.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server config");
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

#[tokio::test]
async fn https_with_the_private_ca_works_and_without_it_fails() {
    let p = pki();
    let env = start_with(options(), |s| s.router(), Some(p.server.clone())).await;
    assert!(env.url.starts_with("https://localhost:"));
    let trusted = env.client_with(|c| c.ca_pem = Some(p.ca_pem.clone().into_bytes()));
    trusted.licences().await.expect("trusted CA");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("astrow-ca.pem");
    std::fs::write(&path, &p.ca_pem).expect("write");
    let from_file = env.config().with_ca_file(&path).expect("read CA");
    let from_file = astrow_pac::astrow::AstrowClient::new(from_file).expect("client");
    from_file
        .licences()
        .await
        .expect("trusted CA from the file");
    let e = env
        .config()
        .with_ca_file(&dir.path().join("absent.pem"))
        .expect_err("no file");
    assert!(e.to_string().contains("astrow.ca_path"), "{e}");

    let other = pki();
    let stranger = env.client_with(|c| {
        c.ca_pem = Some(other.ca_pem.clone().into_bytes());
        c.retry = fast_retry(1);
    });
    let e = stranger.licences().await.expect_err("unknown CA");
    assert!(e.http().is_some(), "{e}");

    let e = astrow_pac::astrow::AstrowClient::new(astrow_pac::astrow::AstrowClientConfig {
        ca_pem: Some(b"not a pem".to_vec()),
        ..env.config()
    })
    .expect_err("bad pem");
    assert!(matches!(e, AstrowError::Config(_)), "{e}");
}
