//! The engine's jobs, each a tokio task on its own schedule.

pub mod scheduler;
pub mod heartbeat;
