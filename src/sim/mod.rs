//! Simulators of PAC Access Central and Astrow, for demos and tests.

pub mod astrow;
pub mod seed;
pub mod seed_astrow;
