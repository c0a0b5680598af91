//! Owner-only files for personal data at rest (the store and the logs):
//! directories 0700, files 0600, whatever the process umask. Modes are given
//! explicitly at creation (the umask can only narrow them) and wider modes
//! found later are tightened, reported as [`Tightened`] so the caller can
//! warn naming the old mode.
//!
//! A directory is tightened only when everything in it is ours (`ours`
//! decides by file name): a store or log directory pointed at a shared
//! place (`/tmp`, `/var/log`) is never changed; its files still are, and
//! `check` reports the directory.
//!
//! On Windows the directory's ACL is replaced (inheritance off) by one
//! that admits the account running the program, SYSTEM and Administrators.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Owner read, write and search.
pub const DIR_MODE: u32 = 0o700;
/// Owner read and write.
pub const FILE_MODE: u32 = 0o600;

/// A path whose mode was narrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tightened {
    pub path: PathBuf,
    pub old_mode: u32,
    pub new_mode: u32,
}

impl std::fmt::Display for Tightened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} had mode {:04o} (open to other users); now {:04o}",
            self.path.display(),
            self.old_mode,
            self.new_mode
        )
    }
}

/// What [`private_dir`] found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DirReport {
    pub tightened: Vec<Tightened>,
    /// The directory is open to others and holds files not ours: left as it
    /// is, with its mode.
    pub shared: Option<(PathBuf, u32)>,
    /// What could not be checked or tightened (a file of another user, a
    /// failed `icacls`): said in a warning; the store and log still work.
    pub problem: Option<String>,
}

/// Whether a directory of `mode` lets anyone but the owner list or change
/// it, or lets other users (not the group) in at all. The group's search
/// bit alone (0710) is allowed: members of the control socket's group pass
/// through to the socket, and can neither list nor read the files (0600).
pub fn dir_open_to_others(mode: u32) -> bool {
    mode & 0o067 != 0
}

/// The mode bits of `dir` when it exists and is open to others (what
/// `check` reports); `None` otherwise, and always on Windows.
pub fn exposed_dir(dir: &Path) -> Option<u32> {
    let mode = mode_of(dir)?;
    dir_open_to_others(mode).then_some(mode)
}

/// Create `dir` (and missing parents) owner-only, or make an existing one
/// owner-only when everything in it passes `ours`; then tighten every
/// regular file in it that passes `ours` to 0600. Only a directory that
/// cannot be created is an error; the rest is in the report.
pub fn private_dir(dir: &Path, ours: &dyn Fn(&str) -> bool) -> io::Result<DirReport> {
    create_dir(dir)?;
    let mut report = DirReport::default();
    if let Err(e) = tighten_dir(dir, ours, &mut report) {
        report.problem = Some(format!("cannot make {} owner-only: {e}", dir.display()));
    }
    Ok(report)
}

fn tighten_dir(dir: &Path, ours: &dyn Fn(&str) -> bool, report: &mut DirReport) -> io::Result<()> {
    if let Some(mode) = exposed_dir(dir) {
        if only_ours(dir, ours)? {
            set_mode(dir, DIR_MODE)?;
            report.tightened.push(Tightened {
                path: dir.to_path_buf(),
                old_mode: mode,
                new_mode: DIR_MODE,
            });
        } else {
            report.shared = Some((dir.to_path_buf(), mode));
        }
    }
    restrict_acl(dir)?;
    report.tightened.extend(private_files(dir, ours)?);
    Ok(())
}

/// Tighten every regular file directly in `dir` that passes `ours` to 0600
/// (symbolic links, sockets and subdirectories are left alone).
pub fn private_files(dir: &Path, ours: &dyn Fn(&str) -> bool) -> io::Result<Vec<Tightened>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !ours(&name.to_string_lossy()) || !entry.file_type()?.is_file() {
            continue;
        }
        if let Some(t) = tighten_file(&entry.path())? {
            out.push(t);
        }
    }
    Ok(out)
}

/// Open `path` to read and write, creating it 0600 when missing, and
/// tighten it when it exists with a wider mode. Never truncates.
pub fn open_private_file(path: &Path) -> io::Result<(File, Option<Tightened>)> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let file = options.open(path)?;
    // A file that cannot be tightened (another user's) is still usable; the
    // store's check after opening says so.
    let tightened = tighten_file(path).unwrap_or(None);
    Ok((file, tightened))
}

/// Narrow `path` to 0600 when others may use it.
pub fn tighten_file(path: &Path) -> io::Result<Option<Tightened>> {
    match mode_of(path) {
        Some(mode) if mode & 0o177 != 0 => {
            set_mode(path, FILE_MODE)?;
            Ok(Some(Tightened {
                path: path.to_path_buf(),
                old_mode: mode,
                new_mode: FILE_MODE,
            }))
        }
        _ => Ok(None),
    }
}

fn only_ours(dir: &Path, ours: &dyn Fn(&str) -> bool) -> io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        if !ours(&entry?.file_name().to_string_lossy()) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Option<u32> {
    None
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(not(windows))]
fn restrict_acl(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Replace the directory's ACL: no inherited entries; full control for the
/// account running the program (the service account), SYSTEM (S-1-5-18)
/// and Administrators (S-1-5-32-544), inherited by files and folders.
/// The account is named by its SID (`whoami /user`): `USERNAME` is
/// `HOST$` for a service running as LocalSystem, which `icacls` cannot
/// resolve, and lacks the domain of a domain account. `USERNAME` only
/// when `whoami` gives no SID.
#[cfg(windows)]
fn restrict_acl(dir: &Path) -> io::Result<()> {
    let user = match current_user_sid() {
        Some(sid) => format!("*{sid}"),
        None => std::env::var("USERNAME").map_err(|_| {
            io::Error::other(
                "cannot restrict the directory: neither whoami nor USERNAME names the account",
            )
        })?,
    };
    let grant = |who: &str| format!("{who}:(OI)(CI)F");
    let status = std::process::Command::new("icacls")
        .arg(dir)
        .arg("/inheritance:r")
        .arg("/grant:r")
        .arg(grant(&user))
        .arg("/grant:r")
        .arg(grant("*S-1-5-18"))
        .arg("/grant:r")
        .arg(grant("*S-1-5-32-544"))
        .stdout(std::process::Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "icacls could not restrict {} ({status})",
            dir.display()
        )))
    }
}

/// The SID of the account running the program, from `whoami`.
#[cfg(windows)]
fn current_user_sid() -> Option<String> {
    let out = std::process::Command::new("whoami")
        .args(["/user", "/fo", "csv", "/nh"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| sid_of_whoami(&String::from_utf8_lossy(&out.stdout)))
        .flatten()
}

/// The SID in `whoami /user /fo csv /nh`'s line (`"host\\user","S-1-5-21-..."`),
/// when it is one: `S-1-` and digits and dashes only.
#[cfg_attr(not(windows), allow(dead_code))]
fn sid_of_whoami(csv: &str) -> Option<String> {
    let last = csv.trim().rsplit(',').next()?.trim().trim_matches('"');
    let tail = last.strip_prefix("S-1-")?;
    (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .then(|| last.to_string())
}

#[cfg(test)]
mod sid_tests {
    use super::sid_of_whoami;

    #[test]
    fn the_sid_is_read_from_whoami_and_nothing_else_passes() {
        assert_eq!(
            sid_of_whoami("\"pc-7\\astrow\",\"S-1-5-21-1004336348-1177238915-682003330-1001\"\r\n"),
            Some("S-1-5-21-1004336348-1177238915-682003330-1001".into())
        );
        assert_eq!(
            sid_of_whoami("\"nt authority\\system\",\"S-1-5-18\""),
            Some("S-1-5-18".into())
        );
        for bad in [
            "",
            "\"x\",\"S-1-\"",
            "\"x\",\"S-1-5 & del\"",
            "\"x\",\"Access denied\"",
        ] {
            assert_eq!(sid_of_whoami(bad), None, "{bad}");
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn set(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn ours(name: &str) -> bool {
        name.starts_with("astrow-pac")
    }

    #[test]
    fn a_wide_directory_of_ours_is_tightened_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        std::fs::create_dir(&dir).unwrap();
        set(&dir, 0o755);
        std::fs::write(dir.join("astrow-pac.sqlite"), "x").unwrap();
        set(&dir.join("astrow-pac.sqlite"), 0o644);
        let report = private_dir(&dir, &ours).unwrap();
        assert_eq!(mode_of(&dir), Some(0o700));
        assert_eq!(mode_of(&dir.join("astrow-pac.sqlite")), Some(0o600));
        let olds: Vec<u32> = report.tightened.iter().map(|t| t.old_mode).collect();
        assert_eq!(olds, vec![0o755, 0o644]);
        assert!(report.tightened[1].to_string().contains("0644"));
        assert_eq!(report.shared, None);
        // Already private: nothing more to say.
        assert_eq!(private_dir(&dir, &ours).unwrap(), DirReport::default());
        // The group may pass through (the control socket's group); no more.
        set(&dir, 0o710);
        assert_eq!(private_dir(&dir, &ours).unwrap(), DirReport::default());
        assert_eq!(exposed_dir(&dir), None);
        set(&dir, 0o750);
        let report = private_dir(&dir, &ours).unwrap();
        assert_eq!(mode_of(&dir), Some(0o700));
        assert_eq!(report.tightened[0].old_mode, 0o750);
    }

    #[test]
    fn a_shared_directory_is_left_alone_but_our_files_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        set(dir, 0o755);
        std::fs::write(dir.join("someone-else.txt"), "x").unwrap();
        set(&dir.join("someone-else.txt"), 0o644);
        std::fs::write(dir.join("astrow-pac.lock"), "1").unwrap();
        set(&dir.join("astrow-pac.lock"), 0o666);
        let report = private_dir(dir, &ours).unwrap();
        assert_eq!(report.shared, Some((dir.to_path_buf(), 0o755)));
        assert_eq!(mode_of(dir), Some(0o755));
        assert_eq!(mode_of(&dir.join("someone-else.txt")), Some(0o644));
        assert_eq!(mode_of(&dir.join("astrow-pac.lock")), Some(0o600));
        assert_eq!(exposed_dir(dir), Some(0o755));
    }

    #[test]
    fn a_new_directory_and_file_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("b");
        private_dir(&dir, &ours).unwrap();
        assert_eq!(mode_of(&dir), Some(0o700));
        assert_eq!(exposed_dir(&dir), None);
        let (_, t) = open_private_file(&dir.join("astrow-pac.pid")).unwrap();
        assert_eq!(t, None);
        assert_eq!(mode_of(&dir.join("astrow-pac.pid")), Some(0o600));
        set(&dir.join("astrow-pac.pid"), 0o640);
        let (_, t) = open_private_file(&dir.join("astrow-pac.pid")).unwrap();
        assert_eq!(t.map(|t| t.old_mode), Some(0o640));
    }
}
