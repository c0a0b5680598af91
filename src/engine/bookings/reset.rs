//! The recovery after PAC's event sequence was reset: move the cursor to
//! PAC's new sequence in a new epoch, and audit it. Used by the engine
//! (`Command::ResetCursor`, from the console or the control socket) and by
//! `astrow-pac bookings reset-cursor` when no engine runs.

use chrono::Utc;

use crate::model::{Seq, System};
use crate::store::seq_reset::{self, CursorReset};
use crate::store::{AuditRecord, Store};

/// Move the cursor to `to` (reading goes on after it) in a new epoch and
/// write the audit entry. The cursor move is one transaction; the audit
/// entry says what it did, or why it failed.
pub fn reset_cursor_audited(store: &mut Store, to: Seq) -> Result<CursorReset, String> {
    let (before, open) = {
        let conn = store.connection();
        let cursor = crate::store::ledger::cursor(conn).map_err(|e| e.to_string())?;
        let open = seq_reset::open_reset(conn).map_err(|e| e.to_string())?;
        (cursor, open)
    };
    let result = seq_reset::reset_cursor(store.connection(), to, Utc::now());
    let record = AuditRecord {
        system: System::Pac,
        action: "reset_cursor".into(),
        record: "event cursor".into(),
        before: Some(format!(
            "cursor {before}{}",
            open.map(|r| format!(
                "; PAC's sequence reset detected at {} (PAC ended at {})",
                r.detected_at, r.pac_last_seq
            ))
            .unwrap_or_default()
        )),
        after: result
            .as_ref()
            .ok()
            .map(|r| format!("cursor {}, epoch {}", r.new_cursor, r.new_epoch)),
        result: match &result {
            Ok(_) => "ok".into(),
            Err(e) => format!("failed: {e}"),
        },
    };
    let audited = store.append_audit(&record);
    let done = result.map_err(|e| e.to_string())?;
    audited.map_err(|e| format!("the cursor moved, but the audit log refused the entry: {e}"))?;
    tracing::warn!(
        from = done.old_cursor.0,
        to = done.new_cursor.0,
        epoch = done.new_epoch,
        "PAC event cursor reset by a person: reading continues in a new epoch"
    );
    Ok(done)
}

/// The sentence that confirms a reset.
pub fn describe(r: &CursorReset) -> String {
    format!(
        "event cursor moved from {} to {}: PAC's events after {} are read in epoch {} (their bookings' source ids are pac:<org>:e{}:<seq>)",
        r.old_cursor, r.new_cursor, r.new_cursor, r.new_epoch, r.new_epoch
    )
}
