//! The settings file as a whole: the example, loading with every problem,
//! saving (round trip, comments, permissions), and the README reference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use astrow_pac::config::{
    self, ApplyMode, ConfigError, DeletionGuard, Master, MatchKey, ReaderSettings, Secret,
    Settings, schema,
};
use astrow_pac::model::Direction;
use astrow_pac::tui::settings_form::fields_for;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../config/astrow-pac.toml");
const README: &str = include_str!("../README.md");

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn problems(text: &str) -> Vec<config::Problem> {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", text);
    match config::load_with(&p, false) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn the_example_loads_without_problem_or_warning() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "astrow-pac.toml", EXAMPLE);
    let loaded = config::load_with(&p, false).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let s = loaded.settings;
    assert_eq!(s.pac.port, 8443);
    assert_eq!(s.readers["R-0012"].direction, Some(Direction::In));
    // Every default in the example is the struct's default.
    let d = Settings::default();
    assert_eq!(s.sync, d.sync);
    assert_eq!(s.bookings, d.bookings);
    assert_eq!(s.log, d.log);
}

/// Walks the settings table: every setting is in the example file, in the
/// README reference and in the console's form, and its default in words is
/// the default of `Settings`.
#[test]
fn every_setting_of_the_table_is_in_the_example_the_readme_and_the_form() {
    let form = fields_for(&Settings::default(), &["R-1".to_string()]);
    let defaults = fields_for(&Settings::default(), &[]);
    for d in schema::SETTINGS {
        let name = d.field();
        let in_example = EXAMPLE
            .lines()
            .map(|l| l.trim_start_matches('#').trim_start())
            .any(|l| l.starts_with(&format!("{name} =")));
        assert!(in_example, "config/astrow-pac.toml lacks {}", d.key);
        assert!(
            README.contains(&format!("| `{}` |", d.key)),
            "README.md's settings reference lacks {}",
            d.key
        );
        let key = d.key.replace("<serial>", "\"R-1\"");
        assert!(
            form.iter()
                .any(|f| f.key == key && f.help.contains(d.allowed)),
            "the settings form lacks {key}"
        );
        if !d.per_reader() {
            let shown = &defaults.iter().find(|f| f.key == d.key).unwrap().value;
            if d.default.starts_with("not set") {
                assert_eq!(shown, "", "{}: default {}", d.key, d.default);
            } else if !d.default.starts_with("required") {
                assert_eq!(shown, d.default, "{}: default", d.key);
            }
        }
    }
    assert_eq!(
        form.len(),
        schema::SETTINGS.len(),
        "one form row per setting"
    );
}

#[test]
fn the_reader_reads_exactly_the_reference_keys() {
    // Every reference key set to a value no setting accepts: each must be
    // reported by name, and nothing else may be.
    let mut text = String::new();
    for d in schema::SETTINGS {
        let key = d.key.replace("readers.<serial>", "readers.\"R-1\"");
        text.push_str(&format!("{key} = []\n"));
    }
    let mut named: Vec<String> = problems(&text)
        .into_iter()
        .filter(|p| p.value.as_deref() == Some("[]") || p.setting == "astrow.password")
        .map(|p| schema::generic_key(&p.setting))
        .collect();
    named.sort();
    let mut expected: Vec<String> = schema::SETTINGS.iter().map(|d| d.key.to_string()).collect();
    expected.sort();
    assert_eq!(named, expected);
}

#[test]
fn readme_reference_matches_the_settings() {
    let start = "<!-- settings-reference:start -->\n";
    let end = "<!-- settings-reference:end -->";
    let from = README
        .find(start)
        .expect("README has the reference start marker")
        + start.len();
    let to = README
        .find(end)
        .expect("README has the reference end marker");
    if std::env::var_os("ASTROW_PAC_BLESS_README").is_some() {
        let text = format!(
            "{}{}{}",
            &README[..from],
            schema::reference_markdown(),
            &README[to..]
        );
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"), text).unwrap();
        return;
    }
    assert_eq!(
        &README[from..to],
        schema::reference_markdown(),
        "README.md's settings reference drifted from src/config/table.rs; \
         regenerate it with ASTROW_PAC_BLESS_README=1 cargo test --test config_file readme"
    );
}

#[test]
fn many_bad_values_are_reported_at_once() {
    let text = EXAMPLE
        .replace("port = 8443", "port = 0")
        .replace("organization_id = 1", "organization_id = 3")
        .replace("employee_interval_s = 300", "employee_interval_s = 2")
        .replace("master = \"pac\"", "master = \"both\"")
        .replace(
            "url = \"https://astrow.example.local\"",
            "url = \"ftp://astrow\"",
        )
        .replace("percent = 10", "percent = 400\npercnt = 3")
        .replace("direction = \"in\"", "direction = \"sideways\"");
    let keys: Vec<String> = problems(&text).into_iter().map(|p| p.setting).collect();
    for expected in [
        "pac.port",
        "pac.organization_id",
        "sync.employee_interval_s",
        "sync.master",
        "astrow.url",
        "sync.deletion_guard.percent",
        "sync.deletion_guard.percnt",
        "readers.\"R-0012\".direction",
    ] {
        assert!(
            keys.iter().any(|k| k == expected),
            "{expected} missing from {keys:?}"
        );
    }
    assert_eq!(keys.len(), 8, "{keys:?}");
}

#[test]
fn key_file_problems_name_the_setting_and_hide_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let cases = [
        ("empty.key", String::new(), "empty"),
        ("text.key", format!("key={key}"), "not JSON"),
        (
            "other.key",
            format!("{{\"format\":\"gallagher/2\",\"key\":\"{key}\"}}"),
            "format",
        ),
        (
            "short.key",
            format!(
                "{{\"format\":\"pac-oem-key/1\",\"client_id\":\"a\",\"client_name\":\"b\",\"key\":\"{key}x\",\"issued_at\":\"2026-11-01T10:00:00Z\"}}"
            ),
            "base64",
        ),
    ];
    for (name, content, needle) in cases {
        let keyfile = write(dir.path(), name, &content);
        let mut s = Settings::default();
        s.pac.oem_key_path = keyfile;
        let p = config::validate(&s, true);
        let kp: Vec<_> = p
            .iter()
            .filter(|p| p.setting == "pac.oem_key_path")
            .collect();
        assert_eq!(kp.len(), 1, "{name}: {p:?}");
        let text = kp[0].to_string();
        assert!(text.contains(needle), "{name}: {text}");
        assert!(!text.contains(key), "{name} leaked the key: {text}");
    }
    // A directory cannot be read as a file.
    let mut s = Settings::default();
    s.pac.oem_key_path = dir.path().to_path_buf();
    let p = config::validate(&s, true);
    assert!(
        p.iter()
            .any(|p| p.setting == "pac.oem_key_path" && p.message.contains("cannot read"))
    );
}

#[test]
fn a_missing_file_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let e = config::load(&dir.path().join("none.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::NotFound { .. }));
    assert!(e.to_string().contains("config/astrow-pac.toml"), "{e}");
}

#[test]
fn secrets_stay_out_of_errors() {
    let text = EXAMPLE.replace(
        "# password = \"...\"",
        "password = \"hunter2-secret\"\npasword = 1",
    );
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "s.toml",
        &text.replace("port = 8443", "port = 0"),
    );
    let e = config::load(&p).unwrap_err();
    let all = format!("{e} {e:?}");
    assert!(!all.contains("hunter2-secret"), "{all}");
    assert!(all.contains("astrow.pasword"), "{all}");
}

#[cfg(unix)]
#[test]
fn save_is_owner_only_and_leaves_no_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub").join("astrow-pac.toml");
    config::save(&p, &Settings::default()).unwrap();
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("astrow-pac.toml")]);
    // A new file starts from the commented example.
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("# Port of PAC's OEM interface"), "{text}");
}

#[cfg(unix)]
#[test]
fn save_through_a_symlink_replaces_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = write(dir.path(), "real.toml", EXAMPLE);
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut s = config::load_with(&link, false).unwrap().settings;
    s.pac.port = 1234;
    config::save(&link, &s).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        config::load_with(&real, false).unwrap().settings.pac.port,
        1234
    );
}

#[test]
fn save_changes_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", EXAMPLE);
    let mut s = config::load_with(&p, false).unwrap().settings;
    config::save(&p, &s).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), EXAMPLE);
    s.pac.port = 9443;
    config::save(&p, &s).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(text, EXAMPLE.replace("port = 8443", "port = 9443"));
}

#[test]
fn comments_survive_changes_removals_and_additions() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# top\n[pac]\n# the port\nport = 8443 # usual\n\n[astrow]\n# pw\npassword = \"x\"\n# after\nusername = \"u\"\n";
    let p = write(dir.path(), "s.toml", text);
    let mut s = config::load_with(&p, false).unwrap_err();
    assert!(!s.problems().is_empty());
    let mut settings = Settings::default();
    settings.pac.port = 9000;
    settings.astrow.username = "u".into();
    settings.astrow.password = None;
    config::save(&p, &settings).unwrap();
    let saved = std::fs::read_to_string(&p).unwrap();
    for c in ["# top", "# the port", "# usual", "# pw", "# after"] {
        assert!(saved.contains(c), "{c} lost:\n{saved}");
    }
    assert!(saved.contains("port = 9000 # usual"), "{saved}");
    assert!(!saved.contains("password"), "{saved}");
    s = config::load_with(&p, false).unwrap_err();
    // Only the settings that were never filled in remain to complain about.
    assert!(
        s.problems().iter().all(|p| p.message.contains("not set")),
        "{s}"
    );
}

#[test]
fn save_refuses_a_broken_file_instead_of_overwriting_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", "[pac\nport = ");
    assert!(config::save(&p, &Settings::default()).is_err());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "[pac\nport = ");
}

fn comment_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ._/\\\\\"'#=äü€-]{0,12}[A-Za-z0-9]"
}

fn path() -> impl Strategy<Value = PathBuf> {
    "/[A-Za-z0-9 ._\"'#ü-]{1,20}".prop_map(PathBuf::from)
}

fn reader() -> impl Strategy<Value = ReaderSettings> {
    (
        proptest::option::of(any::<bool>()),
        proptest::option::of(prop_oneof![Just(Direction::In), Just(Direction::Out)]),
        any::<bool>(),
    )
        .prop_map(|(booking, direction, roll_call)| ReaderSettings {
            booking,
            direction,
            roll_call,
        })
}

prop_compose! {
    fn pac_astrow()(
        address in "[a-z][a-z0-9-]{0,10}(\\.[a-z0-9]{1,6}){0,2}",
        port in 1u16..,
        key in path(), cert in path(),
        url in "https?://[a-z]{1,10}(:[0-9]{2,4})?(/[a-z]{0,5})?",
        username in text(),
        password in proptest::option::of(text()),
        password_file in proptest::option::of(path()),
        ca_path in proptest::option::of(path()),
        cycle in text(), paygroup in text(),
    ) -> Settings {
        let mut s = Settings::default();
        s.pac.address = address;
        s.pac.port = port;
        s.pac.oem_key_path = key;
        s.pac.certificate_path = cert;
        s.astrow.url = url;
        s.astrow.username = username;
        s.astrow.password = password.map(Secret::new);
        s.astrow.password_file = password_file;
        s.astrow.ca_path = ca_path;
        s.astrow.default_cycle_code = cycle;
        s.astrow.default_paygroup_code = paygroup;
        s
    }
}

prop_compose! {
    fn settings()(
        base in pac_astrow(),
        intervals in (5u64..=86_400, 5u64..=86_400),
        master in prop_oneof![Just(Master::Pac), Just(Master::Astrow)],
        flags in any::<(bool, bool, bool, bool)>(),
        apply in prop_oneof![Just(ApplyMode::Manual), Just(ApplyMode::Auto)],
        match_key in prop_oneof![Just(MatchKey::EmployeeNumber), Just(MatchKey::BadgeNumber)],
        guard in (0u32..=1_000_000, 0u8..=100, 0u32..=720),
        booking_numbers in (1u32..=500, 1u32..=10_000_000, 5u64..=110, 60u64..=604_800, 1u64..=3650),
        readers in proptest::collection::btree_map("[A-Za-z0-9 ._\"-]{0,8}[A-Za-z0-9]", reader(), 0..4),
        store in proptest::option::of(path()),
        level in prop_oneof![Just("info"), Just("debug"), Just("warn,astrow_pac=trace")],
        log_file in proptest::option::of(path()),
    ) -> Settings {
        let mut s = base;
        s.sync.employee_interval_s = intervals.0;
        s.sync.definitions_interval_s = intervals.1;
        s.sync.master = master;
        s.sync.delete_employees_on_sync = flags.0;
        s.sync.sync_inactive_employees = flags.1;
        s.sync.apply = apply;
        s.sync.match_key = match_key;
        s.sync.deletion_guard = DeletionGuard { count: guard.0, percent: guard.1, window_h: guard.2 };
        s.bookings.enabled = flags.2;
        s.bookings.roll_call_active = flags.3;
        s.bookings.batch_size = booking_numbers.0;
        s.bookings.max_pending = booking_numbers.1;
        s.bookings.heartbeat_interval_s = booking_numbers.2;
        s.bookings.wait_alert_s = booking_numbers.3;
        s.bookings.retention_days = booking_numbers.4;
        s.readers = readers.into_iter().collect::<BTreeMap<_, _>>();
        s.store.dir = store;
        s.log.level = level.to_string();
        s.log.file = log_file;
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn save_then_load_gives_the_settings_back_and_keeps_comments(
        first in settings(),
        second in settings(),
    ) {
        prop_assert_eq!(config::validate(&second, false), vec![]);
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "astrow-pac.toml", EXAMPLE);
        for s in [&first, &second] {
            config::save(&p, s).unwrap();
            let back = config::load_with(&p, false).unwrap().settings;
            prop_assert_eq!(&back, s);
        }
        let saved = std::fs::read_to_string(&p).unwrap();
        let kept = comment_lines(&saved);
        for line in comment_lines(EXAMPLE) {
            prop_assert!(kept.contains(&line), "lost comment {:?} in\n{}", line, saved);
        }
    }
}
