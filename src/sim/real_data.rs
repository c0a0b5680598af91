//! The simulator's "real data" fault: answers as real installations send
//! them (protocol.md): optional fields that a record does not have come as
//! `null` or are missing, and one record per answer cannot be read (a value
//! of the wrong type; its id stays readable). Pure functions over the JSON
//! of an answer.

use serde_json::Value;

/// Every `seq % UNREADABLE_EVERY == UNREADABLE_AT` event is unreadable.
pub const UNREADABLE_EVERY: u64 = 50;
pub const UNREADABLE_AT: u64 = 7;

/// Absent values as `null`, or the key left out, alternately.
fn absent_as_null_or_missing(item: &mut Value, keys: &[&str], missing: bool) {
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    for k in keys {
        let absent = match obj.get(*k) {
            Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if absent {
            if missing {
                obj.remove(*k);
            } else {
                obj.insert((*k).to_string(), Value::Null);
            }
        }
    }
}

/// PAC's employees or readers (`{"items": [...]}`): absent optional fields
/// as null or missing; the first record unreadable.
pub fn roughen_list(answer: &mut Value, optional: &[&str], break_key: &str) {
    let Some(items) = answer.get_mut("items").and_then(Value::as_array_mut) else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        absent_as_null_or_missing(item, optional, i % 2 == 1);
    }
    if let Some(first) = items.first_mut().and_then(Value::as_object_mut) {
        first.insert(break_key.to_string(), Value::String("unreadable".into()));
    }
}

pub const EMPLOYEE_OPTIONAL: &[&str] = &[
    "first_name",
    "last_name",
    "employee_number",
    "valid_from",
    "valid_until",
    "external_ref",
];
pub const READER_OPTIONAL: &[&str] = &["name", "controller_name"];
pub const EVENT_OPTIONAL: &[&str] = &["reader_id", "badge_number", "employee_id"];

/// PAC's events: absent fields as null or missing; every 50th event (by
/// seq) unreadable.
pub fn roughen_events(answer: &mut Value) {
    let Some(items) = answer.get_mut("items").and_then(Value::as_array_mut) else {
        return;
    };
    for item in items.iter_mut() {
        let seq = item.get("seq").and_then(Value::as_u64).unwrap_or(0);
        absent_as_null_or_missing(item, EVENT_OPTIONAL, seq % 2 == 1);
        if seq % UNREADABLE_EVERY == UNREADABLE_AT
            && let Some(obj) = item.as_object_mut()
        {
            obj.insert("time".into(), Value::String("yesterday-ish".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_fields_become_null_or_missing_and_the_first_record_breaks() {
        let mut v = json!({"items": [
            {"id": 1, "employee_number": "", "external_ref": null, "active": true},
            {"id": 2, "employee_number": "", "external_ref": null, "active": true},
            {"id": 3, "employee_number": "E-3", "active": true},
        ]});
        roughen_list(&mut v, EMPLOYEE_OPTIONAL, "active");
        assert_eq!(v["items"][0]["active"], "unreadable");
        assert!(v["items"][0]["employee_number"].is_null());
        assert!(v["items"][1].get("employee_number").is_none());
        assert!(v["items"][1].get("external_ref").is_none());
        assert_eq!(v["items"][2]["employee_number"], "E-3");
    }

    #[test]
    fn every_fiftieth_event_is_unreadable() {
        let mut v = json!({"items": [
            {"seq": 6, "time": "t", "badge_number": null},
            {"seq": 7, "time": "t", "badge_number": "A"},
        ]});
        roughen_events(&mut v);
        assert_eq!(v["items"][0]["time"], "t");
        assert_eq!(v["items"][1]["time"], "yesterday-ish");
    }
}
