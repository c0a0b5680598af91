//! The engine as readers see it: a command sender, a snapshot receiver and
//! an event stream. No lock is shared with readers.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};

use super::command::EngineEvent;
use super::request::{Actor, CommandSender, Request};
use super::snapshot::Snapshot;

/// What a console (or `status`) holds of a running engine.
#[derive(Debug)]
pub struct EngineHandle {
    /// Commands, sent as this handle's actor (the local user by default).
    pub commands: CommandSender,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub events: broadcast::Receiver<EngineEvent>,
}

/// The engine's side of the same channels.
#[derive(Debug)]
pub struct EngineChannels {
    pub commands: mpsc::Receiver<Request>,
    pub snapshots: watch::Sender<Arc<Snapshot>>,
    pub events: broadcast::Sender<EngineEvent>,
}

/// Bounds of the channels: commands queue little, events are a bounded
/// stream (a slow reader skips the oldest, it never blocks the engine).
pub const COMMAND_QUEUE: usize = 64;
pub const EVENT_BUFFER: usize = 256;

/// A connected pair: used by `Engine::start`, and by tests that play the
/// engine's part.
pub fn channels() -> (EngineHandle, EngineChannels) {
    let (ctx, crx) = mpsc::channel(COMMAND_QUEUE);
    let (stx, srx) = watch::channel(Arc::new(Snapshot::default()));
    let (etx, erx) = broadcast::channel(EVENT_BUFFER);
    (
        EngineHandle {
            commands: CommandSender::new(ctx, Actor::local()),
            snapshots: srx,
            events: erx,
        },
        EngineChannels {
            commands: crx,
            snapshots: stx,
            events: etx,
        },
    )
}
