//! `Settings` -> an existing TOML document, touching only what changed so
//! that comments, order and formatting survive.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::file::SaveError;
use super::settings::*;

/// Write every setting of `s` into `doc`.
pub(crate) fn write_settings(doc: &mut DocumentMut, s: &Settings) -> Result<(), SaveError> {
    let mut pending_comments = String::new();
    {
        let root = doc.as_table_mut();
        let mut w = Writer {
            root,
            moved: &mut pending_comments,
        };
        w.str("pac.address", Some(&s.pac.address));
        w.int("pac.port", Some(u64::from(s.pac.port)))?;
        w.path("pac.oem_key_path", Some(&s.pac.oem_key_path))?;
        w.path("pac.certificate_path", Some(&s.pac.certificate_path))?;
        w.int(
            "pac.organization_id",
            Some(u64::from(s.pac.organization_id)),
        )?;

        let a = &s.astrow;
        w.str("astrow.url", Some(&a.url));
        w.str("astrow.username", Some(&a.username));
        w.str("astrow.password", a.password.as_ref().map(Secret::expose));
        w.path("astrow.password_file", a.password_file.as_deref())?;
        w.path("astrow.ca_path", a.ca_path.as_deref())?;
        w.str("astrow.default_cycle_code", Some(&a.default_cycle_code));
        w.str(
            "astrow.default_paygroup_code",
            Some(&a.default_paygroup_code),
        );

        let y = &s.sync;
        w.int("sync.employee_interval_s", Some(y.employee_interval_s))?;
        w.int(
            "sync.definitions_interval_s",
            Some(y.definitions_interval_s),
        )?;
        w.str("sync.master", Some(y.master.as_str()));
        w.bool(
            "sync.delete_employees_on_sync",
            Some(y.delete_employees_on_sync),
        );
        w.bool(
            "sync.sync_inactive_employees",
            Some(y.sync_inactive_employees),
        );
        w.str("sync.apply", Some(y.apply.as_str()));
        w.str("sync.match_key", Some(y.match_key.as_str()));
        w.int(
            "sync.deletion_guard.count",
            Some(u64::from(y.deletion_guard.count)),
        )?;
        w.int(
            "sync.deletion_guard.percent",
            Some(u64::from(y.deletion_guard.percent)),
        )?;
        w.int(
            "sync.deletion_guard.window_h",
            Some(u64::from(y.deletion_guard.window_h)),
        )?;

        let b = &s.bookings;
        w.bool("bookings.enabled", Some(b.enabled));
        w.int("bookings.batch_size", Some(u64::from(b.batch_size)))?;
        w.int("bookings.max_pending", Some(u64::from(b.max_pending)))?;
        w.int(
            "bookings.heartbeat_interval_s",
            Some(b.heartbeat_interval_s),
        )?;
        w.bool("bookings.roll_call_active", Some(b.roll_call_active));
        w.int("bookings.wait_alert_s", Some(b.wait_alert_s))?;
        w.int("bookings.retention_days", Some(b.retention_days))?;

        w.readers(s)?;
        w.keys(s);

        w.path("store.dir", s.store.dir.as_deref())?;
        w.int(
            "store.audit_retention_months",
            Some(u64::from(s.store.audit_retention_months)),
        )?;
        w.str("control.group", s.control.group.as_deref());
        w.str("log.level", Some(&s.log.level));
        w.path("log.file", s.log.file.as_deref())?;
    }
    if !pending_comments.is_empty() {
        let trailing = doc.trailing().as_str().unwrap_or("").to_string();
        doc.set_trailing(format!("{trailing}{pending_comments}"));
    }
    Ok(())
}

struct Writer<'a> {
    root: &'a mut Table,
    /// Comments of removed items that had nowhere else to go: the file's end.
    moved: &'a mut String,
}

impl Writer<'_> {
    fn set(&mut self, key: &str, value: Option<Value>) {
        let parts: Vec<&str> = key.split('.').collect();
        let Some((last, parents)) = parts.split_last() else {
            return;
        };
        if let Some(table) = container(self.root, parents, value.is_some()) {
            set_in(table, last, value, self.moved);
        }
    }

    /// `[keys]`: written by action name; names that are not plain words are
    /// left as the file has them.
    fn keys(&mut self, s: &Settings) {
        let plain =
            |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let gone: Vec<String> = self
            .root
            .get("keys")
            .and_then(Item::as_table_like)
            .map(|t| {
                t.iter()
                    .map(|(k, _)| k.to_string())
                    .filter(|k| !s.keys.contains_key(k))
                    .collect()
            })
            .unwrap_or_default();
        for name in gone.iter().filter(|n| plain(n)) {
            self.str(&format!("keys.{name}"), None);
        }
        for (name, key) in s.keys.iter().filter(|(n, _)| plain(n)) {
            self.str(&format!("keys.{name}"), Some(key));
        }
    }

    fn str(&mut self, key: &str, v: Option<&str>) {
        self.set(key, v.map(Value::from));
    }

    fn bool(&mut self, key: &str, v: Option<bool>) {
        self.set(key, v.map(Value::from));
    }

    fn int(&mut self, key: &str, v: Option<u64>) -> Result<(), SaveError> {
        let v = v
            .map(|n| {
                i64::try_from(n).map_err(|_| SaveError::Unrepresentable {
                    setting: key.to_string(),
                })
            })
            .transpose()?;
        self.set(key, v.map(Value::from));
        Ok(())
    }

    fn path(&mut self, key: &str, p: Option<&Path>) -> Result<(), SaveError> {
        let text = p
            .map(|p| {
                p.to_str().ok_or_else(|| SaveError::Unrepresentable {
                    setting: key.to_string(),
                })
            })
            .transpose()?;
        self.str(key, text);
        Ok(())
    }

    fn readers(&mut self, s: &Settings) -> Result<(), SaveError> {
        if s.readers.is_empty() && !self.root.contains_key("readers") {
            return Ok(());
        }
        let readers = self.root.entry("readers").or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        let Some(readers) = readers.as_table_like_mut() else {
            return Err(SaveError::Unrepresentable {
                setting: "readers".into(),
            });
        };
        let gone: Vec<String> = readers
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| !s.readers.contains_key(k))
            .collect();
        let mut orphans = String::new();
        for serial in gone {
            remove_keeping_comments(readers, &serial, &mut orphans);
        }
        for (serial, r) in &s.readers {
            let item = readers
                .entry(serial)
                .or_insert_with(|| Item::Table(Table::new()));
            let Some(t) = item.as_table_like_mut() else {
                return Err(SaveError::Unrepresentable {
                    setting: format!("readers.\"{serial}\""),
                });
            };
            let fields = [
                ("booking", r.booking.map(Value::from)),
                ("direction", r.direction.map(|d| Value::from(d.as_str()))),
                ("roll_call", Some(Value::from(r.roll_call))),
            ];
            for (field, value) in fields {
                set_in(t, field, value, self.moved);
            }
        }
        // Comments above a removed reader go above the first reader left.
        if !orphans.is_empty() {
            let first = readers.iter_mut().find_map(|(_, item)| item.as_table_mut());
            match first {
                Some(t) => {
                    let old = t.decor().prefix().and_then(|r| r.as_str()).unwrap_or("");
                    let text = if old.is_empty() {
                        format!("\n{orphans}")
                    } else {
                        format!("{orphans}{old}")
                    };
                    t.decor_mut().set_prefix(text);
                }
                None => self.moved.push_str(&orphans),
            }
        }
        Ok(())
    }
}

/// Set (or with `None` remove) `key` in `table`, keeping the value's comments.
fn set_in(table: &mut dyn TableLike, key: &str, value: Option<Value>, moved: &mut String) {
    match value {
        None => remove_keeping_comments(table, key, moved),
        Some(mut v) => match table.get_mut(key) {
            Some(Item::Value(old)) if same(old, &v) => {}
            Some(Item::Value(old)) => {
                *v.decor_mut() = old.decor().clone();
                *old = v;
            }
            _ => {
                table.insert(key, Item::Value(v));
            }
        },
    }
}

/// The table at `parents`, created (as `[a.b]`) when `create` and missing.
fn container<'t>(
    root: &'t mut Table,
    parents: &[&str],
    create: bool,
) -> Option<&'t mut dyn TableLike> {
    let mut table: &mut dyn TableLike = root;
    for part in parents {
        if !table.contains_key(part) {
            if !create {
                return None;
            }
            table.insert(part, Item::Table(Table::new()));
        }
        table = table.get_mut(part)?.as_table_like_mut()?;
    }
    Some(table)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Integer(x), Value::Integer(y)) => x.value() == y.value(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        _ => false,
    }
}

/// Comment lines (`# ...`) in a decor text.
fn comment_lines(raw: Option<&toml_edit::RawString>) -> String {
    let text = raw.and_then(|r| r.as_str()).unwrap_or("");
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .fold(String::new(), |acc, l| acc + l + "\n")
}

/// Every comment in and above an item, so removing it loses none.
fn comments_of(key: &toml_edit::Key, item: &Item) -> String {
    let mut out = comment_lines(key.leaf_decor().prefix());
    match item {
        Item::Value(v) => out += &comment_lines(v.decor().suffix()),
        Item::Table(t) => {
            out = comment_lines(t.decor().prefix()) + &out;
            for (k, i) in t.iter() {
                if let Some(key) = t.key(k) {
                    out += &comments_of(key, i);
                }
            }
        }
        _ => {}
    }
    out
}

/// Remove `key` from `table`, moving its comments to the next key of the
/// table, or else to the end of the file.
fn remove_keeping_comments(table: &mut dyn TableLike, key: &str, moved: &mut String) {
    let Some((k, item)) = table.get_key_value(key) else {
        return;
    };
    let comments = comments_of(k, item);
    let next = table
        .iter()
        .map(|(name, _)| name.to_string())
        .skip_while(|name| name != key)
        .nth(1);
    table.remove(key);
    if comments.is_empty() {
        return;
    }
    let next_is_value = next
        .as_deref()
        .and_then(|n| table.get(n))
        .is_some_and(Item::is_value);
    match next.filter(|_| next_is_value) {
        Some(n) => {
            if let Some(mut nk) = table.key_mut(&n) {
                let old = nk
                    .leaf_decor()
                    .prefix()
                    .and_then(|r| r.as_str())
                    .unwrap_or("")
                    .to_string();
                nk.leaf_decor_mut().set_prefix(format!("{comments}{old}"));
            }
        }
        None => moved.push_str(&comments),
    }
}
