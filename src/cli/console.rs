//! `astrow-pac` without a subcommand: the console over a running engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{GlobalArgs, exit, logging};
use crate::config::{self, Settings};
use crate::control::ControlServer;
use crate::engine::command::Command;
use crate::engine::handle::{EngineHandle, channels};
use crate::engine::online::online_checks;
use crate::engine::runtime::{EngineOptions, RunningEngine, start};
use crate::tui::{self, ConnectionTest, ConsoleOptions, LogBuffer};

/// How the console was asked to look and behave.
#[derive(Debug, Clone, Copy, Default)]
pub struct Look {
    pub read_only: bool,
    pub no_color: bool,
}

/// The console draws on a terminal; say so plainly when there is none.
pub fn needs_terminal() -> Option<u8> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        return None;
    }
    eprintln!(
        "astrow-pac: the console needs a terminal (stdin and stdout). \
         For a service run `astrow-pac run --headless`; for scripts see `astrow-pac --help`."
    );
    Some(exit::USAGE)
}

pub fn run(global: &GlobalArgs, look: Look) -> u8 {
    if let Some(code) = needs_terminal() {
        return code;
    }
    let path = config::resolve_config_path(global.config.clone());
    let first_run = !path.exists();
    let settings = if first_run {
        None
    } else {
        // The files the settings name are checked only when this console
        // starts its own engine: a `control.group` member attaching to the
        // service may not be able to read the password file or OEM key.
        match config::load_with(&path, false) {
            Ok(l) => Some(l.settings),
            Err(e) => {
                eprintln!("astrow-pac: {e}");
                for p in e.problems() {
                    eprintln!("  {p}");
                }
                eprintln!(
                    "Fix the settings (`astrow-pac check --config {}` lists every problem), \
                     or try the product on simulators with `astrow-pac demo`.",
                    path.display()
                );
                return exit::PROBLEMS;
            }
        }
    };
    let log = LogBuffer::default();
    let file = logging::log_file_path(
        global.log_file.as_deref(),
        settings.as_ref().and_then(|s| s.log.file.as_deref()),
    );
    let level = settings.as_ref().map_or("info", |s| s.log.level.as_str());
    let _guard = match logging::init_console_logging(level, &file, &log) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("astrow-pac: {e}");
            None
        }
    };
    let Some(rt) = super::common::runtime() else {
        return exit::PROBLEMS;
    };
    tracing::debug!("console starting");
    rt.block_on(async move {
        match settings {
            // First run: the console opens on Settings with a guide; no engine yet.
            None => {
                let (handle, _engine_side) = channels();
                console(handle, None, None, options(&path, look, log, false, None)).await
            }
            Some(settings) => {
                let keys = settings.keys.clone();
                // A service holds the store: attach to it; quitting leaves it running.
                match super::attach::attach_running(&settings, look.read_only, true).await {
                    Ok(Some(attached)) => {
                        tracing::info!(pid = attached.pid, "attached to the running engine");
                        let code = console(
                            attached.handle,
                            None,
                            None,
                            options(&path, look, log, false, Some(keys)),
                        )
                        .await;
                        attached.stop.cancel();
                        return code;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        eprintln!("astrow-pac: {e}");
                        return exit::PROBLEMS;
                    }
                }
                if !super::common::files_checked(global) {
                    return exit::PROBLEMS;
                }
                let server_settings = settings.clone();
                let opts = EngineOptions {
                    settings,
                    config_path: path.clone(),
                    read_only: look.read_only,
                    demo: false,
                };
                let starting = std::time::Instant::now();
                let started = start(opts).await;
                tracing::debug!(
                    ms = starting.elapsed().as_millis() as u64,
                    "console: the engine started"
                );
                let (handle, engine) = match started {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::error!("cannot start the engine: {e}");
                        eprintln!("astrow-pac: {e}");
                        return exit::PROBLEMS;
                    }
                };
                let server = super::attach::serve(&server_settings, &handle);
                console(
                    handle,
                    Some(engine),
                    server,
                    options(&path, look, log, false, Some(keys)),
                )
                .await
            }
        }
    })
}

pub fn connection_test() -> ConnectionTest {
    Arc::new(|settings: Settings| {
        Box::pin(async move {
            let outcomes = online_checks(&settings).await;
            let failed: Vec<String> = outcomes
                .iter()
                .filter(|o| !o.ok)
                .map(|o| format!("{}: {}", o.name, o.detail))
                .collect();
            if failed.is_empty() {
                (
                    true,
                    format!("all {} connection checks passed", outcomes.len()),
                )
            } else {
                (false, failed.join("; "))
            }
        })
    })
}

pub fn options(
    path: &Path,
    look: Look,
    log: LogBuffer,
    demo: bool,
    keys: Option<std::collections::BTreeMap<String, String>>,
) -> ConsoleOptions {
    ConsoleOptions {
        read_only: look.read_only,
        no_color: look.no_color,
        demo,
        config_path: PathBuf::from(path),
        keys: keys.unwrap_or_default(),
        log: Some(log),
        connection_test: Some(connection_test()),
    }
}

/// Run the console; then let attached consoles go (the control socket
/// closes while this engine still holds the store, so no command reaches an
/// engine that is stopping and a service can start at once), then stop the
/// engine (the item in flight finishes).
pub async fn console(
    handle: EngineHandle,
    engine: Option<RunningEngine>,
    server: Option<ControlServer>,
    opts: ConsoleOptions,
) -> u8 {
    let result = tui::run(handle, opts).await;
    if let Some(s) = server {
        s.stop().await;
    }
    if let Some(engine) = engine {
        let _ = engine.commands.send(Command::Shutdown).await;
        if tokio::time::timeout(Duration::from_secs(30), engine.join())
            .await
            .is_err()
        {
            tracing::warn!("the engine did not stop within 30 s");
        }
    }
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!("console: {e}");
            eprintln!("astrow-pac: {e}");
            exit::PROBLEMS
        }
    }
}
