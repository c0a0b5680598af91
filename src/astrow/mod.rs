//! The Astrow Web API: wire types, session and client.

mod client;
mod error;
mod session;
pub mod wire;

pub use client::{AstrowBooking, AstrowClient, AstrowClientConfig};
pub use error::AstrowError;
pub use wire::{HeartbeatStatus, Licenses, Notification, NotificationOp, Notifications};
