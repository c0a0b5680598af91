//! Where the control socket lives and who is on the other end, per
//! platform, through `interprocess`'s local sockets (a Unix domain socket
//! file, or a Windows named pipe). Everything above this file is the same
//! code on both.

use std::io;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::tokio::{Listener, Stream};
use interprocess::local_socket::{ListenerOptions, Name};

/// The socket file's name in the store directory.
pub const SOCKET_FILE: &str = "control.sock";

/// Who may open the socket besides the engine's own user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// `control.group`: members of this group may attach (socket mode 0660).
    pub group: Option<String>,
}

/// Where the engine of the store in `dir` listens: a path on Unix, a pipe
/// name derived from the store's path on Windows.
pub fn endpoint(dir: &Path) -> PathBuf {
    #[cfg(unix)]
    {
        dir.join(SOCKET_FILE)
    }
    #[cfg(windows)]
    {
        PathBuf::from(format!(
            r"\\.\pipe\astrow-pac-{:016x}",
            fnv1a(dir.to_string_lossy().to_lowercase().as_bytes())
        ))
    }
}

#[cfg(any(windows, test))]
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn name(endpoint: &Path) -> io::Result<Name<'_>> {
    #[cfg(unix)]
    {
        use interprocess::local_socket::GenericFilePath;
        endpoint.to_fs_name::<GenericFilePath>()
    }
    #[cfg(windows)]
    {
        use interprocess::local_socket::GenericFilePath;
        endpoint.to_fs_name::<GenericFilePath>()
    }
}

/// The socket file a listener made, known by its inode, so that only that
/// file is ever removed (a newer engine's socket at the same path is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketFile {
    path: PathBuf,
    id: (u64, u64),
}

impl SocketFile {
    /// The file now at `path` (`None` off Unix, or when it cannot be read).
    pub fn made_at(path: &Path) -> Option<SocketFile> {
        file_id(path).map(|id| SocketFile {
            path: path.to_path_buf(),
            id,
        })
    }

    /// Remove the file if the one at the path is still this one.
    pub fn remove_if_ours(&self) {
        if file_id(&self.path) == Some(self.id)
            && let Err(e) = std::fs::remove_file(&self.path)
        {
            tracing::warn!(socket = %self.path.display(), "control: removing the socket: {e}");
        }
    }
}

fn file_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino()))
    }
    #[cfg(windows)]
    {
        let _ = path;
        None
    }
}

/// Listen on the store's endpoint. Call only while holding the store's
/// lock: a socket file left there by a killed engine is then stale for
/// sure, and is replaced.
pub fn listen(dir: &Path, access: &Access) -> io::Result<Listener> {
    let at = endpoint(dir);
    let opts = ListenerOptions::new()
        .name(name(&at)?)
        .try_overwrite(true)
        // Never unlink on drop: by then a newer engine may have put its own
        // socket there. `SocketFile::remove_if_ours` removes ours only.
        .reclaim_name(false);
    #[cfg(unix)]
    let listener = {
        use interprocess::os::unix::local_socket::ListenerOptionsExt;
        use std::os::unix::fs::PermissionsExt;
        // The store directory is owner-only; with a group, its members may
        // pass through it (0710) to the socket, never list or read the store.
        let (dir_mode, mode) = match &access.group {
            Some(_) => (0o710, 0o660),
            None => (0o700, 0o600),
        };
        let l = opts.mode(mode).create_tokio()?;
        if let Some(group) = &access.group {
            unix::give_to_group(dir, group)?;
            unix::give_to_group(&at, group)?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(dir_mode))?;
        // The mode is set before bind; this makes sure, whatever the platform did.
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(mode))?;
        l
    };
    #[cfg(windows)]
    let listener = {
        use interprocess::os::windows::local_socket::ListenerOptionsExt;
        use interprocess::os::windows::security_descriptor::SecurityDescriptor;
        let _ = access;
        // The service's account (owner rights), local Administrators and SYSTEM only.
        let sddl = widestring::U16CString::from_str("D:P(A;;GA;;;OW)(A;;GA;;;BA)(A;;GA;;;SY)")
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        opts.security_descriptor(SecurityDescriptor::deserialize(&sddl)?)
            .create_tokio()?
    };
    Ok(listener)
}

/// Connect to the store's endpoint.
pub async fn connect(endpoint: &Path) -> io::Result<Stream> {
    Stream::connect(name(endpoint)?).await
}

/// The peer of a connection, as the operating system tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The user's name, for the audit log.
    pub user: String,
    /// Unix: the peer's effective uid.
    pub uid: Option<u32>,
    pub pid: Option<u32>,
}

/// Who is on the other end of `stream`.
pub fn peer(stream: &Stream) -> io::Result<Peer> {
    let creds = stream.peer_creds()?;
    #[cfg(unix)]
    {
        let uid = creds.euid();
        let pid = creds.pid().and_then(|p| u32::try_from(p).ok());
        Ok(Peer {
            user: uid.map_or_else(|| "(unknown user)".into(), unix::user_name),
            uid,
            pid,
        })
    }
    #[cfg(windows)]
    {
        // The pipe admits only the service's account and Administrators
        // (its security descriptor); the client's process identifies it.
        let pid = creds.pid();
        Ok(Peer {
            user: match pid {
                Some(p) => format!("pipe client (PID {p})"),
                None => "pipe client".into(),
            },
            uid: None,
            pid,
        })
    }
}

/// The name of user `uid` (Unix), for messages.
pub fn unix_name(uid: u32) -> String {
    #[cfg(unix)]
    {
        unix::user_name(uid)
    }
    #[cfg(windows)]
    {
        format!("uid {uid}")
    }
}

/// The engine's own user, to compare peers with.
pub fn own_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Some(unsafe { libc::geteuid() })
    }
    #[cfg(windows)]
    {
        None
    }
}

#[cfg(unix)]
pub mod unix {
    //! User and group names (the C library's passwd and group databases).

    use std::ffi::{CStr, CString};
    use std::io;
    use std::path::Path;

    /// The name of user `uid`, or the number when it has none.
    pub fn user_name(uid: u32) -> String {
        crate::store::os_user::name_of(uid)
    }

    /// The id of group `name`.
    pub fn group_id(name: &str) -> io::Result<u32> {
        let c = CString::new(name)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the group name"))?;
        let mut buf = vec![0u8; 16384];
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call.
        let rc = unsafe {
            libc::getgrnam_r(
                c.as_ptr(),
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        if rc != 0 || found.is_null() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("control.group: there is no group named {name:?}"),
            ));
        }
        Ok(grp.gr_gid)
    }

    /// The name of group `gid`, or the number when it has none.
    pub fn group_name_of_gid(gid: u32) -> String {
        let mut buf = vec![0u8; 16384];
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf outlives grp's use.
        let rc = unsafe {
            libc::getgrgid_r(
                gid,
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        if rc != 0 || found.is_null() || grp.gr_name.is_null() {
            return gid.to_string();
        }
        // SAFETY: getgrgid_r succeeded: gr_name points into buf, NUL-terminated.
        unsafe { CStr::from_ptr(grp.gr_name) }
            .to_string_lossy()
            .into_owned()
    }

    /// Hand the socket file to `group` (mode 0660 lets its members in).
    pub fn give_to_group(path: &Path, group: &str) -> io::Result<()> {
        let gid = group_id(group)?;
        std::os::unix::fs::chown(path, None, Some(gid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_in_the_store_and_pipe_names_are_stable() {
        #[cfg(unix)]
        assert_eq!(
            endpoint(Path::new("/var/lib/astrow-pac")),
            Path::new("/var/lib/astrow-pac/control.sock")
        );
        assert_eq!(fnv1a(b"abc"), fnv1a(b"abc"));
        assert_ne!(fnv1a(b"abc"), fnv1a(b"abd"));
    }

    #[cfg(unix)]
    #[test]
    fn users_and_groups_are_named_from_the_system_databases() {
        assert_eq!(unix::user_name(0), "root");
        assert!(unix::group_id("no-such-group-here").is_err());
    }
}
