//! astrow-pac: keeps PAC Access Central and Astrow in step.

pub mod engine;
pub mod model;
pub mod store;
