//! The sync engine: jobs as tokio tasks, publishing snapshots and taking commands.

pub mod command;
pub mod handle;
pub mod snapshot;
