//! Connectors made from the settings: the files they name are read here,
//! with errors that name the setting.

use crate::astrow::{AstrowClient, AstrowClientConfig};
use crate::config::Settings;
use crate::config::keyfile::OemKey;
use crate::pac::{PacClient, PacClientConfig};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("pac.certificate_path: cannot read {path}: {source}")]
    Certificate {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pac.oem_key_path: {0}")]
    Key(String),
    #[error("astrow.ca_path: cannot read {path}: {source}")]
    Ca {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("astrow password: {0}")]
    Password(String),
    #[error("{0}")]
    Client(String),
}

pub fn pac_client(s: &Settings) -> Result<PacClient, ConnectError> {
    let pem = std::fs::read_to_string(&s.pac.certificate_path).map_err(|source| {
        ConnectError::Certificate {
            path: s.pac.certificate_path.display().to_string(),
            source,
        }
    })?;
    let key = OemKey::load(&s.pac.oem_key_path).map_err(|e| ConnectError::Key(e.to_string()))?;
    let mut cfg = PacClientConfig::new(
        &s.pac.address,
        s.pac.port,
        pem,
        key.client_id.clone(),
        key.key.expose().to_string(),
    );
    cfg.organization_id = s.pac.organization_id;
    PacClient::new(cfg).map_err(|e| ConnectError::Client(e.to_string()))
}

pub fn astrow_client(s: &Settings) -> Result<AstrowClient, ConnectError> {
    let password = s
        .astrow
        .resolve_password()
        .map_err(|e| ConnectError::Password(e.to_string()))?;
    let mut cfg = AstrowClientConfig::new(&s.astrow.url, &s.astrow.username, password.expose());
    if let Some(ca) = &s.astrow.ca_path {
        let pem = std::fs::read(ca).map_err(|source| ConnectError::Ca {
            path: ca.display().to_string(),
            source,
        })?;
        cfg.ca_pem = Some(pem);
    }
    AstrowClient::new(cfg).map_err(|e| ConnectError::Client(e.to_string()))
}
