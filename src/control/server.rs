//! The engine's handle served on its control socket: each attached client
//! gets snapshots (only the parts that changed), events, and replies to its
//! commands, which reach the engine stamped with the peer's OS user. A bad
//! client loses its own connection, never the engine or other clients.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;

use super::parts::{ROWS_PER_FRAME, Sent};
use super::transport::{self, Access, Peer};
use super::wire::{
    self, ClientFrame, ClientHello, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, PROTOCOL, ServerFrame,
    ServerHello,
};
use crate::engine::command::{Command, EngineEvent};
use crate::engine::handle::EngineHandle;
use crate::engine::request::{Actor, CommandSender, refused_to_read_only};
use crate::engine::snapshot::Snapshot;

/// How long a new connection may take to say hello.
const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// What the server serves: a copy of the engine's handle.
pub struct Source {
    pub commands: CommandSender,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub events: broadcast::Receiver<EngineEvent>,
}

impl Source {
    pub fn of(handle: &EngineHandle) -> Source {
        Source {
            commands: handle.commands.clone(),
            snapshots: handle.snapshots.clone(),
            events: handle.events.resubscribe(),
        }
    }

    fn for_client(&self) -> Source {
        Source {
            commands: self.commands.clone(),
            snapshots: self.snapshots.clone(),
            events: self.events.resubscribe(),
        }
    }
}

/// Who may attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Peers of this user are admitted (the engine's own user); `None`: the
    /// platform cannot tell (Windows: the pipe's security descriptor decides).
    pub owner_uid: Option<u32>,
    /// `control.group` is set: whoever passed the socket's mode bits (0660,
    /// the group) is admitted.
    pub group: bool,
}

impl Policy {
    pub fn for_this_process(access: &Access) -> Policy {
        Policy {
            owner_uid: transport::own_uid(),
            group: access.group.is_some(),
        }
    }
}

/// Whether `peer` may attach; `Err` says why not, for the peer to read.
pub fn admit(peer: &Peer, policy: &Policy) -> Result<(), String> {
    let (Some(owner), Some(uid)) = (policy.owner_uid, peer.uid) else {
        return Ok(());
    };
    if uid == owner || policy.group {
        return Ok(());
    }
    Err(format!(
        "the engine runs as {} and admits only that user (or the group in control.group); \
         you are {}: attach with `sudo -u {} astrow-pac`",
        transport::unix_name(owner),
        peer.user,
        transport::unix_name(owner),
    ))
}

/// A running control server; dropping it does not stop it, `stop` does.
pub struct ControlServer {
    pub endpoint: PathBuf,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    /// The socket file this server made (removed on stop while still ours).
    socket: Option<transport::SocketFile>,
}

impl ControlServer {
    /// Stop accepting, end every client (a client that does not read cannot
    /// hold this up: its pending write is dropped), then remove the socket
    /// file unless a newer engine has replaced it meanwhile.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
        if let Some(socket) = &self.socket {
            socket.remove_if_ours();
        }
    }
}

/// Serve `source` on the store's endpoint in `dir`. Call only while this
/// process holds the store's lock (a leftover socket is then replaced).
pub fn serve(
    dir: &Path,
    access: &Access,
    policy: Policy,
    source: Source,
) -> io::Result<ControlServer> {
    let listener = transport::listen(dir, access)?;
    let endpoint = transport::endpoint(dir);
    let socket = transport::SocketFile::made_at(&endpoint);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        let clients = tokio_util::task::TaskTracker::new();
        loop {
            let conn = tokio::select! {
                _ = stop.cancelled() => break,
                c = listener.accept() => c,
            };
            match conn {
                Ok(stream) => {
                    let (src, pol, stop) = (source.for_client(), policy.clone(), stop.clone());
                    clients.spawn(async move {
                        // Raced with the stop as a whole: a write blocked on a
                        // client that does not read (suspended, buffer full)
                        // is dropped, never waited for.
                        let served = tokio::select! {
                            _ = stop.cancelled() => Ok(()),
                            r = serve_client(stream, src, &pol, stop.clone()) => r,
                        };
                        if let Err(e) = served {
                            tracing::info!("control: a client connection closed: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("control: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        clients.close();
        clients.wait().await;
    });
    tracing::info!(socket = %endpoint.display(), "consoles may attach");
    Ok(ControlServer {
        endpoint,
        cancel,
        task,
        socket,
    })
}

type Reader = FramedRead<tokio::io::ReadHalf<Stream>, tokio_util::codec::LengthDelimitedCodec>;
type Writer = FramedWrite<tokio::io::WriteHalf<Stream>, tokio_util::codec::LengthDelimitedCodec>;

async fn send(w: &mut Writer, frame: &ServerFrame) -> Result<(), String> {
    let bytes = wire::encode(frame).map_err(|e| format!("encoding a frame: {e}"))?;
    w.send(bytes).await.map_err(|e| format!("writing: {e}"))
}

/// A snapshot as this client needs it: a new employee list in pieces, then
/// the frame with what changed.
async fn send_snapshot(w: &mut Writer, sent: &mut Sent, snap: &Snapshot) -> Result<(), String> {
    let rows = sent.employees(snap);
    for chunk in rows.iter().flat_map(|r| r.chunks(ROWS_PER_FRAME)) {
        let bytes = wire::encode_rows(chunk)?;
        w.send(bytes).await.map_err(|e| format!("writing: {e}"))?;
    }
    let frame = sent.frame(snap, rows.map(|r| r.len()));
    send(w, &ServerFrame::Snapshot(Box::new(frame))).await
}

async fn refuse(w: &mut Writer, reason: String) -> Result<(), String> {
    let _ = send(
        w,
        &ServerFrame::Refused {
            reason: reason.clone(),
            protocol: PROTOCOL,
            product: wire::PRODUCT.to_string(),
        },
    )
    .await;
    let _ = SinkExt::<bytes::Bytes>::close(w).await;
    Err(format!("refused: {reason}"))
}

/// The hello, within `HELLO_WITHIN`, of the version this engine speaks.
async fn read_hello(r: &mut Reader) -> Result<ClientHello, String> {
    let first = tokio::time::timeout(HELLO_WITHIN, r.next())
        .await
        .map_err(|_| "no hello within 10 s".to_string())?;
    let bytes = match first {
        Some(Ok(b)) => b,
        Some(Err(e)) => return Err(format!("a bad first frame: {e}")),
        None => return Err("closed before its hello".into()),
    };
    // Read as loose JSON first: a client of another version still gets told.
    let doc: serde_json::Value = wire::decode(&bytes)?;
    let protocol = doc["hello"]["protocol"].as_u64();
    if protocol.is_some_and(|p| p != u64::from(PROTOCOL)) {
        return Err(format!(
            "this engine speaks control protocol {PROTOCOL} (astrow-pac {}), the client {} \
             (astrow-pac {}): use the same astrow-pac version on both sides",
            wire::PRODUCT,
            protocol.unwrap_or_default(),
            doc["hello"]["product"].as_str().unwrap_or("?")
        ));
    }
    match serde_json::from_value::<ClientFrame>(doc) {
        Ok(ClientFrame::Hello(h)) => Ok(h),
        Ok(_) => Err("the first frame must be a hello".into()),
        Err(e) => Err(format!("a malformed hello ({e})")),
    }
}

async fn serve_client(
    stream: Stream,
    mut src: Source,
    policy: &Policy,
    stop: CancellationToken,
) -> Result<(), String> {
    let peer = transport::peer(&stream).map_err(|e| format!("peer credentials: {e}"))?;
    let (rh, wh) = tokio::io::split(stream);
    let mut r = FramedRead::new(rh, wire::codec(MAX_CLIENT_FRAME));
    let mut w = FramedWrite::new(wh, wire::codec(MAX_SERVER_FRAME));
    if let Err(reason) = admit(&peer, policy) {
        tracing::warn!(user = %peer.user, "control: a peer was refused: {reason}");
        return refuse(&mut w, reason).await;
    }
    let hello = match read_hello(&mut r).await {
        Ok(h) => h,
        Err(reason) => return refuse(&mut w, reason).await,
    };
    let actor = Actor {
        user: peer.user.clone(),
        ssh_from: hello
            .ssh_from
            .filter(|a| a.parse::<std::net::IpAddr>().is_ok()),
    };
    tracing::info!(user = %actor, read_only = hello.read_only, "control: a console attached");
    send(
        &mut w,
        &ServerFrame::Hello(ServerHello {
            protocol: PROTOCOL,
            product: wire::PRODUCT.to_string(),
            pid: std::process::id(),
            you_are: actor.to_string(),
        }),
    )
    .await?;
    let commands = src.commands.with_actor(actor.clone());
    let mut sent = Sent::default();
    let snap = src.snapshots.borrow_and_update().clone();
    send_snapshot(&mut w, &mut sent, &snap).await?;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            changed = src.snapshots.changed() => {
                if changed.is_err() {
                    return Ok(()); // the engine stopped
                }
                let snap = src.snapshots.borrow_and_update().clone();
                send_snapshot(&mut w, &mut sent, &snap).await?;
            }
            ev = src.events.recv() => match ev {
                Ok(e) => send(&mut w, &ServerFrame::Event(e)).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            frame = r.next() => {
                let bytes = match frame {
                    None => return Ok(()),
                    Some(Err(e)) => return Err(format!("a bad frame from {actor}: {e}")),
                    Some(Ok(b)) => b,
                };
                let (id, command) = match wire::decode::<ClientFrame>(&bytes)? {
                    ClientFrame::Command { id, command } => (id, command),
                    ClientFrame::Hello(_) => return Err(format!("a second hello from {actor}")),
                };
                let result = check(&command, hello.read_only, &src.snapshots.borrow());
                let result = match result {
                    Ok(()) => commands
                        .send(command)
                        .await
                        .map_err(|_| "the engine has stopped".to_string()),
                    Err(e) => Err(e),
                };
                send(&mut w, &ServerFrame::Reply { id, result }).await?;
            }
        }
    }
}

/// Whether this client may send `cmd` now; `Err` says why not.
pub fn check(cmd: &Command, read_only: bool, snap: &Snapshot) -> Result<(), String> {
    if matches!(cmd, Command::Shutdown) {
        return Err("an attached console does not stop the service: \
                    stop it with its service manager (systemctl stop astrow-pac)"
            .into());
    }
    if read_only && refused_to_read_only(cmd) {
        return Err("this console is read-only (--read-only): nothing was sent".into());
    }
    if let Command::Apply { .. } = cmd
        && let Some(a) = snap.apply.as_ref().filter(|a| a.running)
    {
        return Err(format!(
            "an apply is already running (plan {}, started by {}): wait for it to finish",
            a.plan_id,
            a.started_by.as_deref().unwrap_or("someone")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::ApplyProgress;

    fn peer(uid: u32) -> Peer {
        Peer {
            user: format!("user{uid}"),
            uid: Some(uid),
            pid: Some(1),
        }
    }

    #[test]
    fn only_the_engines_user_is_admitted_unless_a_group_is_configured() {
        let own = Policy {
            owner_uid: Some(1000),
            group: false,
        };
        assert!(admit(&peer(1000), &own).is_ok());
        let err = admit(&peer(1001), &own).unwrap_err();
        assert!(err.contains("you are user1001"), "{err}");
        let group = Policy {
            group: true,
            ..own.clone()
        };
        assert!(admit(&peer(1001), &group).is_ok());
    }

    #[test]
    fn writes_from_read_only_consoles_a_stop_and_a_second_apply_are_refused() {
        let mut snap = Snapshot::default();
        assert!(check(&Command::Pause, true, &snap).is_err());
        let run = Command::RunNow(crate::engine::snapshot::JobKind::Employees);
        // In auto apply mode a run writes: a read-only console cannot ask for one.
        assert!(check(&run, true, &snap).is_err());
        assert!(check(&run, false, &snap).is_ok());
        assert!(check(&Command::Shutdown, false, &snap).is_err());
        let apply = Command::Apply {
            plan_id: "p".into(),
            allow_held: false,
        };
        assert!(check(&apply, false, &snap).is_ok());
        snap.apply = Some(Arc::new(ApplyProgress {
            plan_id: "p".into(),
            running: true,
            started_by: Some("alice (ssh from 10.0.0.5)".into()),
            ..Default::default()
        }));
        let err = check(&apply, false, &snap).unwrap_err();
        assert!(
            err.contains("started by alice (ssh from 10.0.0.5)"),
            "{err}"
        );
    }
}
