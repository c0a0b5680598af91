//! astrow-pac: keeps PAC Access Central and Astrow in step.

pub mod model;
pub mod pac;
pub mod sim;
