//! One engine, many consoles: the real binary as a service (`run
//! --headless`) on both simulators, consoles attached through its control
//! socket (the console's loop driven by keys through the test kit), and
//! `plan`, `apply`, `status` run beside it as processes.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use astrow_pac::cli::sim::settings_for;
use astrow_pac::config;
use astrow_pac::control::{self, AttachOptions, Attached, transport};
use astrow_pac::engine::command::Command as EngineCommand;
use astrow_pac::engine::snapshot::{ItemState, Origin, Snapshot};
use astrow_pac::sim::faults::FaultUpdate;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::Store;
use astrow_pac::tui::testkit::{keys, lines, state};
use astrow_pac::tui::{LoopIo, run_loop};
use crossterm::event::Event;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::process::{Child, Command};
use tokio::sync::watch;

struct Rig {
    site: RunningSite,
    config: PathBuf,
    store_dir: PathBuf,
    dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 30;
    opts.seed = 11;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let mut settings = settings_for(&site, dir.path());
    // Plans wait for a person; the test asks for syncs itself.
    settings.sync.apply = config::ApplyMode::Manual;
    settings.sync.employee_interval_s = 3600;
    let config = dir.path().join("astrow-pac.toml");
    config::save(&config, &settings).unwrap();
    Rig {
        store_dir: settings.store.dir.clone().unwrap(),
        site,
        config,
        dir,
    }
}

impl Rig {
    fn service(&self, name: &str) -> Child {
        let out = std::fs::File::create(self.dir.path().join(format!("{name}.out"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
            .args(["run", "--headless", "--config"])
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    fn service_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.out"))).unwrap_or_default()
    }

    /// Run the binary to its end; exit code, stdout, stderr.
    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
        self.run_with(&self.config, args, env).await
    }

    async fn run_with(
        &self,
        config: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (Option<i32>, String, String) {
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            Command::new(env!("CARGO_BIN_EXE_astrow-pac"))
                .args(args)
                .arg("--config")
                .arg(config)
                .env_remove("SSH_CONNECTION")
                .env_remove("SSH_CLIENT")
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("astrow-pac {args:?} did not finish"))
        .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn endpoint(&self) -> PathBuf {
        control::endpoint(&self.store_dir)
    }

    /// Attach once the service listens (it starts in the background).
    async fn attach(&self, reattach: bool) -> Attached {
        let opts = AttachOptions {
            read_only: false,
            ssh_from: None,
            reattach,
        };
        for _ in 0..300 {
            if let Ok(a) = control::attach(&self.endpoint(), opts.clone()).await {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the service never listened: {}",
            self.service_log("service")
        );
    }
}

async fn until(
    rx: &mut watch::Receiver<Arc<Snapshot>>,
    what: &str,
    ok: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let found = tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|s| ok(s)))
        .await
        .map(|r| r.map(|s| s.clone()));
    match found {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => panic!("the snapshot stream ended while waiting for {what}"),
        Err(_) => panic!(
            "no snapshot with {what} within 60 s: {:?}",
            rx.borrow().origin
        ),
    }
}

fn me() -> String {
    transport::unix_name(transport::own_uid().unwrap())
}

/// `plan`'s text with its plan id taken out (each run makes a new plan).
fn without_plan_id(out: &str) -> String {
    let id = out
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("Plan "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no plan id in {out}"));
    out.replace(id, "ID")
}

async fn kill9(child: &mut Child) {
    child.start_kill().unwrap();
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("a killed process is reaped")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_and_commands_share_one_service() {
    let rig = rig().await;
    // `plan` alone first: what the service's `plan` must print too.
    let (code, alone, err) = rig.run(&["plan"], &[]).await;
    assert_eq!(code, Some(2), "plan alone: {alone}\n{err}");
    let mut service = rig.service("service");
    let mut watcher = rig.attach(false).await;
    assert_ne!(watcher.pid, std::process::id());

    // `plan` beside the service: the service plans; same output, exit 2.
    let (code, out, err) = rig.run(&["plan"], &[]).await;
    assert_eq!(code, Some(2), "plan: {out}\n{err}");
    assert_eq!(without_plan_id(&out), without_plan_id(&alone));
    assert!(
        out.contains("Apply exactly this plan with: astrow-pac apply --plan"),
        "{out}"
    );
    let snap = until(&mut watcher.handle.snapshots, "a plan", |s| {
        s.plan.is_some()
    })
    .await;
    let plan_id = snap.plan.as_ref().unwrap().plan_id.clone();
    assert!(out.contains(&plan_id), "{out}");
    assert!(matches!(snap.origin, Origin::Service { connected: true, pid } if pid == watcher.pid));

    // A console through the test kit: approve the first item on Changes.
    let console = rig.attach(true).await;
    let st = state((**console.handle.snapshots.borrow()).clone(), 120, 40, true);
    let (keys_tx, keys_rx) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let handle = console.handle;
    let ui = tokio::spawn(async move {
        let mut term = match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        let r = run_loop(&mut term, keys_rx, handle, st, LoopIo::default()).await;
        (term, r)
    });
    let press = |spec: &str| {
        for k in keys(spec) {
            let _ = keys_tx.unbounded_send(Ok(Event::Key(k)));
        }
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    press("3a");
    // The other console sees it within a frame or two.
    let seen = until(&mut watcher.handle.snapshots, "an approved item", |s| {
        s.plan
            .as_ref()
            .is_some_and(|p| p.items.iter().any(|i| i.state == ItemState::Approved))
    })
    .await;
    assert_eq!(seen.plan.as_ref().unwrap().plan_id, plan_id);

    // `apply --yes` over SSH beside it: applied, progress followed, exit 0.
    let (code, out, err) = rig
        .run(
            &["apply", "--yes"],
            &[("SSH_CONNECTION", "10.9.8.7 50022 10.0.0.1 22")],
        )
        .await;
    assert_eq!(code, Some(0), "apply: {out}\n{err}");
    assert!(
        out.contains(" applied, ") && out.contains(", 0 failed."),
        "{out}"
    );
    let done = until(&mut watcher.handle.snapshots, "the finished apply", |s| {
        s.apply
            .as_ref()
            .is_some_and(|a| !a.running && a.applied > 0)
    })
    .await;
    let by = done.apply.as_ref().unwrap().started_by.clone().unwrap();
    assert_eq!(by, me(), "the apply names who started it");
    // The same plan asked again by id (a re-run script): done is success.
    let applied_id = done.apply.as_ref().unwrap().plan_id.clone();
    let (code, out, err) = rig
        .run(&["apply", "--yes", "--plan", &applied_id], &[])
        .await;
    assert_eq!(code, Some(0), "apply of an applied plan: {out}\n{err}");
    assert!(out.contains("applied already"), "{out}");

    // Quit the console: the service runs on and keeps publishing.
    press("q");
    let (term, r) = tokio::time::timeout(Duration::from_secs(10), ui)
        .await
        .expect("the console quits")
        .unwrap();
    assert!(r.is_ok());
    let screen = lines(term.backend().buffer()).join("\n");
    assert!(
        screen.contains(&format!("service, PID {}", watcher.pid)),
        "{screen}"
    );
    assert!(
        service.try_wait().unwrap().is_none(),
        "the service still runs"
    );
    let ask = EngineCommand::RunNow(astrow_pac::engine::snapshot::JobKind::Definitions);
    watcher
        .caller
        .call(ask)
        .await
        .expect("the service still serves");

    // `status` beside it shows the engine and who did what; the audit says so.
    let (code, out, err) = rig.run(&["status"], &[]).await;
    assert!(matches!(code, Some(0 | 2)), "status: {out}\n{err}");
    assert!(
        out.contains(&format!("running (PID {})", watcher.pid)),
        "{out}"
    );
    assert!(out.contains(&format!("{} approve", me())), "{out}");
    let store = Store::open_read_only(&rig.store_dir).unwrap();
    let audit = store.audit_log(200).unwrap();
    let approve = audit
        .iter()
        .find(|a| a.record.action == "approve")
        .expect("an approve row");
    assert_eq!(approve.os_user, me());
    assert!(approve.record.record.contains(&plan_id));
    let over_ssh = audit
        .iter()
        .find(|a| a.record.action == "apply_requested")
        .expect("an apply row");
    assert_eq!(
        over_ssh.record.result,
        "requested over ssh from 10.9.8.7 (as reported by the client)"
    );
    assert!(
        audit
            .iter()
            .any(|a| a.record.action == "create" || a.record.action == "update"),
        "the writes themselves are audited"
    );

    // `store rebind` beside it: the settings now name the same Astrow by
    // another address; a service started on them refuses to plan against
    // the other site, and re-binds when asked.
    let text = std::fs::read_to_string(&rig.config).unwrap();
    std::fs::write(
        &rig.config,
        text.replace("http://127.0.0.1:", "http://localhost:"),
    )
    .unwrap();
    kill9(&mut service).await;
    let mut service = rig.service("service-new-site");
    let mut refusing = rig.attach(false).await;
    until(&mut refusing.handle.snapshots, "the site refusal", |s| {
        s.site_refusal.is_some()
    })
    .await;
    // Moving the Astrow cursor is refused too while the store is another
    // site's (the engine's other-site refusal, as for the other writes).
    let (code, out, err) = rig
        .run(&["bookings", "astrow-cursor", "--to", "0", "--yes"], &[])
        .await;
    assert_ne!(code, Some(0), "astrow-cursor on another site: {out}\n{err}");
    assert!(
        err.contains("moving the Astrow booking cursor refused"),
        "{out}\n{err}"
    );
    let (code, out, err) = rig.run(&["store", "rebind", "--yes"], &[]).await;
    assert_eq!(code, Some(0), "rebind: {out}\n{err}");
    assert!(out.contains("was made for"), "{out}");
    assert!(out.contains("Bound to "), "{out}");
    let (code, out, _) = rig.run(&["store", "rebind", "--yes"], &[]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("already"), "{out}");
    let store = Store::open_read_only(&rig.store_dir).unwrap();
    let rebind = store.audit_log(500).unwrap();
    assert!(
        rebind.iter().any(|a| a.record.action == "rebind_store"
            && a.os_user == me()
            && a.record.result.starts_with("requested")),
        "the rebind is audited with who asked for it"
    );

    // `forget employee` beside it: the service erases, the command reports.
    let pac_id = seen
        .employees
        .iter()
        .find_map(|r| r.pac.as_ref().map(|p| p.id.0))
        .expect("a PAC employee");
    let id = pac_id.to_string();
    let (code, out, err) = rig.run(&["forget", "employee", &id, "--yes"], &[]).await;
    assert_eq!(code, Some(0), "forget: {out}\n{err}");
    assert!(out.contains(&format!("PAC employee {pac_id}")), "{out}");
    assert!(out.contains("Nothing was sent to PAC or Astrow."), "{out}");
    let store = Store::open_read_only(&rig.store_dir).unwrap();
    let rows = store.audit_log(500).unwrap();
    let asked = rows
        .iter()
        .find(|a| a.record.action == "forget_employee" && a.record.result.starts_with("requested"))
        .expect("who asked for the erasure");
    assert_eq!(asked.os_user, me());
    assert!(!asked.record.record.contains(&id), "no id in the row");

    // `bookings reset-cursor` beside it: the service moves the cursor.
    let (code, out, err) = rig
        .run(&["bookings", "reset-cursor", "--to", "0", "--yes"], &[])
        .await;
    assert_eq!(code, Some(0), "reset-cursor: {out}\n{err}");
    assert!(out.contains("event cursor moved from"), "{out}");
    // `bookings astrow-cursor` beside it: the service moves the Astrow cursor.
    let (code, out, err) = rig
        .run(&["bookings", "astrow-cursor", "--to", "0", "--yes"], &[])
        .await;
    assert_eq!(code, Some(0), "astrow-cursor: {out}\n{err}");
    assert!(out.contains("Astrow booking cursor moved from"), "{out}");
    kill9(&mut service).await;
    drop(rig.site);
}

/// A `control.group` member may not be able to read the password file or
/// the OEM key: `plan` and `apply` beside the service need neither (the
/// service holds them); without a service the command must read them and
/// says which one it cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_the_service_carries_out_need_not_read_its_secret_files() {
    let rig = rig().await;
    let mut settings = config::load(&rig.config).unwrap().settings;
    settings.astrow.password = None;
    settings.astrow.password_file = Some(rig.dir.path().join("unreadable-password"));
    settings.pac.oem_key_path = rig.dir.path().join("unreadable-key.json");
    let member = rig.dir.path().join("member.toml");
    config::save(&member, &settings).unwrap();

    let (code, out, err) = rig.run_with(&member, &["plan"], &[]).await;
    assert_eq!(code, Some(1), "plan alone: {out}\n{err}");
    assert!(err.contains("astrow.password_file"), "{err}");

    let mut service = rig.service("service");
    let _watcher = rig.attach(false).await;
    let (code, out, err) = rig.run_with(&member, &["plan"], &[]).await;
    assert_eq!(code, Some(2), "plan beside the service: {out}\n{err}");
    assert!(out.contains("astrow-pac apply --plan"), "{out}");
    let (code, out, err) = rig.run_with(&member, &["apply", "--yes"], &[]).await;
    assert_eq!(code, Some(0), "apply beside the service: {out}\n{err}");
    assert!(out.contains(", 0 failed."), "{out}");
    kill9(&mut service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_is_refused_naming_who_started_the_first() {
    let rig = rig().await;
    let mut service = rig.service("service");
    let a = rig.attach(false).await;
    let mut b = rig.attach(false).await;
    let (code, out, _) = rig.run(&["plan"], &[]).await;
    assert_eq!(code, Some(2), "{out}");
    let snap = until(&mut b.handle.snapshots, "a plan", |s| s.plan.is_some()).await;
    let plan = snap.plan.clone().unwrap();
    // Slow Astrow down so the apply is still running when the second comes.
    if let Some((_, _, faults)) = &rig.site.astrow {
        faults
            .update(FaultUpdate {
                latency_ms: Some(400),
                ..Default::default()
            })
            .unwrap();
    }
    let ids: Vec<String> = plan.items.iter().map(|i| i.id.to_string()).collect();
    a.caller.call(EngineCommand::Approve(ids)).await.unwrap();
    let apply = EngineCommand::Apply {
        plan_id: plan.plan_id.clone(),
        allow_held: false,
    };
    a.caller.call(apply.clone()).await.unwrap();
    until(&mut b.handle.snapshots, "a running apply", |s| {
        s.apply.as_ref().is_some_and(|p| p.running)
    })
    .await;
    let refused = b.caller.call(apply).await.unwrap_err();
    assert!(
        refused.contains(&format!("started by {}", me())),
        "{refused}"
    );
    kill9(&mut service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_is_shown_and_the_console_reattaches_to_the_next() {
    let rig = rig().await;
    let mut first = rig.service("service");
    let mut console = rig.attach(true).await;
    let mut events = console.handle.events.resubscribe();
    let pid = console.pid;
    until(&mut console.handle.snapshots, "the first picture", |s| {
        s.version > 0
    })
    .await;
    kill9(&mut first).await;
    let gone = until(&mut console.handle.snapshots, "the service gone", |s| {
        s.origin
            == Origin::Service {
                pid,
                connected: false,
            }
    })
    .await;
    assert!(gone.version > 0, "the last picture is kept");
    assert!(
        rig.endpoint().exists(),
        "a killed engine leaves its socket file behind"
    );
    // A new service replaces the stale socket (the store's lock is free).
    let mut second = rig.service("service2");
    let back = until(
        &mut console.handle.snapshots,
        "the new service",
        |s| matches!(s.origin, Origin::Service { connected: true, pid: p } if p != pid),
    )
    .await;
    assert!(back.version > 0);
    let mut said = Vec::new();
    while let Ok(e) = events.try_recv() {
        said.push(e.message);
    }
    assert!(said.iter().any(|m| m.contains("went away")), "{said:?}");
    assert!(said.iter().any(|m| m.contains("reattached")), "{said:?}");
    let log = rig.service_log("service2");
    assert!(log.contains("consoles may attach"), "{log}");
    kill9(&mut second).await;
}

/// The socket is the engine user's only: a process of another user is kept
/// out by the mode bits (run as root: the child drops to `nobody`).
#[tokio::test]
async fn the_socket_is_owner_only_and_another_user_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A directory anyone may enter: only the socket's own mode guards it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (handle, _engine) = astrow_pac::engine::handle::channels();
    let access = control::Access::default();
    let server = control::serve(
        dir.path(),
        &access,
        control::Policy::for_this_process(&access),
        control::Source::of(&handle),
    )
    .unwrap();
    let mode = std::fs::metadata(&server.endpoint)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    if transport::own_uid() == Some(0) {
        match run_as_nobody(&server.endpoint) {
            Ok(status) => assert_eq!(
                status.code(),
                Some(0),
                "the child saw its connection refused"
            ),
            Err(why) => eprintln!("skipped the other-user half: {why}"),
        }
    }
    server.stop().await;
}

/// Run `connect_as_child` as uid/gid 65534 against `endpoint`. The test
/// binary may sit under a directory that user cannot enter (a checkout under
/// /root): run a copy from a temporary directory it can read. Err (the reason)
/// when that user still cannot start it.
fn run_as_nobody(endpoint: &Path) -> Result<std::process::ExitStatus, String> {
    use std::os::unix::fs::PermissionsExt;
    let exe = std::env::current_exe().map_err(|e| format!("no path to the test binary: {e}"))?;
    let copy_dir = tempfile::Builder::new()
        .prefix("attach-child")
        .tempdir_in(std::env::temp_dir())
        .map_err(|e| format!("no temporary directory: {e}"))?;
    let open = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(copy_dir.path(), open.clone()).map_err(|e| e.to_string())?;
    let copy = copy_dir.path().join("attach-child");
    std::fs::copy(&exe, &copy).map_err(|e| format!("copying {}: {e}", exe.display()))?;
    std::fs::set_permissions(&copy, open).map_err(|e| e.to_string())?;
    let mut tries = 0;
    loop {
        let r = std::process::Command::new(&copy)
            .args(["--exact", "connect_as_child", "--nocapture"])
            .env("ASTROW_PAC_TEST_CONNECT", endpoint)
            .uid(65534)
            .gid(65534)
            .status();
        match r {
            Ok(status) => return Ok(status),
            // Another test thread forked while the copy was open for writing.
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(format!(
                    "uid 65534 cannot start {} ({e}): is {} reachable by others?",
                    copy.display(),
                    std::env::temp_dir().display()
                ));
            }
        }
    }
}

/// With `control.group` the socket is 0660 and the store directory 0710,
/// both the group's: members reach the socket, never the store's files.
#[tokio::test]
async fn a_group_opens_the_socket_to_its_members() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let Some(group) = named_group_of_ours(std::fs::metadata(dir.path()).unwrap().gid()) else {
        eprintln!("skipped: neither the temporary directory's gid nor ours has a group name");
        return;
    };
    let (handle, _engine) = astrow_pac::engine::handle::channels();
    let access = control::Access {
        group: Some(group.clone()),
    };
    let server = control::serve(
        dir.path(),
        &access,
        control::Policy::for_this_process(&access),
        control::Source::of(&handle),
    )
    .unwrap();
    let sock = std::fs::metadata(&server.endpoint).unwrap();
    assert_eq!(sock.permissions().mode() & 0o777, 0o660);
    assert_eq!(sock.gid(), transport::unix::group_id(&group).unwrap());
    let d = std::fs::metadata(dir.path()).unwrap();
    assert_eq!(d.permissions().mode() & 0o777, 0o710);
    server.stop().await;
    let missing = control::Access {
        group: Some("no-such-group-here".into()),
    };
    let err = control::serve(
        dir.path(),
        &missing,
        control::Policy::for_this_process(&missing),
        control::Source::of(&handle),
    )
    .err()
    .expect("an unknown group is an error");
    assert!(err.to_string().contains("no group named"), "{err}");
}

/// A group name this process may hand a file to: the directory's group or
/// our own, whichever has a name (a container may know the gid only as a
/// number).
fn named_group_of_ours(dir_gid: u32) -> Option<String> {
    // SAFETY: getegid has no preconditions and cannot fail.
    let own = unsafe { libc::getegid() };
    [dir_gid, own].into_iter().find_map(|gid| {
        let name = transport::unix::group_name_of_gid(gid);
        (name != gid.to_string()).then_some(name)
    })
}

/// The owner is let in. Run by the test above as another user (the
/// variable names the socket), the connection must be refused instead.
#[test]
fn connect_as_child() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(at) = std::env::var_os("ASTROW_PAC_TEST_CONNECT") else {
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let (handle, _engine) = astrow_pac::engine::handle::channels();
            let access = control::Access::default();
            let server = control::serve(
                dir.path(),
                &access,
                control::Policy::for_this_process(&access),
                control::Source::of(&handle),
            )
            .unwrap();
            let a = control::attach(&server.endpoint, AttachOptions::default()).await;
            assert!(a.is_ok(), "the owner is let in: {:?}", a.err());
            server.stop().await;
        });
        return;
    };
    let r = rt.block_on(transport::connect(Path::new(&at)));
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
        other => panic!("another user was let in: {other:?}"),
    }
}

use std::os::unix::process::CommandExt;
