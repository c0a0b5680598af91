//! The settings table: every setting once, in file order, with its key,
//! kind, accepted values, default, meaning, when a change takes effect, the
//! rule its value follows and where it lives in `Settings`. Reading, saving,
//! validation, the console's form, the README reference and the example-file
//! check are all derived from it.

use super::schema::{Kind, Rule, SettingRow, Takes, on_reader, on_settings};
use super::validate::{address_rule, log_level_rule, organization_rule, url_rule};

const fn row(
    key: &'static str,
    kind: Kind,
    access: super::schema::Access,
    allowed: &'static str,
    default: &'static str,
    meaning: &'static str,
) -> SettingRow {
    SettingRow {
        key,
        kind,
        allowed,
        default,
        meaning,
        takes: Takes::Reload,
        rule: Rule::Free,
        access,
    }
}

impl SettingRow {
    /// A change takes effect only when astrow-pac starts again.
    const fn restart(mut self) -> Self {
        self.takes = Takes::Restart;
        self
    }

    const fn rule(mut self, rule: Rule) -> Self {
        self.rule = rule;
        self
    }
}

const fn whole(min: u64, max: u64) -> Kind {
    Kind::Int { min, max }
}

const EMPTY_PATH: Rule = Rule::NotEmpty("remove the line or write a path");

/// Every setting, in file order.
pub const SETTINGS: &[SettingRow] = &[
    row(
        "pac.address",
        Kind::Text,
        on_settings!(pac.address),
        "a host name or IP address, without `https://` and without a port",
        "required",
        "where PAC Access Central serves its OEM interface",
    )
    .restart()
    .rule(Rule::Own(address_rule)),
    row(
        "pac.port",
        whole(1, 65535),
        on_settings!(pac.port),
        "a whole number from 1 to 65535",
        "8443",
        "the port of PAC's OEM interface",
    )
    .restart(),
    row(
        "pac.oem_key_path",
        Kind::Path,
        on_settings!(pac.oem_key_path),
        "the path of a readable OEM key file (format `pac-oem-key/1`)",
        "required",
        "the OEM key file downloaded from PAC Access Central (Tools > Manage OEM Interface > Add client > download key)",
    )
    .restart()
    .rule(Rule::Required(
        "download the OEM key file in PAC Access Central (Tools > Manage OEM Interface > Add client > download key) and write its path here",
    )),
    row(
        "pac.certificate_path",
        Kind::Path,
        on_settings!(pac.certificate_path),
        "the path of a readable PEM certificate file",
        "required",
        "the PAC certificate to trust, exactly this one (the original's \"Install the PAC certificate\" step)",
    )
    .restart()
    .rule(Rule::Required(
        "export PAC Access Central's certificate as a PEM file and write its path here",
    )),
    row(
        "pac.organization_id",
        whole(1, 1),
        on_settings!(pac.organization_id),
        "1 (PAC fixes the organization id to 1 on every installation)",
        "1",
        "the PAC organization",
    )
    .restart()
    .rule(Rule::Own(organization_rule)),
    row(
        "astrow.url",
        Kind::Text,
        on_settings!(astrow.url),
        "an `http://` or `https://` URL",
        "required",
        "the Astrow Web API",
    )
    .restart()
    .rule(Rule::Own(url_rule)),
    row(
        "astrow.username",
        Kind::Text,
        on_settings!(astrow.username),
        "a non-empty user name",
        "required",
        "an Astrow user holding \"Allow API to connect to Astrow\"",
    )
    .restart()
    .rule(Rule::Required(
        "write the Astrow user that holds \"Allow API to connect to Astrow\"",
    )),
    row(
        "astrow.password",
        Kind::Secret,
        on_settings!(astrow.password),
        "text (a secret: never shown)",
        "not set",
        "the Astrow password; instead of it use `astrow.password_file` or the environment variable `ASTROW_PAC_ASTROW_PASSWORD`",
    )
    .restart()
    .rule(Rule::NotEmpty(
        "write the password, or remove the line and use astrow.password_file or ASTROW_PAC_ASTROW_PASSWORD",
    )),
    row(
        "astrow.password_file",
        Kind::OptPath,
        on_settings!(astrow.password_file),
        "the path of a readable file whose first line is the password",
        "not set",
        "a file holding the Astrow password (used when `astrow.password` is not set)",
    )
    .restart()
    .rule(EMPTY_PATH),
    row(
        "astrow.ca_path",
        Kind::OptPath,
        on_settings!(astrow.ca_path),
        "the path of a readable PEM certificate file",
        "not set: the system's trusted roots",
        "the private CA that signed Astrow's HTTPS certificate",
    )
    .restart()
    .rule(EMPTY_PATH),
    row(
        "astrow.default_cycle_code",
        Kind::Text,
        on_settings!(astrow.default_cycle_code),
        "an Astrow cycle code (not empty when `sync.master` is `pac`)",
        "required when master is pac",
        "the cycle given to employees created in Astrow",
    )
    .restart(),
    row(
        "astrow.default_paygroup_code",
        Kind::Text,
        on_settings!(astrow.default_paygroup_code),
        "an Astrow pay group code (not empty when `sync.master` is `pac`)",
        "required when master is pac",
        "the pay group given to employees created in Astrow",
    )
    .restart(),
    row(
        "sync.employee_interval_s",
        whole(5, 86_400),
        on_settings!(sync.employee_interval_s),
        "a whole number of seconds from 5 to 86400",
        "300",
        "seconds between employee syncs",
    ),
    row(
        "sync.definitions_interval_s",
        whole(5, 86_400),
        on_settings!(sync.definitions_interval_s),
        "a whole number of seconds from 5 to 86400",
        "3600",
        "seconds between access group and reader syncs (always PAC to Astrow)",
    ),
    row(
        "sync.master",
        Kind::Choice(&["pac", "astrow"]),
        on_settings!(sync.master),
        "`pac` or `astrow`",
        "pac",
        "the system whose employees are the truth",
    ),
    row(
        "sync.delete_employees_on_sync",
        Kind::Bool,
        on_settings!(sync.delete_employees_on_sync),
        "`true` or `false`",
        "false",
        "true: the slave deletes employees that left the master; false: it removes their badges and leaves them active",
    ),
    row(
        "sync.sync_inactive_employees",
        Kind::Bool,
        on_settings!(sync.sync_inactive_employees),
        "`true` or `false`",
        "false",
        "only when master is astrow: inactive Astrow employees are pushed to PAC too",
    ),
    row(
        "sync.apply",
        Kind::Choice(&["manual", "auto"]),
        on_settings!(sync.apply),
        "`manual` or `auto`",
        "manual",
        "manual: plans wait for approval; auto: applied at once, except what the deletion guard holds",
    ),
    row(
        "sync.match_key",
        Kind::Choice(&["employee_number", "badge_number"]),
        on_settings!(sync.match_key),
        "`employee_number` or `badge_number`",
        "employee_number",
        "how an unlinked master employee is matched to an existing slave employee",
    ),
    row(
        "sync.deletion_guard.count",
        whole(0, 1_000_000),
        on_settings!(sync.deletion_guard.count),
        "a whole number from 0 to 1000000",
        "50",
        "the most destructive items (deletes, badge removals, deactivations) one plan may carry before it is held for approval, even in auto mode; passing this OR the percentage holds the plan",
    ),
    row(
        "sync.deletion_guard.percent",
        whole(0, 100),
        on_settings!(sync.deletion_guard.percent),
        "a whole number from 0 to 100",
        "10",
        "the same limit as a percentage of the managed slave employees (100: no percentage limit)",
    ),
    // At most 30 days: the store remembers applied destructive items a month.
    row(
        "sync.deletion_guard.window_h",
        whole(0, 720),
        on_settings!(sync.deletion_guard.window_h),
        "a whole number from 0 to 720",
        "24",
        "hours in which applied destructive items count together with a new plan's against both limits (0: each plan alone)",
    ),
    row(
        "bookings.enabled",
        Kind::Bool,
        on_settings!(bookings.enabled),
        "`true` or `false`",
        "true",
        "whether swipes on readers become Astrow bookings (a reader's own `booking` overrides it)",
    ),
    row(
        "bookings.batch_size",
        whole(1, 500),
        on_settings!(bookings.batch_size),
        "a whole number from 1 to 500",
        "500",
        "bookings sent to Astrow in one request",
    )
    .restart(),
    row(
        "bookings.max_pending",
        whole(1, 10_000_000),
        on_settings!(bookings.max_pending),
        "a whole number from 1 to 10000000",
        "100000",
        "bookings waiting for Astrow before reading PAC events pauses",
    )
    .restart(),
    row(
        "bookings.heartbeat_interval_s",
        whole(5, 110),
        on_settings!(bookings.heartbeat_interval_s),
        "a whole number of seconds from 5 to 110 (Astrow shows the service red after 2 minutes without one)",
        "60",
        "seconds between heartbeats to Astrow",
    ),
    row(
        "bookings.roll_call_active",
        Kind::Bool,
        on_settings!(bookings.roll_call_active),
        "`true` or `false`",
        "false",
        "a roll call is running: swipes on roll-call readers are not T&A bookings",
    ),
    row(
        "bookings.wait_alert_s",
        whole(60, 604_800),
        on_settings!(bookings.wait_alert_s),
        "a whole number of seconds from 60 to 604800",
        "900",
        "a booking pending longer than this (its reader not mirrored, its employee not linked, Astrow failing) needs attention: shown in the console, `status` exits 3",
    ),
    row(
        "bookings.retention_days",
        whole(1, 3650),
        on_settings!(bookings.retention_days),
        "a whole number of days from 1 to 3650",
        "90",
        "delivered, queued and feed-only rows of the booking ledger older than this are deleted (in small batches, hourly), once a clean reconciliation has covered them; pending and rejected ones are kept",
    ),
    row(
        "bookings.astrow_to_pac",
        Kind::Bool,
        on_settings!(bookings.astrow_to_pac),
        "`true` or `false`",
        "false",
        "Astrow's own bookings (its web clock, mobile app, other vendors' terminals) go to PAC as attendance events, so PAC's roll call and presence lists count people who clocked in there; bookings that came from PAC never go back, and PAC's attendance events never become Astrow bookings",
    ),
    row(
        "readers.<serial>.booking",
        Kind::OptBool,
        on_reader!(booking),
        "`true` or `false`",
        "not set: follows `bookings.enabled`",
        "whether swipes on this reader become bookings",
    ),
    row(
        "readers.<serial>.direction",
        Kind::OptChoice(&["", "in", "out"]),
        on_reader!(direction),
        "`in` or `out`",
        "not set: the reader's direction in PAC",
        "the booking direction of this reader",
    )
    .rule(Rule::Refuse(
        "none",
        "leave direction out to use the reader's own direction from PAC",
    )),
    row(
        "readers.<serial>.roll_call",
        Kind::Bool,
        on_reader!(roll_call),
        "`true` or `false`",
        "false",
        "this reader is a roll-call reader",
    ),
    row(
        "store.dir",
        Kind::OptPath,
        on_settings!(store.dir),
        "the path of a directory (created when missing)",
        "not set: the platform data directory",
        "where the store (SQLite) lives",
    )
    .restart()
    .rule(EMPTY_PATH),
    row(
        "store.audit_retention_months",
        whole(0, 1200),
        on_settings!(store.audit_retention_months),
        "a whole number from 0 to 1200; 0 keeps the audit for ever",
        "24",
        "whole months of audit log kept before the current month; older months are deleted by the engine, at start and daily",
    ),
    row(
        "control.group",
        Kind::OptText,
        on_settings!(control.group),
        "the name of an existing group",
        "not set: only the engine's own user may attach",
        "members of this group may attach consoles and commands to the running engine (its control socket becomes mode 0660, owned by the group)",
    )
    .restart()
    .rule(Rule::NotEmpty("name a group, or leave the setting out")),
    row(
        "log.level",
        Kind::Text,
        on_settings!(log.level),
        "`error`, `warn`, `info`, `debug`, `trace` or a tracing filter such as `astrow_pac=debug`; `RUST_LOG` overrides it",
        "info",
        "how much the log says",
    )
    .restart()
    .rule(Rule::Own(log_level_rule)),
    row(
        "log.file",
        Kind::OptPath,
        on_settings!(log.file),
        "the path of a file; it rolls daily (`<file>.YYYY-MM-DD`)",
        "not set: `logs/astrow-pac.log` in the platform data directory",
        "where the log goes; `--log-file` overrides it",
    )
    .restart()
    .rule(EMPTY_PATH),
];
