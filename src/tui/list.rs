//! Selection and scroll offset of a list of any length. Only the visible
//! window is ever built; the offset is kept here so that rows do not jump
//! when data changes underneath.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
}

impl ListState {
    /// Keep `selected` inside `len` rows and visible in `height` rows.
    pub fn clamp(&mut self, len: usize, height: usize) {
        if len == 0 {
            *self = ListState::default();
            return;
        }
        self.selected = self.selected.min(len - 1);
        self.offset = visible_offset(self.selected, self.offset, len, height);
    }

    pub fn move_by(&mut self, delta: isize, len: usize, height: usize) {
        if len == 0 {
            return;
        }
        let target = self.selected as isize + delta;
        self.selected = target.clamp(0, len as isize - 1) as usize;
        self.clamp(len, height);
    }

    pub fn top(&mut self) {
        *self = ListState::default();
    }

    pub fn bottom(&mut self, len: usize, height: usize) {
        self.selected = len.saturating_sub(1);
        self.clamp(len, height);
    }

    /// The selected row moved from `old` to `new` position because rows came
    /// or went above it: move the window with it so it stays on the same line.
    pub fn follow_row(&mut self, new: usize, len: usize, height: usize) {
        let line = self.selected.saturating_sub(self.offset);
        self.selected = new;
        self.offset = new.saturating_sub(line);
        self.clamp(len, height);
    }
}

/// The first visible row so that `selected` is on screen, moving the
/// previous `offset` as little as possible and never leaving blank rows
/// below the end when the list could fill the view.
pub fn visible_offset(selected: usize, offset: usize, len: usize, height: usize) -> usize {
    let height = height.max(1);
    let mut off = offset;
    if selected < off {
        off = selected;
    } else if selected >= off + height {
        off = selected + 1 - height;
    }
    off.min(len.saturating_sub(height))
}

/// "row 12 of 4,031" (or "no rows").
pub fn position_text(selected: usize, len: usize) -> String {
    if len == 0 {
        "no rows".to_string()
    } else {
        format!("row {} of {}", thousands(selected + 1), thousands(len))
    }
}

pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_keeps_selection_visible() {
        let mut l = ListState::default();
        l.move_by(15, 100, 10);
        assert_eq!((l.selected, l.offset), (15, 6));
        l.move_by(-10, 100, 10);
        assert_eq!((l.selected, l.offset), (5, 5));
        l.bottom(100, 10);
        assert_eq!((l.selected, l.offset), (99, 90));
        l.move_by(1000, 100, 10);
        assert_eq!(l.selected, 99);
    }

    #[test]
    fn rows_inserted_above_keep_the_selected_line() {
        let mut l = ListState {
            selected: 20,
            offset: 15,
        };
        l.follow_row(23, 200, 10);
        assert_eq!((l.selected, l.offset), (23, 18));
    }

    #[test]
    fn shrinking_lists_clamp() {
        let mut l = ListState {
            selected: 50,
            offset: 45,
        };
        l.clamp(10, 10);
        assert_eq!((l.selected, l.offset), (9, 0));
        l.clamp(0, 10);
        assert_eq!(l, ListState::default());
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(thousands(100000), "100,000");
        assert_eq!(position_text(0, 1234), "row 1 of 1,234");
    }
}
