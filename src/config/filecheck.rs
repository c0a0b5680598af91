//! Checks of the files settings point at: they exist, can be read and hold
//! what they should. Contents are never quoted.

use std::io::Read;
use std::path::Path;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::Problem;
use super::keyfile::OemKey;

const MAX_PEM: u64 = 1024 * 1024;

fn shown(path: &Path) -> Option<String> {
    Some(path.display().to_string())
}

fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn unreadable(setting: &str, path: &Path, e: &std::io::Error) -> Problem {
    Problem::new(
        setting,
        shown(path),
        format!("cannot read it ({e}); check the path and that this user may read the file"),
    )
}

/// The OEM key file parses.
pub(crate) fn oem_key(setting: &str, path: &Path) -> Option<Problem> {
    OemKey::load(path)
        .err()
        .map(|e| Problem::new(setting, shown(path), e.problem.to_string()))
}

/// The file holds at least one PEM certificate and nothing malformed.
pub(crate) fn pem_certificate(setting: &str, path: &Path) -> Option<Problem> {
    let bytes = match read_limited(path, MAX_PEM) {
        Ok(b) => b,
        Err(e) => return Some(unreadable(setting, path, &e)),
    };
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        match cert {
            Ok(_) => count += 1,
            Err(_) => {
                count = 0;
                break;
            }
        }
    }
    if count > 0 {
        return None;
    }
    let hint = if bytes.trim_ascii_start().starts_with(b"{") {
        "this looks like the OEM key file, which belongs in pac.oem_key_path; "
    } else {
        ""
    };
    Some(Problem::new(
        setting,
        shown(path),
        format!(
            "is not a PEM certificate (text starting with -----BEGIN CERTIFICATE-----); {hint}\
             export the certificate in PEM (Base-64) format and point this setting at it"
        ),
    ))
}

/// The password file can be read and its first line is not empty.
pub(crate) fn password_file(setting: &str, path: &Path) -> Option<Problem> {
    match read_limited(path, 64 * 1024) {
        Err(e) => Some(unreadable(setting, path, &e)),
        Ok(bytes) => {
            let first = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
            if first.trim_ascii().is_empty() {
                Some(Problem::new(
                    setting,
                    shown(path),
                    "has no password on its first line; write the Astrow password there",
                ))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_checks() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["pac.local".to_string()]).unwrap();
        let good = dir.path().join("pac.pem");
        std::fs::write(&good, cert.cert.pem()).unwrap();
        assert_eq!(pem_certificate("pac.certificate_path", &good), None);
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "{\"format\": \"pac-oem-key/1\"}").unwrap();
        let p = pem_certificate("pac.certificate_path", &bad).unwrap();
        assert!(p.message.contains("pac.oem_key_path"), "{p}");
        let p = pem_certificate("astrow.ca_path", &dir.path().join("none.pem")).unwrap();
        assert_eq!(p.setting, "astrow.ca_path");
        assert!(p.message.contains("cannot read"));
    }

    #[test]
    fn password_file_checks_never_quote_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "\nsecret-on-line-2\n").unwrap();
        let p = password_file("astrow.password_file", &f).unwrap();
        assert!(!p.to_string().contains("secret-on-line-2"));
        std::fs::write(&f, "pw\n").unwrap();
        assert_eq!(password_file("astrow.password_file", &f), None);
        assert!(password_file("astrow.password_file", dir.path()).is_some());
    }
}
