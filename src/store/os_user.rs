//! Who runs this process, as the operating system says: the name the audit
//! log records for work done here. On Unix the effective uid's name from
//! the passwd database (an environment variable such as `USER` is whatever
//! the caller set it to, so it only names the user where no uid exists).

/// The user running this process.
pub fn current() -> String {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        name_of(unsafe { libc::geteuid() })
    }
    #[cfg(not(unix))]
    {
        ["USERNAME", "USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "(unknown user)".to_string())
    }
}

#[cfg(unix)]
use std::ffi::CStr;

#[cfg(unix)]
/// The name of user `uid`, or the number when it has none.
pub fn name_of(uid: u32) -> String {
    let mut buf = vec![0u8; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf outlives pwd's use.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
        return format!("uid {uid}");
    }
    // SAFETY: getpwuid_r succeeded: pw_name points into buf, NUL-terminated.
    unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_current_user_is_the_uids_not_the_environments() {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        assert_eq!(super::current(), super::name_of(uid));
        assert_eq!(super::name_of(0), "root");
        assert_ne!(super::current(), "(unknown user)");
    }
}
