//! Settings: the typed struct, its TOML file (load, save), validation and the
//! OEM key file.

mod file;
mod filecheck;
pub mod keyfile;
mod read;
pub mod schema;
mod settings;
mod table;
mod validate;
mod write;

use std::path::{Path, PathBuf};

pub use file::{SaveError, load, load_with, save};
pub use keyfile::{KeyFileError, OemKey};
/// Settings from TOML text with every per-key problem (the console's form reads its file with it).
pub(crate) use read::parse;
pub use settings::{
    ASTROW_PASSWORD_ENV, ApplyMode, AstrowSettings, BookingSettings, ControlSettings,
    DeletionGuard, LogSettings, Master, MatchKey, PacSettings, PasswordError, ReaderSettings,
    Secret, SettingEnum, Settings, StoreSettings, SyncSettings,
};
pub use validate::{validate, warnings};

/// The environment variable naming the settings file.
pub const CONFIG_ENV: &str = "ASTROW_PAC_CONFIG";

/// One thing wrong with a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, e.g. `sync.employee_interval_s`.
    pub setting: String,
    /// The value as written; `None` when not set or secret.
    pub value: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    pub fn new(
        setting: impl Into<String>,
        value: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            setting: setting.into(),
            value,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{} = {}: {}", self.setting, v, self.message),
            None => write!(f, "{}: {}", self.setting, self.message),
        }
    }
}

/// Settings that loaded, with what deserves a look.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<Problem>,
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no settings file at {path}: copy config/astrow-pac.toml there and fill it in, \
         or name another file with --config or {CONFIG_ENV}"
    )]
    NotFound { path: PathBuf },
    #[error("cannot read the settings file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", invalid_text(.path, .problems))]
    Invalid {
        path: PathBuf,
        /// Every error, in the order of the settings reference.
        problems: Vec<Problem>,
        /// Warnings found alongside.
        warnings: Vec<Problem>,
    },
}

fn invalid_text(path: &Path, problems: &[Problem]) -> String {
    let mut s = format!(
        "the settings file {} has {} problem{}:",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}

impl ConfigError {
    /// Every problem (empty for a file that could not be read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "astrow-pac")
}

/// The settings file in the platform config dir
/// (`~/.config/astrow-pac/astrow-pac.toml` on Linux), or `./astrow-pac.toml`
/// when the platform has no home directory.
pub fn default_config_path() -> PathBuf {
    match project_dirs() {
        Some(d) => d.config_dir().join("astrow-pac.toml"),
        None => PathBuf::from("astrow-pac.toml"),
    }
}

/// The platform data dir (store, logs), or `.` when the platform has none.
pub fn default_data_dir() -> PathBuf {
    match project_dirs() {
        Some(d) => d.data_dir().to_path_buf(),
        None => PathBuf::from("."),
    }
}

/// The settings file: `--config`, else `ASTROW_PAC_CONFIG`, else the platform default.
pub fn resolve_config_path(cli: Option<PathBuf>) -> PathBuf {
    resolve_config_path_from(cli, std::env::var_os(CONFIG_ENV), default_config_path)
}

fn resolve_config_path_from(
    cli: Option<PathBuf>,
    env: Option<std::ffi::OsString>,
    platform: impl FnOnce() -> PathBuf,
) -> PathBuf {
    cli.or_else(|| env.filter(|e| !e.is_empty()).map(PathBuf::from))
        .unwrap_or_else(platform)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_path_prefers_flag_then_env_then_platform() {
        let platform = || PathBuf::from("/platform.toml");
        let flag = Some(PathBuf::from("/flag.toml"));
        let env = Some(std::ffi::OsString::from("/env.toml"));
        assert_eq!(
            resolve_config_path_from(flag, env.clone(), platform),
            PathBuf::from("/flag.toml")
        );
        assert_eq!(
            resolve_config_path_from(None, env, platform),
            PathBuf::from("/env.toml")
        );
        assert_eq!(
            resolve_config_path_from(None, Some("".into()), platform),
            PathBuf::from("/platform.toml")
        );
        assert!(default_config_path().ends_with("astrow-pac.toml"));
    }
}
