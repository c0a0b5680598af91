//! The History view and a trace in a console attached over the control
//! socket to a real engine on both simulators, after an apply: the query
//! goes through the engine's handle as a command and the answer comes back
//! as an event, like everything else an attached console sees.

#![cfg(unix)]

use std::sync::Arc;
use std::time::Duration;

use astrow_pac::cli::sim::settings_for;
use astrow_pac::config::ApplyMode;
use astrow_pac::control::{self, AttachOptions};
use astrow_pac::engine::command::Command;
use astrow_pac::engine::handle::EngineHandle;
use astrow_pac::engine::runtime::{EngineOptions, start, store_dir};
use astrow_pac::engine::snapshot::{ItemState, RowKind, Snapshot};
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::tui::testkit::{keys, lines, state};
use astrow_pac::tui::{LoopIo, run_loop};
use crossterm::event::Event;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

async fn until(handle: &EngineHandle, what: &str, ok: impl Fn(&Snapshot) -> bool) -> Arc<Snapshot> {
    let mut rx = handle.snapshots.clone();
    match tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|s| ok(s))).await {
        Ok(Ok(s)) => s.clone(),
        _ => panic!("no snapshot with {what} within 60 s"),
    }
}

/// A console attached to `endpoint`, each group of keys typed with a
/// pause after it, then quit: the last screen.
async fn console(endpoint: &std::path::Path, groups: &[&str]) -> String {
    let att = control::attach(
        endpoint,
        AttachOptions {
            read_only: true,
            ssh_from: None,
            reattach: false,
        },
    )
    .await
    .expect("attached");
    // The first snapshot arrives over the socket.
    until(&att.handle, "the first snapshot", |s| {
        !s.employees.is_empty()
    })
    .await;
    let st = state((**att.handle.snapshots.borrow()).clone(), 120, 40, true);
    let (tx, rx) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let handle = att.handle;
    let ui = tokio::spawn(async move {
        let mut term = match Terminal::new(TestBackend::new(120, 40)) {
            Ok(t) => t,
            Err(e) => match e {},
        };
        let r = run_loop(&mut term, rx, handle, st, LoopIo::default()).await;
        (term, r.map(|_| ()))
    });
    for g in groups {
        for k in keys(g) {
            let _ = tx.unbounded_send(Ok(Event::Key(k)));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // ctrl-c quits with whatever is open still drawn.
    for k in keys("<c-c>") {
        let _ = tx.unbounded_send(Ok(Event::Key(k)));
    }
    let (term, r) = tokio::time::timeout(Duration::from_secs(10), ui)
        .await
        .expect("the console quits")
        .unwrap();
    r.expect("the console ran");
    att.stop.cancel();
    lines(term.backend().buffer()).join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_read_only_console_reads_the_history_and_a_trace_after_an_apply() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 20;
    opts.seed = 11;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let mut settings = settings_for(&site, dir.path());
    settings.sync.apply = ApplyMode::Manual;
    settings.sync.employee_interval_s = 3600;
    let (handle, engine) = start(EngineOptions {
        settings: settings.clone(),
        config_path: dir.path().join("astrow-pac.toml"),
        read_only: false,
        demo: false,
    })
    .await
    .unwrap();
    let snap = until(&handle, "a plan", |s| s.plan.is_some()).await;
    let plan = snap.plan.clone().unwrap();
    let ids: Vec<String> = plan
        .items
        .iter()
        .filter(|i| i.state == ItemState::Pending)
        .map(|i| i.id.to_string())
        .collect();
    handle.commands.send(Command::Approve(ids)).await.unwrap();
    handle
        .commands
        .send(Command::Apply {
            plan_id: plan.plan_id.clone(),
            allow_held: false,
        })
        .await
        .unwrap();
    until(&handle, "the finished apply", |s| {
        s.apply
            .as_ref()
            .is_some_and(|a| !a.running && a.applied > 0)
    })
    .await;
    handle
        .commands
        .send(Command::RunNow(
            astrow_pac::engine::snapshot::JobKind::Employees,
        ))
        .await
        .unwrap();
    let after = until(&handle, "a linked employee", |s| {
        s.employees
            .iter()
            .any(|r| r.kind == RowKind::Linked && r.pac.is_some() && r.astrow.is_some())
    })
    .await;
    let server = astrow_pac::cli::attach::serve(&settings, &handle).expect("the control socket");
    let endpoint = control::endpoint(&store_dir(&settings));

    // History: the apply's writes, newest first, with who made them.
    let screen = console(&endpoint, &["8"]).await;
    assert!(screen.contains(" History "), "{screen}");
    assert!(screen.contains("in all"), "{screen}");
    assert!(
        screen.contains("create") || screen.contains("update"),
        "{screen}"
    );
    assert!(
        screen.contains(&astrow_pac::store::current_os_user()),
        "the user who applied: {screen}"
    );
    assert!(screen.contains("Before → after"), "{screen}");

    // Enter on a linked employee: its trace, as the engine answered it.
    let (row, pac_id) = after
        .employees
        .iter()
        .enumerate()
        .find_map(|(i, r)| match (&r.pac, &r.astrow, r.kind) {
            (Some(p), Some(_), RowKind::Linked) => Some((i, p.id.0)),
            _ => None,
        })
        .unwrap();
    let moves = format!("2{}", "j".repeat(row));
    let screen = console(&endpoint, &[&moves, "<enter>"]).await;
    assert!(
        screen.contains(&format!("Trace of employee pac:{pac_id}")),
        "{screen}"
    );
    assert!(screen.contains("Now (as last read)"), "{screen}");
    assert!(
        screen.contains(&format!("Link    PAC {pac_id} <-> Astrow")),
        "{screen}"
    );

    server.stop().await;
    let _ = handle.commands.send(Command::Shutdown).await;
    tokio::time::timeout(Duration::from_secs(20), engine.join())
        .await
        .expect("the engine stops");
}
