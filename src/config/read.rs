//! TOML document -> `Settings`, collecting every type error and unknown key
//! (with "did you mean") instead of stopping at the first.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::Problem;
use super::schema::{self, SETTINGS};
use super::settings::*;
use crate::model::Direction;

/// Parse the text of a settings file. Problems are type errors and unknown
/// keys; range rules are `validate`'s.
pub(crate) fn parse(text: &str) -> Result<(Settings, Vec<Problem>), Problem> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| syntax_problem(text, &e))?;
    Ok(read_document(&doc))
}

/// A TOML syntax error, told by line and column without quoting the line
/// (it may hold a secret).
fn syntax_problem(text: &str, e: &toml_edit::TomlError) -> Problem {
    let at = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    let what = e.message().lines().next().unwrap_or("invalid TOML").trim();
    Problem::new(
        format!("line {line}, column {column}"),
        None,
        format!("the file is not valid TOML ({what}); fix the syntax there (strings need quotes)"),
    )
}

pub(crate) fn read_document(doc: &DocumentMut) -> (Settings, Vec<Problem>) {
    let mut r = Reader {
        root: doc.as_table(),
        problems: Vec::new(),
    };
    let d = Settings::default();
    let settings = Settings {
        pac: PacSettings {
            address: r.string("pac.address", d.pac.address),
            port: r.int("pac.port", d.pac.port),
            oem_key_path: r.path("pac.oem_key_path").unwrap_or_default(),
            certificate_path: r.path("pac.certificate_path").unwrap_or_default(),
            organization_id: r.int("pac.organization_id", d.pac.organization_id),
        },
        astrow: AstrowSettings {
            url: r.string("astrow.url", d.astrow.url),
            username: r.string("astrow.username", d.astrow.username),
            password: r.secret("astrow.password"),
            password_file: r.path("astrow.password_file"),
            ca_path: r.path("astrow.ca_path"),
            default_cycle_code: r.string("astrow.default_cycle_code", d.astrow.default_cycle_code),
            default_paygroup_code: r.string(
                "astrow.default_paygroup_code",
                d.astrow.default_paygroup_code,
            ),
        },
        sync: SyncSettings {
            employee_interval_s: r.int("sync.employee_interval_s", d.sync.employee_interval_s),
            definitions_interval_s: r
                .int("sync.definitions_interval_s", d.sync.definitions_interval_s),
            master: r.enumeration("sync.master", d.sync.master),
            delete_employees_on_sync: r.bool(
                "sync.delete_employees_on_sync",
                d.sync.delete_employees_on_sync,
            ),
            sync_inactive_employees: r.bool(
                "sync.sync_inactive_employees",
                d.sync.sync_inactive_employees,
            ),
            apply: r.enumeration("sync.apply", d.sync.apply),
            match_key: r.enumeration("sync.match_key", d.sync.match_key),
            deletion_guard: DeletionGuard {
                count: r.int("sync.deletion_guard.count", d.sync.deletion_guard.count),
                percent: r.int("sync.deletion_guard.percent", d.sync.deletion_guard.percent),
                window_h: r.int(
                    "sync.deletion_guard.window_h",
                    d.sync.deletion_guard.window_h,
                ),
            },
        },
        bookings: BookingSettings {
            enabled: r.bool("bookings.enabled", d.bookings.enabled),
            batch_size: r.int("bookings.batch_size", d.bookings.batch_size),
            max_pending: r.int("bookings.max_pending", d.bookings.max_pending),
            heartbeat_interval_s: r.int(
                "bookings.heartbeat_interval_s",
                d.bookings.heartbeat_interval_s,
            ),
            roll_call_active: r.bool("bookings.roll_call_active", d.bookings.roll_call_active),
            wait_alert_s: r.int("bookings.wait_alert_s", d.bookings.wait_alert_s),
            retention_days: r.int("bookings.retention_days", d.bookings.retention_days),
        },
        readers: r.readers(),
        keys: r.keys(),
        store: StoreSettings {
            dir: r.path("store.dir"),
            audit_retention_months: r.int(
                "store.audit_retention_months",
                d.store.audit_retention_months,
            ),
        },
        control: ControlSettings {
            group: r.get("control.group", |v| v.as_str().map(str::to_string)),
        },
        log: LogSettings {
            level: r.string("log.level", d.log.level),
            file: r.path("log.file"),
        },
    };
    r.unknown_keys();
    (settings, r.problems)
}

struct Reader<'a> {
    root: &'a toml_edit::Table,
    problems: Vec<Problem>,
}

/// A value as written, for a message: no comments, at most 60 characters.
pub(crate) fn shown(item: &Item) -> String {
    let text = match item {
        Item::Value(v) => {
            let mut v = v.clone();
            v.decor_mut().clear();
            v.to_string()
        }
        Item::Table(_) | Item::ArrayOfTables(_) => "(a table)".to_string(),
        Item::None => String::new(),
    };
    let text = text.trim().replace(['\n', '\r'], " ");
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

impl Reader<'_> {
    /// The item at a dotted key of the schema (no reader keys here).
    fn item(&self, key: &str) -> Option<&Item> {
        let mut parts = key.split('.');
        let first = parts.next()?;
        let mut item = self.root.get(first)?;
        for part in parts {
            item = item.as_table_like()?.get(part)?;
        }
        Some(item)
    }

    fn bad(&mut self, key: &str, item: &Item, secret: bool) {
        let value = if secret { None } else { Some(shown(item)) };
        let what = if secret {
            "must be text in quotes".to_string()
        } else {
            format!("must be {}", schema::allowed(key))
        };
        self.problems.push(Problem::new(key, value, what));
    }

    fn get<T>(&mut self, key: &str, conv: impl Fn(&Value) -> Option<T>) -> Option<T> {
        self.get_item(key, conv, false)
    }

    fn get_item<T>(
        &mut self,
        key: &str,
        conv: impl Fn(&Value) -> Option<T>,
        secret: bool,
    ) -> Option<T> {
        let item = self.item(key)?.clone();
        match item.as_value().and_then(&conv) {
            Some(v) => Some(v),
            None => {
                self.bad(key, &item, secret);
                None
            }
        }
    }

    fn string(&mut self, key: &str, default: String) -> String {
        self.get(key, |v| v.as_str().map(str::to_string))
            .unwrap_or(default)
    }

    fn secret(&mut self, key: &str) -> Option<Secret> {
        self.get_item(key, |v| v.as_str().map(Secret::new), true)
    }

    fn path(&mut self, key: &str) -> Option<PathBuf> {
        self.get(key, |v| v.as_str().map(PathBuf::from))
    }

    fn bool(&mut self, key: &str, default: bool) -> bool {
        self.get(key, Value::as_bool).unwrap_or(default)
    }

    fn int<T: TryFrom<i64>>(&mut self, key: &str, default: T) -> T {
        self.get(key, |v| v.as_integer().and_then(|i| T::try_from(i).ok()))
            .unwrap_or(default)
    }

    fn enumeration<E: SettingEnum>(&mut self, key: &str, default: E) -> E {
        self.get(key, |v| v.as_str().and_then(E::parse))
            .unwrap_or(default)
    }

    /// `[keys]`: action name -> key text (several keys separated by spaces).
    fn keys(&mut self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(item) = self.root.get("keys") else {
            return out;
        };
        let Some(table) = item.as_table_like() else {
            self.problems.push(Problem::new(
                "keys",
                Some(shown(item)),
                "must be a table of console keys by action name: [keys] with e.g. approve = \"y\"",
            ));
            return out;
        };
        for (name, item) in table.iter() {
            match item.as_str() {
                Some(k) => {
                    out.insert(name.to_string(), k.to_string());
                }
                None => self.problems.push(Problem::new(
                    format!("keys.{name}"),
                    Some(shown(item)),
                    "must be a key as text, e.g. \"y\", \"ctrl-s\" or \"f5\"",
                )),
            }
        }
        out
    }

    fn readers(&mut self) -> BTreeMap<String, ReaderSettings> {
        let mut out = BTreeMap::new();
        let Some(item) = self.root.get("readers") else {
            return out;
        };
        let Some(table) = item.as_table_like() else {
            self.problems.push(Problem::new(
                "readers",
                Some(shown(item)),
                "must be tables, one per reader serial: [readers.\"R-0012\"]",
            ));
            return out;
        };
        for (serial, item) in table.iter() {
            let setting = reader_key(serial, "");
            let setting = setting.trim_end_matches('.');
            let Some(t) = item.as_table_like() else {
                self.problems.push(Problem::new(
                    setting,
                    Some(shown(item)),
                    format!("must be a table of reader settings: [readers.\"{serial}\"] with booking, direction, roll_call"),
                ));
                continue;
            };
            let rs = ReaderSettings {
                booking: self.reader_field(serial, t, "booking", Value::as_bool),
                direction: self.reader_field(serial, t, "direction", |v| {
                    v.as_str().and_then(<Direction as SettingEnum>::parse)
                }),
                roll_call: self
                    .reader_field(serial, t, "roll_call", Value::as_bool)
                    .unwrap_or(false),
            };
            out.insert(serial.to_string(), rs);
        }
        out
    }

    fn reader_field<T>(
        &mut self,
        serial: &str,
        t: &dyn TableLike,
        field: &str,
        conv: impl Fn(&Value) -> Option<T>,
    ) -> Option<T> {
        let item = t.get(field)?;
        let got = item.as_value().and_then(conv);
        if got.is_none() {
            let key = reader_key(serial, field);
            let mut message = format!("must be {}", schema::allowed(&key));
            if field == "direction" && item.as_str() == Some("none") {
                message
                    .push_str("; leave direction out to use the reader's own direction from PAC");
            }
            self.problems
                .push(Problem::new(key, Some(shown(item)), message));
        }
        got
    }

    /// Every key that is not a setting, with a suggestion when one is close.
    fn unknown_keys(&mut self) {
        let mut found = Vec::new();
        walk(self.root, "", &mut found);
        for key in found {
            let message = if is_known_table(&key) {
                format!("must be a table: write [{key}] and put its settings below it")
            } else {
                match suggest(&key) {
                    Some(s) => format!("is not a setting; did you mean `{s}`?"),
                    None => {
                        "is not a setting; remove it (config/astrow-pac.toml lists every setting)"
                            .to_string()
                    }
                }
            };
            self.problems.push(Problem::new(key, None, message));
        }
    }
}

/// `readers."R-0012".field`
pub(crate) fn reader_key(serial: &str, field: &str) -> String {
    format!("readers.\"{}\".{field}", serial.replace('"', "\\\""))
}

fn is_known_table(path: &str) -> bool {
    SETTINGS
        .iter()
        .any(|d| d.key.starts_with(&format!("{path}.")))
}

/// Collect the dotted keys in `table` (at `prefix`) that are not settings.
fn walk(table: &dyn TableLike, prefix: &str, found: &mut Vec<String>) {
    for (name, item) in table.iter() {
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        // Console keys: any action name; the console checks them.
        if path == "keys" {
            continue;
        }
        if path == "readers" {
            if let Some(readers) = item.as_table_like() {
                for (serial, r) in readers.iter() {
                    if let Some(r) = r.as_table_like() {
                        for (field, _) in r.iter() {
                            let generic = format!("readers.<serial>.{field}");
                            if schema::find(&generic).is_none() {
                                found.push(reader_key(serial, field));
                            }
                        }
                    }
                }
            }
            continue;
        }
        let known_leaf = SETTINGS.iter().any(|d| d.key == path);
        match item.as_table_like() {
            Some(t) if is_known_table(&path) => walk(t, &path, found),
            _ if known_leaf => {}
            _ => found.push(path),
        }
    }
}

/// The closest known key to an unknown one: a near spelling at the same
/// level, or the same name in another section.
fn suggest(unknown: &str) -> Option<String> {
    let generic = schema::generic_key(unknown);
    let (parent, name) = match generic.rsplit_once('.') {
        Some((p, n)) => (Some(p), n),
        None => (None, generic.as_str()),
    };
    let siblings = SETTINGS.iter().map(|d| d.key).flat_map(|k| {
        let mut out = vec![k.to_string()];
        let mut prefix = String::new();
        for part in k.split('.') {
            prefix = if prefix.is_empty() {
                part.to_string()
            } else {
                format!("{prefix}.{part}")
            };
            out.push(prefix.clone());
        }
        out
    });
    let mut best: Option<(f64, String)> = None;
    for candidate in siblings {
        let (cparent, cname) = match candidate.rsplit_once('.') {
            Some((p, n)) => (Some(p), n),
            None => (None, candidate.as_str()),
        };
        let score = if cparent == parent {
            strsim::jaro_winkler(name, cname)
        } else if cname == name {
            0.9
        } else {
            0.0
        };
        if score >= 0.8 && best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, candidate.clone()));
        }
    }
    let (_, key) = best?;
    // Suggest readers keys with the serial the user wrote.
    if let Some(rest) = key.strip_prefix("readers.<serial>.")
        && let Some((prefix, _)) = unknown.rsplit_once('.')
    {
        return Some(format!("{prefix}.{rest}"));
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        parse(text).expect("parses").1
    }

    #[test]
    fn empty_file_gives_defaults() {
        let (s, p) = parse("").unwrap();
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn wrong_types_name_setting_value_and_allowed() {
        let p = problems("[pac]\nport = \"abc\"\n[sync]\nmaster = \"both\"\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].setting, "pac.port");
        assert_eq!(p[0].value.as_deref(), Some("\"abc\""));
        assert!(p[0].message.contains("1 to 65535"));
        assert_eq!(p[1].setting, "sync.master");
        assert!(p[1].message.contains("`pac` or `astrow`"));
    }

    #[test]
    fn out_of_type_range_is_reported_not_wrapped() {
        let p = problems("[pac]\nport = 70000\n[sync]\nemployee_interval_s = -5\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].setting, "pac.port");
        assert_eq!(p[1].setting, "sync.employee_interval_s");
        assert!(p[1].message.contains("5 to 86400"));
    }

    #[test]
    fn unknown_keys_suggest_the_close_one() {
        let p =
            problems("[sync]\nemployee_intervall_s = 30\n[pac]\nadress = \"x\"\n[bogus]\na = 1\n");
        let texts: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert!(
            texts.iter().any(|t| t.contains("sync.employee_intervall_s")
                && t.contains("`sync.employee_interval_s`")),
            "{texts:?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.contains("pac.adress") && t.contains("`pac.address`")),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t.starts_with("bogus:")), "{texts:?}");
    }

    #[test]
    fn misspelt_and_malformed_sections_are_named() {
        let p = problems("[sinc]\nmaster = \"pac\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].setting, "sinc");
        assert!(p[0].message.contains("`sync`"), "{p:?}");
        let p = problems("pac = 5\n");
        assert_eq!(p[0].setting, "pac");
        assert!(p[0].message.contains("must be a table"), "{p:?}");
        let p = problems("[pac.port]\n");
        assert_eq!(p[0].setting, "pac.port");
        assert_eq!(p[0].value.as_deref(), Some("(a table)"));
    }

    #[test]
    fn misplaced_key_suggests_its_section() {
        let p = problems("port = 8443\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("`pac.port`"), "{p:?}");
    }

    #[test]
    fn readers_read_and_bad_fields_are_named() {
        let (s, p) = parse(
            "[readers.\"R-1\"]\nbooking = false\ndirection = \"in\"\nroll_call = true\n\
             [readers.\"R-2\"]\ndirection = \"none\"\nrol_call = true\n",
        )
        .unwrap();
        assert_eq!(
            s.readers["R-1"],
            ReaderSettings {
                booking: Some(false),
                direction: Some(Direction::In),
                roll_call: true
            }
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].setting, "readers.\"R-2\".direction");
        assert!(p[0].message.contains("leave direction out"));
        assert_eq!(p[1].setting, "readers.\"R-2\".rol_call");
        assert!(
            p[1].message.contains("`readers.\"R-2\".roll_call`"),
            "{p:?}"
        );
    }

    #[test]
    fn secrets_never_show_in_problems() {
        let p = problems("[astrow]\npassword = 12345678\n");
        assert_eq!(p[0].setting, "astrow.password");
        assert_eq!(p[0].value, None);
        assert!(!p[0].to_string().contains("12345678"));
        let e = parse("[astrow]\npassword = hunter2secret\n").unwrap_err();
        assert!(!e.to_string().contains("hunter2secret"), "{e}");
        assert!(e.setting.starts_with("line 2"), "{e}");
    }

    #[test]
    fn inline_and_dotted_tables_are_read() {
        let (s, p) =
            parse("sync.deletion_guard = { count = 3, percent = 7 }\npac.port = 9000\n").unwrap();
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            s.sync.deletion_guard,
            DeletionGuard {
                count: 3,
                percent: 7,
                window_h: 24
            }
        );
        assert_eq!(s.pac.port, 9000);
    }
}
