//! `astrow-pac check`: validate the settings file and print every problem.

use std::io::Write;

use clap::Args;

use super::{GlobalArgs, exit};
use crate::config::{self, ConfigError, Problem};

pub(crate) const LONG_ABOUT: &str = "Check the settings file and print every problem at once.

Each problem names the setting (e.g. sync.employee_interval_s), the value found and what \
is allowed. Also checked: that the OEM key file and the certificates can be read and are \
in the right format, and that an Astrow password is given (inline, password_file, or the \
environment variable ASTROW_PAC_ASTROW_PASSWORD). Connections to PAC and Astrow are not \
tested yet.

Exit code 0 when the settings are clean (warnings allowed), 1 when there is a problem.";

/// Options of `check`.
#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {}

pub fn run(global: &GlobalArgs, _args: &CheckArgs) -> u8 {
    let path = config::resolve_config_path(global.config.clone());
    let mut out = std::io::stdout().lock();
    let code = report(&path, config::load(&path), &mut out);
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
                "The settings are valid{}. (Connections to PAC and Astrow are not tested yet.)",
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_all(out: &mut impl Write, label: &str, problems: &[Problem]) {
    for p in problems {
        let _ = writeln!(out, "{label}: {p}");
    }
}
