//! astrow-pac: keeps PAC Access Central and Astrow in step.

pub mod astrow;
pub mod cli;
pub mod config;
pub mod control;
pub mod engine;
pub mod http;
pub mod model;
pub mod pac;
pub mod sim;
pub mod store;
pub mod tui;
