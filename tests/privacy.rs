//! Personal data at rest (issue 16), with the real binary against both
//! simulators over loopback: owner-only store and logs whatever the umask
//! (the binary runs under `umask 000` in a shell: the umask is the
//! process's, never changed in this test process), `check` flagging an open
//! store directory, badge numbers masked in the log, and `forget employee`.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use astrow_pac::cli::sim::settings_for;
use astrow_pac::config;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::DATABASE_FILE;
use astrow_pac::store::db::open_connection;
use tokio::process::{Child, Command};
use tokio::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_astrow-pac");

struct Rig {
    site: RunningSite,
    config: PathBuf,
    store_dir: PathBuf,
    log_dir: PathBuf,
    dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 40;
    opts.seed = 16;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let settings = settings_for(&site, dir.path());
    let config = dir.path().join("astrow-pac.toml");
    config::save(&config, &settings).unwrap();
    Rig {
        store_dir: settings.store.dir.clone().unwrap(),
        log_dir: dir.path().join("logs"),
        site,
        config,
        dir,
    }
}

impl Rig {
    /// The binary under `umask 000`, with `--config`.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("umask 000 && exec \"$0\" \"$@\"")
            .arg(BIN)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .env("USER", "privacy-tester")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).stdin(Stdio::null()).output();
        tokio::time::timeout(Duration::from_secs(120), out)
            .await
            .unwrap_or_else(|_| panic!("astrow-pac {args:?} did not finish"))
            .unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        let out = std::fs::File::create(self.dir.path().join("run.out")).unwrap();
        self.command(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        for e in std::fs::read_dir(&self.log_dir).unwrap() {
            text.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        text
    }

    fn query_strings(&self, sql: &str) -> Vec<String> {
        let c = open_connection(&self.store_dir.join(DATABASE_FILE)).unwrap();
        let mut stmt = c.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.try_count(sql).unwrap()
    }

    /// `None` while the store or its tables are not made yet.
    fn try_count(&self, sql: &str) -> Option<i64> {
        let path = self.store_dir.join(DATABASE_FILE);
        if !path.exists() {
            return None;
        }
        let c = open_connection(&path).ok()?;
        c.query_row(sql, [], |r| r.get(0)).ok()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every entry of `dir` with its mode, for a message.
fn modes_in(dir: &Path) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                mode(&e.path()),
            )
        })
        .collect();
    out.sort();
    out
}

fn assert_owner_only(dir: &Path, at_least: &[&str]) {
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    let files = modes_in(dir);
    for name in at_least {
        assert!(files.iter().any(|(n, _)| n == name), "{name} in {files:?}");
    }
    assert!(files.iter().all(|(_, m)| *m == 0o600), "{files:?}");
}

/// Wait until `sql` counts at least one row (bounded).
async fn until_some(rig: &Rig, sql: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while rig.try_count(sql).unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "nothing for {sql} in {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM, so the engine stops cleanly and its log is flushed.
async fn stop(child: &mut Child) {
    let pid = libc::pid_t::try_from(child.id().expect("running")).unwrap();
    // SAFETY: kill has no memory preconditions; the pid is our own child's,
    // not yet reaped (so not reused). No external `kill` program needed.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "SIGTERM: {}", std::io::Error::last_os_error());
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the engine stops on SIGTERM")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn store_and_logs_are_owner_only_under_umask_000_and_check_flags_an_open_store() {
    let rig = rig().await;
    let o = rig.run(&["apply", "--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_owner_only(
        &rig.store_dir,
        &[DATABASE_FILE, "astrow-pac.lock", "astrow-pac.pid"],
    );
    assert_owner_only(&rig.log_dir, &[]);
    assert!(!modes_in(&rig.log_dir).is_empty());

    // An audit row from long ago: the engine's retention trims its month.
    let old = "INSERT INTO audit (at, os_user, system, action, record, result)
               VALUES ('2001-01-31T23:59:59.000Z', 'someone', 'pac', 'update', 'employee 1', 'ok')";
    open_connection(&rig.store_dir.join(DATABASE_FILE))
        .unwrap()
        .execute(old, [])
        .unwrap();
    let before = "SELECT count(*) FROM audit WHERE at < '2002'";
    assert_eq!(rig.count(before), 1);

    // The engine running: its WAL and SHM files too.
    let mut engine = rig.spawn(&["run", "--headless"]);
    let wal = rig.store_dir.join(format!("{DATABASE_FILE}-wal"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !wal.exists() {
        assert!(
            Instant::now() < deadline,
            "no WAL file while the engine runs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_owner_only(
        &rig.store_dir,
        &[
            &format!("{DATABASE_FILE}-wal"),
            &format!("{DATABASE_FILE}-shm"),
        ],
    );
    until_some(
        &rig,
        "SELECT count(*) FROM store_audit WHERE action = 'trim_audit'",
        Duration::from_secs(30),
    )
    .await;
    stop(&mut engine).await;
    assert_eq!(rig.count(before), 0);
    assert!(
        rig.count("SELECT count(*) FROM audit") > 0,
        "this month's rows stay"
    );
    let trims = rig.query_strings("SELECT detail FROM store_audit WHERE action = 'trim_audit'");
    assert_eq!(trims, vec!["1 deleted; 24 whole months kept".to_string()]);

    // Opened up by hand: `check` says so, and the next start tightens it.
    set_mode(&rig.store_dir, 0o755);
    set_mode(&rig.store_dir.join(DATABASE_FILE), 0o644);
    let o = rig.run(&["check", "--offline"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("error: store.dir = ") && out.contains("mode 0755"),
        "{out}"
    );
    assert!(!out.contains("error: log.file"), "{out}");

    let o = rig.run(&["plan"]).await;
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", text(&o));
    assert_owner_only(&rig.store_dir, &[DATABASE_FILE]);
    let log = rig.log_text();
    let db = rig.store_dir.join(DATABASE_FILE).display().to_string();
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains(&db) && l.contains("mode 0644")),
        "{log}"
    );
    assert!(
        log.contains("mode 0755"),
        "the directory's old mode is named: {log}"
    );
    let o = rig.run(&["check", "--offline"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_masks_badges_and_forget_erases_an_employee_and_status_still_works() {
    let rig = rig().await;
    // Swipes before any apply: bookings of employees Astrow does not know
    // yet go with PAC's badge number, and Astrow queues them.
    let pac = rig.site.pac.as_ref().unwrap().0.clone();
    pac.swipe(150).await;
    let log_file = rig.log_dir.join("astrow-pac.log");
    let mut engine = rig.spawn(&[
        "run",
        "--headless",
        "--log-file",
        log_file.to_str().unwrap(),
    ]);
    until_some(
        &rig,
        "SELECT count(*) FROM ledger WHERE state = 'queued'",
        Duration::from_secs(60),
    )
    .await;

    // The service holds the store: forget is done by the service, asked
    // through its control socket (never a second engine on the store).
    let o = rig.run(&["forget", "employee", "1", "--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("The store held nothing of PAC employee 1"),
        "{}",
        text(&o)
    );
    stop(&mut engine).await;

    // No whole badge number in the log; the queued ones by their last four.
    let log = rig.log_text();
    let mut badges = rig.query_strings(
        "SELECT badge_number FROM ledger WHERE badge_number IS NOT NULL
         UNION SELECT badge_no FROM ledger WHERE badge_no IS NOT NULL",
    );
    badges.retain(|b| b.len() > 4);
    assert!(badges.len() > 10, "{badges:?}");
    for b in &badges {
        assert!(
            !log.contains(b.as_str()),
            "badge {b} whole in the log:\n{log}"
        );
    }
    let queued = rig.query_strings("SELECT badge_no FROM ledger WHERE state = 'queued'");
    let tail = |b: &str| format!("…{}", &b[b.len() - 4..]);
    assert!(
        queued.iter().any(|b| log
            .lines()
            .any(|l| l.contains("queued the booking of badge") && l.contains(&tail(b)))),
        "a queued booking is logged with its badge masked:\n{log}"
    );

    // Forget an employee with delivered swipes and audit rows.
    let o = rig.run(&["apply", "--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let id: i64 = rig.count(
        "SELECT l.employee_id FROM ledger l JOIN links k ON k.pac_id = l.employee_id
         JOIN audit a ON a.system = 'astrow' AND a.record = 'employee ' || k.pers_no
         WHERE l.state IN ('processed', 'queued') LIMIT 1",
    );
    let pers_no = rig.count(&format!("SELECT pers_no FROM links WHERE pac_id = {id}"));
    let audit_before = rig.count("SELECT count(*) FROM audit");
    let o = rig
        .run(&["forget", "employee", &id.to_string(), "--yes"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("Nothing was sent to PAC or Astrow"),
        "{}",
        text(&o)
    );
    let swipes =
        format!("SELECT count(*) FROM ledger WHERE employee_id = {id} AND state <> 'pending'");
    assert_eq!(rig.count(&swipes), 0);
    let named = format!(
        "SELECT count(*) FROM audit WHERE (system = 'pac' AND record = 'employee {id}')
         OR (system = 'astrow' AND record = 'employee {pers_no}')"
    );
    assert_eq!(rig.count(&named), 0);
    assert!(rig.count("SELECT count(*) FROM audit WHERE record LIKE 'employee forgotten-%'") > 0);
    assert_eq!(
        rig.count("SELECT count(*) FROM audit"),
        audit_before,
        "rows kept, renamed"
    );
    let own = rig.query_strings("SELECT os_user || ' ' || action FROM store_audit");
    assert_eq!(
        own,
        vec![
            format!("{} forget_employee", astrow_pac::store::os_user::current()),
            format!("{} forget_employee", astrow_pac::store::os_user::current()),
        ],
        "the service's erasure and this one"
    );

    // Status and a reconcile still work afterwards.
    let o = rig.run(&["status", "--json"]).await;
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", text(&o));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(status.is_object(), "{status}");
    let o = rig.run(&["plan"]).await;
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", text(&o));
}
