//! The PAC connector: PAC Access Central's OEM interface over HTTPS.

pub mod wire;
