//! The PAC connector: PAC Access Central's OEM interface over HTTPS.

pub mod client;
pub mod error;
mod external;
pub mod tls;
pub mod wire;

pub use client::{EventBatch, PacClient, PacClientConfig, new_idempotency_key};
pub use error::PacError;
