//! Which employee a person means by a number. PAC ids and Astrow personnel
//! numbers share one number space, so `12` can be PAC employee 12 and an
//! unrelated Astrow employee 12: a key says which side it means
//! (`pac:12`, `astrow:12`), and a bare number is taken only when it names
//! one person.

use serde::{Deserialize, Serialize};

/// An employee as asked for: on one side, or a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmployeeKey {
    /// PAC employee id.
    Pac(u64),
    /// Astrow personnel number.
    Astrow(u64),
    /// A bare number: a PAC id or a personnel number, when it names one person.
    Either(u64),
}

impl EmployeeKey {
    /// `pac:12`, `astrow:12` or `12` (spaces around are ignored).
    pub fn parse(text: &str) -> Result<EmployeeKey, String> {
        let t = text.trim();
        let (side, number) = match t.split_once(':') {
            Some((side, n)) => (Some(side.to_ascii_lowercase()), n),
            None => (None, t),
        };
        let id = number.trim().parse::<u64>().map_err(|_| {
            format!(
                "{t:?} is not an employee: give a PAC id (pac:12), an Astrow personnel number \
                 (astrow:12) or a bare number that names one employee"
            )
        })?;
        match side.as_deref() {
            None => Ok(EmployeeKey::Either(id)),
            Some("pac" | "p") => Ok(EmployeeKey::Pac(id)),
            Some("astrow" | "a") => Ok(EmployeeKey::Astrow(id)),
            Some(other) => Err(format!(
                "{t:?}: {other:?} is not a side: say pac:{id} or astrow:{id}"
            )),
        }
    }

    /// The number asked for.
    pub fn id(self) -> u64 {
        match self {
            EmployeeKey::Pac(id) | EmployeeKey::Astrow(id) | EmployeeKey::Either(id) => id,
        }
    }
}

impl std::fmt::Display for EmployeeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmployeeKey::Pac(id) => write!(f, "pac:{id}"),
            EmployeeKey::Astrow(id) => write!(f, "astrow:{id}"),
            EmployeeKey::Either(id) => write!(f, "{id}"),
        }
    }
}

/// One person as far as it is known: its PAC id, its personnel number, or
/// both when they are linked (or shown as one row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    pub pac: Option<u64>,
    pub astrow: Option<u64>,
}

impl Person {
    pub fn pac(id: u64) -> Person {
        Person {
            pac: Some(id),
            astrow: None,
        }
    }

    pub fn astrow(pers_no: u64) -> Person {
        Person {
            pac: None,
            astrow: Some(pers_no),
        }
    }

    /// `PAC employee 12 (linked to Astrow 40)`.
    pub fn describe(&self) -> String {
        match (self.pac, self.astrow) {
            (Some(p), Some(a)) => format!("PAC employee {p} (one person with Astrow employee {a})"),
            (Some(p), None) => format!("PAC employee {p} (no Astrow employee linked)"),
            (None, Some(a)) => format!("Astrow employee {a} (no PAC employee linked)"),
            (None, None) => "no employee".to_string(),
        }
    }
}

/// A bare number that names two different people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "employee {id} is ambiguous: it names {} and {}, two different people; \
     say pac:{id} or astrow:{id}",
    .first.describe(),
    .second.describe()
)]
pub struct AmbiguousEmployee {
    pub id: u64,
    pub first: Person,
    pub second: Person,
}

/// The person `key` means, among the people `seen` (links, console rows,
/// audit records; in any order, repeats and one-sided sightings of a
/// linked person allowed). A sided key takes the person on that side
/// (itself alone when nobody was seen); a bare number is refused when it
/// is a PAC id of one person and the personnel number of another.
pub fn resolve(key: EmployeeKey, seen: &[Person]) -> Result<Person, AmbiguousEmployee> {
    let on_pac = |id| best(seen.iter().filter(|p| p.pac == Some(id)));
    let on_astrow = |id| best(seen.iter().filter(|p| p.astrow == Some(id)));
    match key {
        EmployeeKey::Pac(id) => Ok(on_pac(id).unwrap_or(Person::pac(id))),
        EmployeeKey::Astrow(id) => Ok(on_astrow(id).unwrap_or(Person::astrow(id))),
        EmployeeKey::Either(id) => match (on_pac(id), on_astrow(id)) {
            (Some(a), Some(b)) if a == b => Ok(a),
            (Some(first), Some(second)) => Err(AmbiguousEmployee { id, first, second }),
            (Some(one), None) | (None, Some(one)) => Ok(one),
            // Known nowhere: nothing can be mixed up.
            (None, None) => Ok(Person {
                pac: Some(id),
                astrow: Some(id),
            }),
        },
    }
}

/// The fullest sighting: a linked pair over a one-sided one.
fn best<'a>(mut people: impl Iterator<Item = &'a Person>) -> Option<Person> {
    let first = *people.next()?;
    Some(people.fold(first, |b, p| {
        if b.pac.is_some() && b.astrow.is_some() {
            b
        } else if p.pac.is_some() && p.astrow.is_some() {
            *p
        } else {
            b
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(pac: u64, astrow: u64) -> Person {
        Person {
            pac: Some(pac),
            astrow: Some(astrow),
        }
    }

    #[test]
    fn keys_parse_with_or_without_a_side() {
        assert_eq!(EmployeeKey::parse("pac:12"), Ok(EmployeeKey::Pac(12)));
        assert_eq!(
            EmployeeKey::parse(" Astrow:12 "),
            Ok(EmployeeKey::Astrow(12))
        );
        assert_eq!(EmployeeKey::parse("12"), Ok(EmployeeKey::Either(12)));
        for bad in ["", "x", "pac:", "pac:-1", "badge:12", "12:12"] {
            assert!(EmployeeKey::parse(bad).is_err(), "{bad}");
        }
        assert!(
            EmployeeKey::parse("badge:12")
                .unwrap_err()
                .contains("pac:12")
        );
        for k in [
            EmployeeKey::Pac(1),
            EmployeeKey::Astrow(2),
            EmployeeKey::Either(3),
        ] {
            assert_eq!(EmployeeKey::parse(&k.to_string()), Ok(k));
        }
    }

    #[test]
    fn a_sided_key_takes_that_sides_person_only() {
        // PAC 12 is linked to Astrow 40; Astrow 12 "Mueller" is someone else.
        let seen = [linked(12, 40), Person::astrow(12), Person::pac(12)];
        assert_eq!(resolve(EmployeeKey::Pac(12), &seen), Ok(linked(12, 40)));
        assert_eq!(
            resolve(EmployeeKey::Astrow(12), &seen),
            Ok(Person::astrow(12))
        );
        assert_eq!(resolve(EmployeeKey::Pac(99), &seen), Ok(Person::pac(99)));
    }

    #[test]
    fn a_bare_number_naming_two_people_is_refused() {
        let seen = [linked(12, 40), Person::astrow(12)];
        let e = resolve(EmployeeKey::Either(12), &seen).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("pac:12") && text.contains("astrow:12"),
            "{text}"
        );
        assert!(text.contains("Astrow employee 40"), "{text}");
        // Unlinked on both sides: still two people.
        let seen = [Person::pac(7), Person::astrow(7)];
        assert!(resolve(EmployeeKey::Either(7), &seen).is_err());
    }

    #[test]
    fn a_bare_number_naming_one_person_keeps_working() {
        let seen = [linked(12, 40), Person::pac(12), Person::astrow(40)];
        assert_eq!(resolve(EmployeeKey::Either(12), &seen), Ok(linked(12, 40)));
        assert_eq!(resolve(EmployeeKey::Either(40), &seen), Ok(linked(12, 40)));
        // Linked to its own number: one person.
        let seen = [linked(5, 5)];
        assert_eq!(resolve(EmployeeKey::Either(5), &seen), Ok(linked(5, 5)));
        assert_eq!(
            resolve(EmployeeKey::Either(8), &[Person::astrow(8)]),
            Ok(Person::astrow(8))
        );
    }
}
