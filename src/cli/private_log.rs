//! The log file kept owner-only: its directory 0700 and every day's file
//! 0600, whatever the umask. `tracing-appender` creates each day's file
//! with the default mode, so the writer creates the day's file 0600 itself
//! before the appender rolls over to it (the appender then appends to it).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use tracing_appender::rolling::RollingFileAppender;

use crate::store::private::{self, DirReport};

/// A daily-rolling appender whose files are owner-only.
pub struct PrivateRolling {
    inner: RollingFileAppender,
    dir: PathBuf,
    prefix: String,
    /// The day whose file was last made private.
    day: Option<NaiveDate>,
}

/// Log files are `prefix` and `prefix.YYYY-MM-DD`.
pub fn is_log_file(prefix: &str, name: &str) -> bool {
    name.starts_with(prefix)
}

/// Make the log directory private (tightening what is wider), create
/// today's file 0600, then build the appender with `inner` and wrap it.
/// The report says what was tightened, for a warning once the log runs.
pub fn prepare<E>(
    dir: &Path,
    prefix: &str,
    inner: impl FnOnce() -> Result<RollingFileAppender, E>,
) -> Result<(PrivateRolling, DirReport), PrepareError<E>> {
    let report =
        private::private_dir(dir, &|name| is_log_file(prefix, name)).map_err(PrepareError::Dir)?;
    let today = Utc::now().date_naive();
    let _ = private::open_private_file(&file_of(dir, prefix, today));
    let writer = PrivateRolling {
        inner: inner().map_err(PrepareError::Appender)?,
        dir: dir.to_path_buf(),
        prefix: prefix.to_string(),
        day: Some(today),
    };
    Ok((writer, report))
}

/// Why the private log could not be prepared.
#[derive(Debug)]
pub enum PrepareError<E> {
    Dir(std::io::Error),
    Appender(E),
}

/// The file `tracing-appender` writes on `day` (UTC, its default).
fn file_of(dir: &Path, prefix: &str, day: NaiveDate) -> PathBuf {
    dir.join(format!("{prefix}.{}", day.format("%Y-%m-%d")))
}

impl PrivateRolling {
    /// Create (or tighten) today's file once a day, before the appender
    /// opens it.
    fn secure_today(&mut self) {
        let today = Utc::now().date_naive();
        if self.day == Some(today) {
            return;
        }
        // Best effort: a failure here must not stop the log itself.
        let _ = private::open_private_file(&file_of(&self.dir, &self.prefix, today));
        self.day = Some(today);
    }
}

impl Write for PrivateRolling {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.secure_today();
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Log, once the logger runs, what was tightened and what was left open.
pub fn warn_about(report: &DirReport) {
    for t in &report.tightened {
        tracing::warn!("the log holds personal data: {t}");
    }
    if let Some((dir, mode)) = &report.shared {
        tracing::warn!(
            "the log directory {} has mode {mode:04o} and holds files that are not this log's: \
             left as it is (the log files are owner-only); give the log a directory of its own",
            dir.display()
        );
    }
    if let Some(problem) = &report.problem {
        tracing::warn!("the log holds personal data: {problem}");
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use tracing_appender::rolling::Rotation;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn todays_file_is_owner_only_before_the_first_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let build = || {
            RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix("t.log")
                .build(&dir)
        };
        let (mut w, report) = prepare(&dir, "t.log", build).unwrap();
        assert!(report.tightened.is_empty());
        writeln!(w, "hello").unwrap();
        w.flush().unwrap();
        let today = file_of(&dir, "t.log", Utc::now().date_naive());
        assert_eq!(std::fs::read_to_string(&today).unwrap(), "hello\n");
        assert_eq!(mode(&today), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
}
