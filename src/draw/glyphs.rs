//! Box-drawing, block and braille characters drawn from geometry, the way
//! terminals such as kitty and `WezTerm` draw them: fonts draw these glyphs at
//! their own size, which leaves gaps between cells; geometry fills each
//! cell edge to edge so lines and bars join.

use super::{Canvas, Rgb};

/// A cell's pixel rectangle.
#[derive(Clone, Copy, Debug)]
pub struct CellRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Arms of U+2500–U+257F as up, right, down, left: 0 none, 1 light,
/// 2 heavy, 3 double; `*` marks the arcs and diagonals drawn apart.
const BOX_ARMS: [&str; 128] = [
    "0101", "0202", "1010", "2020", "0101", "0202", "1010", "2020", // 2500
    "0101", "0202", "1010", "2020", "0110", "0210", "0120", "0220", // 2508
    "0011", "0012", "0021", "0022", "1100", "1200", "2100", "2200", // 2510
    "1001", "1002", "2001", "2002", "1110", "1210", "2110", "1120", // 2518
    "2120", "2210", "1220", "2220", "1011", "1012", "2011", "1021", // 2520
    "2021", "2012", "1022", "2022", "0111", "0112", "0211", "0212", // 2528
    "0121", "0122", "0221", "0222", "1101", "1102", "1201", "1202", // 2530
    "2101", "2102", "2201", "2202", "1111", "1112", "1211", "1212", // 2538
    "2111", "1121", "2121", "2112", "2211", "1122", "1221", "2212", // 2540
    "1222", "2122", "2221", "2222", "0101", "0202", "1010", "2020", // 2548
    "0303", "3030", "0310", "0130", "0330", "0013", "0031", "0033", // 2550
    "1300", "3100", "3300", "1003", "3001", "3003", "1310", "3130", // 2558
    "3330", "1013", "3031", "3033", "0313", "0131", "0333", "1303", // 2560
    "3101", "3303", "1313", "3131", "3333", "*", "*", "*", // 2568
    "*", "*", "*", "*", "0001", "1000", "0100", "0010", // 2570
    "0002", "2000", "0200", "0020", "0201", "1020", "0102", "2010", // 2578
];

/// Draws `ch` into `cell` if it is one of the characters drawn from
/// geometry; returns false for everything else (the font draws those).
pub fn draw(canvas: &mut Canvas, cell: CellRect, ch: char, color: Rgb) -> bool {
    let code = u32::from(ch);
    match code {
        0x2500..=0x257F => {
            box_drawing(canvas, cell, code - 0x2500, color);
            true
        }
        0x2580..=0x259F => {
            block(canvas, cell, code, color);
            true
        }
        0x2800..=0x28FF => {
            braille(canvas, cell, (code - 0x2800) as u8, color);
            true
        }
        _ => false,
    }
}

/// Light line thickness for a cell: about an eighth of its width.
fn light(cell: CellRect) -> u32 {
    (cell.width as f32 / 8.0).round().max(1.0) as u32
}

fn box_drawing(canvas: &mut Canvas, cell: CellRect, index: u32, color: Rgb) {
    let arms = BOX_ARMS[index as usize];
    if arms == "*" {
        match index {
            0x6D..=0x70 => arc(canvas, cell, index, color),
            _ => diagonals(canvas, cell, index, color),
        }
        return;
    }
    let weights: Vec<u32> = arms.bytes().map(|b| u32::from(b - b'0')).collect();
    let thin = light(cell);
    let thickness = |weight: u32| match weight {
        2 => thin * 2 + 1,
        3 => thin * 3,
        _ => thin,
    };
    let (up, right, down, left) = (weights[0], weights[1], weights[2], weights[3]);
    let cx = cell.x + cell.width / 2;
    let cy = cell.y + cell.height / 2;
    // Each arm runs from its edge past the centre by half the widest crossing
    // arm, so corners and junctions close.
    let vertical_reach = thickness(up.max(down)).div_ceil(2);
    let horizontal_reach = thickness(left.max(right)).div_ceil(2);
    let mut horizontal = |from: u32, to: u32, weight: u32| {
        let t = thickness(weight);
        if weight == 3 {
            for offset in [0, 2 * thin] {
                canvas.fill(from, cy - t / 2 + offset, to - from, thin, color);
            }
        } else {
            canvas.fill(from, cy - t / 2, to - from, t, color);
        }
    };
    if left > 0 {
        horizontal(cell.x, cx + vertical_reach, left);
    }
    if right > 0 {
        horizontal(
            cx.saturating_sub(vertical_reach),
            cell.x + cell.width,
            right,
        );
    }
    let mut vertical = |from: u32, to: u32, weight: u32| {
        let t = thickness(weight);
        if weight == 3 {
            for offset in [0, 2 * thin] {
                canvas.fill(cx - t / 2 + offset, from, thin, to - from, color);
            }
        } else {
            canvas.fill(cx - t / 2, from, t, to - from, color);
        }
    };
    if up > 0 {
        vertical(cell.y, cy + horizontal_reach, up);
    }
    if down > 0 {
        vertical(
            cy.saturating_sub(horizontal_reach),
            cell.y + cell.height,
            down,
        );
    }
}

/// ╭ ╮ ╯ ╰: a quarter circle joined to straight lines at the cell edges.
fn arc(canvas: &mut Canvas, cell: CellRect, index: u32, color: Rgb) {
    let t = light(cell);
    let cx = cell.x + cell.width / 2;
    let cy = cell.y + cell.height / 2;
    // Line centres, in pixel-edge coordinates, matching the straight lines.
    let line_x = (cx - t / 2) as f32 + t as f32 / 2.0;
    let line_y = (cy - t / 2) as f32 + t as f32 / 2.0;
    let radius = cell.width.min(cell.height) as f32 / 2.0;
    let (right, down) = match index {
        0x6D => (true, true),
        0x6E => (false, true),
        0x6F => (false, false),
        _ => (true, false),
    };
    let center_x = if right {
        line_x + radius
    } else {
        line_x - radius
    };
    let center_y = if down {
        line_y + radius
    } else {
        line_y - radius
    };
    for py in cell.y..cell.y + cell.height {
        for px in cell.x..cell.x + cell.width {
            let (x, y) = (px as f32 + 0.5, py as f32 + 0.5);
            let in_quadrant = (if right { x <= center_x } else { x >= center_x })
                && (if down { y <= center_y } else { y >= center_y });
            if !in_quadrant {
                continue;
            }
            let distance = ((x - center_x).powi(2) + (y - center_y).powi(2)).sqrt();
            let coverage = t as f32 / 2.0 + 0.5 - (distance - radius).abs();
            if coverage > 0.0 {
                canvas.blend(px as i32, py as i32, color, coverage.min(1.0));
            }
        }
    }
    // Straight parts from where the arc ends to the edges.
    let arc_x_end = center_x.round() as u32;
    let arc_y_end = center_y.round() as u32;
    if right && arc_x_end < cell.x + cell.width {
        canvas.fill(
            arc_x_end,
            cy - t / 2,
            cell.x + cell.width - arc_x_end,
            t,
            color,
        );
    }
    if !right && arc_x_end > cell.x {
        canvas.fill(cell.x, cy - t / 2, arc_x_end - cell.x, t, color);
    }
    if down && arc_y_end < cell.y + cell.height {
        canvas.fill(
            cx - t / 2,
            arc_y_end,
            t,
            cell.y + cell.height - arc_y_end,
            color,
        );
    }
    if !down && arc_y_end > cell.y {
        canvas.fill(cx - t / 2, cell.y, t, arc_y_end - cell.y, color);
    }
}

/// ╱ ╲ ╳: antialiased lines corner to corner.
fn diagonals(canvas: &mut Canvas, cell: CellRect, index: u32, color: Rgb) {
    let t = light(cell) as f32;
    let (w, h) = (cell.width as f32, cell.height as f32);
    let length = (w * w + h * h).sqrt();
    for py in cell.y..cell.y + cell.height {
        for px in cell.x..cell.x + cell.width {
            let x = px as f32 + 0.5 - cell.x as f32;
            let y = py as f32 + 0.5 - cell.y as f32;
            // Distances to the falling (╲) and rising (╱) diagonals.
            let falling = (h * x - w * y).abs() / length;
            let rising = (h * x + w * y - w * h).abs() / length;
            let distance = match index {
                0x71 => rising,
                0x72 => falling,
                _ => rising.min(falling),
            };
            let coverage = t / 2.0 + 0.5 - distance;
            if coverage > 0.0 {
                canvas.blend(px as i32, py as i32, color, coverage.min(1.0));
            }
        }
    }
}

/// U+2580–U+259F: eighths, halves, shades and quadrants.
fn block(canvas: &mut Canvas, cell: CellRect, code: u32, color: Rgb) {
    let CellRect {
        x,
        y,
        width: w,
        height: h,
    } = cell;
    let eighth_h = |n: u32| (h * n + 4) / 8;
    let eighth_w = |n: u32| (w * n + 4) / 8;
    match code {
        0x2580 => canvas.fill(x, y, w, h / 2, color),
        0x2581..=0x2588 => {
            let rows = eighth_h(code - 0x2580);
            canvas.fill(x, y + h - rows, w, rows, color);
        }
        0x2589..=0x258F => canvas.fill(x, y, eighth_w(8 - (code - 0x2588)), h, color),
        0x2590 => canvas.fill(x + w / 2, y, w - w / 2, h, color),
        0x2591..=0x2593 => {
            let alpha = (code - 0x2590) as f32 * 0.25;
            for py in y..y + h {
                for px in x..x + w {
                    canvas.blend(px as i32, py as i32, color, alpha);
                }
            }
        }
        0x2594 => canvas.fill(x, y, w, eighth_h(1), color),
        0x2595 => {
            let cols = eighth_w(1);
            canvas.fill(x + w - cols, y, cols, h, color);
        }
        _ => {
            // Quadrants: bits upper-left 1, upper-right 2, lower-left 4, lower-right 8.
            let bits = match code {
                0x2596 => 4,
                0x2597 => 8,
                0x2598 => 1,
                0x2599 => 1 | 4 | 8,
                0x259A => 1 | 8,
                0x259B => 1 | 2 | 4,
                0x259C => 1 | 2 | 8,
                0x259D => 2,
                0x259E => 2 | 4,
                _ => 2 | 4 | 8,
            };
            let (half_w, half_h) = (w / 2, h / 2);
            for (bit, qx, qy, qw, qh) in [
                (1, x, y, half_w, half_h),
                (2, x + half_w, y, w - half_w, half_h),
                (4, x, y + half_h, half_w, h - half_h),
                (8, x + half_w, y + half_h, w - half_w, h - half_h),
            ] {
                if bits & bit != 0 {
                    canvas.fill(qx, qy, qw, qh, color);
                }
            }
        }
    }
}

/// U+2800–U+28FF: up to eight dots in two columns of four.
fn braille(canvas: &mut Canvas, cell: CellRect, dots: u8, color: Rgb) {
    // Bit → (column, row), per the Unicode braille layout.
    const DOTS: [(u32, u32); 8] = [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
        (0, 3),
        (1, 3),
    ];
    let column_x = |column: u32| cell.x + cell.width * column / 2;
    let row_y = |row: u32| cell.y + cell.height * row / 4;
    let size = ((cell.width / 2).min(cell.height / 4) * 3 / 5).max(1);
    for (bit, (column, row)) in DOTS.iter().enumerate() {
        if dots & (1 << bit) == 0 {
            continue;
        }
        let (left, right) = (column_x(*column), column_x(column + 1));
        let (top, bottom) = (row_y(*row), row_y(row + 1));
        let dot_x = left + (right - left - size) / 2;
        let dot_y = top + (bottom - top - size) / 2;
        canvas.fill(dot_x, dot_y, size, size, color);
    }
}
