//! Two themes: colour, and one without colour (`--no-color`, `NO_COLOR`) where
//! every cue is carried by reverse video, bold, underline and the text
//! markers the panes draw in both themes (`≠`, `!`, `?`, `▲`...).

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub colour: bool,
    pub base: Style,
    pub dim: Style,
    pub title: Style,
    pub tab: Style,
    pub tab_active: Style,
    pub header: Style,
    /// The selected row of the focused list.
    pub selected: Style,
    /// Rows inside a visual selection.
    pub marked: Style,
    pub ok: Style,
    pub warn: Style,
    pub bad: Style,
    /// A field that differs between PAC and Astrow.
    pub diff: Style,
    pub before: Style,
    pub after: Style,
    /// A plan held by the deletion guard.
    pub held: Style,
    pub key: Style,
    pub border: Style,
    pub border_focus: Style,
    pub dialog: Style,
    pub button: Style,
    pub button_active: Style,
}

impl Theme {
    pub fn new(colour: bool) -> Theme {
        if colour {
            Theme::colour()
        } else {
            Theme::mono()
        }
    }

    pub fn colour() -> Theme {
        let b = Modifier::BOLD;
        Theme {
            colour: true,
            base: Style::new(),
            dim: Style::new().fg(Color::DarkGray),
            title: Style::new().add_modifier(b),
            tab: Style::new().fg(Color::Gray),
            tab_active: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(b),
            header: Style::new().bg(Color::Indexed(236)),
            selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(b),
            marked: Style::new().bg(Color::Indexed(238)),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow).add_modifier(b),
            bad: Style::new().fg(Color::LightRed).add_modifier(b),
            diff: Style::new().fg(Color::Yellow).add_modifier(b),
            before: Style::new().fg(Color::Red),
            after: Style::new().fg(Color::Green),
            held: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(b),
            key: Style::new().fg(Color::Cyan).add_modifier(b),
            border: Style::new().fg(Color::DarkGray),
            border_focus: Style::new().fg(Color::Cyan),
            dialog: Style::new().bg(Color::Indexed(235)),
            button: Style::new().fg(Color::Gray),
            button_active: Style::new()
                .fg(Color::Black)
                .bg(Color::White)
                .add_modifier(b),
        }
    }

    pub fn mono() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let rev = Style::new().add_modifier(Modifier::REVERSED);
        Theme {
            colour: false,
            base: Style::new(),
            dim: Style::new(),
            title: bold,
            tab: Style::new(),
            tab_active: rev.add_modifier(Modifier::BOLD),
            header: Style::new(),
            selected: rev,
            marked: Style::new().add_modifier(Modifier::UNDERLINED),
            ok: Style::new(),
            warn: bold,
            bad: bold.add_modifier(Modifier::UNDERLINED),
            diff: bold,
            before: Style::new(),
            after: bold,
            held: rev.add_modifier(Modifier::BOLD),
            key: bold,
            border: Style::new(),
            border_focus: bold,
            dialog: Style::new(),
            button: Style::new(),
            button_active: rev.add_modifier(Modifier::BOLD),
        }
    }
}

/// `NO_COLOR` set to anything non-empty turns colour off (no-color.org).
pub fn colour_wanted(no_color_flag: bool, no_color_env: Option<&std::ffi::OsStr>) -> bool {
    !no_color_flag && no_color_env.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_env_and_flag_turn_colour_off() {
        assert!(colour_wanted(false, None));
        assert!(colour_wanted(false, Some(std::ffi::OsStr::new(""))));
        assert!(!colour_wanted(false, Some(std::ffi::OsStr::new("1"))));
        assert!(!colour_wanted(true, None));
    }

    #[test]
    fn mono_theme_uses_no_colour() {
        let t = Theme::mono();
        for s in [t.selected, t.bad, t.diff, t.held, t.tab_active, t.warn] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
            assert!(!s.add_modifier.is_empty());
        }
    }
}
