//! `astrow-pac run --headless`: the engine without the console, for systemd
//! or a Windows service. Logs go to stdout.

use clap::Args;

use super::common::{load_settings, runtime};
use super::stop_signal::wait_for_stop;
use super::{GlobalArgs, exit, logging};
use crate::engine::command::{Command, EventLevel};
use crate::engine::runtime::{EngineOptions, start};

pub const LONG_ABOUT: &str = "Run the engine without the console: employee and definitions \
syncs on their intervals, the booking import, the heartbeat to Astrow. Logs go to standard \
output (journald, the Windows event log through a service wrapper). Stops cleanly on SIGTERM \
or Ctrl-C: the change or booking batch in flight is finished or safely left to be repeated.

In manual apply mode plans wait for approval in the console or `astrow-pac apply`; in auto \
mode they are applied unless the deletion guard holds them. Only one engine may use a store; \
consoles (`astrow-pac`) and `plan`, `apply` attach to this one through its control socket in \
the store directory, which only this user (or the group in `control.group`) may open.";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run without the console (required: the console is `astrow-pac` alone)
    #[arg(long)]
    pub headless: bool,
    /// Read both systems but write to neither (no apply, no bookings, no mirror, no heartbeat)
    #[arg(long)]
    pub read_only: bool,
}

pub fn run(global: &GlobalArgs, args: &RunArgs) -> u8 {
    if !args.headless {
        eprintln!(
            "astrow-pac run: add --headless to run the engine without the console; \
             `astrow-pac` alone opens the console"
        );
        return exit::USAGE;
    }
    let Some((config_path, settings)) = load_settings(global, true) else {
        return exit::PROBLEMS;
    };
    // Standard output for a service manager, unless a file is asked for.
    let _log_guard = match &global.log_file {
        Some(file) => match logging::init_file_logging(&settings.log.level, file) {
            Ok(guard) => Some(guard),
            Err(e) => {
                eprintln!("astrow-pac: {e}");
                None
            }
        },
        None => {
            if let Err(e) = logging::init_stdout_logging(&settings.log.level) {
                eprintln!("astrow-pac: {e}");
            }
            None
        }
    };
    let Some(rt) = runtime() else {
        return exit::PROBLEMS;
    };
    rt.block_on(async move {
        let server_settings = settings.clone();
        let opts = EngineOptions {
            settings,
            config_path,
            read_only: args.read_only,
            demo: false,
        };
        let (mut handle, engine) = match start(opts).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("cannot start the engine: {e}");
                eprintln!("astrow-pac run: {e}");
                return exit::PROBLEMS;
            }
        };
        let mut server = super::attach::serve(&server_settings, &handle);
        tracing::info!("engine running headless; SIGTERM or Ctrl-C stops it");
        // The engine's notices go to the log too.
        let notices = tokio::spawn(async move {
            while let Ok(ev) = handle.events.recv().await {
                if ev.answer.is_some() {
                    continue; // a console's query answered, not a notice
                }
                match ev.level {
                    EventLevel::Error => {
                        tracing::error!(target: "astrow_pac::engine", "{}", ev.message)
                    }
                    EventLevel::Warning => {
                        tracing::warn!(target: "astrow_pac::engine", "{}", ev.message)
                    }
                    EventLevel::Info => {
                        tracing::info!(target: "astrow_pac::engine", "{}", ev.message)
                    }
                }
            }
        });
        let commands = engine.commands.clone();
        let joined = engine.join();
        tokio::pin!(joined);
        let code = tokio::select! {
            _ = wait_for_stop() => {
                tracing::info!("stop requested");
                // Consoles are let go first, while this engine still holds
                // the store: its socket is gone before another can start.
                if let Some(s) = server.take() {
                    s.stop().await;
                }
                let _ = commands.send(Command::Shutdown).await;
                joined.await;
                exit::OK
            }
            // The engine ended on its own (it failed): the service manager
            // must see that, not a process that lives on doing nothing.
            _ = &mut joined => {
                tracing::error!("the engine stopped unexpectedly");
                exit::PROBLEMS
            }
        };
        notices.abort();
        if let Some(s) = server {
            s.stop().await;
        }
        code
    })
}
