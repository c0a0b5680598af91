//! Where a command's engine comes from: attached to the one that holds the
//! store (a service), or started in this process and served on the control
//! socket so that other consoles can attach to it.

use crate::config::Settings;
use crate::control::{self, AttachError, AttachOptions, Attached, ControlServer, Policy, Source};
use crate::engine::handle::EngineHandle;
use crate::engine::request::ssh_client_address;
use crate::engine::runtime::store_dir;
use crate::store::Store;

/// Attempts, 200 ms apart, while the holder of the store does not listen yet.
const LISTEN_TRIES: usize = 25;

/// Who may attach, from the settings.
pub fn access(settings: &Settings) -> control::Access {
    control::Access {
        group: settings.control.group.clone(),
    }
}

/// Attach to the engine that holds the store, if one does. `Ok(None)`: no
/// engine runs (start one here). `Err`: one runs but cannot be attached to
/// (the words say why and what to do).
pub async fn attach_running(
    settings: &Settings,
    read_only: bool,
    reattach: bool,
) -> Result<Option<Attached>, String> {
    let dir = store_dir(settings);
    let Some(holder) = Store::holder(&dir) else {
        return Ok(None);
    };
    let opts = AttachOptions {
        read_only,
        ssh_from: ssh_client_address(),
        reattach,
    };
    // An engine that has just taken the store listens a moment later.
    let endpoint = control::endpoint(&dir);
    let mut result = control::attach(&endpoint, opts.clone()).await;
    for _ in 0..LISTEN_TRIES {
        if !matches!(result, Err(AttachError::NotListening(_))) || Store::holder(&dir).is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        result = control::attach(&endpoint, opts.clone()).await;
    }
    match result {
        Ok(a) => Ok(Some(a)),
        // It let go of the store meanwhile: start an engine here.
        Err(AttachError::NotListening(_)) if Store::holder(&dir).is_none() => Ok(None),
        Err(AttachError::NotListening(at)) => Err(format!(
            "the store {} is in use by process {holder}, which serves no console on {} \
             (a one-shot command, or an older astrow-pac): try again when it has finished",
            dir.display(),
            at.display()
        )),
        Err(e) => Err(format!(
            "the store {} is in use by process {holder}: {e}",
            dir.display()
        )),
    }
}

/// Serve an engine started in this process on the store's control socket.
/// A failure is logged and the engine runs on (only attaching is lost).
pub fn serve(settings: &Settings, handle: &EngineHandle) -> Option<ControlServer> {
    let access = access(settings);
    let policy = Policy::for_this_process(&access);
    match control::serve(&store_dir(settings), &access, policy, Source::of(handle)) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("consoles cannot attach to this engine: the control socket: {e}");
            None
        }
    }
}
