//! Pieces the panes share: the header, the key bar, a virtual table, dialogs.

pub mod bar;
pub mod confirm;
pub mod header;
pub mod help;
pub mod palette;
pub mod vtable;

use std::borrow::Cow;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

use super::sanitize;

/// Outside text that does not come through the snapshot (a settings file's
/// values, a dialog's lines), made safe to draw. What comes through the
/// snapshot is already clean: `AppState::snap` is a `SafeSnapshot`.
pub fn ext(s: &str) -> Cow<'_, str> {
    sanitize::clean(s)
}

/// A rectangle of `w` x `h` centred in `area` (clipped to it).
pub fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(r);
    r
}

/// Cut `s` to `w` display columns, with `…` when cut.
pub fn fit(s: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= w {
        return s.to_string();
    }
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        out.push(c);
    }
    if w > 0 {
        out.push('…');
    }
    out
}
