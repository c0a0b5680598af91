//! Who asks the engine for what: every command travels with its actor (the
//! operating-system user of the console or the socket peer, and the SSH
//! client address that console reported), so that the audit log can say who
//! did it.

use std::fmt;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::{SendError, TrySendError};

use super::command::Command;

/// Who sent a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The operating-system user ("alice"), or `engine (auto)`.
    pub user: String,
    /// `SSH_CONNECTION`/`SSH_CLIENT`'s client address, when the console runs over SSH.
    pub ssh_from: Option<String>,
}

impl Actor {
    /// The engine's own work (auto apply, resumed apply).
    pub fn auto() -> Actor {
        Actor {
            user: "engine (auto)".into(),
            ssh_from: None,
        }
    }

    /// The user running this process, and where its SSH session comes from.
    pub fn local() -> Actor {
        Actor {
            user: crate::store::current_os_user(),
            ssh_from: ssh_client_address(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ssh_from {
            Some(from) => write!(f, "{} (ssh from {from})", self.user),
            None => f.write_str(&self.user),
        }
    }
}

/// The client address of the SSH session this process runs in, if any.
pub fn ssh_client_address() -> Option<String> {
    let conn = std::env::var("SSH_CONNECTION").ok();
    let client = std::env::var("SSH_CLIENT").ok();
    ssh_address_from(conn.as_deref(), client.as_deref())
}

/// `SSH_CONNECTION` is "client_ip client_port server_ip server_port",
/// `SSH_CLIENT` "client_ip client_port server_port": the first word is the
/// client. Only an address-looking word is kept (it goes to the audit log).
pub fn ssh_address_from(connection: Option<&str>, client: Option<&str>) -> Option<String> {
    [connection, client]
        .into_iter()
        .flatten()
        .filter_map(|v| v.split_whitespace().next())
        .find(|w| w.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_string)
}

/// A command and who sent it: what the engine's command queue carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub command: Command,
    pub actor: Actor,
}

/// Whether a command changes something (refused to read-only consoles,
/// audited with its actor). Commands not named here count as writes.
pub fn is_write(cmd: &Command) -> bool {
    !matches!(
        cmd,
        Command::RunNow(_) | Command::Shutdown | Command::Query { .. }
    )
}

/// Whether a read-only console may not send `cmd`: every write, and a run
/// now too (in auto apply mode a run applies the plan it makes). Read-only
/// is the client's own hello flag: a courtesy against slips, not a boundary
/// (anyone admitted to the socket may attach without it).
pub fn refused_to_read_only(cmd: &Command) -> bool {
    is_write(cmd) || matches!(cmd, Command::RunNow(_))
}

/// The sending end of the engine's command queue, stamped with one actor.
/// Readers send plain `Command`s; the engine receives `Request`s.
#[derive(Debug, Clone)]
pub struct CommandSender {
    tx: mpsc::Sender<Request>,
    actor: Actor,
}

impl CommandSender {
    pub fn new(tx: mpsc::Sender<Request>, actor: Actor) -> CommandSender {
        CommandSender { tx, actor }
    }

    /// The same queue, sending as someone else (a socket peer).
    pub fn with_actor(&self, actor: Actor) -> CommandSender {
        CommandSender {
            tx: self.tx.clone(),
            actor,
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    fn request(&self, command: Command) -> Request {
        Request {
            command,
            actor: self.actor.clone(),
        }
    }

    pub fn try_send(&self, command: Command) -> Result<(), TrySendError<Command>> {
        self.tx
            .try_send(self.request(command))
            .map_err(|e| match e {
                TrySendError::Full(r) => TrySendError::Full(r.command),
                TrySendError::Closed(r) => TrySendError::Closed(r.command),
            })
    }

    pub async fn send(&self, command: Command) -> Result<(), SendError<Command>> {
        self.tx
            .send(self.request(command))
            .await
            .map_err(|e| SendError(e.0.command))
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssh_client_address_is_the_first_word_when_it_is_an_address() {
        assert_eq!(
            ssh_address_from(Some("10.0.0.5 52114 10.0.0.1 22"), None).as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            ssh_address_from(None, Some("fe80::1 52114 22")).as_deref(),
            Some("fe80::1")
        );
        assert_eq!(ssh_address_from(Some("; rm -rf /"), None), None);
        assert_eq!(ssh_address_from(None, None), None);
    }

    #[test]
    fn an_actor_reads_as_user_and_origin() {
        let a = Actor {
            user: "alice".into(),
            ssh_from: Some("10.0.0.5".into()),
        };
        assert_eq!(a.to_string(), "alice (ssh from 10.0.0.5)");
        assert_eq!(Actor::auto().to_string(), "engine (auto)");
    }

    #[tokio::test]
    async fn a_sender_stamps_its_actor_and_another_can_send_as_someone_else() {
        let (tx, mut rx) = mpsc::channel(4);
        let local = CommandSender::new(tx, Actor::auto());
        let bob = local.with_actor(Actor {
            user: "bob".into(),
            ssh_from: None,
        });
        local.try_send(Command::Pause).unwrap();
        bob.send(Command::Resume).await.unwrap();
        assert_eq!(rx.recv().await.unwrap().actor, Actor::auto());
        let r = rx.recv().await.unwrap();
        assert_eq!((r.command, r.actor.user.as_str()), (Command::Resume, "bob"));
        assert!(is_write(&Command::Approve(vec![])));
        assert!(!is_write(&Command::Shutdown));
    }
}
