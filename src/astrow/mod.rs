//! The Astrow Web API: wire types, session and client.

pub mod wire;
