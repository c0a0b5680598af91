//! What the one-shot commands (plan, apply, status, run) share: loading
//! the settings with every problem printed, and a runtime.

use std::path::PathBuf;

use super::GlobalArgs;
use crate::config::{self, Settings};

/// Load and validate the settings file; on failure print every problem to
/// stderr and return `None`.
pub fn load_settings(global: &GlobalArgs, check_files: bool) -> Option<(PathBuf, Settings)> {
    let path = config::resolve_config_path(global.config.clone());
    match config::load_with(&path, check_files) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {}: {}", w.setting, w.message);
            }
            Some((path, loaded.settings))
        }
        Err(e) => {
            eprintln!("astrow-pac: {e}");
            for p in e.problems() {
                match &p.value {
                    Some(v) => eprintln!("  {} = {v}: {}", p.setting, p.message),
                    None => eprintln!("  {}: {}", p.setting, p.message),
                }
            }
            eprintln!(
                "Run `astrow-pac check --config {}` for details.",
                path.display()
            );
            None
        }
    }
}

pub fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("astrow-pac: cannot start the async runtime: {e}");
            None
        }
    }
}

/// What a one-shot command (`plan`, `apply`) starts with: valid settings,
/// the log going to its file, and a runtime. `None` when one of them failed
/// (the reason is printed).
pub struct OneShot {
    pub settings: Settings,
    pub runtime: tokio::runtime::Runtime,
    _log: Option<super::logging::LogGuard>,
}

pub fn one_shot(global: &GlobalArgs) -> Option<OneShot> {
    one_shot_with(global, true)
}

/// For a command a running service may carry out (`plan`, `apply`): the
/// files the settings name (password file, OEM key, certificates) are not
/// checked yet. A member of `control.group` may not be able to read them
/// and does not need to; call [`files_checked`] before this process uses
/// them itself.
pub fn one_shot_routed(global: &GlobalArgs) -> Option<OneShot> {
    one_shot_with(global, false)
}

/// The settings checked again, now with the files they name; every
/// problem printed. For the path where no service carries the command out.
pub fn files_checked(global: &GlobalArgs) -> bool {
    load_settings(global, true).is_some()
}

fn one_shot_with(global: &GlobalArgs, check_files: bool) -> Option<OneShot> {
    let (_, settings) = load_settings(global, check_files)?;
    let file =
        super::logging::log_file_path(global.log_file.as_deref(), settings.log.file.as_deref());
    let log = super::logging::init_file_logging(&settings.log.level, &file).ok();
    Some(OneShot {
        settings,
        runtime: runtime()?,
        _log: log,
    })
}
