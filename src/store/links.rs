//! Links: one per employee pair, unique on both ends.

use rusqlite::{Row, params};

use super::{SqlContext, Store, StoreError, parse_time, time_text};
use crate::model::{Link, LinkOrigin, PacId, PersNo};

impl Store {
    /// Record a link; any other link of either employee is replaced, in one
    /// transaction.
    pub fn upsert_link(&mut self, link: &Link) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .ctx("begin a link upsert")?;
        upsert_link_in(&tx, link)?;
        tx.commit().ctx("commit a link upsert")
    }

    /// Every link, ordered by PAC id.
    pub fn links(&self) -> Result<Vec<Link>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT pac_id, pers_no, origin, at FROM links ORDER BY pac_id")
            .ctx("prepare the link listing")?;
        let rows = stmt
            .query_map([], raw_link)
            .ctx("list links")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("read a link")?;
        rows.into_iter().map(link_from_raw).collect()
    }

    /// The link of one employee, by its PAC id or its pers_no.
    pub fn link_of(
        &self,
        pac_id: Option<PacId>,
        pers_no: Option<PersNo>,
    ) -> Result<Option<Link>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT pac_id, pers_no, origin, at FROM links WHERE pac_id = ?1 OR pers_no = ?2 LIMIT 1",
            )
            .ctx("prepare a link lookup")?;
        let raw = stmt
            .query_map(
                rusqlite::params![pac_id.map(|p| p.0 as i64), pers_no.map(|p| p.0 as i64)],
                raw_link,
            )
            .ctx("look up a link")?
            .next()
            .transpose()
            .ctx("read a link")?;
        raw.map(link_from_raw).transpose()
    }

    /// Forget the link of a PAC employee (it was deleted). True when one existed.
    pub fn delete_link_by_pac_id(&mut self, pac_id: PacId) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM links WHERE pac_id = ?1", [pac_id.0 as i64])
            .ctx("delete a link by PAC id")?;
        Ok(n > 0)
    }

    /// Forget the link of an Astrow employee (it was deleted). True when one existed.
    pub fn delete_link_by_pers_no(&mut self, pers_no: PersNo) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM links WHERE pers_no = ?1", [pers_no.0 as i64])
            .ctx("delete a link by pers_no")?;
        Ok(n > 0)
    }
}

type RawLink = (i64, i64, String, String);

fn raw_link(r: &Row<'_>) -> rusqlite::Result<RawLink> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn link_from_raw((pac_id, pers_no, origin, at): RawLink) -> Result<Link, StoreError> {
    let id = |what: &'static str, v: i64| {
        u64::try_from(v).map_err(|_| StoreError::Corrupt {
            what,
            value: v.to_string(),
        })
    };
    Ok(Link {
        pac_id: PacId(id("a link's PAC id", pac_id)?),
        pers_no: PersNo(id("a link's pers_no", pers_no)?),
        origin: LinkOrigin::parse(&origin).ok_or(StoreError::Corrupt {
            what: "a link's origin",
            value: origin.clone(),
        })?,
        at: parse_time("a link's time", &at)?,
    })
}

/// Record a link on `conn`, which may be inside a transaction (any other
/// link of either employee is replaced with it).
pub(crate) fn upsert_link_in(conn: &rusqlite::Connection, link: &Link) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM links WHERE pac_id = ?1 OR pers_no = ?2",
        params![link.pac_id.0 as i64, link.pers_no.0 as i64],
    )
    .ctx("replace the links of an employee pair")?;
    conn.execute(
        "INSERT INTO links (pac_id, pers_no, origin, at) VALUES (?1, ?2, ?3, ?4)",
        params![
            link.pac_id.0 as i64,
            link.pers_no.0 as i64,
            link.origin.as_str(),
            time_text(link.at)
        ],
    )
    .ctx("insert a link")?;
    Ok(())
}
