//! Text screenshots: plain, and with the terminal's own colour codes.

use std::fmt::Write;

use ratatui::{
    buffer::{Buffer, Cell},
    style::{Color, Modifier},
};
use unicode_width::UnicodeWidthStr;

/// The screen as plain text: one line per row, trailing blanks trimmed.
pub fn plain(buffer: &Buffer) -> String {
    let mut out = String::new();
    for line in rows(buffer) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Each row's text as drawn, trailing blanks kept (a wide character once,
/// not again for the cell it covers).
pub fn rows(buffer: &Buffer) -> Vec<String> {
    cell_rows(buffer)
        .into_iter()
        .map(|row| row.iter().map(|cell| symbol(cell)).collect())
        .collect()
}

/// The screen with SGR escape codes, colours exactly as the app sent them
/// (named, 256-colour or 24-bit), so `cat` on a terminal shows the screen.
pub fn ansi(buffer: &Buffer) -> String {
    let mut out = String::new();
    for row in cell_rows(buffer) {
        // Cells past the last visible one (blank, default colours) are left out.
        let visible = row
            .iter()
            .rposition(|cell| !is_blank(cell))
            .map_or(0, |last| last + 1);
        let mut current: Option<(Color, Color, Modifier)> = None;
        for cell in &row[..visible] {
            let style = (cell.fg, cell.bg, cell.modifier);
            if current != Some(style) {
                out.push_str(&sgr(cell.fg, cell.bg, cell.modifier));
                current = Some(style);
            }
            out.push_str(symbol(cell));
        }
        out.push_str("\x1b[0m\n");
    }
    out
}

/// The cells of each row, skipping those a wide character covers.
fn cell_rows(buffer: &Buffer) -> Vec<Vec<&Cell>> {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            let mut cells = Vec::new();
            let mut x = area.left();
            while x < area.right() {
                let cell = &buffer[(x, y)];
                cells.push(cell);
                x += symbol(cell).width().max(1) as u16;
            }
            cells
        })
        .collect()
}

fn symbol(cell: &Cell) -> &str {
    if cell.symbol().is_empty() {
        " "
    } else {
        cell.symbol()
    }
}

fn is_blank(cell: &Cell) -> bool {
    symbol(cell) == " "
        && cell.bg == Color::Reset
        && !cell.modifier.contains(Modifier::REVERSED)
        && !cell.modifier.contains(Modifier::UNDERLINED)
}

/// One `ESC[0;…m` sequence that sets the whole style from scratch.
fn sgr(fg: Color, bg: Color, modifier: Modifier) -> String {
    let mut codes = String::from("\x1b[0");
    for (flag, code) in [
        (Modifier::BOLD, 1),
        (Modifier::DIM, 2),
        (Modifier::ITALIC, 3),
        (Modifier::UNDERLINED, 4),
        (Modifier::REVERSED, 7),
        (Modifier::HIDDEN, 8),
        (Modifier::CROSSED_OUT, 9),
    ] {
        if modifier.contains(flag) {
            let _ = write!(codes, ";{code}");
        }
    }
    push_color(&mut codes, fg, 30);
    push_color(&mut codes, bg, 40);
    codes.push('m');
    codes
}

/// Appends the SGR parameters for `color`; `base` is 30 (text) or 40 (background).
fn push_color(codes: &mut String, color: Color, base: u8) {
    let named = |index: u8| {
        if index < 8 {
            base + index
        } else {
            base + 60 + index - 8
        }
    };
    let _ = match color {
        Color::Reset => Ok(()),
        Color::Black => write!(codes, ";{}", named(0)),
        Color::Red => write!(codes, ";{}", named(1)),
        Color::Green => write!(codes, ";{}", named(2)),
        Color::Yellow => write!(codes, ";{}", named(3)),
        Color::Blue => write!(codes, ";{}", named(4)),
        Color::Magenta => write!(codes, ";{}", named(5)),
        Color::Cyan => write!(codes, ";{}", named(6)),
        Color::Gray => write!(codes, ";{}", named(7)),
        Color::DarkGray => write!(codes, ";{}", named(8)),
        Color::LightRed => write!(codes, ";{}", named(9)),
        Color::LightGreen => write!(codes, ";{}", named(10)),
        Color::LightYellow => write!(codes, ";{}", named(11)),
        Color::LightBlue => write!(codes, ";{}", named(12)),
        Color::LightMagenta => write!(codes, ";{}", named(13)),
        Color::LightCyan => write!(codes, ";{}", named(14)),
        Color::White => write!(codes, ";{}", named(15)),
        Color::Indexed(index) => write!(codes, ";{};5;{index}", base + 8),
        Color::Rgb(r, g, b) => write!(codes, ";{};2;{r};{g};{b}", base + 8),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::fixture;

    #[test]
    fn plain_matches_golden() {
        insta::assert_snapshot!(plain(&fixture::buffer()));
    }

    #[test]
    fn ansi_matches_golden() {
        // Escapes made visible so the golden file is readable.
        insta::assert_snapshot!(ansi(&fixture::buffer()).replace('\x1b', "␛"));
    }

    #[test]
    fn ansi_codes_for_each_colour_kind() {
        assert_eq!(
            sgr(Color::Reset, Color::Reset, Modifier::empty()),
            "\x1b[0m"
        );
        assert_eq!(
            sgr(Color::LightRed, Color::Blue, Modifier::BOLD),
            "\x1b[0;1;91;44m"
        );
        assert_eq!(
            sgr(Color::Indexed(244), Color::Rgb(1, 2, 3), Modifier::empty()),
            "\x1b[0;38;5;244;48;2;1;2;3m"
        );
    }
}
