//! Text from PAC or Astrow, made safe to draw: escape sequences, control
//! characters and bidirectional overrides are removed, so a name such as
//! `"\x1b[2J\x1b]0;pwned\x07Eve"` is drawn as `Eve` and can neither move the
//! cursor, retitle the window nor reorder the line around it.

use std::borrow::Cow;

/// Bidirectional embedding, override and isolate marks: they reorder text.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// `s` has nothing [`clean`] would remove.
pub fn is_clean(s: &str) -> bool {
    // Printable ASCII is the usual case: no char decoding for it.
    s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(is_unsafe)
}

/// `s` without escape sequences or control characters; tabs and line breaks
/// become one space each (every cell is one line). Borrows when `s` is clean.
pub fn clean(s: &str) -> Cow<'_, str> {
    if is_clean(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 control sequence introducer and operating system command.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => {
            chars.next();
            skip_string(chars);
        }
        // Two-character sequences (ESC 7, ESC c, ESC ( B ...): drop the next
        // character, and a charset designator's final byte too.
        Some('(') | Some(')') | Some('*') | Some('+') => {
            chars.next();
            chars.next();
        }
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

/// CSI: parameters and intermediates, up to a final byte in `@`..=`~`.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            return;
        }
        if !(' '..='?').contains(&c) {
            // Malformed: stop at the first character that cannot belong.
            return;
        }
    }
}

/// OSC, DCS, SOS, PM, APC: up to BEL or ST (`ESC \` or U+009C).
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(clean("Jan Müller"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_are_removed() {
        assert_eq!(clean("\x1b[2J\x1b[31mEve\x1b[0m"), "Eve");
        assert_eq!(clean("\x1b]0;pwned\x07Eve"), "Eve");
        assert_eq!(clean("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
        assert_eq!(clean("a\x1b(Bb"), "ab");
        assert_eq!(clean("\u{9b}31mred"), "red");
    }

    #[test]
    fn controls_and_bidi_marks_are_removed() {
        assert_eq!(clean("a\tb\nc\rd"), "a b c d");
        assert_eq!(clean("x\x07\x08\x7fy"), "xy");
        assert_eq!(clean("abc\u{202E}fed"), "abcfed");
    }
}
