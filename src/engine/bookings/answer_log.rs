//! Log lines for Astrow's answers that deserve a look: a queued booking
//! (badge unknown to Astrow) and a rejected one. Badge numbers are masked
//! ([`LogBadge`]), in Astrow's reason too; the console's feed keeps them whole.

use crate::model::{BookingStatus, LogBadge, Seq, mask_badges_in};

/// One line per queued or rejected booking of the batch; `badges` holds the
/// badge each booking was sent with.
pub(super) fn log_answers(badges: &[(Seq, String)], answers: &[(Seq, BookingStatus)]) {
    for (i, (seq, status)) in answers.iter().enumerate() {
        if matches!(
            status,
            BookingStatus::Processed { .. } | BookingStatus::Duplicate { .. }
        ) {
            continue;
        }
        // Both lists are in batch order: the same place first, else a search.
        let badge = badges
            .get(i)
            .filter(|(s, _)| s == seq)
            .or_else(|| badges.iter().find(|(s, _)| s == seq))
            .map_or("", |(_, b)| b.as_str());
        match status {
            BookingStatus::Queued { booking_id } => tracing::info!(
                seq = seq.0,
                booking_id,
                "Astrow queued the booking of badge {}: it knows no employee with that badge yet",
                LogBadge::new(badge)
            ),
            BookingStatus::Rejected { reason } => tracing::warn!(
                seq = seq.0,
                "Astrow rejected the booking of badge {}: {}",
                LogBadge::new(badge),
                mask_badges_in(reason, [badge])
            ),
            BookingStatus::Processed { .. } | BookingStatus::Duplicate { .. } => {}
        }
    }
}
