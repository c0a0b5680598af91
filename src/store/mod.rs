//! The durable store (SQLite).

pub mod db;
pub mod ledger;
