//! One 28×28 grayscale image in 28×14 cells: each cell is an upper half
//! block whose foreground is the upper pixel and background the lower one.
//! Without colour, [`crate::tui::RenderMode`] turns these cells into an
//! ASCII shading ramp in its one pass over the screen.

use ratatui::{buffer::Buffer, layout::Rect, style::Color, widgets::Widget};

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

/// The glyph of a two-pixel cell.
pub const HALF_BLOCK: char = '▀';

/// Draws an image's pixels (row-major, 0 black … 255 white) from the area's top-left.
pub struct Thumbnail<'a>(pub &'a [u8]);

/// The colour of a pixel value.
pub fn gray(value: u8) -> Color {
    Color::Rgb(value, value, value)
}

impl Widget for Thumbnail<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if self.0.len() != IMAGE_PIXELS {
            return;
        }
        let side = IMAGE_SIDE as u16;
        for row in 0..(side / 2).min(area.height) {
            for column in 0..side.min(area.width) {
                let pixel = |y: u16| self.0[usize::from(y * side + column)];
                if let Some(cell) = buf.cell_mut((area.x + column, area.y + row)) {
                    cell.set_char(HALF_BLOCK)
                        .set_fg(gray(pixel(2 * row)))
                        .set_bg(gray(pixel(2 * row + 1)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_support::render_widget;

    #[test]
    fn two_pixel_rows_make_one_row_of_half_blocks() {
        // Row y is y × 9 bright, and one bright pixel at row 3, column 5.
        let mut image: Vec<u8> = (0..IMAGE_PIXELS)
            .map(|i| (i / IMAGE_SIDE * 9) as u8)
            .collect();
        image[3 * IMAGE_SIDE + 5] = 255;
        let terminal = render_widget(Thumbnail(&image), 30, 15);
        let buffer = terminal.backend().buffer();
        for (x, y) in [(0, 0), (27, 0), (5, 1), (13, 13)] {
            assert_eq!(buffer[(x, y)].symbol(), "▀", "({x}, {y})");
        }
        assert_eq!((buffer[(0, 0)].fg, buffer[(0, 0)].bg), (gray(0), gray(9)));
        assert_eq!((buffer[(4, 1)].fg, buffer[(4, 1)].bg), (gray(18), gray(27)));
        assert_eq!(
            buffer[(5, 1)].bg,
            gray(255),
            "row 3 is the lower half of text row 1"
        );
        assert_eq!(
            (buffer[(27, 13)].fg, buffer[(27, 13)].bg),
            (gray(26 * 9), gray(27 * 9))
        );
        assert_eq!(buffer[(28, 0)].symbol(), " ", "28 columns wide");
        assert_eq!(buffer[(0, 14)].symbol(), " ", "14 rows high");
    }
}
