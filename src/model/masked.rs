//! Badge numbers in the log: a badge number is the credential that opens
//! doors (a known number is what a cloned card needs), so a log line shows
//! only its last four characters (`…2C88`). Every log site that names a
//! badge prints it through [`LogBadge`]; free text that may quote one
//! (an answer from Astrow) goes through [`mask_badges_in`]. The console and
//! `status` show whole numbers to the administrator who asks: they do not
//! use these.

use std::fmt;

/// How many trailing characters of a badge number a log line keeps.
pub const SHOWN: usize = 4;

/// A badge number as a log line may show it: `…` and its last four
/// characters. `Display` and `Debug` both mask; the whole number cannot be
/// read back from it.
#[derive(Clone, Copy)]
pub struct LogBadge<'a>(&'a str);

impl<'a> LogBadge<'a> {
    pub fn new(number: &'a str) -> Self {
        LogBadge(number)
    }
}

impl fmt::Display for LogBadge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&masked(self.0))
    }
}

impl fmt::Debug for LogBadge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `…` and the last [`SHOWN`] characters of `number` (trimmed).
pub fn masked(number: &str) -> String {
    let number = number.trim();
    let chars: Vec<char> = number.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(SHOWN)..].iter().collect();
    format!("…{tail}")
}

/// `text` with every whole occurrence of each of `badges` masked.
pub fn mask_badges_in<'a>(text: &str, badges: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_string();
    for badge in badges {
        let badge = badge.trim();
        if !badge.is_empty() {
            out = out.replace(badge, &masked(badge));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_shows_only_its_last_four_characters() {
        assert_eq!(LogBadge::new("0A1B2C88").to_string(), "…2C88");
        assert_eq!(format!("{:?}", LogBadge::new(" 00000000002C88 ")), "…2C88");
        assert_eq!(LogBadge::new("C88").to_string(), "…C88");
        assert_eq!(LogBadge::new("").to_string(), "…");
        // Characters, not bytes.
        assert_eq!(masked("ÄÖÜ12345"), "…2345");
    }

    #[test]
    fn free_text_loses_the_badges_it_quotes() {
        let text = "badge_no 0A1B2C88 is unknown; 0A1B2C88 again, 77";
        assert_eq!(
            mask_badges_in(text, ["0A1B2C88", ""]),
            "badge_no …2C88 is unknown; …2C88 again, 77"
        );
    }
}
