//! Every setting as a typed struct, with the defaults the file may leave out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::Direction;

/// The environment variable that may hold the Astrow password.
pub const ASTROW_PASSWORD_ENV: &str = "ASTROW_PAC_ASTROW_PASSWORD";

/// A secret (Astrow password, OEM key): `Debug` prints `***`, and there is
/// no `Display`, so it cannot end up in a message by accident; the text is
/// reached only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret itself: only for the wire, never for a message or a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

/// The whole settings file. `Default` is every setting at the default the
/// settings table gives (the parts' own `Default` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub pac: PacSettings,
    pub astrow: AstrowSettings,
    pub sync: SyncSettings,
    pub bookings: BookingSettings,
    /// Per-reader settings, by reader serial (`[readers."R-0012"]`).
    pub readers: BTreeMap<String, ReaderSettings>,
    pub store: StoreSettings,
    pub control: ControlSettings,
    pub log: LogSettings,
    /// Console key overrides by action name (`[keys]`, e.g. `approve = "y"`);
    /// the console checks the names and keys and says what it could not use.
    pub keys: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        let mut s = Settings {
            pac: PacSettings::default(),
            astrow: AstrowSettings::default(),
            sync: SyncSettings::default(),
            bookings: BookingSettings::default(),
            readers: BTreeMap::new(),
            store: StoreSettings::default(),
            control: ControlSettings::default(),
            log: LogSettings::default(),
            keys: BTreeMap::new(),
        };
        super::schema::set_defaults(&mut s);
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacSettings {
    pub address: String,
    pub port: u16,
    pub oem_key_path: PathBuf,
    pub certificate_path: PathBuf,
    pub organization_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AstrowSettings {
    pub url: String,
    pub username: String,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    pub ca_path: Option<PathBuf>,
    pub default_cycle_code: String,
    pub default_paygroup_code: String,
}

/// Why the Astrow password could not be found.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error(
        "no Astrow password: set astrow.password, or astrow.password_file, \
         or the environment variable {ASTROW_PASSWORD_ENV}"
    )]
    Missing,
    #[error(
        "astrow.password_file {path}: cannot read it ({source}); \
         check the path and that this user may read the file"
    )]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("astrow.password_file {path} is empty: write the Astrow password on its first line")]
    EmptyFile { path: PathBuf },
}

impl AstrowSettings {
    /// The password: inline, else the first line of `password_file`, else the
    /// environment variable `ASTROW_PAC_ASTROW_PASSWORD`.
    pub fn resolve_password(&self) -> Result<Secret, PasswordError> {
        self.resolve_password_with(|name| std::env::var(name).ok())
    }

    /// As [`resolve_password`](Self::resolve_password), with the environment given.
    pub fn resolve_password_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Secret, PasswordError> {
        if let Some(p) = self.password.as_ref().filter(|p| !p.is_empty()) {
            return Ok(p.clone());
        }
        if let Some(path) = &self.password_file {
            let text =
                std::fs::read_to_string(path).map_err(|source| PasswordError::Unreadable {
                    path: path.clone(),
                    source,
                })?;
            let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if line.is_empty() {
                return Err(PasswordError::EmptyFile { path: path.clone() });
            }
            return Ok(Secret::new(line));
        }
        match env(ASTROW_PASSWORD_ENV) {
            Some(p) if !p.is_empty() => Ok(Secret::new(p)),
            _ => Err(PasswordError::Missing),
        }
    }
}

/// The system whose employees are the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Master {
    #[default]
    Pac,
    Astrow,
}

/// Whether plans wait for approval or are applied at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyMode {
    #[default]
    Manual,
    Auto,
}

/// How an unlinked master employee is matched to an existing slave employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    #[default]
    EmployeeNumber,
    BadgeNumber,
}

/// A settings enum: its TOML spellings.
pub trait SettingEnum: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == text)
    }
}

impl SettingEnum for Master {
    const ALL: &'static [Self] = &[Master::Pac, Master::Astrow];
    fn as_str(self) -> &'static str {
        match self {
            Master::Pac => "pac",
            Master::Astrow => "astrow",
        }
    }
}

impl SettingEnum for ApplyMode {
    const ALL: &'static [Self] = &[ApplyMode::Manual, ApplyMode::Auto];
    fn as_str(self) -> &'static str {
        match self {
            ApplyMode::Manual => "manual",
            ApplyMode::Auto => "auto",
        }
    }
}

impl SettingEnum for MatchKey {
    const ALL: &'static [Self] = &[MatchKey::EmployeeNumber, MatchKey::BadgeNumber];
    fn as_str(self) -> &'static str {
        match self {
            MatchKey::EmployeeNumber => "employee_number",
            MatchKey::BadgeNumber => "badge_number",
        }
    }
}

/// The directions a reader may be given in the settings (`none` is PAC's own
/// "no direction" and is not a setting).
impl SettingEnum for Direction {
    const ALL: &'static [Self] = &[Direction::In, Direction::Out];
    fn as_str(self) -> &'static str {
        Direction::as_str(self)
    }
}

/// The most destructive items one plan may carry before it is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeletionGuard {
    pub count: u32,
    /// Percent of the managed slave employees, 0 to 100.
    pub percent: u8,
    /// Hours in which applied destructive items count together with a
    /// plan's (0: each plan alone).
    pub window_h: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncSettings {
    pub employee_interval_s: u64,
    pub definitions_interval_s: u64,
    pub master: Master,
    pub delete_employees_on_sync: bool,
    pub sync_inactive_employees: bool,
    pub apply: ApplyMode,
    pub match_key: MatchKey,
    pub deletion_guard: DeletionGuard,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookingSettings {
    pub enabled: bool,
    pub batch_size: u32,
    pub max_pending: u32,
    pub heartbeat_interval_s: u64,
    pub roll_call_active: bool,
    /// A booking pending longer than this needs attention (`status` exits 3).
    pub wait_alert_s: u64,
    /// Done ledger rows are kept this many days (after a clean reconciliation).
    pub retention_days: u64,
    /// Astrow's own bookings (web clock, mobile app, other terminals) go
    /// to PAC as attendance events (`protocol.md`, "Bookings from Astrow
    /// into PAC"). Off by default.
    pub astrow_to_pac: bool,
}

/// One reader's settings (`[readers."R-0012"]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReaderSettings {
    /// `None`: follow `bookings.enabled`.
    pub booking: Option<bool>,
    /// `None`: the reader's own direction from PAC. Only `In`/`Out` are valid.
    pub direction: Option<Direction>,
    pub roll_call: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreSettings {
    /// `None`: the platform data directory.
    pub dir: Option<PathBuf>,
    /// Whole months of audit kept before the current one; 0 keeps it all.
    pub audit_retention_months: u32,
}

/// Who may attach to the engine's control socket besides its own user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ControlSettings {
    /// A group whose members may attach (socket mode 0660); `None`: the
    /// engine's own user only (0600).
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogSettings {
    pub level: String,
    /// `None`: a daily file in the platform data directory.
    pub file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let mut s = Settings::default();
        s.astrow.password = Some(Secret::new("hunter2"));
        let text = format!("{s:?} {:?}", Secret::new("hunter2"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("***"));
    }

    #[test]
    fn defaults_follow_the_design() {
        let s = Settings::default();
        assert_eq!(s.sync.employee_interval_s, 300);
        assert_eq!(s.sync.definitions_interval_s, 3600);
        assert_eq!(s.sync.master, Master::Pac);
        assert!(!s.sync.delete_employees_on_sync);
        assert_eq!(s.sync.apply, ApplyMode::Manual);
        assert_eq!(
            s.sync.deletion_guard,
            DeletionGuard {
                count: 50,
                percent: 10,
                window_h: 24
            }
        );
        assert_eq!(s.pac.port, 8443);
        assert_eq!(s.pac.organization_id, 1);
        assert_eq!(s.log.level, "info");
    }

    #[test]
    fn password_comes_inline_then_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\nignored\n").unwrap();
        let env = |_: &str| Some("from-env".to_string());
        let mut a = AstrowSettings {
            password: Some(Secret::new("inline")),
            password_file: Some(file.clone()),
            ..Default::default()
        };
        assert_eq!(a.resolve_password_with(env).unwrap().expose(), "inline");
        a.password = None;
        assert_eq!(a.resolve_password_with(env).unwrap().expose(), "from-file");
        a.password_file = None;
        assert_eq!(a.resolve_password_with(env).unwrap().expose(), "from-env");
        let missing = a.resolve_password_with(|_| None).unwrap_err();
        assert!(missing.to_string().contains(ASTROW_PASSWORD_ENV));
        a.password_file = Some(dir.path().join("nope"));
        let err = a.resolve_password_with(env).unwrap_err().to_string();
        assert!(err.contains("astrow.password_file"), "{err}");
    }

    #[test]
    fn enums_parse_their_spellings() {
        assert_eq!(Master::parse("astrow"), Some(Master::Astrow));
        assert_eq!(MatchKey::parse("badge_number"), Some(MatchKey::BadgeNumber));
        assert_eq!(<Direction as SettingEnum>::parse("none"), None);
        assert_eq!(ApplyMode::parse("Auto"), None);
    }
}
