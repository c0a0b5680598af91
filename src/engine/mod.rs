//! The sync engine. For now: the pure plan computation.

pub mod plan;
