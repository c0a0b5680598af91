//! The simulator's own files: a self-signed certificate (SANs `localhost`
//! and `127.0.0.1`) with its private key, and the OEM key file an
//! administrator would download from PAC Access Central. Made on the first
//! start in a directory, reused on later starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rand::RngCore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

pub const CERTIFICATE_FILE: &str = "pac-sim-certificate.pem";
pub const PRIVATE_KEY_FILE: &str = "pac-sim-private-key.pem";
pub const OEM_KEY_FILE: &str = "pac-oem-key.json";

/// The OEM key file (protocol.md): `format` is `pac-oem-key/1`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OemKeyFile {
    pub format: String,
    pub client_id: String,
    pub client_name: String,
    pub key: String,
    pub issued_at: String,
}

impl std::fmt::Debug for OemKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OemKeyFile")
            .field("client_id", &self.client_id)
            .field("client_name", &self.client_name)
            .field("key", &"<hidden>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
    #[error("cannot make the simulator's certificate: {0}")]
    Certificate(String),
    #[error("cannot build the simulator's TLS settings: {0}")]
    Tls(#[from] rustls::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SimFileError + '_ {
    move |source| SimFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write a file readable by its owner only (it may hold a secret).
fn write_private(path: &Path, content: &[u8]) -> Result<(), SimFileError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(content).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// The certificate and private key in `dir`, made when either is missing.
pub fn certificate(dir: &Path) -> Result<(String, String), SimFileError> {
    let cert_path = dir.join(CERTIFICATE_FILE);
    let key_path = dir.join(PRIVATE_KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        let cert = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
        let key = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
        return Ok((cert, key));
    }
    let sans = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let made = rcgen::generate_simple_self_signed(sans)
        .map_err(|e| SimFileError::Certificate(e.to_string()))?;
    let cert = made.cert.pem();
    let key = made.signing_key.serialize_pem();
    write_private(&key_path, key.as_bytes())?;
    std::fs::write(&cert_path, cert.as_bytes()).map_err(io(&cert_path))?;
    Ok((cert, key))
}

/// The OEM key file in `dir`, made when missing.
pub fn oem_key(dir: &Path) -> Result<OemKeyFile, SimFileError> {
    let path = dir.join(OEM_KEY_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let key: OemKeyFile = serde_json::from_str(&text).map_err(|e| SimFileError::Invalid {
            path: path.clone(),
            detail: format!("not an OEM key file: {e}"),
        })?;
        if key.format != "pac-oem-key/1" || key.key.is_empty() || key.client_id.is_empty() {
            return Err(SimFileError::Invalid {
                path,
                detail: "not a pac-oem-key/1 file with a client id and a key".into(),
            });
        }
        return Ok(key);
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = OemKeyFile {
        format: "pac-oem-key/1".into(),
        client_id: "astrow-io".into(),
        client_name: "Astrow".into(),
        key: base64::engine::general_purpose::STANDARD.encode(secret),
        issued_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let mut text = serde_json::to_string_pretty(&key).map_err(|e| SimFileError::Invalid {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    text.push('\n');
    write_private(&path, text.as_bytes())?;
    Ok(key)
}

/// TLS settings of a server presenting `cert_pem` (HTTP/1.1).
pub fn server_config(
    cert_pem: &str,
    key_pem: &str,
    dir: &Path,
) -> Result<Arc<rustls::ServerConfig>, SimFileError> {
    let invalid = |file: &str, e: &dyn std::fmt::Display| SimFileError::Invalid {
        path: dir.join(file),
        detail: e.to_string(),
    };
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(CERTIFICATE_FILE, &e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| invalid(PRIVATE_KEY_FILE, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (c1, k1) = certificate(dir.path()).unwrap();
        let o1 = oem_key(dir.path()).unwrap();
        let (c2, k2) = certificate(dir.path()).unwrap();
        let o2 = oem_key(dir.path()).unwrap();
        assert_eq!((c1.clone(), k1.clone(), o1.clone()), (c2, k2, o2));
        assert!(!format!("{o1:?}").contains(&o1.key));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&o1.key)
            .unwrap();
        assert_eq!(raw.len(), 32);
        server_config(&c1, &k1, dir.path()).unwrap();
    }
}
