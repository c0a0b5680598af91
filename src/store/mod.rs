//! The durable store (SQLite).

pub mod ledger;
