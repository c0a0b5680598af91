//! The recovery after Astrow was restored from a backup: move the Astrow
//! cursor to `to` in a new epoch and audit it. Used by
//! `astrow-pac bookings astrow-cursor` (and through the engine when it runs).

use chrono::Utc;

use crate::model::System;
use crate::store::astrow_restore::{self, AstrowCursorMove};
use crate::store::{AuditRecord, Store, astrow_ledger};

/// Move the cursor to `to` (reading goes on after it) in a new epoch and
/// write the audit entry. The move is one transaction; the audit entry says
/// what it did, or why it failed. Without an open restore only when a
/// person confirmed it (`force`); never below the oldest ledger row kept.
pub fn move_cursor_audited(
    store: &mut Store,
    to: u64,
    force: bool,
) -> Result<AstrowCursorMove, String> {
    let (before, open) = {
        let conn = store.connection();
        let cursor = astrow_ledger::cursor(conn).map_err(|e| e.to_string())?.0;
        let open = astrow_restore::open_restore(conn).map_err(|e| e.to_string())?;
        (cursor, open)
    };
    let result = astrow_restore::move_cursor(store.connection(), to, force, Utc::now());
    let record = AuditRecord {
        system: System::Astrow,
        action: "move_booking_cursor".into(),
        record: "Astrow booking cursor".into(),
        before: Some(format!(
            "cursor {before}{}",
            open.map(|r| format!(
                "; Astrow went back, detected at {}: {}",
                r.detected_at, r.why
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
        from = done.old_cursor,
        to = done.new_cursor,
        epoch = done.new_epoch,
        "Astrow booking cursor moved by a person: reading continues in a new epoch"
    );
    Ok(done)
}

/// The sentence that confirms a move.
pub fn describe(m: &AstrowCursorMove) -> String {
    format!(
        "Astrow booking cursor moved from {} to {}: Astrow's bookings after {} are read in epoch {} (sent to PAC as astrow:e{}:<booking_id>)",
        m.old_cursor, m.new_cursor, m.new_cursor, m.new_epoch, m.new_epoch
    )
}
