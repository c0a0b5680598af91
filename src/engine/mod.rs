//! The sync engine: jobs as tokio tasks, publishing snapshots and taking
//! commands; plan computation as pure functions.

pub mod apply;
pub mod astrow_to_pac;
pub mod bookings;
pub mod command;
pub mod command_audit;
pub mod connect;
pub mod handle;
pub mod item_error;
pub mod jobs;
pub mod memory;
pub mod online;
pub mod people;
pub mod plan;
pub mod plan_meaning;
pub mod query;
pub mod reconcile;
pub mod reconcile_a2p;
pub mod request;
pub mod retry;
pub mod row_records;
pub mod runtime;
pub mod set_aside;
pub mod site;
pub mod snapshot;
pub mod state;
pub mod store_handle;
pub mod trace_text;
pub mod views;
