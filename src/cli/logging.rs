//! Logging with tracing: to a daily-rolling file (the console owns the
//! terminal), or to stdout for a headless run. `RUST_LOG` overrides `log.level`.

use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

use super::private_log::PrepareError;
use crate::store::private::DirReport;

/// Keeps the background log writer alive; drop it last (it flushes).
#[must_use = "the log stops when the guard is dropped"]
pub struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error(
        "cannot create the log directory {dir}: {source}; name another file with --log-file or log.file"
    )]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot open the log file {file}: {source}; name another file with --log-file or log.file"
    )]
    Open {
        file: PathBuf,
        source: tracing_appender::rolling::InitError,
    },
    #[error("a logger is already installed in this process")]
    AlreadyInstalled,
}

/// Days of log files kept.
const KEEP_DAYS: usize = 14;

/// `RUST_LOG` when set and valid, else `level`, else `info`.
pub fn filter(level: &str) -> EnvFilter {
    filter_from(std::env::var("RUST_LOG").ok().as_deref(), level)
}

fn filter_from(rust_log: Option<&str>, level: &str) -> EnvFilter {
    rust_log
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| EnvFilter::try_new(s).ok())
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"))
}

/// The log file: `--log-file`, else `log.file`, else `logs/astrow-pac.log`
/// in the platform data directory.
pub fn log_file_path(cli: Option<&Path>, setting: Option<&Path>) -> PathBuf {
    cli.or(setting).map(Path::to_path_buf).unwrap_or_else(|| {
        crate::config::default_data_dir()
            .join("logs")
            .join("astrow-pac.log")
    })
}

/// Log to `file` and into the console's Log pane (`buffer`), never to the
/// terminal the console draws on.
pub fn init_console_logging(
    level: &str,
    file: &Path,
    buffer: &crate::tui::LogBuffer,
) -> Result<LogGuard, LoggingError> {
    use tracing_subscriber::prelude::*;
    let (writer, guard, report) = open_appender(file)?;
    tracing_subscriber::registry()
        .with(filter(level))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(buffer.layer())
        .try_init()
        .map_err(|_| LoggingError::AlreadyInstalled)?;
    super::private_log::warn_about(&report);
    Ok(LogGuard(guard))
}

/// Log to `file`, rolled daily as `file.YYYY-MM-DD`, at `level` (or `RUST_LOG`).
pub fn init_file_logging(level: &str, file: &Path) -> Result<LogGuard, LoggingError> {
    let (writer, guard, report) = open_appender(file)?;
    tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|_| LoggingError::AlreadyInstalled)?;
    super::private_log::warn_about(&report);
    Ok(LogGuard(guard))
}

/// The daily-rolling file, owner-only, behind a non-blocking writer; what
/// was tightened, to warn about once the logger runs.
fn open_appender(
    file: &Path,
) -> Result<
    (
        tracing_appender::non_blocking::NonBlocking,
        tracing_appender::non_blocking::WorkerGuard,
        DirReport,
    ),
    LoggingError,
> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "astrow-pac.log".to_string());
    let build = || {
        RollingFileAppender::builder()
            .rotation(Rotation::DAILY)
            .filename_prefix(&prefix)
            .max_log_files(KEEP_DAYS)
            .build(&dir)
    };
    let (appender, report) =
        super::private_log::prepare(&dir, &prefix, build).map_err(|e| match e {
            PrepareError::Dir(source) => LoggingError::Dir {
                dir: dir.clone(),
                source,
            },
            PrepareError::Appender(source) => LoggingError::Open {
                file: file.to_path_buf(),
                source,
            },
        })?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    Ok((writer, guard, report))
}

/// Log to stdout (for `run --headless` under systemd or a service manager).
pub fn init_stdout_logging(level: &str) -> Result<(), LoggingError> {
    tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(std::io::stdout)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .try_init()
        .map_err(|_| LoggingError::AlreadyInstalled)
}

/// Logs to standard error, for commands whose standard output is data
/// (`sim` prints its ready line there).
pub fn init_stderr_logging(level: &str) -> Result<(), LoggingError> {
    tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .map_err(|_| LoggingError::AlreadyInstalled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_over_the_setting() {
        assert_eq!(filter_from(Some("debug"), "warn").to_string(), "debug");
        assert_eq!(filter_from(None, "warn").to_string(), "warn");
        assert_eq!(filter_from(Some(""), "warn").to_string(), "warn");
        assert_eq!(filter_from(None, "[[bad").to_string(), "info");
    }

    #[test]
    fn log_file_prefers_flag_then_setting() {
        let flag = Path::new("/a.log");
        let setting = Path::new("/b.log");
        assert_eq!(log_file_path(Some(flag), Some(setting)), flag);
        assert_eq!(log_file_path(None, Some(setting)), setting);
        assert!(log_file_path(None, None).ends_with("logs/astrow-pac.log"));
    }
}
