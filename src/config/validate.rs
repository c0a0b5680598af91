//! The rules every setting must follow: plain functions over the typed
//! settings, so the console can validate as the user types. Each value's own
//! rule comes from the settings table (`table.rs`); rules between settings
//! and the checks of the files settings name are the named functions here.

use std::path::Path;

use super::Problem;
use super::filecheck;
use super::schema::{self, Kind, Rule, SettingRow, Value, reader_key};
use super::settings::*;

/// Every error in `s`, in the order of the settings reference. With
/// `check_files`, also that the files exist, can be read and hold what they
/// should, and that a password is to be found.
pub fn validate(s: &Settings, check_files: bool) -> Vec<Problem> {
    let mut p = Vec::new();
    for row in schema::fixed() {
        p.extend(value_problem(row, row.key, &row.get(s)));
    }
    readers(s, &mut p);
    codes_when_pac_is_master(s, &mut p);
    password_readable_by_the_group(s, &mut p);
    if check_files {
        files(s, &mut p);
    }
    p.sort_by_key(|p| schema::order(&p.setting));
    p
}

/// What is wrong with the value `v` of the setting `row` (written as `key`):
/// its kind's range or choices, then its rule.
pub fn value_problem(row: &SettingRow, key: &str, v: &Value) -> Option<Problem> {
    if let Rule::Own(rule) = row.rule {
        return rule(key, v);
    }
    match (row.kind, v) {
        (Kind::Int { min, max }, Value::Int(n)) if !(min..=max).contains(n) => {
            return Some(must(key, n));
        }
        (Kind::Choice(words) | Kind::OptChoice(words), Value::Text(t))
            if t.is_empty() || !words.contains(&t.as_str()) =>
        {
            return Some(Problem::new(
                key,
                Some(format!("\"{t}\"")),
                refused_message(row, t),
            ));
        }
        _ => {}
    }
    let value = || (!row.secret()).then(|| "\"\"".to_string());
    match row.rule {
        Rule::Required(hint) if blank(v) => Some(not_set(key, hint)),
        Rule::NotEmpty(hint) if written_empty(v) => {
            Some(Problem::new(key, value(), format!("is empty: {hint}")))
        }
        _ => None,
    }
}

/// "must be <allowed>", with the row's hint when `text` is its refused word.
pub(crate) fn refused_message(row: &SettingRow, text: &str) -> String {
    match row.rule {
        Rule::Refuse(word, hint) if word == text => format!("must be {}; {hint}", row.allowed),
        _ => format!("must be {}", row.allowed),
    }
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Unset => true,
        Value::Text(t) => t.trim().is_empty(),
        Value::Path(p) => p.as_os_str().is_empty(),
        Value::Secret(s) => s.is_empty(),
        Value::Int(_) | Value::Bool(_) => false,
    }
}

fn written_empty(v: &Value) -> bool {
    !matches!(v, Value::Unset) && blank(v)
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

fn not_set(key: &str, hint: &str) -> Problem {
    Problem::new(key, None, format!("is not set: {hint}"))
}

/// `pac.organization_id`: PAC's is always 1.
pub(crate) fn organization_rule(key: &str, v: &Value) -> Option<Problem> {
    (*v != Value::Int(1)).then(|| {
        let shown = match v {
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        };
        Problem::new(
            key,
            Some(shown),
            "must be 1: PAC fixes the organization id to 1 on every installation; set it to 1 or remove the line",
        )
    })
}

/// `pac.address`: a bare host name or IP address.
pub(crate) fn address_rule(key: &str, v: &Value) -> Option<Problem> {
    let address = v.text();
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

/// `astrow.url`: an http or https URL with a host.
pub(crate) fn url_rule(key: &str, v: &Value) -> Option<Problem> {
    let url = v.text();
    if url.trim().is_empty() {
        return Some(not_set(
            key,
            "write the address of the Astrow Web API, e.g. https://astrow.example.local",
        ));
    }
    match reqwest::Url::parse(url) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => Some(Problem::new(
            key,
            Some(url.to_string()),
            format!("must start with http:// or https://, not {}://", u.scheme()),
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Some(must(key, url)),
        Ok(_) => None,
        Err(e) => Some(Problem::new(
            key,
            Some(url.to_string()),
            format!("is not a URL ({e}); write e.g. https://astrow.example.local"),
        )),
    }
}

/// `log.level`: a level or a tracing filter.
pub(crate) fn log_level_rule(key: &str, v: &Value) -> Option<Problem> {
    (!log_level_ok(v.text())).then(|| must(key, v.text()))
}

/// PAC as master creates employees in Astrow, which need a cycle and a pay group.
fn codes_when_pac_is_master(s: &Settings, p: &mut Vec<Problem>) {
    if s.sync.master != Master::Pac {
        return;
    }
    for (key, code) in [
        ("astrow.default_cycle_code", &s.astrow.default_cycle_code),
        (
            "astrow.default_paygroup_code",
            &s.astrow.default_paygroup_code,
        ),
    ] {
        if code.trim().is_empty() {
            p.push(not_set(key, "PAC is master, so employees are created in Astrow and need it; write a code that exists in Astrow"));
        }
    }
}

/// The group needs to read the settings to find the socket: a password
/// written in them would be the whole group's.
fn password_readable_by_the_group(s: &Settings, p: &mut Vec<Problem>) {
    if s.control.group.is_some() && s.astrow.password.is_some() {
        p.push(Problem::new(
            "astrow.password",
            None,
            "is written in the settings while control.group lets that group read them: \
             move it to astrow.password_file (readable by the service's user only) or to \
             the environment variable ASTROW_PAC_ASTROW_PASSWORD",
        ));
    }
}

/// Each reader's settings by the table, and that each reader has a serial.
fn readers(s: &Settings, p: &mut Vec<Problem>) {
    for (serial, r) in &s.readers {
        if serial.trim().is_empty() {
            p.push(Problem::new(
                reader_key(serial, "").trim_end_matches('.'),
                None,
                "a reader needs its serial as in PAC, e.g. [readers.\"R-0012\"]",
            ));
        }
        for row in schema::per_reader() {
            let key = reader_key(serial, row.field());
            p.extend(value_problem(row, &key, &row.get_reader(r)));
        }
    }
}

/// The files the settings name exist, can be read and hold what they should;
/// a password is to be found.
fn files(s: &Settings, p: &mut Vec<Problem>) {
    let nonempty = |f: &Path| !f.as_os_str().is_empty();
    if nonempty(&s.pac.oem_key_path) {
        p.extend(filecheck::oem_key("pac.oem_key_path", &s.pac.oem_key_path));
    }
    if nonempty(&s.pac.certificate_path) {
        p.extend(filecheck::pem_certificate(
            "pac.certificate_path",
            &s.pac.certificate_path,
        ));
    }
    let a = &s.astrow;
    let have_inline = a.password.as_ref().is_some_and(|p| !p.is_empty());
    match &a.password_file {
        Some(f) if !have_inline && nonempty(f) => {
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
    if let Some(ca) = a.ca_path.as_deref().filter(|c| nonempty(c)) {
        p.extend(filecheck::pem_certificate("astrow.ca_path", ca));
    }
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
    use crate::model::Direction;

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
