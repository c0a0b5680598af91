//! An `EngineHandle` fed from a running engine's control socket: the
//! console cannot tell it from an embedded engine. Commands go out with
//! request ids; a refused one comes back as a warning in the event stream
//! (or as the answer of [`Caller::call`]). When the service goes away the
//! last picture stays, marked disconnected, and the client reattaches by
//! itself when the service is back.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::{SinkExt, StreamExt};
use interprocess::local_socket::tokio::Stream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;

use super::parts::Received;
use super::transport;
use super::wire::{
    self, ClientFrame, ClientHello, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, ServerFrame, ServerHello,
};
use crate::engine::command::{Command, EngineEvent, EventLevel};
use crate::engine::handle::{COMMAND_QUEUE, EVENT_BUFFER, EngineHandle};
use crate::engine::request::{Actor, CommandSender, Request, refused_to_read_only};
use crate::engine::snapshot::{Origin, Snapshot};

/// How long to wait between attempts to reattach.
const RETRY_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("no engine listens on {0}")]
    NotListening(PathBuf),
    #[error("the engine refused this connection: {0}")]
    Refused(String),
    #[error("the engine's control socket: {0}")]
    Io(#[from] io::Error),
    #[error("the engine's control socket: {0}")]
    Protocol(String),
}

/// How to attach.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    /// Send no write command (refused here and by the server).
    pub read_only: bool,
    /// The SSH client address to report for the audit log.
    pub ssh_from: Option<String>,
    /// Reattach when the service goes away (the console); a one-shot
    /// command instead sees the snapshot stream end.
    pub reattach: bool,
}

type Reader = FramedRead<tokio::io::ReadHalf<Stream>, LengthDelimitedCodec>;
type Writer = FramedWrite<tokio::io::WriteHalf<Stream>, LengthDelimitedCodec>;

/// One connection, past its hello.
struct Connection {
    reader: Reader,
    writer: Writer,
    hello: ServerHello,
}

async fn connect(endpoint: &Path, opts: &AttachOptions) -> Result<Connection, AttachError> {
    let stream = match transport::connect(endpoint).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(AttachError::NotListening(endpoint.to_path_buf()));
        }
        Err(e) => return Err(AttachError::Io(e)),
    };
    let (rh, wh) = tokio::io::split(stream);
    let mut reader = FramedRead::new(rh, wire::codec(MAX_SERVER_FRAME));
    let mut writer = FramedWrite::new(wh, wire::codec(MAX_CLIENT_FRAME));
    let hello = ClientFrame::Hello(ClientHello::new(opts.ssh_from.clone(), opts.read_only));
    let bytes = wire::encode(&hello).map_err(|e| AttachError::Protocol(e.to_string()))?;
    writer.send(bytes).await?;
    let answer = tokio::time::timeout(Duration::from_secs(10), reader.next())
        .await
        .map_err(|_| AttachError::Protocol("the engine did not answer within 10 s".into()))?;
    let bytes = match answer {
        Some(Ok(b)) => b,
        Some(Err(e)) => return Err(AttachError::Io(e)),
        None => {
            return Err(AttachError::Refused(
                "it closed the connection without a word".into(),
            ));
        }
    };
    match wire::decode_server(&bytes).map_err(AttachError::Protocol)? {
        ServerFrame::Hello(hello) if hello.protocol == wire::PROTOCOL => Ok(Connection {
            reader,
            writer,
            hello,
        }),
        ServerFrame::Hello(hello) => Err(AttachError::Refused(format!(
            "the engine speaks control protocol {} (astrow-pac {}), this program {} \
             (astrow-pac {}): use the same version on both sides",
            hello.protocol,
            hello.product,
            wire::PROTOCOL,
            wire::PRODUCT
        ))),
        ServerFrame::Refused { reason, .. } => Err(AttachError::Refused(reason)),
        _ => Err(AttachError::Protocol(
            "the engine's first frame was not a hello".into(),
        )),
    }
}

/// Sends commands and waits for the engine's answer (`plan`, `apply`).
#[derive(Debug, Clone)]
pub struct Caller {
    tx: mpsc::Sender<(Command, oneshot::Sender<Result<(), String>>)>,
}

impl Caller {
    /// Send `cmd`; `Err` is the engine's reason for refusing it.
    pub async fn call(&self, cmd: Command) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send((cmd, tx))
            .await
            .map_err(|_| "the connection to the engine is closed".to_string())?;
        rx.await
            .map_err(|_| "the engine went away before answering".to_string())?
    }
}

/// A running engine, attached.
pub struct Attached {
    pub handle: EngineHandle,
    pub caller: Caller,
    /// The engine's process.
    pub pid: u32,
    /// Who the engine takes us for.
    pub you_are: String,
    /// Lets go of the engine (the handle's streams end; the engine runs on).
    pub stop: CancellationToken,
}

/// Attach to the engine listening on `endpoint`.
pub async fn attach(endpoint: &Path, opts: AttachOptions) -> Result<Attached, AttachError> {
    let conn = connect(endpoint, &opts).await?;
    let (pid, you_are) = (conn.hello.pid, conn.hello.you_are.clone());
    let (req_tx, req_rx) = mpsc::channel::<Request>(COMMAND_QUEUE);
    let (call_tx, call_rx) = mpsc::channel(COMMAND_QUEUE);
    let first = Snapshot {
        origin: Origin::Service {
            pid,
            connected: true,
        },
        ..Snapshot::default()
    };
    let (snap_tx, snap_rx) = watch::channel(Arc::new(first));
    let (ev_tx, ev_rx) = broadcast::channel(EVENT_BUFFER);
    let stop = CancellationToken::new();
    let client = Client {
        endpoint: endpoint.to_path_buf(),
        opts,
        requests: req_rx,
        calls: call_rx,
        snapshots: snap_tx,
        events: ev_tx,
        stop: stop.clone(),
        next_id: 0,
    };
    tokio::spawn(client.run(conn));
    Ok(Attached {
        handle: EngineHandle {
            commands: CommandSender::new(req_tx, Actor::local()),
            snapshots: snap_rx,
            events: ev_rx,
        },
        caller: Caller { tx: call_tx },
        pid,
        you_are,
        stop,
    })
}

struct Client {
    endpoint: PathBuf,
    opts: AttachOptions,
    requests: mpsc::Receiver<Request>,
    calls: mpsc::Receiver<(Command, oneshot::Sender<Result<(), String>>)>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    events: broadcast::Sender<EngineEvent>,
    stop: CancellationToken,
    next_id: u64,
}

/// Why a connection's loop ended.
enum End {
    /// The console let go of the handle, or was stopped.
    Done,
    /// The service went away (or broke the protocol).
    Lost(String),
}

impl Client {
    async fn run(mut self, first: Connection) {
        let mut conn = first;
        loop {
            let pid = conn.hello.pid;
            match self.serve(conn).await {
                End::Done => return,
                End::Lost(why) => {
                    tracing::warn!("control: the service went away: {why}");
                    if !self.opts.reattach {
                        return; // dropping the senders ends the handle's streams
                    }
                    self.set_connected(pid, false);
                    self.tell(
                        EventLevel::Error,
                        format!(
                            "the service (PID {pid}) went away: showing its last picture; \
                             reattaching when it is back"
                        ),
                    );
                }
            }
            match self.reconnect().await {
                Some(c) => {
                    self.tell(
                        EventLevel::Info,
                        format!("reattached to the service (PID {})", c.hello.pid),
                    );
                    conn = c;
                }
                None => return,
            }
        }
    }

    /// Try again until the service answers (or the console quits).
    async fn reconnect(&mut self) -> Option<Connection> {
        let mut told_refusal = false;
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return None,
                _ = tokio::time::sleep(RETRY_EVERY) => {}
                r = self.requests.recv() => match r {
                    None => return None,
                    Some(_) => self.tell(EventLevel::Warning, "the service is gone: the command was not sent".into()),
                },
                c = self.calls.recv(), if !self.calls.is_closed() => {
                    if let Some((_, reply)) = c {
                        let _ = reply.send(Err("the service is gone".into()));
                    }
                }
            }
            match connect(&self.endpoint, &self.opts).await {
                Ok(c) => return Some(c),
                Err(AttachError::Refused(reason)) if !told_refusal => {
                    told_refusal = true;
                    self.tell(
                        EventLevel::Error,
                        format!("the service refused to reattach: {reason}"),
                    );
                }
                Err(_) => {}
            }
        }
    }

    fn tell(&self, level: EventLevel, message: String) {
        let _ = self.events.send(EngineEvent {
            time: Utc::now(),
            level,
            message,
            answer: None,
        });
    }

    fn set_connected(&self, pid: u32, connected: bool) {
        let mut snap = (**self.snapshots.borrow()).clone();
        snap.origin = Origin::Service { pid, connected };
        snap.version += 1;
        self.snapshots.send_replace(Arc::new(snap));
    }

    async fn send(&mut self, w: &mut Writer, command: Command) -> Result<u64, String> {
        self.next_id += 1;
        let id = self.next_id;
        let bytes = wire::encode(&ClientFrame::Command { id, command })
            .map_err(|e| format!("encoding a command: {e}"))?;
        w.send(bytes).await.map_err(|e| format!("writing: {e}"))?;
        Ok(id)
    }

    async fn serve(&mut self, conn: Connection) -> End {
        let Connection {
            mut reader,
            mut writer,
            hello,
        } = conn;
        let origin = Origin::Service {
            pid: hello.pid,
            connected: true,
        };
        let mut got = Received::default();
        let mut waiting: HashMap<u64, oneshot::Sender<Result<(), String>>> = HashMap::new();
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return End::Done,
                req = self.requests.recv() => {
                    let Some(req) = req else { return End::Done };
                    if self.opts.read_only && refused_to_read_only(&req.command) {
                        self.tell(EventLevel::Warning, "read-only: the command was not sent".into());
                        continue;
                    }
                    if let Err(e) = self.send(&mut writer, req.command).await {
                        return End::Lost(e);
                    }
                }
                call = self.calls.recv(), if !self.calls.is_closed() => {
                    let Some((cmd, reply)) = call else { continue };
                    match self.send(&mut writer, cmd).await {
                        Ok(id) => { waiting.insert(id, reply); }
                        Err(e) => { let _ = reply.send(Err(e.clone())); return End::Lost(e); }
                    }
                }
                frame = reader.next() => {
                    let bytes = match frame {
                        None => return End::Lost("it closed the connection".into()),
                        Some(Err(e)) => return End::Lost(e.to_string()),
                        Some(Ok(b)) => b,
                    };
                    match wire::decode_server(&bytes) {
                        Ok(ServerFrame::Employees(rows)) => got.rows(rows),
                        Ok(ServerFrame::Snapshot(f)) => match got.assemble(*f, origin.clone()) {
                            Ok(snap) => { self.snapshots.send_replace(Arc::new(snap)); }
                            Err(e) => return End::Lost(e),
                        },
                        Ok(ServerFrame::Event(e)) => { let _ = self.events.send(e); }
                        Ok(ServerFrame::Reply { id, result }) => match waiting.remove(&id) {
                            Some(reply) => { let _ = reply.send(result); }
                            None => if let Err(why) = result {
                                self.tell(EventLevel::Warning, format!("refused: {why}"));
                            },
                        },
                        Ok(ServerFrame::Refused { reason, .. }) => return End::Lost(format!("refused: {reason}")),
                        Ok(ServerFrame::Hello(_)) => return End::Lost("a second hello".into()),
                        Err(e) => return End::Lost(e),
                    }
                }
            }
        }
    }
}
