//! The engine's jobs, each a tokio task on its own schedule.

pub mod definitions;
pub mod employees;
pub mod heartbeat;
pub mod reconcile;
pub mod reconcile_a2p;
pub mod scheduler;
