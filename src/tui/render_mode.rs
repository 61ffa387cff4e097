//! How the screen may be drawn on this terminal: colour depth and glyphs.
//!
//! Panes draw in full colour with Unicode glyphs; [`RenderMode::apply`] then
//! rewrites the finished buffer for the terminal at hand. One pass over the
//! cells keeps every pane free of special cases.

use ratatui::{
    buffer::Buffer,
    style::{Color, Modifier},
};

use super::panes::theme::SELECTED_BG;

/// Colours the terminal can show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorMode {
    /// 24-bit colour.
    #[default]
    TrueColor,
    /// The xterm 256-colour palette.
    Indexed,
    /// No colour at all (`NO_COLOR`): status shows by symbol and text.
    None,
}

/// The colour depth and glyph set to draw with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderMode {
    pub color: ColorMode,
    /// Draw charts and gauges without braille or block glyphs.
    pub ascii: bool,
}

impl RenderMode {
    /// From the environment: `NO_COLOR` (any non-empty value) turns colour
    /// off, `COLORTERM=truecolor|24bit` allows 24-bit colour, else 256 colours.
    pub fn detect(ascii: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let truecolor =
            std::env::var("COLORTERM").is_ok_and(|value| value == "truecolor" || value == "24bit");
        let color = if no_color {
            ColorMode::None
        } else if truecolor {
            ColorMode::TrueColor
        } else {
            ColorMode::Indexed
        };
        Self { color, ascii }
    }

    /// Rewrites a drawn buffer for this mode.
    pub fn apply(self, buffer: &mut Buffer) {
        if self == Self::default() {
            return;
        }
        for cell in &mut buffer.content {
            // Image cells carry their pixels in their colours: shade them
            // while the colours are still there.
            if self.ascii || self.color == ColorMode::None {
                if let Some(shade) = image_shade(cell) {
                    cell.set_char(shade);
                    cell.fg = Color::Reset;
                    cell.bg = Color::Reset;
                    continue;
                }
            }
            match self.color {
                ColorMode::TrueColor => {}
                ColorMode::Indexed => {
                    cell.fg = to_indexed(cell.fg);
                    cell.bg = to_indexed(cell.bg);
                }
                ColorMode::None => {
                    if cell.bg == SELECTED_BG {
                        cell.modifier.insert(Modifier::REVERSED);
                    }
                    cell.fg = Color::Reset;
                    cell.bg = Color::Reset;
                }
            }
            if self.ascii {
                if let Some(replacement) = cell.symbol().chars().next().and_then(ascii_for) {
                    cell.set_char(replacement);
                }
            }
        }
    }
}

/// Darkest to brightest, for images drawn without colour.
pub const SHADES: &[u8; 10] = b" .:-=+*#%@";

/// The shade of an image cell (a half block whose colours are the gray
/// levels of its two pixels): their mean brightness on [`SHADES`].
fn image_shade(cell: &ratatui::buffer::Cell) -> Option<char> {
    if cell.symbol() != "▀" {
        return None;
    }
    let level = |color: Color| match color {
        Color::Rgb(red, green, blue) => {
            Some((u32::from(red) + u32::from(green) + u32::from(blue)) / 3)
        }
        _ => None,
    };
    let mean = u32::midpoint(level(cell.fg)?, level(cell.bg)?);
    Some(char::from(SHADES[mean as usize * SHADES.len() / 256]))
}

/// The ASCII stand-in for a braille, block, shade or whisker glyph; `None` keeps the glyph.
fn ascii_for(glyph: char) -> Option<char> {
    Some(match glyph {
        '\u{2800}' => ' ',
        '\u{2801}'..='\u{28ff}' => '*',
        '▁' => '_',
        '▂' | '▃' => '.',
        '▄' | '▅' => ':',
        '▆' | '▇' => '|',
        '█' => '#',
        '░' => '-',
        '★' | '◆' => '*',
        // The sweep table's marks: like the best; the ordering column.
        '≈' => '~',
        '▼' => 'v',
        '▲' => '^',
        // A group's marker in the run list: collapsed, expanded.
        '▸' => '+',
        '▾' => '-',
        // The compare view's whiskers: `┣━●━┫` becomes `|-o-|`.
        '┣' | '┫' => '|',
        '━' => '-',
        '●' => 'o',
        // The original's best, a line down the compare view's rows.
        '┊' => ':',
        _ => return None,
    })
}

/// Nearest colour of the xterm 256-colour cube (6×6×6) for 24-bit colours.
fn to_indexed(color: Color) -> Color {
    let Color::Rgb(red, green, blue) = color else {
        return color;
    };
    let level = |channel: u8| -> u8 {
        // Cube levels are 0, 95, 135, 175, 215, 255.
        if channel < 48 {
            0
        } else if channel < 115 {
            1
        } else {
            (channel - 35) / 40
        }
    };
    Color::Indexed(16 + 36 * level(red) + 6 * level(green) + level(blue))
}

#[cfg(test)]
mod tests {
    use ratatui::{layout::Rect, style::Style};

    use super::*;

    fn buffer() -> Buffer {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 11, 1));
        buffer.set_string(
            0,
            0,
            "█▄⣿⠀a★┣━●◆┫",
            Style::default()
                .fg(Color::Rgb(230, 20, 20))
                .bg(Color::Green),
        );
        buffer
    }

    #[test]
    fn no_color_strips_every_colour_and_keeps_text() {
        let mut buffer = buffer();
        RenderMode {
            color: ColorMode::None,
            ascii: false,
        }
        .apply(&mut buffer);
        assert!(buffer
            .content
            .iter()
            .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
        assert_eq!(buffer.content[4].symbol(), "a");
    }

    #[test]
    fn without_colour_the_selected_row_is_reversed_instead() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 4, 1));
        buffer.set_string(0, 0, "ab", Style::default());
        buffer.set_string(2, 0, "cd", crate::tui::panes::theme::selected());
        RenderMode {
            color: ColorMode::None,
            ascii: false,
        }
        .apply(&mut buffer);
        let reversed: Vec<bool> = buffer
            .content
            .iter()
            .map(|cell| cell.modifier.contains(Modifier::REVERSED))
            .collect();
        assert_eq!(reversed, [false, false, true, true]);
    }

    #[test]
    fn ascii_replaces_braille_blocks_and_whiskers() {
        let mut buffer = buffer();
        RenderMode {
            color: ColorMode::TrueColor,
            ascii: true,
        }
        .apply(&mut buffer);
        let text: String = buffer
            .content
            .iter()
            .map(ratatui::buffer::Cell::symbol)
            .collect();
        assert_eq!(text, "#:* a*|-o*|");
    }

    #[test]
    fn images_become_a_shading_ramp_without_colour_or_unicode() {
        let image = |upper: u8, lower: u8| {
            let mut buffer = Buffer::empty(Rect::new(0, 0, 2, 1));
            buffer.set_string(
                0,
                0,
                "▀▀",
                Style::default()
                    .fg(Color::Rgb(upper, upper, upper))
                    .bg(Color::Rgb(lower, lower, lower)),
            );
            buffer
        };
        for (color, ascii) in [(ColorMode::None, false), (ColorMode::Indexed, true)] {
            let mode = RenderMode { color, ascii };
            for (upper, lower, shade) in
                [(0, 0, " "), (255, 255, "@"), (0, 255, "="), (100, 80, "-")]
            {
                let mut buffer = image(upper, lower);
                mode.apply(&mut buffer);
                let cell = &buffer.content[0];
                assert_eq!(cell.symbol(), shade, "{mode:?} {upper}/{lower}");
                assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
            }
        }
        // In colour with Unicode, the half blocks stay.
        let mut buffer = image(0, 255);
        RenderMode::default().apply(&mut buffer);
        assert_eq!(buffer.content[0].symbol(), "▀");
    }

    #[test]
    fn indexed_maps_to_the_colour_cube() {
        assert_eq!(to_indexed(Color::Rgb(0, 0, 0)), Color::Indexed(16));
        assert_eq!(to_indexed(Color::Rgb(255, 255, 255)), Color::Indexed(231));
        assert_eq!(
            to_indexed(Color::Rgb(230, 20, 20)),
            Color::Indexed(16 + 36 * 4)
        );
        assert_eq!(
            to_indexed(Color::Green),
            Color::Green,
            "named colours pass through"
        );
    }
}
