//! TOML document -> `Settings`, collecting every type error and unknown key
//! (with "did you mean") instead of stopping at the first.

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, Item, TableLike};

use super::Problem;
use super::schema::{self, Kind, SETTINGS, SettingRow, Value, reader_key};
use super::settings::*;
use super::validate::refused_message;

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
    let mut settings = Settings::default();
    let mut readers_read = false;
    for row in SETTINGS {
        if row.per_reader() {
            // Readers and console keys sit between bookings and store in the file.
            if !readers_read {
                settings.readers = r.readers();
                settings.keys = r.keys();
                readers_read = true;
            }
            continue;
        }
        let Some(item) = r.item(row.key) else {
            continue;
        };
        let item = item.clone();
        let read = value_of(row.kind, &item).and_then(|v| row.set(&mut settings, v));
        if read.is_none() {
            r.bad(row, row.key, &item);
        }
    }
    r.unknown_keys();
    (settings, r.problems)
}

/// The TOML item as a value of `kind` (not yet of the field's type).
fn value_of(kind: Kind, item: &Item) -> Option<Value> {
    let v = item.as_value()?;
    match kind {
        Kind::Int { .. } => v
            .as_integer()
            .and_then(|i| u64::try_from(i).ok())
            .map(Value::Int),
        Kind::Bool | Kind::OptBool => v.as_bool().map(Value::Bool),
        Kind::Secret => v.as_str().map(|t| Value::Secret(Secret::new(t))),
        Kind::Text
        | Kind::OptText
        | Kind::Path
        | Kind::OptPath
        | Kind::Choice(_)
        | Kind::OptChoice(_) => v.as_str().map(|t| Value::Text(t.to_string())),
    }
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

    /// `key` (the row's, or a reader's) holds something its row does not accept.
    fn bad(&mut self, row: &SettingRow, key: &str, item: &Item) {
        let (value, what) = if row.secret() {
            (None, "must be text in quotes".to_string())
        } else {
            let text = item.as_str().unwrap_or("");
            (Some(shown(item)), refused_message(row, text))
        };
        self.problems.push(Problem::new(key, value, what));
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
            let mut rs = ReaderSettings::default();
            for row in schema::per_reader() {
                let Some(item) = t.get(row.field()) else {
                    continue;
                };
                let read = value_of(row.kind, item).and_then(|v| row.set_reader(&mut rs, v));
                if read.is_none() {
                    self.bad(row, &reader_key(serial, row.field()), item);
                }
            }
            out.insert(serial.to_string(), rs);
        }
        out
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
    use crate::model::Direction;

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
