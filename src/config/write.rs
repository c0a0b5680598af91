//! `Settings` -> an existing TOML document, touching only what changed so
//! that comments, order and formatting survive.

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::file::SaveError;
use super::schema::{self, SETTINGS};
use super::settings::Settings;

/// Write every setting of `s` into `doc`.
pub(crate) fn write_settings(doc: &mut DocumentMut, s: &Settings) -> Result<(), SaveError> {
    let mut pending_comments = String::new();
    {
        let root = doc.as_table_mut();
        let mut w = Writer {
            root,
            moved: &mut pending_comments,
        };
        let mut readers_written = false;
        for row in SETTINGS {
            if row.per_reader() {
                // Readers and console keys sit between bookings and store in the file.
                if !readers_written {
                    w.readers(s)?;
                    w.keys(s);
                    readers_written = true;
                }
                continue;
            }
            let value = toml_value(row.key, row.get(s))?;
            w.set(row.key, value);
        }
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
            for row in schema::per_reader() {
                let key = schema::reader_key(serial, row.field());
                let value = toml_value(&key, row.get_reader(r))?;
                set_in(t, row.field(), value, self.moved);
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

/// A setting's value as TOML (`None`: the setting is left out).
fn toml_value(key: &str, v: schema::Value) -> Result<Option<Value>, SaveError> {
    let unrepresentable = || SaveError::Unrepresentable {
        setting: key.to_string(),
    };
    Ok(Some(match v {
        schema::Value::Unset => return Ok(None),
        schema::Value::Text(t) => Value::from(t),
        schema::Value::Secret(s) => Value::from(s.expose()),
        schema::Value::Bool(b) => Value::from(b),
        schema::Value::Int(n) => Value::from(i64::try_from(n).map_err(|_| unrepresentable())?),
        schema::Value::Path(p) => Value::from(p.to_str().ok_or_else(unrepresentable)?),
    }))
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
