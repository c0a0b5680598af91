//! `status`'s failed plan items in text: one line per failure kind (how
//! many, one example error), a few items by name, then how many more
//! (`status --json` lists them all). Pure, over the JSON `status` prints.

use serde_json::Value;

use crate::engine::item_error::FailureKind;
use crate::http::sanitize;

/// Items named one per line at most.
pub const NAMED: usize = 10;

/// The FAILED lines for the plan's `failed_items`.
pub fn text(failed: &[Value]) -> String {
    if failed.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for (kind, n, example) in by_kind(failed) {
        out.push_str(&format!(
            "FAILED  {n} {}, e.g. {}: {}\n",
            kind.words(),
            sanitize(example["id"].as_str().unwrap_or("")),
            sanitize(example["last_error"].as_str().unwrap_or("no error kept"))
        ));
    }
    for f in failed.iter().take(NAMED) {
        out.push_str(&format!(
            "FAILED    {} ({}, {} attempts, retried from {})\n",
            sanitize(f["id"].as_str().unwrap_or("")),
            kind_of(f).words(),
            f["attempts"],
            f["retry_at"].as_str().unwrap_or("-"),
        ));
    }
    if failed.len() > NAMED {
        out.push_str(&format!(
            "FAILED    ... and {} more (astrow-pac status --json lists all)\n",
            failed.len() - NAMED
        ));
    }
    out
}

fn kind_of(f: &Value) -> FailureKind {
    f["kind"]
        .as_str()
        .and_then(FailureKind::parse)
        .unwrap_or(FailureKind::Other)
}

/// The failure kinds, most first (ties in the order met): the kind, how
/// many, the first item of that kind.
fn by_kind(failed: &[Value]) -> Vec<(FailureKind, usize, &Value)> {
    let mut out: Vec<(FailureKind, usize, &Value)> = Vec::new();
    for f in failed {
        let kind = kind_of(f);
        match out.iter_mut().find(|(k, ..)| *k == kind) {
            Some(entry) => entry.1 += 1,
            None => out.push((kind, 1, f)),
        }
    }
    out.sort_by_key(|(_, n, _)| std::cmp::Reverse(*n));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed(id: &str, kind: &str, error: &str) -> Value {
        json!({"id": id, "attempts": 3, "kind": kind, "last_error": error, "retry_at": null})
    }

    /// 179 items failing on a missing licence and 2 refused: two kind
    /// lines, ten items, the rest counted; not 181 lines.
    #[test]
    fn many_failed_items_are_grouped_by_kind_with_the_rest_counted() {
        let mut items: Vec<Value> = (0..179)
            .map(|n| {
                failed(
                    &format!("update:astrow:{n}"),
                    "licence_missing",
                    "Astrow has no Employees import licence",
                )
            })
            .collect();
        items.push(failed("create:astrow:1", "rejected", "employee_no taken"));
        items.push(failed(
            "create:astrow:2",
            "rejected",
            "employee_no taken\x1b[2J",
        ));
        let out = text(&items);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2 + NAMED + 1, "{out}");
        assert_eq!(
            lines[0],
            "FAILED  179 licence missing, e.g. update:astrow:0: Astrow has no Employees import licence"
        );
        assert_eq!(
            lines[1],
            "FAILED  2 refused as invalid, e.g. create:astrow:1: employee_no taken"
        );
        assert_eq!(
            lines[2],
            "FAILED    update:astrow:0 (licence missing, 3 attempts, retried from -)"
        );
        assert_eq!(
            lines[12],
            "FAILED    ... and 171 more (astrow-pac status --json lists all)"
        );
        assert!(!out.contains('\x1b'), "{out:?}");
    }

    #[test]
    fn a_few_failed_items_are_all_named_and_none_is_nothing() {
        let items = [
            failed("u:1", "unreachable", "timed out"),
            failed("u:2", "bogus", "?"),
        ];
        let out = text(&items);
        assert_eq!(
            out,
            "FAILED  1 system unreachable, e.g. u:1: timed out\n\
             FAILED  1 failed, e.g. u:2: ?\n\
             FAILED    u:1 (system unreachable, 3 attempts, retried from -)\n\
             FAILED    u:2 (failed, 3 attempts, retried from -)\n"
        );
        assert_eq!(text(&[]), "");
    }
}
