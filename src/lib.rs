//! astrow-pac: keeps PAC Access Central and Astrow in step.

pub mod cli;
pub mod config;
pub mod model;
