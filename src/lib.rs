//! astrow-pac: keeps PAC Access Central and Astrow in step.

pub mod cli;
pub mod config;
pub mod engine;
pub mod http;
pub mod model;
pub mod sim;
pub mod tui;
