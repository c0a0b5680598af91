//! The loop: terminal keys, engine snapshots, engine events and log lines in
//! one `select!`; a redraw only when something changed, at most about 30
//! frames a second; the terminal restored on exit, error and panic.
//!
//! `run_loop` is generic over the event source and the backend so tests can
//! drive it with a key stream and a `TestBackend`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, TestBackend};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, sleep_until};

use crate::engine::command::{Command, EngineEvent, EventLevel};
use crate::engine::handle::EngineHandle;

use super::action::{Action, Effect};
use super::derive;
use super::keymap::{Context, Key};
use super::logbuf::{LogBuffer, LogLevel, LogLine};
use super::safe_text::SafeText;
use super::settings_form::SettingsState;
use super::state::AppState;
use super::update::update;
use super::view;
use super::{ConnectionTest, SettingsSaver, TuiError};

/// About 30 frames a second at most.
pub const FRAME: Duration = Duration::from_millis(33);

/// Backends that can hold the screen still while a frame is written.
pub trait SyncUpdates {
    fn begin_sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn end_sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SyncUpdates for TestBackend {}

impl<W: io::Write> SyncUpdates for ratatui::backend::CrosstermBackend<W> {
    fn begin_sync(&mut self) -> io::Result<()> {
        crossterm::queue!(self, crossterm::terminal::BeginSynchronizedUpdate)
    }
    fn end_sync(&mut self) -> io::Result<()> {
        crossterm::execute!(self, crossterm::terminal::EndSynchronizedUpdate)
    }
}

/// What the loop uses besides the engine: the log buffer and the local
/// effects' helpers.
#[derive(Default)]
pub struct LoopIo {
    pub log: Option<LogBuffer>,
    pub save: Option<SettingsSaver>,
    pub test: Option<ConnectionTest>,
}

/// The action of a terminal event in the current state. Only key presses
/// count (Windows consoles also report releases).
pub fn action_for(state: &AppState, ev: &Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            let ctx = state.context();
            match state.keymap.resolve(ctx, Key::from_event(k)) {
                Some(a) => Some(a),
                None if ctx == Context::Text => Some(Action::Input(*k)),
                None => None,
            }
        }
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

fn event_line(e: &EngineEvent) -> LogLine {
    let level = match e.level {
        EventLevel::Info => LogLevel::Info,
        EventLevel::Warning => LogLevel::Warn,
        EventLevel::Error => LogLevel::Error,
    };
    LogLine {
        seq: 0,
        time: e.time,
        level,
        target: SafeText::new("engine"),
        message: SafeText::new(&e.message),
    }
}

/// Run until quit. Returns the final state (tests look at it).
pub async fn run_loop<B, E>(
    terminal: &mut Terminal<B>,
    mut events: E,
    mut handle: EngineHandle,
    mut state: AppState,
    io: LoopIo,
) -> Result<AppState, TuiError>
where
    B: Backend + SyncUpdates,
    B::Error: std::fmt::Display,
    E: Stream<Item = io::Result<Event>> + Unpin,
{
    if let Ok(size) = terminal.size() {
        update(&mut state, Action::Resize(size.width, size.height));
    }
    if let Some(log) = &io.log {
        derive::push_log(&mut state, log.since(0));
    }
    let (test_tx, mut test_rx) = mpsc::channel::<(bool, String)>(4);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut first_frame = Some(Instant::now());
    let mut snapshots_open = true;
    let mut events_open = true;
    let mut input_open = true;
    let log = io.log.clone();
    let save = io.save;
    let (save_tx, mut save_rx) = mpsc::channel::<(Box<SettingsState>, Result<String, String>)>(2);
    loop {
        if state.quit {
            break;
        }
        let mut effects = Vec::new();
        tokio::select! {
            biased;
            _ = sleep_until(last_draw + FRAME), if dirty => {
                let drawing = Instant::now();
                draw(terminal, &state)?;
                if drawing.elapsed() > FRAME {
                    tracing::debug!(ms = drawing.elapsed().as_millis() as u64, "console: a frame took long to draw");
                }
                dirty = false;
                last_draw = Instant::now();
                if let Some(t) = first_frame.take() {
                    tracing::debug!(ms = t.elapsed().as_millis() as u64, "console: first frame drawn");
                }
            }
            ev = events.next(), if input_open => match ev {
                Some(Ok(ev)) => {
                    if let Some(a) = action_for(&state, &ev) {
                        effects = update(&mut state, a);
                        dirty = true;
                    }
                }
                Some(Err(e)) => return Err(TuiError::Io(e)),
                None => {
                    input_open = false;
                    state.quit = true;
                }
            },
            r = handle.snapshots.changed(), if snapshots_open => match r {
                Ok(()) => {
                    let snap = handle.snapshots.borrow_and_update().clone();
                    let deriving = Instant::now();
                    derive::set_snapshot(&mut state, snap);
                    let took = deriving.elapsed();
                    if took > FRAME {
                        tracing::debug!(ms = took.as_millis() as u64, "console: a snapshot took long to take in");
                    }
                    dirty = true;
                }
                Err(_) => {
                    snapshots_open = false;
                    state.engine_gone = true;
                    state.warn("the engine stopped: what is shown is its last report");
                    dirty = true;
                }
            },
            r = handle.events.recv(), if events_open => match r {
                Ok(e) if e.answer.is_some() => {
                    if let Some(a) = &e.answer {
                        super::update_history::take_answer(&mut state, a);
                    }
                    dirty = true;
                }
                Ok(e) => {
                    state.status = Some(super::state::Status { level: e.level, text: SafeText::new(&e.message) });
                    // The engine traces every notice it sends: with the
                    // tracing buffer the line is already in the Log, so the
                    // event only becomes a line when there is no buffer.
                    if log.is_none() {
                        derive::push_log(&mut state, vec![event_line(&e)]);
                    }
                    dirty = true;
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    state.warn(format!("{n} engine notices were skipped (the console was busy)"));
                    dirty = true;
                }
                Err(broadcast::error::RecvError::Closed) => events_open = false,
            },
            _ = async { match &log { Some(l) => l.changed().await, None => std::future::pending().await } } => {
                if let Some(l) = &log {
                    let lines = l.since(state.log.last_seq);
                    derive::push_log(&mut state, lines);
                    dirty |= state.pane == super::state::Pane::Log;
                }
            },
            Some((saved, result)) = save_rx.recv() => {
                match result {
                    Ok(text) => {
                        super::settings_form::mark_saved(&mut state.settings, &saved);
                        state.info(text);
                        send(&handle, &mut state, Command::ReloadSettings);
                    }
                    Err(text) => state.status = Some(super::state::Status { level: EventLevel::Error, text: text.into() }),
                }
                dirty = true;
            },
            Some((ok, text)) = test_rx.recv() => {
                state.settings.test_result = Some((ok, text.into()));
                dirty = true;
            },
        }
        for e in effects {
            match e {
                Effect::Quit => state.quit = true,
                Effect::Engine(cmd) => send(&handle, &mut state, cmd),
                Effect::SaveSettings => match &save {
                    Some(saver) => {
                        let saver = saver.clone();
                        let form = Box::new(state.settings.clone());
                        let tx = save_tx.clone();
                        state.info("saving the settings file...");
                        tokio::task::spawn_blocking(move || {
                            let result = saver(&form);
                            let _ = tx.blocking_send((form, result));
                        });
                    }
                    None => state.warn("saving settings is not available here"),
                },
                Effect::TestConnection => match &io.test {
                    Some(test) => match state.settings.to_settings() {
                        Ok(settings) => {
                            let fut = test(settings);
                            let tx = test_tx.clone();
                            tokio::spawn(async move {
                                let r = fut.await;
                                let _ = tx.send(r).await;
                            });
                        }
                        Err((key, msg)) => {
                            state.settings.test_result =
                                Some((false, format!("not tested: {key}: {msg}").into()));
                        }
                    },
                    None => state.warn("the connection test is not available here"),
                },
            }
        }
    }
    draw(terminal, &state)?;
    Ok(state)
}

fn send(handle: &EngineHandle, state: &mut AppState, cmd: Command) {
    match handle.commands.try_send(cmd) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            state.warn("the engine is busy: nothing was sent, try again in a moment")
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            state.engine_gone = true;
            state.warn("the engine stopped: the command was not sent");
        }
    }
}

fn draw<B>(terminal: &mut Terminal<B>, state: &AppState) -> Result<(), TuiError>
where
    B: Backend + SyncUpdates,
    B::Error: std::fmt::Display,
{
    terminal.backend_mut().begin_sync().map_err(TuiError::Io)?;
    let r = terminal
        .draw(|f| view::draw(f, state))
        .map(|_| ())
        .map_err(|e| TuiError::Terminal(e.to_string()));
    terminal.backend_mut().end_sync().map_err(TuiError::Io)?;
    r
}

/// The real terminal: raw mode and the alternate screen, undone on drop and
/// on panic.
pub(super) struct TerminalGuard;

impl TerminalGuard {
    pub(super) fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        crossterm::terminal::enable_raw_mode()?;
        let guard = TerminalGuard;
        crossterm::execute!(
            io::stdout(),
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide
        )?;
        Ok(guard)
    }
}

pub(super) fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        io::stdout(),
        crossterm::terminal::EndSynchronizedUpdate,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = Arc::new(std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            tracing::error!(target: "astrow_pac::tui", "the console panicked: {info}");
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[test]
    fn a_panic_restores_the_terminal_and_is_written_to_the_log() {
        let log = LogBuffer::new(10);
        let subscriber = tracing_subscriber::registry().with(log.layer());
        install_panic_hook();
        tracing::subscriber::with_default(subscriber, || {
            let r = std::panic::catch_unwind(|| panic!("boom in a pane"));
            assert!(r.is_err());
        });
        let lines = log.since(0);
        assert!(
            lines.iter().any(|l| l.level == LogLevel::Error
                && l.message.contains("the console panicked")
                && l.message.contains("boom in a pane")),
            "{lines:?}"
        );
    }
}
