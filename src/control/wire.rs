//! The frames of the control socket: JSON documents (and, from the server,
//! binary rows frames of a new employee list), each in one frame of
//! tokio-util's length-delimited codec (a 4-byte big-endian length, then the
//! bytes).
//!
//! A connection starts with the client's `hello` and the server's answer
//! (its own `hello`, or `refused` with the reason, after which it closes).
//! Then the client sends `command`s with request ids and gets a `reply` for
//! each; the server sends `snapshot` frames carrying only the large parts
//! whose `Arc` changed since the last one it sent this client (see
//! `parts`), and `event`s.
//! No secret is in any of these types (the snapshot holds none by design).

use serde::{Deserialize, Serialize};
use tokio_util::codec::LengthDelimitedCodec;

pub use super::parts::SnapshotFrame;
use crate::engine::command::{Command, EngineEvent};
use crate::engine::snapshot::EmployeeRow;

/// The wire's version: both ends must speak the same one. 2: consoles ask
/// questions (`Command::Query`) answered in events (`EngineEvent::answer`);
/// a service of protocol 1 could not read such a command and dropped the
/// connection, so the two are refused at the hello instead. 3: an
/// employee in a query names its side (`{"pac": 12}`, `{"astrow": 12}`,
/// `{"either": 12}`) where protocol 2 sent a bare number. 4: a plan item's
/// master and target ids are numbers, not text. 5: `Command::MoveAstrowCursor`
/// (after Astrow was restored from a backup), which a service of protocol 4
/// could not read. 6: `Command::ResendLostBookings` (`reconcile
/// --resend-missing`), likewise. 7: a plan item's reason is data
/// (`engine::plan::Reason`, rendered when shown) and the plan view carries
/// the names its reasons use; a console of protocol 6 could not read it.
pub const PROTOCOL: u32 = 7;
/// The product version, told in the hello (a console newer than the service says so).
pub const PRODUCT: &str = env!("CARGO_PKG_VERSION");
/// The largest frame a client may send (commands are small).
pub const MAX_CLIENT_FRAME: usize = 1 << 20;
/// The largest frame the server sends (a full picture of 100k employees a side).
pub const MAX_SERVER_FRAME: usize = 512 << 20;

/// The codec each side reads with: a huge length is an error, not an allocation.
pub fn codec(max_frame: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(max_frame)
        .new_codec()
}

/// What a client says first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    pub protocol: u32,
    pub product: String,
    /// The SSH client address of the console's session, for the audit log.
    pub ssh_from: Option<String>,
    /// `--read-only`: the server refuses every write from this connection.
    pub read_only: bool,
}

impl ClientHello {
    pub fn new(ssh_from: Option<String>, read_only: bool) -> ClientHello {
        ClientHello {
            protocol: PROTOCOL,
            product: PRODUCT.to_string(),
            ssh_from,
            read_only,
        }
    }
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientFrame {
    Hello(ClientHello),
    Command { id: u64, command: Command },
}

/// The server's answer to a hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHello {
    pub protocol: u32,
    pub product: String,
    /// The engine's process.
    pub pid: u32,
    /// Who the server takes the client for (from the socket's peer credentials).
    pub you_are: String,
}

/// What the server sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerFrame {
    Hello(ServerHello),
    /// The connection is refused; the server closes it after this frame.
    Refused {
        reason: String,
        protocol: u32,
        product: String,
    },
    Reply {
        id: u64,
        /// `Err` names why the command was refused.
        result: Result<(), String>,
    },
    /// Rows of a new employee list, in order; the next snapshot frame says
    /// how many there are in all (a large list crosses in pieces, so the
    /// client reads one while the server writes the next). On the wire
    /// this frame is binary, not JSON: see [`encode_rows`].
    #[serde(skip)]
    Employees(Vec<EmployeeRow>),
    Snapshot(Box<SnapshotFrame>),
    Event(EngineEvent),
}

/// The first byte of a rows frame (a JSON document starts with `{`).
pub const ROWS_FRAME: u8 = 0x01;

/// A rows frame: the marker, then the rows in postcard (compact binary: a
/// fifth of the JSON and three times quicker to read, for 100k rows a side).
pub fn encode_rows(rows: &[EmployeeRow]) -> Result<bytes::Bytes, String> {
    postcard::to_extend(rows, vec![ROWS_FRAME])
        .map(bytes::Bytes::from)
        .map_err(|e| format!("encoding employee rows: {e}"))
}

/// A frame from the server: a rows frame, or a JSON document.
pub fn decode_server(bytes: &[u8]) -> Result<ServerFrame, String> {
    match bytes.split_first() {
        Some((&ROWS_FRAME, rest)) => postcard::from_bytes(rest)
            .map(ServerFrame::Employees)
            .map_err(|e| format!("a malformed rows frame ({e})")),
        _ => decode(bytes),
    }
}

/// Encode a frame's document.
pub fn encode<T: Serialize>(frame: &T) -> Result<bytes::Bytes, serde_json::Error> {
    serde_json::to_vec(frame).map(bytes::Bytes::from)
}

/// Decode a frame's document; the error names what is wrong with it.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("a malformed frame ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_named() {
        let f = ClientFrame::Command {
            id: 7,
            command: Command::Approve(vec!["a".into()]),
        };
        let back: ClientFrame = decode(&encode(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        let err = decode::<ClientFrame>(b"\x00\xffnot json").unwrap_err();
        assert!(err.contains("malformed frame"), "{err}");
    }
}
