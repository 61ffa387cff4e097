//! PNG screenshots: each cell painted in its exact colours, text drawn
//! with the embedded `DejaVu` Sans Mono (bold and oblique faces included),
//! box-drawing, block and braille characters drawn from geometry.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use ratatui::buffer::Buffer;

use super::cells::{self, Look};
use crate::draw::{
    fonts::{BOLD, BOLD_OBLIQUE, OBLIQUE, REGULAR},
    glyphs::{self, CellRect},
    Canvas, Theme,
};

/// The font's line height (ascent to descent) in pixels: with `DejaVu` Sans
/// Mono a cell is then 10 × 19 pixels, text about 16 px (12 pt) in size.
pub const LINE_HEIGHT_PX: f32 = 19.0;

/// The four faces and the cell size they give.
pub struct Fonts {
    faces: [FontRef<'static>; 4],
    scale: PxScale,
    pub cell_width: u32,
    pub cell_height: u32,
    ascent: f32,
}

impl Fonts {
    /// The embedded fonts, parsed once.
    pub fn get() -> &'static Fonts {
        static FONTS: OnceLock<Fonts> = OnceLock::new();
        FONTS.get_or_init(|| {
            // The files are compiled in and known good: parsing cannot fail.
            let face = |bytes: &'static [u8]| {
                FontRef::try_from_slice(bytes).expect("embedded font parses")
            };
            let faces = [face(REGULAR), face(BOLD), face(OBLIQUE), face(BOLD_OBLIQUE)];
            let scale = PxScale::from(LINE_HEIGHT_PX);
            let scaled = faces[0].as_scaled(scale);
            let advance = scaled.h_advance(faces[0].glyph_id('M'));
            Fonts {
                cell_width: advance.round() as u32,
                cell_height: (scaled.ascent() - scaled.descent()).ceil() as u32,
                ascent: scaled.ascent(),
                scale,
                faces,
            }
        })
    }

    fn face(&self, look: &Look) -> &FontRef<'static> {
        &self.faces[usize::from(look.bold) + 2 * usize::from(look.italic)]
    }
}

/// Paints the screen: backgrounds first, then every glyph over them, so
/// glyphs that overhang their cell (italics) are not cut by a neighbour.
pub fn rasterize(buffer: &Buffer, theme: Theme) -> Canvas {
    let fonts = Fonts::get();
    let (cw, ch) = (fonts.cell_width, fonts.cell_height);
    let mut canvas = Canvas::new(
        u32::from(buffer.area.width) * cw,
        u32::from(buffer.area.height) * ch,
        theme.background(),
    );
    let rows = cells::rows(buffer, theme);
    for (y, row) in rows.iter().enumerate() {
        for glyph in row {
            let rect = cell_rect(fonts, glyph.column, y as u32, glyph.width);
            canvas.fill(rect.x, rect.y, rect.width, rect.height, glyph.look.bg);
        }
    }
    for (y, row) in rows.iter().enumerate() {
        for glyph in row {
            let rect = cell_rect(fonts, glyph.column, y as u32, glyph.width);
            for symbol_char in glyph.symbol.chars() {
                if symbol_char == ' ' {
                    continue;
                }
                if !glyphs::draw(&mut canvas, rect, symbol_char, glyph.look.fg) {
                    draw_text(&mut canvas, fonts, rect, symbol_char, &glyph.look);
                }
            }
            let baseline = rect.y + fonts.ascent.round() as u32;
            if glyph.look.underlined {
                canvas.fill(rect.x, baseline + 2, rect.width, 1, glyph.look.fg);
            }
            if glyph.look.crossed_out {
                canvas.fill(rect.x, rect.y + ch / 2, rect.width, 1, glyph.look.fg);
            }
        }
    }
    canvas
}

fn cell_rect(fonts: &Fonts, column: u16, row: u32, width: u16) -> CellRect {
    CellRect {
        x: u32::from(column) * fonts.cell_width,
        y: row * fonts.cell_height,
        width: u32::from(width) * fonts.cell_width,
        height: fonts.cell_height,
    }
}

/// Draws one character with the font, centred in its cell on the baseline.
/// A character no face has is drawn as an outlined box, as terminals do.
fn draw_text(canvas: &mut Canvas, fonts: &Fonts, rect: CellRect, ch: char, look: &Look) {
    let mut face = fonts.face(look);
    if face.glyph_id(ch).0 == 0 {
        face = &fonts.faces[0];
    }
    let id = face.glyph_id(ch);
    if id.0 == 0 {
        let (x, y, w, h) = (rect.x + 1, rect.y + 2, rect.width - 2, rect.height - 4);
        for (bx, by, bw, bh) in [
            (x, y, w, 1),
            (x, y + h - 1, w, 1),
            (x, y, 1, h),
            (x + w - 1, y, 1, h),
        ] {
            canvas.fill(bx, by, bw, bh, look.fg);
        }
        return;
    }
    let advance = face.as_scaled(fonts.scale).h_advance(id);
    let left = rect.x as f32 + (rect.width as f32 - advance) / 2.0;
    let glyph = id.with_scale_and_position(
        fonts.scale,
        ab_glyph::point(left, rect.y as f32 + fonts.ascent),
    );
    if let Some(outline) = face.outline_glyph(glyph) {
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            canvas.blend(
                bounds.min.x as i32 + gx as i32,
                bounds.min.y as i32 + gy as i32,
                look.fg,
                coverage,
            );
        });
    }
}

#[cfg(test)]
mod tests {
    use ratatui::{
        layout::Rect,
        style::{Color, Style},
    };

    use super::*;
    use crate::{
        draw::{encode_png as encode, Rgb},
        screen::fixture,
    };

    /// Decodes a PNG back to (width, height, RGB bytes).
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut data).unwrap();
        assert_eq!(info.color_type, ::png::ColorType::Rgb);
        data.truncate(info.buffer_size());
        (info.width, info.height, data)
    }

    fn pixel(data: &[u8], width: u32, x: u32, y: u32) -> Rgb {
        let at = ((y * width + x) * 3) as usize;
        Rgb(data[at], data[at + 1], data[at + 2])
    }

    #[test]
    fn cell_size_comes_from_the_font() {
        let fonts = Fonts::get();
        assert_eq!((fonts.cell_width, fonts.cell_height), (10, 19));
    }

    #[test]
    fn png_decodes_to_the_screen_size_and_colours() {
        let buffer = fixture::buffer();
        let bytes = encode(&rasterize(&buffer, Theme::Dark)).unwrap();
        let (width, height, data) = decode(&bytes);
        assert_eq!((width, height), (12 * 10, 4 * 19));
        // Cell (0, 2) has a blue background: its corner pixel is the theme's blue.
        let blue = Theme::Dark.rgb(Color::Blue, false);
        assert_eq!(pixel(&data, width, 0, 2 * 19), blue);
        // An empty cell is the theme's background.
        assert_eq!(
            pixel(&data, width, 11 * 10 + 5, 3 * 19 + 9),
            Theme::Dark.background()
        );
        // The full block (column 7, row 1) fills its cell with its red.
        for (x, y) in [(70, 19), (79, 37), (75, 28)] {
            assert_eq!(pixel(&data, width, x, y), Rgb(200, 30, 30));
        }
        // The lower half block (column 9) leaves its top half empty.
        assert_eq!(pixel(&data, width, 95, 20), Theme::Dark.background());
        assert_eq!(pixel(&data, width, 95, 36), Rgb(200, 30, 30));
    }

    #[test]
    fn box_lines_reach_the_cell_edges() {
        let canvas = rasterize(&fixture::buffer(), Theme::Dark);
        let fg = Theme::Dark.foreground();
        // "─" at column 1, row 0: its middle row is lit from edge to edge.
        let middle = 19 / 2;
        assert!((10..20).all(|x| canvas.pixel(x, middle) == fg));
        // "│" at column 0, row 1 (indexed grey 244): lit top to bottom.
        let grey = Rgb(128, 128, 128);
        assert!((19..38).all(|y| canvas.pixel(5, y) == grey));
    }

    #[test]
    fn braille_dots_land_in_their_places() {
        let canvas = rasterize(&fixture::buffer(), Theme::Dark);
        let yellow = Theme::Dark.rgb(Color::Yellow, true);
        let blue = Theme::Dark.rgb(Color::Blue, false);
        let lit = |cx: u32, cy: u32| {
            (cy..cy + 4).any(|y| (cx..cx + 5).any(|x| canvas.pixel(x, y) == yellow))
        };
        // ⣿ (column 0): all eight dots; ⡀ (column 1): only the lower-left dot.
        for row in 0..4 {
            assert!(
                lit(0, 38 + row * 19 / 4) && lit(5, 38 + row * 19 / 4),
                "row {row}"
            );
        }
        assert!(lit(10, 38 + 3 * 19 / 4));
        assert!(!lit(10, 38) && !lit(15, 38) && !lit(15, 38 + 3 * 19 / 4));
        assert_eq!(canvas.pixel(19, 38), blue);
    }

    #[test]
    fn letters_are_drawn_from_the_font() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 2, 1));
        buffer.set_string(0, 0, "W", Style::default().fg(Color::White));
        buffer.set_string(
            1,
            0,
            "W",
            Style::default()
                .fg(Color::White)
                .add_modifier(ratatui::style::Modifier::BOLD),
        );
        let canvas = rasterize(&buffer, Theme::Dark);
        let ink = |x0: u32| {
            (0..19)
                .flat_map(|y| (x0..x0 + 10).map(move |x| (x, y)))
                .filter(|&(x, y)| canvas.pixel(x, y) != Theme::Dark.background())
                .count()
        };
        let (regular, bold) = (ink(0), ink(10));
        assert!(regular > 20, "a W has ink: {regular}");
        assert!(bold > regular, "bold has more ink: {bold} vs {regular}");
    }

    #[test]
    fn italic_uses_the_oblique_face() {
        let draw = |modifier: ratatui::style::Modifier| {
            let mut buffer = Buffer::empty(Rect::new(0, 0, 1, 1));
            buffer.set_string(0, 0, "H", Style::default().add_modifier(modifier));
            rasterize(&buffer, Theme::Dark)
        };
        let upright = draw(ratatui::style::Modifier::empty());
        let italic = draw(ratatui::style::Modifier::ITALIC);
        // Where the ink sits in the top and bottom rows of the glyph: an
        // oblique "H" leans right, so its top is further right than its foot.
        let ink_x = |canvas: &Canvas, rows: std::ops::Range<u32>| {
            let (sum, count) = rows
                .flat_map(|y| (0..10).map(move |x| (x, y)))
                .filter(|&(x, y)| canvas.pixel(x, y) != Theme::Dark.background())
                .fold((0, 0), |(sum, count), (x, _)| (sum + x, count + 1));
            sum as f32 / count.max(1) as f32
        };
        let lean = |canvas: &Canvas| ink_x(canvas, 2..6) - ink_x(canvas, 10..14);
        assert!(lean(&upright).abs() < 1.0, "upright: {}", lean(&upright));
        assert!(lean(&italic) > 1.0, "italic leans: {}", lean(&italic));
    }

    #[test]
    fn interface_symbols_exist_in_the_font() {
        let fonts = Fonts::get();
        // The last ones: the compare view's mean and original markers and
        // signs (its whiskers are box drawing, drawn from geometry).
        for ch in "·→▶★✓✗‖…■▲▼●◆±−–".chars() {
            assert_ne!(fonts.faces[0].glyph_id(ch).0, 0, "{ch} is missing");
        }
    }
}
