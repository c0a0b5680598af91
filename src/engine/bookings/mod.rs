//! Booking import: PAC events -> ledger -> Astrow bookings, exactly once.

pub mod classify;
pub mod monitor;
pub mod ports;
pub mod reader;
pub mod rollcall;
pub mod sender;
