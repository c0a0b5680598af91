//! Where the booking import's time goes, stage by stage: wall time each
//! stage took, summed since start (the bookings bench prints them). Stages
//! that overlap (a send while the previous answers are written) each count
//! their own time, so the sum can exceed the elapsed time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reader: one `/events` call that brought a full page right after a
    /// full page (reading a backlog: no long-poll wait in it).
    ReadPac,
    /// Reader: classifying a page and storing it with the cursor.
    StorePage,
    /// Sender: choosing the next batch from the ledger.
    Select,
    /// Sender: recording the badge and attempt of a batch before it goes.
    Mark,
    /// Sender: one batch to Astrow and back.
    Send,
    /// Sender: writing Astrow's answers.
    Record,
}

const STAGES: [Stage; 6] = [
    Stage::ReadPac,
    Stage::StorePage,
    Stage::Select,
    Stage::Mark,
    Stage::Send,
    Stage::Record,
];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::ReadPac => "read PAC (backlog)",
            Stage::StorePage => "store page",
            Stage::Select => "select batch",
            Stage::Mark => "mark sending",
            Stage::Send => "send to Astrow",
            Stage::Record => "record answers",
        }
    }
}

/// Microseconds per stage.
#[derive(Debug, Default)]
pub struct StageTimes {
    micros: [AtomicU64; STAGES.len()],
}

impl StageTimes {
    pub fn add(&self, stage: Stage, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.micros[stage as usize].fetch_add(us, Ordering::Relaxed);
    }

    /// The sums so far, zeroed.
    pub fn take(&self) -> Vec<(&'static str, Duration)> {
        STAGES
            .iter()
            .map(|s| {
                let us = self.micros[*s as usize].swap(0, Ordering::Relaxed);
                (s.name(), Duration::from_micros(us))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_add_up_and_start_again_from_zero() {
        let t = StageTimes::default();
        t.add(Stage::Send, Duration::from_millis(3));
        t.add(Stage::Send, Duration::from_millis(4));
        t.add(Stage::Mark, Duration::from_micros(5));
        let first = t.take();
        assert_eq!(first[4], ("send to Astrow", Duration::from_millis(7)));
        assert_eq!(first[3], ("mark sending", Duration::from_micros(5)));
        assert!(t.take().iter().all(|(_, d)| d.is_zero()));
    }
}
