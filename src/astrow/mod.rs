//! The Astrow Web API: wire types, session and client.

mod calls;
mod client;
mod employees;
mod error;
pub mod feed;
mod session;
pub mod wire;

pub use calls::AstrowBooking;
pub use client::{AstrowClient, AstrowClientConfig};
pub use error::AstrowError;
pub use wire::{HeartbeatStatus, Licenses, Notification, NotificationOp, Notifications};
