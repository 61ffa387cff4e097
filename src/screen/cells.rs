//! A buffer's cells with their colours resolved to RGB and wide characters
//! accounted for: what every image exporter draws from.

use ratatui::{buffer::Buffer, style::Modifier};
use unicode_width::UnicodeWidthStr;

use crate::draw::{Rgb, Theme};

/// How one cell looks, after reverse, dim and hidden are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Look {
    pub fg: Rgb,
    pub bg: Rgb,
    pub bold: bool,
    pub italic: bool,
    pub underlined: bool,
    pub crossed_out: bool,
}

/// One drawn character: its column, how many columns it covers, and its look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glyph<'a> {
    pub column: u16,
    pub width: u16,
    pub symbol: &'a str,
    pub look: Look,
}

/// A stretch of one row where every cell looks the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub column: u16,
    pub columns: u16,
    pub text: String,
    pub look: Look,
}

/// The rows of `buffer` as glyphs, left to right; the cells a wide
/// character covers are not repeated.
pub fn rows(buffer: &Buffer, theme: Theme) -> Vec<Vec<Glyph<'_>>> {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            let mut glyphs = Vec::with_capacity(usize::from(area.width));
            let mut x = area.left();
            while x < area.right() {
                let cell = &buffer[(x, y)];
                let symbol = if cell.symbol().is_empty() {
                    " "
                } else {
                    cell.symbol()
                };
                let width = (symbol.width().max(1) as u16).min(area.right() - x);
                glyphs.push(Glyph {
                    column: x - area.left(),
                    width,
                    symbol,
                    look: look(cell.fg, cell.bg, cell.modifier, theme),
                });
                x += width;
            }
            glyphs
        })
        .collect()
}

/// Groups a row's glyphs into runs of one look.
pub fn runs(row: &[Glyph<'_>]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for glyph in row {
        match runs.last_mut() {
            Some(run) if run.look == glyph.look => {
                run.text.push_str(glyph.symbol);
                run.columns += glyph.width;
            }
            _ => runs.push(Run {
                column: glyph.column,
                columns: glyph.width,
                text: glyph.symbol.to_string(),
                look: glyph.look,
            }),
        }
    }
    runs
}

fn look(
    fg: ratatui::style::Color,
    bg: ratatui::style::Color,
    modifier: Modifier,
    theme: Theme,
) -> Look {
    let mut fg_rgb = theme.rgb(fg, true);
    let mut bg_rgb = theme.rgb(bg, false);
    if modifier.contains(Modifier::REVERSED) {
        // A reversed default foreground becomes the background colour, as terminals do.
        std::mem::swap(&mut fg_rgb, &mut bg_rgb);
    }
    if modifier.contains(Modifier::DIM) {
        fg_rgb = fg_rgb.over(bg_rgb, 0.6);
    }
    if modifier.contains(Modifier::HIDDEN) {
        fg_rgb = bg_rgb;
    }
    Look {
        fg: fg_rgb,
        bg: bg_rgb,
        bold: modifier.contains(Modifier::BOLD),
        italic: modifier.contains(Modifier::ITALIC),
        underlined: modifier.contains(Modifier::UNDERLINED),
        crossed_out: modifier.contains(Modifier::CROSSED_OUT),
    }
}

#[cfg(test)]
mod tests {
    use ratatui::{layout::Rect, style::Style};

    use super::*;
    use crate::screen::fixture;

    #[test]
    fn reverse_swaps_the_default_colours() {
        let buffer = fixture::buffer();
        let rows = rows(&buffer, Theme::Dark);
        let reversed = rows[2].iter().find(|glyph| glyph.symbol == "r").unwrap();
        assert_eq!(reversed.look.fg, Theme::Dark.background());
        assert_eq!(reversed.look.bg, Theme::Dark.foreground());
    }

    #[test]
    fn wide_characters_cover_two_columns_once() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 5, 1));
        buffer.set_string(0, 0, "a界b", Style::default());
        let row = &rows(&buffer, Theme::Dark)[0];
        let symbols: Vec<(&str, u16, u16)> = row
            .iter()
            .map(|glyph| (glyph.symbol, glyph.column, glyph.width))
            .collect();
        assert_eq!(
            symbols,
            [("a", 0, 1), ("界", 1, 2), ("b", 3, 1), (" ", 4, 1)]
        );
    }

    #[test]
    fn runs_merge_cells_that_look_alike() {
        let buffer = fixture::buffer();
        let rows = rows(&buffer, Theme::Dark);
        let runs = runs(&rows[3]);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].text, "└───────┘   ");
        assert_eq!(runs[0].columns, 12);
    }
}
