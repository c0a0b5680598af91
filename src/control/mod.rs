//! The engine's handle over a local socket: `server` serves a running
//! engine's handle to attached consoles and commands, `client` is an
//! `EngineHandle` fed from that socket, `wire` the versioned frames between
//! them, `transport` the platform's socket (Unix domain socket or Windows
//! named pipe) and its peer credentials.

pub mod client;
pub mod parts;
pub mod server;
pub mod transport;
pub mod wire;

pub use client::{AttachError, AttachOptions, Attached, Caller, attach};
pub use server::{ControlServer, Policy, Source, serve};
pub use transport::{Access, endpoint};
