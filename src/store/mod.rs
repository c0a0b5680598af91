//! The store (SQLite).
