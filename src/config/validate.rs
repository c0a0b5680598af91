//! The rules every setting must follow: plain functions over the typed
//! settings, so the console can validate as the user types.

use std::ops::RangeInclusive;
use std::path::Path;

use super::Problem;
use super::filecheck;
use super::read::reader_key;
use super::schema;
use super::settings::*;
use crate::model::Direction;

pub const PORT: RangeInclusive<u64> = 1..=65535;
pub const INTERVAL_S: RangeInclusive<u64> = 5..=86_400;
pub const GUARD_COUNT: RangeInclusive<u64> = 0..=1_000_000;
pub const GUARD_PERCENT: RangeInclusive<u64> = 0..=100;
/// At most 30 days: the store remembers applied destructive items a month.
pub const GUARD_WINDOW_H: RangeInclusive<u64> = 0..=720;
pub const BATCH_SIZE: RangeInclusive<u64> = 1..=500;
pub const MAX_PENDING: RangeInclusive<u64> = 1..=10_000_000;
pub const HEARTBEAT_S: RangeInclusive<u64> = 5..=110;
pub const AUDIT_RETENTION_MONTHS: RangeInclusive<u64> = 0..=1200;
pub const WAIT_ALERT_S: RangeInclusive<u64> = 60..=604_800;
pub const RETENTION_DAYS: RangeInclusive<u64> = 1..=3650;

/// Every error in `s`. With `check_files`, also that the files exist, can be
/// read and hold what they should, and that a password is to be found.
pub fn validate(s: &Settings, check_files: bool) -> Vec<Problem> {
    let mut p = Vec::new();
    pac(&s.pac, check_files, &mut p);
    astrow(&s.astrow, s.sync.master, check_files, &mut p);
    sync(&s.sync, &mut p);
    bookings(&s.bookings, &mut p);
    readers(s, &mut p);
    local(s, check_files, &mut p);
    p
}

/// What is allowed but probably not meant.
pub fn warnings(s: &Settings) -> Vec<Problem> {
    let mut w = Vec::new();
    if s.sync.sync_inactive_employees && s.sync.master == Master::Pac {
        w.push(Problem::new(
            "sync.sync_inactive_employees",
            Some("true".into()),
            "only has an effect when sync.master is astrow; set it to false or change the master",
        ));
    }
    if s.astrow.password.is_some() && s.astrow.password_file.is_some() {
        w.push(Problem::new(
            "astrow.password_file",
            s.astrow
                .password_file
                .as_ref()
                .map(|f| f.display().to_string()),
            "is ignored while astrow.password is set; remove one of the two",
        ));
    }
    if let Ok(url) = reqwest::Url::parse(&s.astrow.url) {
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if url.scheme() == "http" && !local {
            w.push(Problem::new(
                "astrow.url",
                Some(s.astrow.url.clone()),
                "uses plain http: the Astrow password crosses the network unencrypted; use https if Astrow offers it",
            ));
        }
    }
    if s.bookings.roll_call_active && !s.readers.values().any(|r| r.roll_call) {
        w.push(Problem::new(
            "bookings.roll_call_active",
            Some("true".into()),
            "no reader has roll_call = true, so the roll call changes nothing; mark the roll-call readers under [readers.\"<serial>\"]",
        ));
    }
    w
}

fn must(key: &str, value: impl ToString) -> Problem {
    Problem::new(
        key,
        Some(value.to_string()),
        format!("must be {}", schema::allowed(key)),
    )
}

fn range(key: &str, value: u64, allowed: RangeInclusive<u64>, p: &mut Vec<Problem>) {
    if !allowed.contains(&value) {
        p.push(must(key, value));
    }
}

fn not_set(key: &str, hint: &str) -> Problem {
    Problem::new(key, None, format!("is not set: {hint}"))
}

fn empty_option(key: &str, value: Option<&Path>, p: &mut Vec<Problem>) {
    if value.is_some_and(|v| v.as_os_str().is_empty()) {
        p.push(Problem::new(
            key,
            Some("\"\"".into()),
            "is empty: remove the line or write a path",
        ));
    }
}

fn pac(s: &PacSettings, check_files: bool, p: &mut Vec<Problem>) {
    if let Some(problem) = address_problem(&s.address) {
        p.push(problem);
    }
    range("pac.port", u64::from(s.port), PORT, p);
    if s.organization_id != 1 {
        p.push(Problem::new(
            "pac.organization_id",
            Some(s.organization_id.to_string()),
            "must be 1: PAC fixes the organization id to 1 on every installation; set it to 1 or remove the line",
        ));
    }
    if s.oem_key_path.as_os_str().is_empty() {
        p.push(not_set("pac.oem_key_path", "download the OEM key file in PAC Access Central (Tools > Manage OEM Interface > Add client > download key) and write its path here"));
    } else if check_files {
        p.extend(filecheck::oem_key("pac.oem_key_path", &s.oem_key_path));
    }
    if s.certificate_path.as_os_str().is_empty() {
        p.push(not_set(
            "pac.certificate_path",
            "export PAC Access Central's certificate as a PEM file and write its path here",
        ));
    } else if check_files {
        p.extend(filecheck::pem_certificate(
            "pac.certificate_path",
            &s.certificate_path,
        ));
    }
}

fn address_problem(address: &str) -> Option<Problem> {
    let key = "pac.address";
    let a = address.trim();
    if a.is_empty() {
        return Some(not_set(
            key,
            "write the host name or IP address of PAC Access Central, e.g. pac.example.local",
        ));
    }
    let value = Some(address.to_string());
    if a.contains("://") {
        return Some(Problem::new(
            key,
            value,
            "must be only the host name or IP address: remove the scheme (https://); the port goes in pac.port",
        ));
    }
    let bare = a.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    if a.contains(':') {
        return Some(Problem::new(
            key,
            value,
            "must be only the host name or IP address: put the port in pac.port",
        ));
    }
    let valid = a
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if !valid || address != a {
        return Some(must(key, address));
    }
    None
}

fn astrow(s: &AstrowSettings, master: Master, check_files: bool, p: &mut Vec<Problem>) {
    url_problems(&s.url, p);
    if s.username.trim().is_empty() {
        p.push(not_set(
            "astrow.username",
            "write the Astrow user that holds \"Allow API to connect to Astrow\"",
        ));
    }
    if s.password.as_ref().is_some_and(Secret::is_empty) {
        p.push(Problem::new("astrow.password", None, "is empty: write the password, or remove the line and use astrow.password_file or ASTROW_PAC_ASTROW_PASSWORD"));
    }
    empty_option("astrow.password_file", s.password_file.as_deref(), p);
    empty_option("astrow.ca_path", s.ca_path.as_deref(), p);
    if check_files {
        let have_inline = s.password.as_ref().is_some_and(|p| !p.is_empty());
        match &s.password_file {
            Some(f) if !have_inline && !f.as_os_str().is_empty() => {
                p.extend(filecheck::password_file("astrow.password_file", f));
            }
            None if !have_inline
                && std::env::var_os(ASTROW_PASSWORD_ENV).is_none_or(|v| v.is_empty()) =>
            {
                p.push(Problem::new("astrow.password", None, format!(
                    "no password: set astrow.password or astrow.password_file, or the environment variable {ASTROW_PASSWORD_ENV}"
                )));
            }
            _ => {}
        }
        if let Some(ca) = s.ca_path.as_deref().filter(|c| !c.as_os_str().is_empty()) {
            p.extend(filecheck::pem_certificate("astrow.ca_path", ca));
        }
    }
    if master == Master::Pac {
        for (key, code) in [
            ("astrow.default_cycle_code", &s.default_cycle_code),
            ("astrow.default_paygroup_code", &s.default_paygroup_code),
        ] {
            if code.trim().is_empty() {
                p.push(not_set(key, "PAC is master, so employees are created in Astrow and need it; write a code that exists in Astrow"));
            }
        }
    }
}

fn url_problems(url: &str, p: &mut Vec<Problem>) {
    let key = "astrow.url";
    if url.trim().is_empty() {
        p.push(not_set(
            key,
            "write the address of the Astrow Web API, e.g. https://astrow.example.local",
        ));
        return;
    }
    match reqwest::Url::parse(url) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => p.push(Problem::new(
            key,
            Some(url.to_string()),
            format!("must start with http:// or https://, not {}://", u.scheme()),
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => p.push(must(key, url)),
        Ok(_) => {}
        Err(e) => p.push(Problem::new(
            key,
            Some(url.to_string()),
            format!("is not a URL ({e}); write e.g. https://astrow.example.local"),
        )),
    }
}

fn sync(s: &SyncSettings, p: &mut Vec<Problem>) {
    range(
        "sync.employee_interval_s",
        s.employee_interval_s,
        INTERVAL_S,
        p,
    );
    range(
        "sync.definitions_interval_s",
        s.definitions_interval_s,
        INTERVAL_S,
        p,
    );
    range(
        "sync.deletion_guard.count",
        u64::from(s.deletion_guard.count),
        GUARD_COUNT,
        p,
    );
    range(
        "sync.deletion_guard.percent",
        u64::from(s.deletion_guard.percent),
        GUARD_PERCENT,
        p,
    );
    range(
        "sync.deletion_guard.window_h",
        u64::from(s.deletion_guard.window_h),
        GUARD_WINDOW_H,
        p,
    );
}

fn bookings(s: &BookingSettings, p: &mut Vec<Problem>) {
    range(
        "bookings.batch_size",
        u64::from(s.batch_size),
        BATCH_SIZE,
        p,
    );
    range(
        "bookings.max_pending",
        u64::from(s.max_pending),
        MAX_PENDING,
        p,
    );
    range(
        "bookings.heartbeat_interval_s",
        s.heartbeat_interval_s,
        HEARTBEAT_S,
        p,
    );
    range("bookings.wait_alert_s", s.wait_alert_s, WAIT_ALERT_S, p);
    range(
        "bookings.retention_days",
        s.retention_days,
        RETENTION_DAYS,
        p,
    );
}

fn readers(s: &Settings, p: &mut Vec<Problem>) {
    for (serial, r) in &s.readers {
        if serial.trim().is_empty() {
            p.push(Problem::new(
                reader_key(serial, "").trim_end_matches('.'),
                None,
                "a reader needs its serial as in PAC, e.g. [readers.\"R-0012\"]",
            ));
        }
        if r.direction == Some(Direction::None) {
            let key = reader_key(serial, "direction");
            p.push(Problem::new(
                &key,
                Some("\"none\"".into()),
                format!(
                    "must be {}; leave direction out to use the reader's own direction from PAC",
                    schema::allowed(&key)
                ),
            ));
        }
    }
}

fn local(s: &Settings, check_files: bool, p: &mut Vec<Problem>) {
    empty_option("store.dir", s.store.dir.as_deref(), p);
    range(
        "store.audit_retention_months",
        u64::from(s.store.audit_retention_months),
        AUDIT_RETENTION_MONTHS,
        p,
    );
    if s.control
        .group
        .as_deref()
        .is_some_and(|g| g.trim().is_empty())
    {
        p.push(Problem::new(
            "control.group",
            Some("\"\"".into()),
            "is empty: name a group, or leave the setting out",
        ));
    }
    if s.control.group.is_some() && s.astrow.password.is_some() {
        // The group needs to read the settings to find the socket: a password
        // written in them would be the whole group's.
        p.push(Problem::new(
            "astrow.password",
            None,
            "is written in the settings while control.group lets that group read them: \
             move it to astrow.password_file (readable by the service's user only) or to \
             the environment variable ASTROW_PAC_ASTROW_PASSWORD",
        ));
    }
    empty_option("log.file", s.log.file.as_deref(), p);
    if !log_level_ok(&s.log.level) {
        p.push(must("log.level", &s.log.level));
    }
    if check_files {
        if let Some(dir) = s.store.dir.as_deref().filter(|d| d.exists() && !d.is_dir()) {
            p.push(Problem::new(
                "store.dir",
                Some(dir.display().to_string()),
                "is a file, not a directory: name a directory (it is created when missing)",
            ));
        }
        if let Some(file) = s.log.file.as_deref().filter(|f| f.is_dir()) {
            p.push(Problem::new(
                "log.file",
                Some(file.display().to_string()),
                "is a directory: name a file in it, e.g. astrow-pac.log",
            ));
        }
    }
}

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// A level, or a tracing filter whose every part names a level
/// (`warn,astrow_pac=debug`); a bare word like `verbose` is refused.
fn log_level_ok(level: &str) -> bool {
    let is_level = |l: &str| LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l.trim()));
    let parts_ok = level.split(',').all(|part| match part.rsplit_once('=') {
        Some((target, l)) => !target.trim().is_empty() && is_level(l),
        None => is_level(part),
    });
    !level.trim().is_empty() && parts_ok && tracing_subscriber::EnvFilter::try_new(level).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings that pass every typed rule.
    pub(crate) fn good() -> Settings {
        let mut s = Settings::default();
        s.pac.address = "pac.example.local".into();
        s.pac.oem_key_path = "/etc/astrow-pac/pac.key".into();
        s.pac.certificate_path = "/etc/astrow-pac/pac.pem".into();
        s.astrow.url = "https://astrow.example.local".into();
        s.astrow.username = "api".into();
        s.astrow.default_cycle_code = "STD".into();
        s.astrow.default_paygroup_code = "MONTHLY".into();
        s
    }

    fn only(s: &Settings, setting: &str) -> Problem {
        let p = validate(s, false);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].setting, setting, "{p:?}");
        assert!(!p[0].message.is_empty());
        p[0].clone()
    }

    #[test]
    fn good_settings_have_no_problem() {
        assert_eq!(validate(&good(), false), vec![]);
        assert_eq!(warnings(&good()), vec![]);
    }

    #[test]
    fn an_inline_password_is_refused_when_a_group_reads_the_settings() {
        let mut s = good();
        s.control.group = Some("astrow-pac-admins".into());
        assert_eq!(validate(&s, false), vec![]);
        s.astrow.password = Some(crate::config::Secret::new("hunter2secret"));
        let p = only(&s, "astrow.password");
        assert!(p.message.contains("astrow.password_file"), "{p}");
        assert!(!p.to_string().contains("hunter2secret"), "{p}");
        s.control.group = None;
        assert_eq!(validate(&s, false), vec![]);
    }

    #[test]
    fn pac_rules() {
        let mut s = good();
        s.pac.port = 0;
        assert!(only(&s, "pac.port").message.contains("1 to 65535"));
        let mut s = good();
        s.pac.organization_id = 2;
        assert!(
            only(&s, "pac.organization_id")
                .message
                .contains("PAC fixes")
        );
        for bad in ["", "https://pac", "pac:8443", "pac host"] {
            let mut s = good();
            s.pac.address = bad.into();
            only(&s, "pac.address");
        }
        for ok in ["10.0.0.5", "::1", "[fe80::1]", "pac-01.site_a.local"] {
            let mut s = good();
            s.pac.address = ok.into();
            assert_eq!(validate(&s, false), vec![], "{ok}");
        }
        let mut s = good();
        s.pac.oem_key_path = "".into();
        only(&s, "pac.oem_key_path");
        let mut s = good();
        s.pac.certificate_path = "".into();
        only(&s, "pac.certificate_path");
    }

    #[test]
    fn astrow_rules() {
        for (bad, needle) in [
            ("ftp://x", "http:// or https://"),
            ("not a url", "not a URL"),
            ("", "not set"),
        ] {
            let mut s = good();
            s.astrow.url = bad.into();
            assert!(only(&s, "astrow.url").message.contains(needle), "{bad}");
        }
        let mut s = good();
        s.astrow.username = " ".into();
        only(&s, "astrow.username");
        let mut s = good();
        s.astrow.password = Some(Secret::new(""));
        only(&s, "astrow.password");
        let mut s = good();
        s.astrow.password_file = Some("".into());
        only(&s, "astrow.password_file");
        let mut s = good();
        s.astrow.ca_path = Some("".into());
        only(&s, "astrow.ca_path");
        let mut s = good();
        s.astrow.default_cycle_code = "".into();
        only(&s, "astrow.default_cycle_code");
        s.sync.master = Master::Astrow;
        s.astrow.default_paygroup_code = "".into();
        assert_eq!(validate(&s, false), vec![]);
    }

    #[test]
    fn sync_and_booking_ranges() {
        type Set = fn(&mut Settings);
        let cases: [(&str, Set); 15] = [
            ("sync.employee_interval_s", |s| {
                s.sync.employee_interval_s = 4
            }),
            ("sync.employee_interval_s", |s| {
                s.sync.employee_interval_s = 86_401
            }),
            ("sync.definitions_interval_s", |s| {
                s.sync.definitions_interval_s = 0
            }),
            ("sync.deletion_guard.percent", |s| {
                s.sync.deletion_guard.percent = 101
            }),
            ("sync.deletion_guard.count", |s| {
                s.sync.deletion_guard.count = 1_000_001
            }),
            ("bookings.batch_size", |s| s.bookings.batch_size = 501),
            ("bookings.batch_size", |s| s.bookings.batch_size = 0),
            ("bookings.max_pending", |s| s.bookings.max_pending = 0),
            ("bookings.heartbeat_interval_s", |s| {
                s.bookings.heartbeat_interval_s = 120
            }),
            ("store.audit_retention_months", |s| {
                s.store.audit_retention_months = 1201
            }),
            ("bookings.wait_alert_s", |s| s.bookings.wait_alert_s = 59),
            ("bookings.retention_days", |s| s.bookings.retention_days = 0),
            ("log.level", |s| s.log.level = "loud[".into()),
            ("log.level", |s| s.log.level = "verbose".into()),
            ("log.level", |s| s.log.level = "info,astrow_pac=loud".into()),
        ];
        for (key, set) in cases {
            let mut s = good();
            set(&mut s);
            let p = only(&s, key);
            assert!(p.message.starts_with("must be"), "{p}");
            assert!(p.value.is_some());
        }
    }

    #[test]
    fn reader_and_local_rules() {
        let mut s = good();
        s.readers.insert(
            "R-1".into(),
            ReaderSettings {
                direction: Some(Direction::None),
                ..Default::default()
            },
        );
        assert!(
            only(&s, "readers.\"R-1\".direction")
                .message
                .contains("`in` or `out`")
        );
        let mut s = good();
        s.readers.insert(" ".into(), ReaderSettings::default());
        only(&s, "readers.\" \"");
        let mut s = good();
        s.store.dir = Some("".into());
        only(&s, "store.dir");
        let mut s = good();
        s.log.file = Some("".into());
        only(&s, "log.file");
    }

    #[test]
    fn file_checks_name_each_setting() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "not a certificate").unwrap();
        let mut s = good();
        s.pac.oem_key_path = dir.path().join("missing.key");
        s.pac.certificate_path = file.clone();
        s.astrow.password_file = Some(dir.path().join("missing-pw"));
        s.astrow.ca_path = Some(file.clone());
        s.store.dir = Some(file);
        s.log.file = Some(dir.path().to_path_buf());
        let keys: Vec<_> = validate(&s, true).into_iter().map(|p| p.setting).collect();
        assert_eq!(
            keys,
            [
                "pac.oem_key_path",
                "pac.certificate_path",
                "astrow.password_file",
                "astrow.ca_path",
                "store.dir",
                "log.file"
            ]
        );
        // Without file checks the same settings are fine as typed.
        assert_eq!(validate(&s, false), vec![]);
    }

    #[test]
    fn log_levels_and_filters() {
        for ok in [
            "info",
            "DEBUG",
            "off",
            "warn,astrow_pac=debug",
            "astrow_pac::pac=trace",
        ] {
            assert!(log_level_ok(ok), "{ok}");
        }
        for bad in ["", " ", "verbose", "info,", "=debug"] {
            assert!(!log_level_ok(bad), "{bad}");
        }
    }

    #[test]
    fn several_bad_values_give_every_problem() {
        let mut s = good();
        s.pac.port = 0;
        s.sync.employee_interval_s = 1;
        s.bookings.batch_size = 900;
        s.pac.organization_id = 7;
        let keys: Vec<_> = validate(&s, false).into_iter().map(|p| p.setting).collect();
        assert_eq!(
            keys,
            [
                "pac.port",
                "pac.organization_id",
                "sync.employee_interval_s",
                "bookings.batch_size"
            ]
        );
    }

    #[test]
    fn warnings_name_their_setting() {
        let mut s = good();
        s.sync.sync_inactive_employees = true;
        s.bookings.roll_call_active = true;
        s.astrow.url = "http://astrow.example.local".into();
        s.astrow.password = Some(Secret::new("pw"));
        s.astrow.password_file = Some("/x".into());
        let keys: Vec<_> = warnings(&s).into_iter().map(|p| p.setting).collect();
        assert_eq!(
            keys,
            [
                "sync.sync_inactive_employees",
                "astrow.password_file",
                "astrow.url",
                "bookings.roll_call_active"
            ]
        );
        s.sync.master = Master::Astrow;
        assert_eq!(warnings(&s).len(), 3);
    }
}
