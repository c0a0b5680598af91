//! The engine as tokio tasks: a scheduler per job, the booking import, the
//! Astrow notification watcher, and one loop that takes commands and job
//! reports and publishes snapshots. Each job is started by its own file;
//! [`start`] reads as the list of what runs.

mod apply_task;
mod astrow_to_pac_job;
mod bookings_job;
mod command_loop;
mod definitions_job;
mod employees_job;
mod heartbeat_job;
mod notifications;
mod operator_commands;
mod retention_job;
mod wiring;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::command_loop::{Engine, Inputs};
use self::wiring::Wiring;
use super::bookings::classify::{BookingRules, ReaderRule};
use super::connect::{ConnectError, astrow_client, pac_client};
use super::handle::{EngineChannels, EngineHandle, channels};
use super::jobs::employees::master;
use super::request::{Actor, CommandSender};
use super::snapshot::{ApplyModeView, SettingsSummary};
use super::state::{EngineState, Internal};
use super::store_handle::StoreHandle;
use crate::config::{self, ApplyMode, Settings};
use crate::store::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub settings: Settings,
    /// Read again on `ReloadSettings`.
    pub config_path: PathBuf,
    /// No write to either system: plans are shown, never applied.
    pub read_only: bool,
    pub demo: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("the booking ledger: {0}")]
    Ledger(String),
    #[error("the store: {0}")]
    StoreCall(String),
}

/// A running engine: wait for it with [`RunningEngine::join`].
pub struct RunningEngine {
    pub cancel: CancellationToken,
    /// Another sender of commands (the handle has one too).
    pub commands: CommandSender,
    main: JoinHandle<()>,
}

impl RunningEngine {
    /// Wait until the engine has stopped (after `Command::Shutdown` or cancel).
    pub async fn join(self) {
        let _ = self.main.await;
    }
}

/// The store directory the settings name, else the platform's.
pub fn store_dir(settings: &Settings) -> PathBuf {
    settings
        .store
        .dir
        .clone()
        .unwrap_or_else(|| config::default_data_dir().join("store"))
}

pub fn settings_summary(s: &Settings, opts: &EngineOptions) -> SettingsSummary {
    SettingsSummary {
        master: Some(master(s)),
        apply_mode: match s.sync.apply {
            ApplyMode::Manual => ApplyModeView::Manual,
            ApplyMode::Auto => ApplyModeView::Auto,
        },
        delete_employees_on_sync: s.sync.delete_employees_on_sync,
        read_only: opts.read_only,
        demo: opts.demo,
        config_path: opts.config_path.display().to_string(),
        pac_address: format!("{}:{}", s.pac.address, s.pac.port),
        astrow_url: s.astrow.url.clone(),
    }
}

pub fn booking_rules(s: &Settings, roll_call_active: bool) -> BookingRules {
    BookingRules {
        enabled: s.bookings.enabled,
        roll_call_active: roll_call_active || s.bookings.roll_call_active,
        readers: s
            .readers
            .iter()
            .map(|(serial, r)| {
                (
                    serial.clone(),
                    ReaderRule {
                        booking: r.booking,
                        direction: r.direction,
                        roll_call: r.roll_call,
                    },
                )
            })
            .collect(),
    }
}

/// Open the store (refused when another engine holds it), make the
/// connectors, start every job, and return the handle readers use.
pub async fn start(opts: EngineOptions) -> Result<(EngineHandle, RunningEngine), EngineError> {
    let settings = opts.settings.clone();
    let store = StoreHandle::new(Store::open(&store_dir(&settings))?);
    let pac = pac_client(&settings)?;
    let astrow = astrow_client(&settings)?;
    let (handle, ch) = channels();
    let EngineChannels {
        commands,
        snapshots,
        events,
    } = ch;
    let own_snapshots = snapshots.subscribe();
    let state = EngineState::new(settings_summary(&settings, &opts), snapshots, events);
    let (report, internal) = mpsc::channel::<Internal>(1024);
    let (settings_tx, settings_rx) = watch::channel(Arc::new(settings.clone()));
    let (paused_tx, paused_rx) = watch::channel(false);
    // A store of another site writes nothing anywhere until re-bound.
    let refusal = super::site::require_same_site(&store, &settings)
        .await
        .err();
    if let Some(why) = &refusal {
        tracing::error!("{why}");
    }
    let old_site_pending = match &refusal {
        Some(_) => {
            store
                .call("count the old site's bookings", |s| s.rebind_preview())
                .await
                .map_err(EngineError::StoreCall)?
                .pending_bookings
        }
        None => 0,
    };
    let mut state = state;
    state.apply(Internal::SiteRefusal {
        reason: refusal.clone(),
        old_site_pending,
    });
    let (site_tx, site_rx) = watch::channel(refusal);
    let mut w = Wiring {
        pac,
        astrow,
        store,
        settings: settings_rx,
        report,
        paused: paused_rx,
        cancel: CancellationToken::new(),
        read_only: opts.read_only,
        site: site_rx,
        triggers: HashMap::new(),
        intervals: HashMap::new(),
        tasks: Vec::new(),
    };

    let writing = Arc::new(tokio::sync::Mutex::new(()));
    let resume = employees_job::find_interrupted_apply(&w.store, &writing, opts.read_only).await?;
    let employees = employees_job::start(&mut w, &settings, writing.clone());
    let mirror_decisions = crate::engine::jobs::definitions::MirrorDecisions::default();
    let mirror = definitions_job::start(&mut w, &settings, mirror_decisions.clone());
    heartbeat_job::start(&mut w, &settings, own_snapshots);
    retention_job::start(&mut w);
    heartbeat_job::start_reconcile(&mut w);
    let roll_call = bookings_job::roll_call_on(&w)?;
    let (bookings, bookings_after_rebind) = match bookings_job::start(
        &mut w,
        &settings,
        roll_call,
        employees.people,
        mirror.clone(),
    )? {
        bookings_job::ImportStart::Running(b) => (Some(b), None),
        bookings_job::ImportStart::AfterRebind(s) => (None, Some(s)),
        bookings_job::ImportStart::ReadOnly => (None, None),
    };
    notifications::start(&mut w);
    astrow_to_pac_job::start(&mut w, &settings, mirror)?;

    let cancel = w.cancel.clone();
    let engine = Engine {
        opts,
        settings: settings_tx,
        pac: w.pac,
        astrow: w.astrow,
        store: w.store,
        state,
        report: w.report,
        triggers: w.triggers,
        intervals: w.intervals,
        paused: paused_tx,
        bookings,
        bookings_after_rebind,
        site: site_tx,
        apply_running: None,
        apply_stop: None,
        writing,
        apply_missed: false,
        mirror_decisions,
        actor: Actor::auto(),
        detached: tokio::task::JoinSet::new(),
        roll_call,
        resume,
        retire: Vec::new(),
        cancel: cancel.clone(),
    };
    let main = tokio::spawn(engine.run(Inputs {
        commands,
        internal,
        apply_requests: employees.apply_requests,
        tasks: w.tasks,
    }));
    let commands = handle.commands.clone();
    Ok((
        handle,
        RunningEngine {
            cancel,
            commands,
            main,
        },
    ))
}
