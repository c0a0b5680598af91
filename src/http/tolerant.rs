//! Reading answers from real installations (protocol.md, common rules): an
//! optional field may be `null` or missing, and both mean "absent"; one
//! record a client cannot make sense of is set aside with the reason, never
//! stops the rest of a listing, and is never read as "gone".

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// For `#[serde(default, deserialize_with = "null_as_default")]`: a field
/// that is `null` reads as its default (empty text, `None`, `false`).
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A record of a listing that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// What listing it came from ("PAC employees").
    pub listing: &'static str,
    /// Its id, when that much could be read.
    pub id: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for SetAside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.id {
            Some(id) => write!(f, "{} record {id}: {}", self.listing, self.reason),
            None => write!(
                f,
                "{} record without a readable id: {}",
                self.listing, self.reason
            ),
        }
    }
}

/// Read each item of a listing on its own: the readable ones in order, the
/// others set aside with the reason (and their `id_key`, when readable).
pub fn read_items<T: DeserializeOwned>(
    listing: &'static str,
    id_key: &str,
    items: Vec<serde_json::Value>,
) -> (Vec<T>, Vec<SetAside>) {
    let mut ok = Vec::with_capacity(items.len());
    let mut aside = Vec::new();
    for v in items {
        let id = v.get(id_key).and_then(serde_json::Value::as_u64);
        match serde_json::from_value::<T>(v) {
            Ok(t) => ok.push(t),
            Err(e) => {
                let s = SetAside {
                    listing,
                    id,
                    reason: super::sanitize(&e.to_string()),
                };
                tracing::warn!("set aside as unreadable: {s}");
                aside.push(s);
            }
        }
    }
    (ok, aside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Rec {
        id: u64,
        #[serde(default, deserialize_with = "null_as_default")]
        name: String,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn null_and_missing_read_as_absent_and_one_bad_record_stops_nothing() {
        let items = vec![
            json!({"id": 1, "name": null, "note": null}),
            json!({"id": 2}),
            json!({"id": 3, "name": 7}),
            json!({"name": "no id"}),
            json!({"id": 5, "name": "Ana", "note": "x", "unknown": true}),
        ];
        let (ok, aside) = read_items::<Rec>("test", "id", items);
        assert_eq!(
            ok,
            vec![
                Rec {
                    id: 1,
                    name: String::new(),
                    note: None
                },
                Rec {
                    id: 2,
                    name: String::new(),
                    note: None
                },
                Rec {
                    id: 5,
                    name: "Ana".into(),
                    note: Some("x".into())
                },
            ]
        );
        assert_eq!(aside.len(), 2);
        assert_eq!(aside[0].id, Some(3));
        assert!(aside[0].reason.contains("invalid type"), "{}", aside[0]);
        assert_eq!(aside[1].id, None);
        assert!(aside[1].to_string().contains("without a readable id"));
    }
}
