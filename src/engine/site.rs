//! Which site the settings point at, as the store's binding records it:
//! PAC by the SHA-256 of the certificate the settings pin (and the
//! organization), Astrow by its URL.

use crate::config::Settings;
use crate::store::{BindingCheck, SiteIdentity};

use super::store_handle::StoreHandle;

/// The largest certificate file read (a PEM certificate is a few KiB).
const MAX_CERTIFICATE_BYTES: u64 = 1 << 20;

/// The site the settings name.
pub fn site_identity(settings: &Settings) -> Result<SiteIdentity, String> {
    let path = &settings.pac.certificate_path;
    let too_big = std::fs::metadata(path)
        .map(|m| m.len() > MAX_CERTIFICATE_BYTES)
        .map_err(|e| {
            format!(
                "PAC's certificate {}: {e} (pac.certificate_path)",
                path.display()
            )
        })?;
    if too_big {
        return Err(format!(
            "PAC's certificate {} is over 1 MiB: not a certificate (pac.certificate_path)",
            path.display()
        ));
    }
    let pem = std::fs::read(path).map_err(|e| {
        format!(
            "PAC's certificate {}: {e} (pac.certificate_path)",
            path.display()
        )
    })?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &pem);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Ok(SiteIdentity {
        pac: format!(
            "certificate sha256:{hex}, organization {}",
            settings.pac.organization_id
        ),
        astrow: astrow_identity(&settings.astrow.url),
    })
}

/// Astrow's URL without the differences that name the same server.
fn astrow_identity(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Check the store's binding before planning: a new store is bound to the
/// settings' site; a store of another site refuses, saying how to re-bind.
pub async fn require_same_site(store: &StoreHandle, settings: &Settings) -> Result<(), String> {
    let site = site_identity(settings)?;
    let here = site.clone();
    let check = store
        .call("check the store's site", move |s| s.check_site(&here))
        .await?;
    match check {
        BindingCheck::BoundNow => {
            tracing::info!("the store is bound to {site}");
            Ok(())
        }
        BindingCheck::Same => Ok(()),
        BindingCheck::Other { bound } => Err(format!(
            "no plan: this store was made for {bound}, but the settings point at {site}; \
             links made against one site never drive changes on another. If this store is \
             meant for the new site, run `astrow-pac store rebind` (it forgets the old site's \
             links and plans, audited; the next plan starts from scratch); otherwise fix \
             store.dir or the settings"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_astrow_urls_that_name_the_same_server_are_one_identity() {
        assert_eq!(
            astrow_identity(" https://Astrow.Example.local/ "),
            astrow_identity("https://astrow.example.local")
        );
        assert_ne!(
            astrow_identity("https://astrow-test.example.local"),
            astrow_identity("https://astrow.example.local")
        );
    }

    #[test]
    fn site_a_missing_certificate_says_which_setting() {
        let mut s = Settings::default();
        s.pac.certificate_path = "/nonexistent/pac.pem".into();
        let e = site_identity(&s).err().unwrap_or_default();
        assert!(e.contains("pac.certificate_path"), "{e}");
    }
}
