//! Suppressions: rejected items, by item key and source fingerprint.

use rusqlite::params;

use super::{SqlContext, Store, StoreError, fingerprint_text, parse_fingerprint, time_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSuppression {
    pub item_key: String,
    pub source_fingerprint: u64,
}

impl Store {
    /// Suppress an item until its source changes. Rejecting plan items
    /// through [`Store::set_item_states`] does this in the same transaction.
    pub fn add_suppression(
        &mut self,
        item_key: &str,
        source_fingerprint: u64,
    ) -> Result<(), StoreError> {
        insert(&self.conn, item_key, source_fingerprint)
    }

    pub fn suppressions(&self) -> Result<Vec<StoredSuppression>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT item_key, source_fingerprint FROM suppressions ORDER BY item_key",
            )
            .ctx("prepare the suppression listing")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .ctx("list suppressions")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read a suppression")?;
        rows.into_iter()
            .map(|(item_key, fp)| {
                Ok(StoredSuppression {
                    item_key,
                    source_fingerprint: parse_fingerprint(&fp)?,
                })
            })
            .collect()
    }

    /// Lift every suppression of an item key (a person changed their mind).
    pub fn clear_suppression(&mut self, item_key: &str) -> Result<usize, StoreError> {
        self.conn
            .execute("DELETE FROM suppressions WHERE item_key = ?1", [item_key])
            .ctx("clear a suppression")
    }
}

pub(crate) fn insert(
    conn: &rusqlite::Connection,
    item_key: &str,
    source_fingerprint: u64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO suppressions (item_key, source_fingerprint, at) VALUES (?1, ?2, ?3)",
        params![item_key, fingerprint_text(source_fingerprint), time_text(chrono::Utc::now())],
    )
    .ctx("insert a suppression")?;
    Ok(())
}
