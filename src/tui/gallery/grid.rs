//! The gallery's geometry: tiles of one image each, and how many fit.

use ratatui::layout::Rect;

use crate::data::IMAGE_SIDE;

/// Columns of one image: a pixel per column.
pub const TILE_WIDTH: u16 = IMAGE_SIDE as u16;
/// Rows of one image (two pixel rows per text row) and its two caption lines.
pub const TILE_HEIGHT: u16 = IMAGE_SIDE as u16 / 2 + 2;
/// Blank columns and rows between tiles.
pub const GAP_X: u16 = 2;
pub const GAP_Y: u16 = 1;

/// Tiles across and down that fit in `inner` (at least one of each).
pub fn grid(inner: Rect) -> (usize, usize) {
    let across = (inner.width + GAP_X) / (TILE_WIDTH + GAP_X);
    let down = (inner.height + GAP_Y) / (TILE_HEIGHT + GAP_Y);
    (usize::from(across.max(1)), usize::from(down.max(1)))
}

/// The gallery pane's inside on a screen of `size`: the whole screen but
/// the status bar and the pane's border.
pub fn inner_area(size: (u16, u16)) -> Rect {
    let (width, height) = size;
    Rect::new(1, 1, width.saturating_sub(2), height.saturating_sub(3))
}

/// Images on one page on a screen of `size`.
pub fn per_page(size: (u16, u16)) -> usize {
    let (across, down) = grid(inner_area(size));
    across * down
}
