//! The OEM key file made in PAC Access Central (format in protocol.md):
//! `{"format": "pac-oem-key/1", "client_id", "client_name", "key", "issued_at"}`.
//! No error ever quotes the key.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::Secret;

/// The only format this program reads.
pub const FORMAT: &str = "pac-oem-key/1";
/// The key is base64 of this many random bytes.
pub const KEY_BYTES: usize = 32;
/// Larger files are not key files.
const MAX_LEN: u64 = 64 * 1024;

/// An OEM client's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OemKey {
    pub client_id: String,
    pub client_name: String,
    /// The base64 text, as sent in `Authorization: PAC-OEM <client_id>:<key>`.
    pub key: Secret,
    pub issued_at: DateTime<Utc>,
}

/// The OEM key file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the OEM key file {}: {problem}", path.display())]
pub struct KeyFileError {
    pub path: PathBuf,
    pub problem: KeyProblem,
}

/// What is wrong with an OEM key file; never quotes the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    #[error("cannot read it ({0}); check the path and that this user may read the file")]
    Unreadable(std::io::Error),
    #[error("is empty; {REDOWNLOAD}")]
    Empty,
    #[error("is larger than 64 KiB, far too large for an OEM key; {REDOWNLOAD}")]
    TooLarge,
    #[error(
        "looks like a PEM certificate, not an OEM key: that file belongs in pac.certificate_path; {REDOWNLOAD}"
    )]
    LooksLikePem,
    #[error("is not JSON ({0}); {REDOWNLOAD}")]
    NotJson(String),
    #[error("has format {0}, but only \"pac-oem-key/1\" is understood; {REDOWNLOAD}")]
    WrongFormat(String),
    #[error("has a bad `{field}`: {why}; {REDOWNLOAD}")]
    BadField {
        field: &'static str,
        why: &'static str,
    },
}

const REDOWNLOAD: &str = "download the key again in PAC Access Central \
    (Tools > Manage OEM Interface > Add client > download key)";

impl OemKey {
    /// A key from its 32 bytes.
    pub fn new(
        client_id: &str,
        client_name: &str,
        key: &[u8; KEY_BYTES],
        issued_at: DateTime<Utc>,
    ) -> Self {
        OemKey {
            client_id: client_id.to_string(),
            client_name: client_name.to_string(),
            key: Secret::new(BASE64.encode(key)),
            issued_at,
        }
    }

    /// A fresh random key (the PAC simulator's "Add client").
    pub fn generate(client_id: &str, client_name: &str, issued_at: DateTime<Utc>) -> Self {
        Self::new(
            client_id,
            client_name,
            &rand::random::<[u8; KEY_BYTES]>(),
            issued_at,
        )
    }

    /// Read and check a key file.
    pub fn load(path: &Path) -> Result<OemKey, KeyFileError> {
        let err = |problem| KeyFileError {
            path: path.to_path_buf(),
            problem,
        };
        let file = std::fs::File::open(path).map_err(|e| err(KeyProblem::Unreadable(e)))?;
        let mut bytes = Vec::new();
        file.take(MAX_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(KeyProblem::Unreadable(e)))?;
        if bytes.len() as u64 > MAX_LEN {
            return Err(err(KeyProblem::TooLarge));
        }
        Self::from_json(&bytes).map_err(err)
    }

    /// Parse the content of a key file.
    pub fn from_json(bytes: &[u8]) -> Result<OemKey, KeyProblem> {
        let text = bytes.trim_ascii();
        if text.is_empty() {
            return Err(KeyProblem::Empty);
        }
        if text.starts_with(b"-----BEGIN") {
            return Err(KeyProblem::LooksLikePem);
        }
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            // Line and column only: serde_json's text is not quoted back.
            KeyProblem::NotJson(
                format!(
                    "{:?} error at line {}, column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                )
                .to_lowercase(),
            )
        })?;
        let Value::Object(map) = value else {
            return Err(KeyProblem::WrongFormat("(none: not a JSON object)".into()));
        };
        match map.get("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(Value::String(f)) => return Err(KeyProblem::WrongFormat(quote_short(f))),
            Some(_) => return Err(KeyProblem::WrongFormat("(not text)".into())),
            None => {
                return Err(KeyProblem::WrongFormat(
                    "(none: no \"format\" field)".into(),
                ));
            }
        }
        let client_id = text_field(&map, "client_id")?;
        if client_id.is_empty()
            || client_id
                .chars()
                .any(|c| c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err(KeyProblem::BadField {
                field: "client_id",
                why: "must be non-empty, without spaces or `:`",
            });
        }
        let client_name = text_field(&map, "client_name")?;
        let key = text_field(&map, "key")?;
        match BASE64.decode(key.as_bytes()) {
            Ok(raw) if raw.len() == KEY_BYTES => {}
            _ => {
                return Err(KeyProblem::BadField {
                    field: "key",
                    why: "must be base64 of 32 bytes",
                });
            }
        }
        let issued_at = DateTime::parse_from_rfc3339(&text_field(&map, "issued_at")?)
            .map_err(|_| KeyProblem::BadField {
                field: "issued_at",
                why: "must be an RFC 3339 time",
            })?
            .with_timezone(&Utc);
        Ok(OemKey {
            client_id,
            client_name,
            key: Secret::new(key),
            issued_at,
        })
    }

    /// The file content PAC Access Central would write for this key.
    pub fn to_file_json(&self) -> String {
        let v = serde_json::json!({
            "format": FORMAT,
            "client_id": self.client_id,
            "client_name": self.client_name,
            "key": self.key.expose(),
            "issued_at": self.issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        });
        format!("{v}\n")
    }

    /// The `Authorization` header value: `PAC-OEM <client_id>:<key>`.
    pub fn authorization(&self) -> Secret {
        Secret::new(format!("PAC-OEM {}:{}", self.client_id, self.key.expose()))
    }
}

fn text_field(map: &Map<String, Value>, field: &'static str) -> Result<String, KeyProblem> {
    match map.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(KeyProblem::BadField {
            field,
            why: "must be text",
        }),
        None => Err(KeyProblem::BadField {
            field,
            why: "is missing",
        }),
    }
}

fn quote_short(s: &str) -> String {
    let short: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn sample() -> String {
        format!(
            r#"{{"format": "pac-oem-key/1", "client_id": "astrow-io", "client_name": "Astrow", "key": "{KEY}", "issued_at": "2026-11-01T10:00:00Z"}}"#
        )
    }

    fn problem(text: &str) -> String {
        let e = OemKey::from_json(text.as_bytes()).unwrap_err().to_string();
        assert!(
            !e.contains(KEY) && !e.contains("AAECAwQF"),
            "key leaked: {e}"
        );
        assert!(
            e.contains("download the key again") || e.contains("cannot read"),
            "{e}"
        );
        e
    }

    #[test]
    fn good_file_parses_and_round_trips() {
        let k = OemKey::from_json(sample().as_bytes()).unwrap();
        assert_eq!(k.client_id, "astrow-io");
        assert_eq!(k.key.expose(), KEY);
        assert_eq!(OemKey::from_json(k.to_file_json().as_bytes()).unwrap(), k);
        assert!(!format!("{k:?}").contains(KEY));
        assert_eq!(
            k.authorization().expose(),
            format!("PAC-OEM astrow-io:{KEY}")
        );
        let g = OemKey::generate("c", "n", Utc::now());
        assert_eq!(
            OemKey::from_json(g.to_file_json().as_bytes()).unwrap().key,
            g.key
        );
    }

    #[test]
    fn bad_files_give_clear_errors_without_the_key() {
        assert!(problem("").contains("empty"));
        assert!(problem("  \n").contains("empty"));
        assert!(problem("not json at all").contains("not JSON"));
        assert!(problem(&format!("{{\"key\": \"{KEY}\"")).contains("not JSON"));
        assert!(problem("-----BEGIN CERTIFICATE-----\nMIIB\n").contains("pac.certificate_path"));
        assert!(
            problem(&sample().replace("pac-oem-key/1", "pac-oem-key/2"))
                .contains("\"pac-oem-key/2\"")
        );
        assert!(problem(&format!("[\"{KEY}\"]")).contains("not a JSON object"));
        assert!(problem(&format!("{{\"key\": \"{KEY}\"}}")).contains("no \"format\""));
        assert!(problem(&sample().replace(KEY, "c2hvcnQ=")).contains("base64 of 32 bytes"));
        assert!(problem(&sample().replace(KEY, "!!!!")).contains("`key`"));
        assert!(problem(&sample().replace("\"astrow-io\"", "\"a:b\"")).contains("client_id"));
        assert!(
            problem(&sample().replace("2026-11-01T10:00:00Z", "yesterday")).contains("issued_at")
        );
        assert!(problem(&sample().replace(&format!("\"{KEY}\""), "42")).contains("must be text"));
        let bin = OemKey::from_json(&[0xff, 0xfe, 0x00, 0x41]).unwrap_err();
        assert!(bin.to_string().contains("not JSON"));
    }

    #[test]
    fn unreadable_and_missing_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let e = OemKey::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("cannot read"), "{e}");
        let missing = dir.path().join("missing.key");
        let e = OemKey::load(&missing).unwrap_err().to_string();
        assert!(
            e.contains("missing.key") && e.contains("cannot read"),
            "{e}"
        );
        let big = dir.path().join("big.key");
        std::fs::write(&big, vec![b' '; 70_000]).unwrap();
        assert!(
            OemKey::load(&big)
                .unwrap_err()
                .to_string()
                .contains("64 KiB")
        );
        let good = dir.path().join("good.key");
        std::fs::write(&good, sample()).unwrap();
        assert_eq!(OemKey::load(&good).unwrap().client_name, "Astrow");
    }
}
