//! `astrow-pac check`: validate the settings file and print every problem.

use std::io::Write;

use clap::Args;

use super::{GlobalArgs, exit};
use crate::config::{self, ConfigError, Problem};

pub(crate) const LONG_ABOUT: &str = "Check the settings file and print every problem at once.

Each problem names the setting (e.g. sync.employee_interval_s), the value found and what \
is allowed. Also checked: that the OEM key file and the certificates can be read and are \
in the right format, and that an Astrow password is given (inline, password_file, or the \
environment variable ASTROW_PAC_ASTROW_PASSWORD), and that the store and log directories are \
not open to other users (they hold badge numbers and everyone's swipes).

Then, unless --offline, online: PAC answers and accepts the certificate and the OEM key; \
Astrow answers, the user holds 'Allow API to connect to Astrow', both licences are present, \
and the default cycle and pay group exist.

Exit code 0 when the settings are clean (warnings allowed), 1 when there is a problem.";

/// Options of `check`.
#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {
    /// Check the file only; do not connect to PAC or Astrow
    #[arg(long)]
    pub offline: bool,
}

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> u8 {
    let path = config::resolve_config_path(global.config.clone());
    let loaded = config::load(&path);
    let settings = loaded.as_ref().ok().map(|l| l.settings.clone());
    let mut out = std::io::stdout().lock();
    let mut code = report(&path, loaded, &mut out);
    if let Some(settings) = &settings {
        if settings.bookings.astrow_to_pac {
            let _ = writeln!(
                out,
                "note: bookings.astrow_to_pac = true: Astrow's own bookings (web clock, mobile \
                 app, other terminals) go to PAC as attendance events (astrow:<booking_id>); \
                 bookings that came from PAC are never sent back, and PAC's attendance events \
                 never become Astrow bookings."
            );
        }
        let open = exposed_dirs(global, settings);
        print_all(&mut out, "error", &open);
        if !open.is_empty() {
            code = exit::PROBLEMS;
        }
    }
    if let (Some(settings), false) = (settings, args.offline) {
        let _ = writeln!(out, "Connecting to PAC and Astrow...");
        let _ = out.flush();
        let outcomes = match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(crate::engine::online::online_checks(&settings)),
            Err(e) => {
                let _ = writeln!(out, "error: cannot start the async runtime: {e}");
                return exit::PROBLEMS;
            }
        };
        let failed = outcomes.iter().filter(|o| !o.ok).count();
        for o in &outcomes {
            let _ = writeln!(
                out,
                "{} {}: {}",
                if o.ok { "ok   " } else { "error" },
                o.name,
                o.detail
            );
        }
        if failed > 0 {
            let _ = writeln!(out, "{failed} online check{} failed.", plural(failed));
            code = exit::PROBLEMS;
        } else {
            let _ = writeln!(out, "Every online check passed.");
        }
    }
    let _ = out.flush();
    code
}

/// Print the outcome of loading `path`; the exit code.
pub fn report(
    path: &std::path::Path,
    loaded: Result<config::Loaded, ConfigError>,
    out: &mut impl Write,
) -> u8 {
    let _ = writeln!(out, "Checking {}", path.display());
    match loaded {
        Ok(l) => {
            print_all(out, "warning", &l.warnings);
            let _ = writeln!(
                out,
                "The settings are valid{}.",
                match l.warnings.len() {
                    0 => String::new(),
                    n => format!(", with {n} warning{}", plural(n)),
                }
            );
            exit::OK
        }
        Err(ConfigError::Invalid {
            problems, warnings, ..
        }) => {
            print_all(out, "error", &problems);
            print_all(out, "warning", &warnings);
            let n = problems.len();
            let _ = writeln!(
                out,
                "{n} problem{} found: fix {} and run `astrow-pac check` again.",
                plural(n),
                if n == 1 { "it" } else { "them" }
            );
            exit::PROBLEMS
        }
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            exit::PROBLEMS
        }
    }
}

/// The store and log directories when other users may read them: they
/// hold personal data (badge numbers, who swiped where and when).
pub fn exposed_dirs(global: &GlobalArgs, settings: &config::Settings) -> Vec<Problem> {
    let store = crate::engine::runtime::store_dir(settings);
    let log =
        super::logging::log_file_path(global.log_file.as_deref(), settings.log.file.as_deref());
    let log_dir = log
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    [("store.dir", store), ("log.file", log_dir)]
        .into_iter()
        .filter_map(|(setting, dir)| {
            let mode = crate::store::private::exposed_dir(&dir)?;
            Some(Problem::new(
                setting,
                Some(dir.display().to_string()),
                format!(
                    "the directory has mode {mode:04o}: other users may read the personal data in it; \
                     make it owner-only (chmod 700) or let astrow-pac start once, which tightens a directory of its own"
                ),
            ))
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_all(out: &mut impl Write, label: &str, problems: &[Problem]) {
    for p in problems {
        let _ = writeln!(out, "{label}: {p}");
    }
}
