//! The administrator's history on the command line, with the real binary
//! against both simulators over loopback: `audit` after an apply (all, by
//! employee, JSON), and a closed stdout pipe that ends every command
//! quietly (`plan --json | head -c 300`).

#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use astrow_pac::cli::sim::settings_for;
use astrow_pac::config;
use astrow_pac::sim::site::{RunningSite, SiteOptions, Which};
use astrow_pac::store::DATABASE_FILE;
use astrow_pac::store::db::open_connection;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_astrow-pac");

struct Rig {
    _site: RunningSite,
    config: PathBuf,
    store_dir: PathBuf,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = SiteOptions::new(dir.path().join("sim"));
    opts.employees = 30;
    opts.seed = 13;
    let site = RunningSite::start(Which::Both, &opts).await.unwrap();
    let settings = settings_for(&site, dir.path());
    let config = dir.path().join("astrow-pac.toml");
    config::save(&config, &settings).unwrap();
    Rig {
        store_dir: settings.store.dir.clone().unwrap(),
        _site: site,
        config,
        _dir: dir,
    }
}

impl Rig {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .arg("--config")
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .env("USER", "history-tester")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output();
        tokio::time::timeout(Duration::from_secs(120), out)
            .await
            .unwrap_or_else(|_| panic!("astrow-pac {args:?} did not finish"))
            .unwrap()
    }

    /// Run with stdout a pipe whose reader is closed before the start.
    async fn run_into_closed_pipe(&self, args: &[&str]) -> Output {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let child = self
            .command(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output();
        tokio::time::timeout(Duration::from_secs(120), out)
            .await
            .unwrap_or_else(|_| panic!("astrow-pac {args:?} did not finish"))
            .unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        let c = open_connection(&self.store_dir.join(DATABASE_FILE)).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_after_an_apply_lists_every_write_and_filters_by_employee() {
    let rig = rig().await;
    let o = rig.run(&["audit"]).await;
    assert_eq!(o.status.code(), Some(1), "no store yet: {}", text(&o));
    assert!(text(&o).contains("no store in"), "{}", text(&o));

    let o = rig.run(&["apply", "--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let written = rig.count("SELECT count(*) FROM audit");
    assert!(written > 10, "{written} audit rows");

    let o = rig.run(&["audit", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(all.len() as i64, written);
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    // The user the OS says runs the command, not what USER claims.
    let me = astrow_pac::store::os_user::current();
    assert!(all.iter().all(|e| e["user"] == me.as_str()), "{all:?}");

    // One linked employee: its rows on both sides, by either id.
    let pac_id = rig.count(
        "SELECT k.pac_id FROM links k JOIN audit a ON a.system = 'astrow'
         AND a.record = 'employee ' || k.pers_no LIMIT 1",
    );
    let pers_no = rig.count(&format!(
        "SELECT pers_no FROM links WHERE pac_id = {pac_id}"
    ));
    let expected = rig.count(&format!(
        "SELECT count(*) FROM audit WHERE (system = 'pac' AND record = 'employee {pac_id}')
         OR (system = 'astrow' AND record = 'employee {pers_no}')"
    ));
    for id in [pac_id, pers_no] {
        let o = rig
            .run(&["audit", "--json", "--employee", &id.to_string()])
            .await;
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(rows.len() as i64, expected, "--employee {id}: {}", text(&o));
        assert!(
            rows.iter()
                .any(|r| r["record"] == format!("employee {pers_no}") && r["system"] == "astrow")
        );
    }

    // Text: a header and one line per entry (and its changes).
    let o = rig.run(&["audit", "--since", "1h"]).await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("TIME"), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains(&format!(" {me} ")))
            .count() as i64,
        written
    );
    let o = rig.run(&["audit", "--since", "2099-01-01", "--json"]).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    let o = rig.run(&["audit", "--since", "yesterday"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("neither a duration"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_every_command_quietly() {
    let rig = rig().await;
    for args in [
        &["plan", "--json"][..],
        &["plan"],
        &["man"],
        &["completions", "bash"],
        &["--help"],
        &["--version"],
    ] {
        let o = rig.run_into_closed_pipe(args).await;
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {}",
            text(&o)
        );
        // plan exits 2 when there is something to change; the pipe changes nothing.
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "{args:?}: {}",
            text(&o)
        );
    }
    rig.run(&["apply", "--yes"]).await;
    let o = rig.run_into_closed_pipe(&["audit"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(o.stderr.is_empty(), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_of_a_matched_then_updated_employee() {
    let rig = rig().await;
    let o = rig.run(&["apply", "--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Matched with an Astrow employee, then its PAC record updated (the link
    // recorded in external_ref).
    let pac_id = rig.count(
        "SELECT k.pac_id FROM links k JOIN audit a ON a.system = 'pac'
         AND a.record = 'employee ' || k.pac_id AND a.action = 'update'
         WHERE k.origin = 'matched' LIMIT 1",
    );
    let pers_no = rig.count(&format!(
        "SELECT pers_no FROM links WHERE pac_id = {pac_id}"
    ));
    let audit_rows = rig.count(&format!(
        "SELECT count(*) FROM audit WHERE (system = 'pac' AND record = 'employee {pac_id}')
         OR (system = 'astrow' AND record = 'employee {pers_no}')"
    ));
    for id in [pac_id, pers_no] {
        let o = rig
            .run(&["trace", "employee", &id.to_string(), "--json"])
            .await;
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(t["link"]["origin"], "matched", "{t}");
        assert_eq!(t["link"]["pac_id"], pac_id);
        assert_eq!(t["link"]["pers_no"], pers_no);
        let items = t["plan_items"].as_array().unwrap();
        let actions: Vec<&str> = items
            .iter()
            .map(|i| i["action"].as_str().unwrap())
            .collect();
        assert!(
            actions.contains(&"link") && actions.contains(&"update"),
            "{actions:?}"
        );
        assert!(items.iter().all(|i| i["state"] == "applied"), "{items:?}");
        assert!(
            items
                .iter()
                .all(|i| !i["reason"].as_str().unwrap_or("").is_empty())
        );
        assert_eq!(
            t["audit"].as_array().unwrap().len() as i64,
            audit_rows,
            "{t}"
        );
        // Both sides as PAC and Astrow answer now, through the link.
        assert_eq!(t["now"]["pac"]["id"], pac_id, "{t}");
        assert_eq!(t["now"]["astrow"]["pers_no"], pers_no, "{t}");
        assert_eq!(
            t["now"]["pac"]["last_name"], t["now"]["astrow"]["last_name"],
            "in step after the apply: {t}"
        );
        assert!(t["now"]["pac_error"].is_null(), "{t}");
    }
    let o = rig.run(&["trace", "employee", &pac_id.to_string()]).await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("Now (read from PAC and Astrow just now)\n"),
        "{out}"
    );
    assert!(out.contains(&format!("\n  PAC     {pac_id} ")), "{out}");
    assert!(out.contains(&format!("\n  Astrow  {pers_no} ")), "{out}");
    assert!(
        out.contains(&format!(
            "\nLink    PAC {pac_id} <-> Astrow {pers_no} (matched"
        )),
        "{out}"
    );
    let o = rig
        .run(&["trace", "employee", &pac_id.to_string(), "--offline"])
        .await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("Link    PAC "), "the store only: {out}");
    assert!(
        out.contains(&astrow_pac::store::os_user::current()),
        "{out}"
    );
    assert!(
        !out.contains("history-tester"),
        "USER does not name the user: {out}"
    );
    let o = rig.run(&["trace", "employee", "987654321"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("knows nothing"), "{}", text(&o));
}

/// PAC ids and personnel numbers share one number space: with Astrow
/// employee P (never linked; written by the product, so in the audit)
/// beside PAC employee P (linked to Astrow A), `P` alone is refused naming
/// both, and `pac:P` / `astrow:P` each give only that person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_naming_two_people_is_refused_and_a_side_chooses() {
    let rig = rig().await;
    let o = rig.run(&["apply", "--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let pac_id = rig.count(
        "SELECT k.pac_id FROM links k JOIN audit a ON a.system = 'pac'
         AND a.record = 'employee ' || k.pac_id LIMIT 1",
    );
    let pers_no = rig.count(&format!(
        "SELECT pers_no FROM links WHERE pac_id = {pac_id}"
    ));
    assert_ne!(pac_id, pers_no);
    let c = open_connection(&rig.store_dir.join(DATABASE_FILE)).unwrap();
    c.execute(
        "INSERT INTO audit (at, os_user, system, action, record, result)
         VALUES ('2026-11-28T08:00:00.000Z', 'engine (auto)', 'astrow', 'create', ?1, 'ok')",
        [format!("employee {pac_id}")],
    )
    .unwrap();
    drop(c);
    let linked_rows = rig.count(&format!(
        "SELECT count(*) FROM audit WHERE (system = 'pac' AND record = 'employee {pac_id}')
         OR (system = 'astrow' AND record = 'employee {pers_no}')"
    ));
    let bare = pac_id.to_string();
    for args in [
        vec!["trace", "employee", bare.as_str(), "--offline"],
        vec!["audit", "--employee", bare.as_str()],
    ] {
        let o = rig.run(&args).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("employee {pac_id} is ambiguous"))
                && err.contains(&format!("pac:{pac_id}"))
                && err.contains(&format!("astrow:{pac_id}"))
                && err.contains(&format!("Astrow employee {pers_no}")),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty(), "{args:?}: {}", text(&o));
    }

    let pac_key = format!("pac:{pac_id}");
    let astrow_key = format!("astrow:{pac_id}");
    let o = rig
        .run(&["trace", "employee", &pac_key, "--offline", "--json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(t["link"]["pers_no"], pers_no, "{t}");
    assert_eq!(t["audit"].as_array().unwrap().len() as i64, linked_rows);

    let o = rig
        .run(&["trace", "employee", &astrow_key, "--offline"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with(&format!(
            "Link    none: Astrow employee {pac_id} (no PAC employee linked)"
        )),
        "{out}"
    );
    assert!(out.contains("Audit (1, newest first)"), "{out}");
    assert!(!out.contains(&format!("employee {pers_no}")), "{out}");

    let o = rig
        .run(&["audit", "--employee", &astrow_key, "--json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["system"], "astrow");
    let o = rig.run(&["audit", "--employee", &pac_key, "--json"]).await;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len() as i64, linked_rows, "{}", text(&o));

    // A bare number naming one person keeps working (scripts).
    let o = rig
        .run(&["audit", "--employee", &pers_no.to_string(), "--json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len() as i64, linked_rows);
    // Not an employee key: wrong use, saying how to write one.
    let o = rig.run(&["audit", "--employee", "badge:7"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pac:7"), "{}", text(&o));
}
