//! Terminal colours as RGB: what the default, the sixteen named and the
//! 256 indexed colours look like on a dark or a light terminal.

use ratatui::style::Color;

/// An RGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`, for HTML and SVG.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// `self` over `under` at `alpha` in [0, 1].
    pub fn over(self, under: Rgb, alpha: f32) -> Rgb {
        let alpha = alpha.clamp(0.0, 1.0);
        let mix =
            |a: u8, b: u8| (f32::from(a) * alpha + f32::from(b) * (1.0 - alpha)).round() as u8;
        Rgb(
            mix(self.0, under.0),
            mix(self.1, under.1),
            mix(self.2, under.2),
        )
    }
}

/// The terminal a screenshot pretends to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Theme {
    /// Light text on a near-black background.
    #[default]
    Dark,
    /// Dark text on a near-white background; named colours darkened to stay legible.
    Light,
}

/// The sixteen ANSI colours on a dark terminal (close to xterm's, softened).
const DARK_ANSI: [Rgb; 16] = [
    Rgb(0x1c, 0x1c, 0x1c),
    Rgb(0xcd, 0x3f, 0x3f),
    Rgb(0x4e, 0xb3, 0x4e),
    Rgb(0xd8, 0xb1, 0x2a),
    Rgb(0x3b, 0x78, 0xd8),
    Rgb(0xb0, 0x52, 0xc8),
    Rgb(0x2a, 0xa8, 0xb8),
    Rgb(0xc8, 0xc8, 0xc8),
    Rgb(0x76, 0x76, 0x76),
    Rgb(0xf0, 0x60, 0x60),
    Rgb(0x7e, 0xe0, 0x7e),
    Rgb(0xf5, 0xd5, 0x5a),
    Rgb(0x6a, 0xa0, 0xf5),
    Rgb(0xd6, 0x82, 0xf0),
    Rgb(0x5a, 0xd8, 0xe6),
    Rgb(0xf4, 0xf4, 0xf4),
];

/// The sixteen ANSI colours on a light terminal.
const LIGHT_ANSI: [Rgb; 16] = [
    Rgb(0x20, 0x20, 0x20),
    Rgb(0xb4, 0x1e, 0x1e),
    Rgb(0x1e, 0x7d, 0x1e),
    Rgb(0x9a, 0x6d, 0x00),
    Rgb(0x1e, 0x50, 0xb4),
    Rgb(0x8c, 0x28, 0xa0),
    Rgb(0x00, 0x7a, 0x8a),
    Rgb(0x9a, 0x9a, 0x9a),
    Rgb(0x6a, 0x6a, 0x6a),
    Rgb(0xd2, 0x32, 0x32),
    Rgb(0x2a, 0x96, 0x2a),
    Rgb(0xb0, 0x80, 0x00),
    Rgb(0x2a, 0x64, 0xd2),
    Rgb(0xa0, 0x3c, 0xb4),
    Rgb(0x00, 0x8c, 0x9c),
    Rgb(0xff, 0xff, 0xff),
];

impl Theme {
    /// Default foreground (`Color::Reset` as text colour).
    pub fn foreground(self) -> Rgb {
        match self {
            Theme::Dark => Rgb(0xd8, 0xd8, 0xd8),
            Theme::Light => Rgb(0x24, 0x24, 0x24),
        }
    }

    /// Default background.
    pub fn background(self) -> Rgb {
        match self {
            Theme::Dark => Rgb(0x16, 0x18, 0x1c),
            Theme::Light => Rgb(0xfa, 0xfa, 0xf8),
        }
    }

    /// The colour `color` shows as; `foreground` says which default `Reset` means.
    pub fn rgb(self, color: Color, foreground: bool) -> Rgb {
        let ansi = match self {
            Theme::Dark => &DARK_ANSI,
            Theme::Light => &LIGHT_ANSI,
        };
        match color {
            Color::Reset => {
                if foreground {
                    self.foreground()
                } else {
                    self.background()
                }
            }
            Color::Black => ansi[0],
            Color::Red => ansi[1],
            Color::Green => ansi[2],
            Color::Yellow => ansi[3],
            Color::Blue => ansi[4],
            Color::Magenta => ansi[5],
            Color::Cyan => ansi[6],
            Color::Gray => ansi[7],
            Color::DarkGray => ansi[8],
            Color::LightRed => ansi[9],
            Color::LightGreen => ansi[10],
            Color::LightYellow => ansi[11],
            Color::LightBlue => ansi[12],
            Color::LightMagenta => ansi[13],
            Color::LightCyan => ansi[14],
            Color::White => ansi[15],
            Color::Indexed(index) if index < 16 => ansi[usize::from(index)],
            Color::Indexed(index) => xterm_256(index),
            Color::Rgb(r, g, b) => Rgb(r, g, b),
        }
    }
}

/// xterm's 6×6×6 cube (16–231) and grey ramp (232–255).
fn xterm_256(index: u8) -> Rgb {
    if index >= 232 {
        let level = 8 + 10 * (index - 232);
        return Rgb(level, level, level);
    }
    let cube = index - 16;
    let level = |step: u8| if step == 0 { 0 } else { 55 + 40 * step };
    Rgb(level(cube / 36), level((cube / 6) % 6), level(cube % 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_colours_follow_xterm() {
        assert_eq!(xterm_256(16), Rgb(0, 0, 0));
        assert_eq!(xterm_256(196), Rgb(255, 0, 0));
        assert_eq!(xterm_256(231), Rgb(255, 255, 255));
        assert_eq!(xterm_256(244), Rgb(128, 128, 128));
    }

    #[test]
    fn reset_means_the_theme_default() {
        assert_eq!(
            Theme::Dark.rgb(Color::Reset, true),
            Theme::Dark.foreground()
        );
        assert_eq!(
            Theme::Light.rgb(Color::Reset, false),
            Theme::Light.background()
        );
        assert_ne!(Theme::Dark.background(), Theme::Light.background());
        assert_eq!(Theme::Light.rgb(Color::Rgb(1, 2, 3), true), Rgb(1, 2, 3));
    }

    #[test]
    fn blending() {
        assert_eq!(
            Rgb(255, 255, 255).over(Rgb(0, 0, 0), 0.5),
            Rgb(128, 128, 128)
        );
        assert_eq!(Rgb(10, 20, 30).over(Rgb(0, 0, 0), 1.0), Rgb(10, 20, 30));
    }
}
