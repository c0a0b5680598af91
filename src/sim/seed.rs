//! A realistic PAC site made from a seed number, the same site for the same
//! seed: access groups (exactly one default), controllers with IN and OUT
//! readers, and keyholders whose names come from many languages and scripts,
//! with badges of all three types.

use std::collections::HashSet;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::model::{AccessGroup, Badge, BadgeType, Direction, PacEmployee, PacId, Reader};

/// What a PAC installation holds before anyone touches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacSite {
    pub groups: Vec<AccessGroup>,
    pub readers: Vec<Reader>,
    pub employees: Vec<PacEmployee>,
}

/// The first PAC id a seeded site hands out.
pub const FIRST_PAC_ID: u64 = 10001;

/// The id of the default access group of a seeded site.
pub const DEFAULT_GROUP_ID: u32 = 1;

/// Build the site of `seed` with `employees` keyholders, ordered by id.
pub fn pac_site(seed: u64, employees: usize) -> PacSite {
    let mut rng = StdRng::seed_from_u64(seed);
    let groups = access_groups();
    let readers = readers();
    let mut badges = HashSet::new();
    let mut out = Vec::with_capacity(employees);
    let mut id = FIRST_PAC_ID;
    for i in 0..employees {
        out.push(employee(&mut rng, PacId(id), i + 1, &groups, &mut badges));
        // People leave: ids of deleted keyholders leave gaps.
        id += if rng.random_bool(0.1) {
            rng.random_range(2..5)
        } else {
            1
        };
    }
    PacSite {
        groups,
        readers,
        employees: out,
    }
}

fn access_groups() -> Vec<AccessGroup> {
    let names = [
        "All staff",
        "Office",
        "Warehouse",
        "Production",
        "Server room",
        "Night shift",
        "Management",
        "Cleaning contractors",
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, name)| AccessGroup {
            id: i as u32 + 1,
            name: (*name).to_string(),
            is_default: i as u32 + 1 == DEFAULT_GROUP_ID,
        })
        .collect()
}

fn readers() -> Vec<Reader> {
    // (controller name, door name, readers: in/out or a single "none")
    let doors: [(&str, &str, bool); 6] = [
        ("Lobby 2200", "Main entrance", true),
        ("Warehouse 2200", "Warehouse gate", true),
        ("Production 2200", "Production hall", true),
        ("Car park 2200", "Car park barrier", true),
        ("Lobby 2200", "Staff turnstile", true),
        ("Server room 2200", "Server room door", false),
    ];
    let mut controllers: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (controller, door, in_out) in doors {
        let controller_id = match controllers.iter().position(|c| *c == controller) {
            Some(p) => p as u32 + 1,
            None => {
                controllers.push(controller);
                controllers.len() as u32
            }
        };
        let dirs: &[Direction] = if in_out {
            &[Direction::In, Direction::Out]
        } else {
            &[Direction::None]
        };
        for dir in dirs {
            let id = out.len() as u32 + 1;
            let name = match dir {
                Direction::In => format!("{door} IN"),
                Direction::Out => format!("{door} OUT"),
                Direction::None => door.to_string(),
            };
            out.push(Reader {
                id,
                name,
                controller_id,
                controller_name: controller.to_string(),
                serial: format!("R-{id:04}"),
                direction: *dir,
                // One reader of a real site is usually down.
                online: id != 9,
            });
        }
    }
    out
}

/// First names and last names of one language.
struct Names {
    weight: u32,
    first: &'static [&'static str],
    last: &'static [&'static str],
}

const NAMES: &[Names] = &[
    Names {
        weight: 40,
        first: &[
            "Ana",
            "Ioana",
            "Maria",
            "Elena",
            "Andreea",
            "Mihai",
            "Andrei",
            "Ștefan",
            "Răzvan",
            "Cătălina",
            "Gheorghe",
            "Bogdan",
            "Iulia",
            "Florin",
            "Tudor",
            "Oana",
            "Vlad",
        ],
        last: &[
            "Pop",
            "Popescu",
            "Ionescu",
            "Dumitrașcu",
            "Țurcanu",
            "Ștefănescu",
            "Constantin",
            "Stoica",
            "Mureșan",
            "Lăzărescu",
            "Căpraru",
            "Bălan",
            "Neagu",
            "Țepeș",
            "Munteanu",
        ],
    },
    Names {
        weight: 15,
        first: &[
            "Jürgen",
            "Käthe",
            "Björn",
            "Sören",
            "Anna",
            "Lukas",
            "Günther",
            "Jörg",
            "Lena",
            "Maximilian",
            "Ute",
        ],
        last: &[
            "Müller", "Weiß", "Groß", "Schäfer", "Köhler", "Bäcker", "Schmidt", "Hoffmann",
            "Vogel", "Straßer",
        ],
    },
    Names {
        weight: 10,
        first: &[
            "Łukasz",
            "Zofia",
            "Paweł",
            "Małgorzata",
            "Wojciech",
            "Agnieszka",
            "Michał",
            "Jędrzej",
        ],
        last: &[
            "Wójcik",
            "Dąbrowska",
            "Krzyżanowski",
            "Nowak",
            "Wiśniewski",
            "Zieliński",
            "Łęcka",
        ],
    },
    Names {
        weight: 6,
        first: &["Γιώργος", "Ελένη", "Δημήτρης", "Μαρία", "Νίκος", "Κατερίνα"],
        last: &[
            "Παπαδόπουλος",
            "Νικολάου",
            "Γεωργίου",
            "Οικονόμου",
            "Κωνσταντίνου",
        ],
    },
    Names {
        weight: 8,
        first: &[
            "Дмитрий",
            "Ольга",
            "Сергей",
            "Наталья",
            "Алексей",
            "Татьяна",
            "Юрий",
        ],
        last: &[
            "Иванов",
            "Смирнова",
            "Кузнецов",
            "Попова",
            "Соколов",
            "Лебедева",
        ],
    },
    Names {
        weight: 6,
        first: &["伟", "娜", "秀英", "敏", "静", "磊", "洋"],
        last: &["王", "李", "张", "刘", "陈", "杨"],
    },
    Names {
        weight: 5,
        first: &["محمد", "فاطمة", "أحمد", "ليلى", "يوسف", "مريم"],
        last: &["العلي", "حسن", "الخطيب", "منصور", "حداد"],
    },
    Names {
        weight: 10,
        first: &[
            "Zoltán",
            "Jiří",
            "Çağla",
            "François",
            "Søren",
            "José",
            "Aurélie",
            "Ömer",
            "Lőrinc",
        ],
        last: &[
            "Szőke",
            "Dvořák",
            "Yılmaz",
            "Lefèvre",
            "Ødegård",
            "Muñoz",
            "Nováková",
            "Öztürk",
        ],
    },
];

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn name(rng: &mut StdRng) -> (String, String) {
    let total: u32 = NAMES.iter().map(|n| n.weight).sum();
    let mut roll = rng.random_range(0..total);
    let names = NAMES
        .iter()
        .find(|n| {
            if roll < n.weight {
                true
            } else {
                roll -= n.weight;
                false
            }
        })
        .unwrap_or(&NAMES[0]);
    let first = pick(rng, names.first).to_string();
    let last = pick(rng, names.last).to_string();
    match rng.random_range(0..100) {
        // Some keyholders are known by one name only.
        0 => (String::new(), last),
        1 => (first, String::new()),
        // Double-barrelled last names.
        2..=4 => (first, format!("{last}-{}", pick(rng, names.last))),
        _ => (first, last),
    }
}

/// A new badge number of `badge_type`, upper-case hex, unique in `taken`.
pub fn badge_number(
    rng: &mut impl Rng,
    badge_type: BadgeType,
    taken: &mut HashSet<String>,
) -> String {
    loop {
        let n = match badge_type {
            // 32-bit proximity card number.
            BadgeType::PacProximity => format!("{:08X}", rng.random::<u32>()),
            // 26-bit Wiegand: facility code and card number.
            BadgeType::Wiegand2601 => format!("{:08X}", rng.random_range(0..1u32 << 26)),
            // 7-byte smart card UID.
            BadgeType::Oneprox => format!("{:014X}", rng.random_range(0..1u64 << 56)),
        };
        if taken.insert(n.clone()) {
            return n;
        }
    }
}

fn badge_type(rng: &mut StdRng) -> BadgeType {
    match rng.random_range(0..10) {
        0..=5 => BadgeType::PacProximity,
        6..=7 => BadgeType::Wiegand2601,
        _ => BadgeType::Oneprox,
    }
}

fn date(rng: &mut StdRng, from_year: i32, to_year: i32) -> Option<NaiveDate> {
    let y = rng.random_range(from_year..=to_year);
    let ordinal = rng.random_range(1..=365);
    NaiveDate::from_yo_opt(y, ordinal)
}

fn employee(
    rng: &mut StdRng,
    id: PacId,
    number: usize,
    groups: &[AccessGroup],
    taken: &mut HashSet<String>,
) -> PacEmployee {
    let (first_name, last_name) = name(rng);
    let active = !rng.random_bool(0.05);
    let valid_from = if rng.random_bool(0.9) {
        date(rng, 2015, 2026)
    } else {
        None
    };
    let valid_until = match valid_from {
        Some(from) if rng.random_bool(0.05) => {
            Some(from + chrono::Days::new(rng.random_range(30..2000)))
        }
        _ => None,
    };
    let mut access_group_ids = vec![DEFAULT_GROUP_ID];
    for _ in 0..rng.random_range(0..3) {
        let g = groups[rng.random_range(0..groups.len())].id;
        if !access_group_ids.contains(&g) {
            access_group_ids.push(g);
        }
    }
    if rng.random_bool(0.05) {
        access_group_ids.retain(|g| *g != DEFAULT_GROUP_ID);
    }
    access_group_ids.sort_unstable();
    let mut badges = Vec::new();
    match rng.random_range(0..100) {
        // No badge yet.
        0..=4 => {}
        // A lost badge, replaced.
        5..=9 => {
            let t = badge_type(rng);
            badges.push(Badge {
                number: badge_number(rng, t, taken),
                badge_type: t,
                active: false,
            });
            let t = badge_type(rng);
            badges.push(Badge {
                number: badge_number(rng, t, taken),
                badge_type: t,
                active,
            });
        }
        _ => {
            let t = badge_type(rng);
            badges.push(Badge {
                number: badge_number(rng, t, taken),
                badge_type: t,
                active,
            });
        }
    }
    PacEmployee {
        id,
        first_name,
        last_name,
        employee_number: format!("E-{number:04}"),
        active,
        valid_from,
        valid_until,
        access_group_ids,
        badges,
        external_ref: None,
        version: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_site() {
        assert_eq!(pac_site(7, 200), pac_site(7, 200));
        assert_ne!(pac_site(7, 200).employees, pac_site(8, 200).employees);
    }

    #[test]
    fn one_default_group_and_serial_readers() {
        let site = pac_site(1, 10);
        assert_eq!(site.groups.iter().filter(|g| g.is_default).count(), 1);
        assert_eq!(site.readers[0].serial, "R-0001");
        assert!(site.readers.iter().any(|r| r.direction == Direction::In));
        assert!(site.readers.iter().any(|r| r.direction == Direction::Out));
    }

    #[test]
    fn employees_are_valid_and_badges_unique_upper_hex() {
        let site = pac_site(42, 2000);
        let mut seen = HashSet::new();
        let mut last = 0;
        for e in &site.employees {
            assert!(e.id.0 > last, "ordered by id");
            last = e.id.0;
            assert!(!(e.first_name.is_empty() && e.last_name.is_empty()));
            if let (Some(f), Some(u)) = (e.valid_from, e.valid_until) {
                assert!(u >= f);
            }
            for b in &e.badges {
                assert_eq!(
                    crate::model::normalise_badge_hex(&b.number).as_deref(),
                    Some(b.number.as_str())
                );
                assert!(
                    seen.insert(b.number.clone()),
                    "duplicate badge {}",
                    b.number
                );
            }
        }
        let all: String = site
            .employees
            .iter()
            .map(|e| e.last_name.as_str())
            .collect();
        assert!(
            all.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
            "Cyrillic"
        );
        assert!(
            all.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
            "Chinese"
        );
        assert!(
            all.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
            "Arabic"
        );
        assert!(
            all.chars().any(|c| ('\u{0370}'..='\u{03FF}').contains(&c)),
            "Greek"
        );
        for t in BadgeType::ALL {
            assert!(
                site.employees
                    .iter()
                    .flat_map(|e| &e.badges)
                    .any(|b| b.badge_type == t)
            );
        }
    }
}
