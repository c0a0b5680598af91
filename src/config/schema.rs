//! The reference of every setting: its key, what it accepts, its default and
//! its meaning. Reading, validation messages, the README and the example file
//! are all checked against this one table by tests.

/// One setting in the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingDoc {
    /// Dotted key; `<serial>` stands for a reader's serial.
    pub key: &'static str,
    /// What the setting accepts, in words fit for an error message.
    pub allowed: &'static str,
    /// The default, in words.
    pub default: &'static str,
    pub meaning: &'static str,
}

const fn doc(
    key: &'static str,
    allowed: &'static str,
    default: &'static str,
    meaning: &'static str,
) -> SettingDoc {
    SettingDoc {
        key,
        allowed,
        default,
        meaning,
    }
}

/// Every setting, in file order.
pub const SETTINGS: &[SettingDoc] = &[
    doc(
        "pac.address",
        "a host name or IP address, without `https://` and without a port",
        "required",
        "where PAC Access Central serves its OEM interface",
    ),
    doc(
        "pac.port",
        "a whole number from 1 to 65535",
        "8443",
        "the port of PAC's OEM interface",
    ),
    doc(
        "pac.oem_key_path",
        "the path of a readable OEM key file (format `pac-oem-key/1`)",
        "required",
        "the OEM key file downloaded from PAC Access Central (Tools > Manage OEM Interface > Add client > download key)",
    ),
    doc(
        "pac.certificate_path",
        "the path of a readable PEM certificate file",
        "required",
        "the PAC certificate to trust, exactly this one (the original's \"Install the PAC certificate\" step)",
    ),
    doc(
        "pac.organization_id",
        "1 (PAC fixes the organization id to 1 on every installation)",
        "1",
        "the PAC organization",
    ),
    doc(
        "astrow.url",
        "an `http://` or `https://` URL",
        "required",
        "the Astrow Web API",
    ),
    doc(
        "astrow.username",
        "a non-empty user name",
        "required",
        "an Astrow user holding \"Allow API to connect to Astrow\"",
    ),
    doc(
        "astrow.password",
        "text (a secret: never shown)",
        "not set",
        "the Astrow password; instead of it use `astrow.password_file` or the environment variable `ASTROW_PAC_ASTROW_PASSWORD`",
    ),
    doc(
        "astrow.password_file",
        "the path of a readable file whose first line is the password",
        "not set",
        "a file holding the Astrow password (used when `astrow.password` is not set)",
    ),
    doc(
        "astrow.ca_path",
        "the path of a readable PEM certificate file",
        "not set: the system's trusted roots",
        "the private CA that signed Astrow's HTTPS certificate",
    ),
    doc(
        "astrow.default_cycle_code",
        "an Astrow cycle code (not empty when `sync.master` is `pac`)",
        "required when master is pac",
        "the cycle given to employees created in Astrow",
    ),
    doc(
        "astrow.default_paygroup_code",
        "an Astrow pay group code (not empty when `sync.master` is `pac`)",
        "required when master is pac",
        "the pay group given to employees created in Astrow",
    ),
    doc(
        "sync.employee_interval_s",
        "a whole number of seconds from 5 to 86400",
        "300",
        "seconds between employee syncs",
    ),
    doc(
        "sync.definitions_interval_s",
        "a whole number of seconds from 5 to 86400",
        "3600",
        "seconds between access group and reader syncs (always PAC to Astrow)",
    ),
    doc(
        "sync.master",
        "`pac` or `astrow`",
        "pac",
        "the system whose employees are the truth",
    ),
    doc(
        "sync.delete_employees_on_sync",
        "`true` or `false`",
        "false",
        "true: the slave deletes employees that left the master; false: it removes their badges and leaves them active",
    ),
    doc(
        "sync.sync_inactive_employees",
        "`true` or `false`",
        "false",
        "only when master is astrow: inactive Astrow employees are pushed to PAC too",
    ),
    doc(
        "sync.apply",
        "`manual` or `auto`",
        "manual",
        "manual: plans wait for approval; auto: applied at once, except what the deletion guard holds",
    ),
    doc(
        "sync.match_key",
        "`employee_number` or `badge_number`",
        "employee_number",
        "how an unlinked master employee is matched to an existing slave employee",
    ),
    doc(
        "sync.deletion_guard.count",
        "a whole number from 0 to 1000000",
        "50",
        "the most destructive items (deletes, badge removals, deactivations) one plan may carry before it is held for approval, even in auto mode; passing this OR the percentage holds the plan",
    ),
    doc(
        "sync.deletion_guard.percent",
        "a whole number from 0 to 100",
        "10",
        "the same limit as a percentage of the managed slave employees (100: no percentage limit)",
    ),
    doc(
        "sync.deletion_guard.window_h",
        "a whole number from 0 to 720",
        "24",
        "hours in which applied destructive items count together with a new plan's against both limits (0: each plan alone)",
    ),
    doc(
        "bookings.enabled",
        "`true` or `false`",
        "true",
        "whether swipes on readers become Astrow bookings (a reader's own `booking` overrides it)",
    ),
    doc(
        "bookings.batch_size",
        "a whole number from 1 to 500",
        "500",
        "bookings sent to Astrow in one request",
    ),
    doc(
        "bookings.max_pending",
        "a whole number from 1 to 10000000",
        "100000",
        "bookings waiting for Astrow before reading PAC events pauses",
    ),
    doc(
        "bookings.heartbeat_interval_s",
        "a whole number of seconds from 5 to 110 (Astrow shows the service red after 2 minutes without one)",
        "60",
        "seconds between heartbeats to Astrow",
    ),
    doc(
        "bookings.roll_call_active",
        "`true` or `false`",
        "false",
        "a roll call is running: swipes on roll-call readers are not T&A bookings",
    ),
    doc(
        "bookings.wait_alert_s",
        "a whole number of seconds from 60 to 604800",
        "900",
        "a booking pending longer than this (its reader not mirrored, its employee not linked, Astrow failing) needs attention: shown in the console, `status` exits 3",
    ),
    doc(
        "bookings.retention_days",
        "a whole number of days from 1 to 3650",
        "90",
        "delivered, queued and feed-only rows of the booking ledger older than this are deleted (in small batches, hourly), once a clean reconciliation has covered them; pending and rejected ones are kept",
    ),
    doc(
        "readers.<serial>.booking",
        "`true` or `false`",
        "not set: follows `bookings.enabled`",
        "whether swipes on this reader become bookings",
    ),
    doc(
        "readers.<serial>.direction",
        "`in` or `out`",
        "not set: the reader's direction in PAC",
        "the booking direction of this reader",
    ),
    doc(
        "readers.<serial>.roll_call",
        "`true` or `false`",
        "false",
        "this reader is a roll-call reader",
    ),
    doc(
        "store.dir",
        "the path of a directory (created when missing)",
        "not set: the platform data directory",
        "where the store (SQLite) lives",
    ),
    doc(
        "store.audit_retention_months",
        "a whole number from 0 to 1200; 0 keeps the audit for ever",
        "24",
        "whole months of audit log kept before the current month; older months are deleted by the engine, at start and daily",
    ),
    doc(
        "control.group",
        "the name of an existing group",
        "not set: only the engine's own user may attach",
        "members of this group may attach consoles and commands to the running engine (its control socket becomes mode 0660, owned by the group)",
    ),
    doc(
        "log.level",
        "`error`, `warn`, `info`, `debug`, `trace` or a tracing filter such as `astrow_pac=debug`; `RUST_LOG` overrides it",
        "info",
        "how much the log says",
    ),
    doc(
        "log.file",
        "the path of a file; it rolls daily (`<file>.YYYY-MM-DD`)",
        "not set: `logs/astrow-pac.log` in the platform data directory",
        "where the log goes; `--log-file` overrides it",
    ),
];

/// The reference entry of `key` (`readers."R-1".booking` finds `readers.<serial>.booking`).
pub fn find(key: &str) -> Option<&'static SettingDoc> {
    let generic = generic_key(key);
    SETTINGS.iter().find(|d| d.key == generic)
}

/// What `key` accepts (empty when the key is unknown).
pub fn allowed(key: &str) -> &'static str {
    find(key).map(|d| d.allowed).unwrap_or("")
}

/// `readers."R-1".booking` -> `readers.<serial>.booking`; other keys unchanged.
pub fn generic_key(key: &str) -> String {
    match key.strip_prefix("readers.") {
        Some(rest) => match rest.rsplit_once('.') {
            Some((_, field)) => format!("readers.<serial>.{field}"),
            None => key.to_string(),
        },
        None => key.to_string(),
    }
}

/// Where `key` sorts: its section's place in the reference, then its own
/// (unknown keys last in their section, unknown sections last).
pub fn order(key: &str) -> (usize, usize) {
    let generic = generic_key(key);
    let section = generic.split('.').next().unwrap_or("");
    let end = SETTINGS.len();
    let in_section = |d: &&SettingDoc| d.key.split('.').next() == Some(section);
    let section_at = SETTINGS.iter().position(|d| in_section(&d)).unwrap_or(end);
    let at = SETTINGS
        .iter()
        .position(|d| d.key == generic)
        .unwrap_or(end);
    (section_at, at)
}

/// The settings reference as a Markdown table (the README embeds it).
pub fn reference_markdown() -> String {
    let mut out = String::from("| setting | accepts | default | meaning |\n|---|---|---|---|\n");
    for d in SETTINGS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            d.key, d.allowed, d.default, d.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_reader_keys_generalise() {
        let mut keys: Vec<_> = SETTINGS.iter().map(|d| d.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len());
        assert_eq!(
            generic_key("readers.\"R-1.2\".booking"),
            "readers.<serial>.booking"
        );
        assert!(find("readers.\"R-0012\".direction").is_some());
    }
}
