//! The store is bound to the PAC installation and the Astrow it was made
//! for: its links name employees of that pair only. Pointed at another pair,
//! nothing is planned until a person re-binds it, which forgets the links,
//! plans and suppressions (they describe the other site) and is audited.

use chrono::Utc;
use rusqlite::{OptionalExtension, params};

use super::{AuditRecord, SqlContext, Store, StoreError, time_text};
use crate::model::System;

/// Which PAC and which Astrow, in words that change when the site does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteIdentity {
    /// "certificate sha256:ab12..., organization 1"
    pub pac: String,
    /// "https://astrow.example.local"
    pub astrow: String,
}

impl std::fmt::Display for SiteIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PAC {} and Astrow {}", self.pac, self.astrow)
    }
}

/// How the store's binding compares with the site the settings name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingCheck {
    /// A new store: bound to this site now.
    BoundNow,
    /// The site it was made for.
    Same,
    /// Another site: nothing may be planned until a re-bind.
    Other { bound: SiteIdentity },
}

/// What a re-bind forgot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebound {
    pub before: Option<SiteIdentity>,
    pub links: usize,
    pub plans: usize,
}

impl Store {
    /// The site the store is bound to, if any.
    pub fn site_binding(&self) -> Result<Option<SiteIdentity>, StoreError> {
        self.conn
            .query_row(
                "SELECT pac, astrow FROM site_binding WHERE id = 1",
                [],
                |r| {
                    Ok(SiteIdentity {
                        pac: r.get(0)?,
                        astrow: r.get(1)?,
                    })
                },
            )
            .optional()
            .ctx("read the site binding")
    }

    /// Compare with `site`; a store not bound yet is bound to it.
    pub fn check_site(&mut self, site: &SiteIdentity) -> Result<BindingCheck, StoreError> {
        match self.site_binding()? {
            Some(bound) if &bound == site => Ok(BindingCheck::Same),
            Some(bound) => Ok(BindingCheck::Other { bound }),
            None => {
                self.conn
                    .execute(
                        "INSERT INTO site_binding (id, pac, astrow, bound_at) VALUES (1, ?1, ?2, ?3)",
                        params![site.pac, site.astrow, time_text(Utc::now())],
                    )
                    .ctx("bind the store to its site")?;
                Ok(BindingCheck::BoundNow)
            }
        }
    }

    /// Bind the store to `site`, forgetting the links, plans, suppressions
    /// and applied destructive items of the site it was bound to; audited.
    /// One transaction.
    pub fn rebind(&mut self, site: &SiteIdentity) -> Result<Rebound, StoreError> {
        let before = self.site_binding()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin a re-bind")?;
        let links = tx
            .execute("DELETE FROM links", [])
            .ctx("forget the links")?;
        let plans = tx
            .execute("DELETE FROM plans", [])
            .ctx("forget the plans")?;
        tx.execute("DELETE FROM suppressions", [])
            .ctx("forget the suppressions")?;
        tx.execute("DELETE FROM destructive_applied", [])
            .ctx("forget the applied destructive items")?;
        tx.execute(
            "INSERT INTO site_binding (id, pac, astrow, bound_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET pac = ?1, astrow = ?2, bound_at = ?3",
            params![site.pac, site.astrow, time_text(Utc::now())],
        )
        .ctx("re-bind the store")?;
        tx.commit().ctx("commit a re-bind")?;
        self.append_audit(&AuditRecord {
            system: System::Pac,
            action: "rebind_store".into(),
            record: "store".into(),
            before: before.as_ref().map(ToString::to_string),
            after: Some(site.to_string()),
            result: format!("ok: {links} links and {plans} plans of the old site forgotten"),
        })?;
        Ok(Rebound {
            before,
            links,
            plans,
        })
    }
}
