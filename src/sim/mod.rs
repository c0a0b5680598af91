//! Simulators of PAC Access Central's OEM interface and the Astrow Web API,
//! for demos, tests and fault injection. Never part of a real deployment.

pub mod astrow;
pub mod faults;
pub mod pac;
pub mod real_data;
pub mod roster;
pub mod seed;
pub mod seed_astrow;
pub mod server;
pub mod site;
pub mod swipes;
