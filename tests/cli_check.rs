//! `astrow-pac` run as a process: `check` exit codes and output, the console
//! placeholder, help.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use astrow_pac::config::OemKey;

const EXAMPLE: &str = include_str!("../config/astrow-pac.toml");
const BIN: &str = env!("CARGO_BIN_EXE_astrow-pac");

/// A settings file copied from the example, its paths pointed at real
/// fixtures in `dir`.
fn fixture(dir: &Path) -> PathBuf {
    let key = OemKey::generate("astrow-io", "Astrow", chrono::Utc::now());
    std::fs::write(dir.join("pac-oem.key"), key.to_file_json()).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["pac.example.local".into()]).unwrap();
    std::fs::write(dir.join("pac.pem"), cert.cert.pem()).unwrap();
    let text = EXAMPLE
        .replace(
            "/etc/astrow-pac/pac-oem.key",
            &dir.join("pac-oem.key").display().to_string(),
        )
        .replace(
            "/etc/astrow-pac/pac.pem",
            &dir.join("pac.pem").display().to_string(),
        );
    let path = dir.join("astrow-pac.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ASTROW_PAC_ASTROW_PASSWORD", "from-the-environment")
        .env_remove("ASTROW_PAC_CONFIG")
        .env_remove("RUST_LOG")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .env("XDG_DATA_HOME", dir.join("xdg-data"))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn check_passes_on_the_example_with_real_files() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let o = run(
        &["check", "--offline", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout(&o).contains("The settings are valid"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_passes_with_warnings_and_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "sync_inactive_employees = false",
        "sync_inactive_employees = true",
    );
    std::fs::write(&cfg, text).unwrap();
    let o = run(
        &["check", "--offline", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("warning: sync.sync_inactive_employees"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("with 1 warning"), "{}", stdout(&o));
}

#[test]
fn check_reports_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("port = 8443", "port = 0")
        .replace("employee_interval_s = 300", "employee_intervall_s = 300");
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(dir.path().join("pac-oem.key"), "").unwrap();
    let o = run(
        &["check", "--offline", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("error: pac.port = 0: must be a whole number from 1 to 65535"),
        "{out}"
    );
    assert!(
        out.contains("did you mean `sync.employee_interval_s`?"),
        "{out}"
    );
    assert!(
        out.contains("error: pac.oem_key_path") && out.contains("is empty"),
        "{out}"
    );
    assert!(out.contains("3 problems found"), "{out}");
}

#[test]
fn check_without_a_password_says_where_to_put_one() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let o = Command::new(BIN)
        .args(["check", "--offline", "--config", cfg.to_str().unwrap()])
        .env_remove("ASTROW_PAC_ASTROW_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("ASTROW_PAC_ASTROW_PASSWORD"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_finds_the_file_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let o = Command::new(BIN)
        .args(["check", "--offline"])
        .env("ASTROW_PAC_CONFIG", &cfg)
        .env("ASTROW_PAC_ASTROW_PASSWORD", "pw")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn check_of_a_missing_file_exits_1_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.toml");
    let o = run(
        &["check", "--config", missing.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("copy config/astrow-pac.toml"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_console_without_a_terminal_says_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    for args in [vec!["--config", cfg.to_str().unwrap()], vec!["demo"]] {
        let o = run(&args, dir.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("needs a terminal"), "{err}");
        assert!(err.contains("run --headless"), "{err}");
        assert!(o.stdout.is_empty(), "nothing on stdout");
    }
}

#[test]
fn help_explains_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["--help"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for needle in [
        "check",
        "--config",
        "--log-file",
        "ASTROW_PAC_CONFIG",
        "Exit codes",
    ] {
        assert!(out.contains(needle), "{needle} missing from\n{out}");
    }
    let o = run(&["check", "--help"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("every problem"), "{}", stdout(&o));
    let o = run(&["no-such-command"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn check_online_against_the_simulators_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["sim", "both", "--employees", "20", "--dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    {
        use std::io::BufRead;
        let out = child.stdout.as_mut().unwrap();
        std::io::BufReader::new(out).read_line(&mut line).unwrap();
    }
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let cfg = ready["config_path"].as_str().unwrap().to_string();
    let o = Command::new(BIN)
        .args(["check", "--config", &cfg])
        .output()
        .unwrap();
    let text = stdout(&o);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("Every online check passed"), "{text}");
    assert!(text.contains("PAC connection"), "{text}");
    assert!(text.contains("astrow.default_cycle_code"), "{text}");
}

#[test]
fn check_online_explains_an_unreachable_system() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let o = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&cfg)
        .env("ASTROW_PAC_ASTROW_PASSWORD", "pw")
        .output()
        .unwrap();
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("online check"), "{text}");
    assert!(
        text.contains("error PAC connection") || text.contains("error Astrow connection"),
        "{text}"
    );
}

#[test]
fn check_explains_the_astrow_to_pac_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fixture(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("astrow_to_pac = false"),
        "the example has it off"
    );
    std::fs::write(
        &cfg,
        text.replace("astrow_to_pac = false", "astrow_to_pac = \"yes\""),
    )
    .unwrap();
    let o = run(
        &["check", "--offline", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("error: bookings.astrow_to_pac")
            && stdout(&o).contains("`true` or `false`"),
        "{}",
        stdout(&o)
    );
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("astrow_to_pac = \"yes\"", "astrow_to_pac = true"),
    )
    .unwrap();
    let o = run(
        &["check", "--offline", "--config", cfg.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("note: bookings.astrow_to_pac = true")
            && stdout(&o).contains("never sent back"),
        "{}",
        stdout(&o)
    );
}
