//! The geometry of the compare view's interval rows: a value axis zoomed
//! to round numbers, which column a value falls on, a row's whisker glyphs
//! and the axis labels. Pure functions, unit-tested column by column.
//!
//! Glyphs are Unicode that nothing else on screen uses; `--ascii` turns
//! them into `|--o--|` and `*` (see [`crate::tui::render_mode`]).

/// The whisker's ends, its line, the mean and the original's value.
pub const LEFT_CAP: char = '┣';
pub const RIGHT_CAP: char = '┫';
pub const LINE: char = '━';
pub const MEAN: char = '●';
pub const ORIGINAL: char = '◆';
/// A column through every row at the original's best result.
pub const BEST_LINE: char = '┊';

/// A value axis over `width` columns: `low` at the first, `high` at the last.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueAxis {
    pub low: f64,
    pub high: f64,
    pub width: u16,
}

impl ValueAxis {
    /// Zoomed to `values`: their range padded by a tenth of it on each side
    /// (at least `min_pad`), widened to round numbers.
    pub fn fitting(values: &[f64], width: u16, min_pad: f64) -> Self {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (low, high) = nice_bounds(min, max, min_pad);
        Self { low, high, width }
    }

    /// The column of `value`, clamped to the axis.
    pub fn column(&self, value: f64) -> u16 {
        let last = f64::from(self.width.saturating_sub(1));
        let at = (value - self.low) / (self.high - self.low) * last;
        // Clamped to [0, last], which fits in u16.
        at.round().clamp(0.0, last) as u16
    }

    /// The values labelled: both ends and the middle.
    pub fn ticks(&self) -> [f64; 3] {
        [self.low, f64::midpoint(self.low, self.high), self.high]
    }
}

/// Round bounds around `min` … `max` padded by a tenth of their span (at
/// least `min_pad`): multiples of a 1-2-5 step of about a sixth of the
/// padded span.
pub fn nice_bounds(min: f64, max: f64, min_pad: f64) -> (f64, f64) {
    if !(min.is_finite() && max.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = ((max - min) * 0.1).max(min_pad).max(f64::EPSILON);
    let (low, high) = (min - pad, max + pad);
    let step = nice_step((high - low) / 6.0);
    // A hair of slack, so 88.2 / 0.1 = 881.999… still floors to 882.
    (
        (low / step + 1e-9).floor() * step,
        (high / step - 1e-9).ceil() * step,
    )
}

/// The 1-2-5 number at or above `rough`.
fn nice_step(rough: f64) -> f64 {
    let magnitude = 10f64.powf(rough.log10().floor());
    let fraction = rough / magnitude;
    let nice = [1.0, 2.0, 5.0]
        .into_iter()
        .find(|nice| fraction <= nice + 1e-9)
        .unwrap_or(10.0);
    nice * magnitude
}

/// Fewest decimals (up to 3) that write every one of `values` exactly.
pub fn decimals(values: &[f64]) -> usize {
    (0..3)
        .find(|&places| {
            let scale = 10f64.powi(places as i32);
            values
                .iter()
                .all(|v| ((v * scale).round() - v * scale).abs() < 1e-6)
        })
        .unwrap_or(3)
}

/// One row's glyphs, a char per column: the whisker from `ci.0` to `ci.1`,
/// the mean on it and the original's value, which wins where they meet
/// (the mean is written out beside the axis anyway).
pub fn whisker(
    axis: &ValueAxis,
    mean: f64,
    ci: Option<(f64, f64)>,
    original: Option<f64>,
) -> String {
    let mut cells = vec![' '; usize::from(axis.width)];
    if cells.is_empty() {
        return String::new();
    }
    if let Some((low, high)) = ci {
        let (from, to) = (
            usize::from(axis.column(low)),
            usize::from(axis.column(high)),
        );
        for cell in &mut cells[from..=to] {
            *cell = LINE;
        }
        cells[from] = LEFT_CAP;
        cells[to] = RIGHT_CAP;
    }
    cells[usize::from(axis.column(mean))] = MEAN;
    if let Some(original) = original {
        cells[usize::from(axis.column(original))] = ORIGINAL;
    }
    cells.into_iter().collect()
}

/// `glyphs` with [`BEST_LINE`] at `value`'s column where nothing else is drawn.
pub fn with_best_line(axis: &ValueAxis, glyphs: &str, value: Option<f64>) -> String {
    let Some(value) = value else {
        return glyphs.to_string();
    };
    let column = usize::from(axis.column(value));
    glyphs
        .chars()
        .enumerate()
        .map(|(index, glyph)| {
            if index == column && glyph == ' ' {
                BEST_LINE
            } else {
                glyph
            }
        })
        .collect()
}

/// The axis labels, a char per column: the low end at the first, the middle
/// centred on its column (when it has room), the high end ending at the last.
pub fn tick_labels(axis: &ValueAxis, unit: &str) -> String {
    let ticks = axis.ticks();
    let places = decimals(&ticks);
    let label = |value: f64| format!("{value:.places$}{unit}");
    let width = usize::from(axis.width);
    let mut cells = vec![' '; width];
    let mut put = |at: usize, text: &str| {
        for (offset, glyph) in text.chars().enumerate() {
            if let Some(cell) = cells.get_mut(at + offset) {
                *cell = glyph;
            }
        }
    };
    let (low, middle, high) = (label(ticks[0]), label(ticks[1]), label(ticks[2]));
    put(0, &low);
    let middle_at = usize::from(axis.column(ticks[1])).saturating_sub(middle.len() / 2);
    if middle_at > low.len() && middle_at + middle.len() < width.saturating_sub(high.len()) {
        put(middle_at, &middle);
    }
    if width > low.len() + high.len() {
        put(width - high.len(), &high);
    }
    cells.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_round_and_pad_the_values() {
        // 87.03 … 89.04 (three MLP seeds' interval), original 88.17.
        let close = |(low, high): (f64, f64), expected: (f64, f64)| {
            assert!(
                (low - expected.0).abs() < 1e-9 && (high - expected.1).abs() < 1e-9,
                "{low} {high}, expected {expected:?}"
            );
        };
        close(nice_bounds(87.03, 89.04, 0.2), (86.5, 89.5));
        // One value: at least the minimum padding.
        close(nice_bounds(88.4, 88.4, 0.2), (88.2, 88.6));
        close(nice_bounds(0.301, 0.342, 0.002), (0.29, 0.35));
        assert_eq!(
            nice_bounds(f64::INFINITY, f64::NEG_INFINITY, 0.2),
            (0.0, 1.0)
        );
        assert_eq!(nice_step(0.4), 0.5);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(0.011), 0.02);
    }

    #[test]
    fn values_map_to_columns_from_first_to_last() {
        let axis = ValueAxis {
            low: 86.0,
            high: 90.0,
            width: 41,
        };
        assert_eq!(axis.column(86.0), 0);
        assert_eq!(axis.column(90.0), 40);
        assert_eq!(axis.column(88.0), 20);
        assert_eq!(axis.column(87.64), 16, "rounded to the nearest column");
        assert_eq!(axis.column(80.0), 0, "clamped");
        assert_eq!(axis.column(95.0), 40, "clamped");
        assert_eq!(axis.ticks(), [86.0, 88.0, 90.0]);
        let fitted = ValueAxis::fitting(&[87.03, 89.04, 88.17], 40, 0.2);
        assert_eq!((fitted.low, fitted.high), (86.5, 89.5));
    }

    #[test]
    fn whisker_ends_sit_on_the_interval_columns() {
        let axis = ValueAxis {
            low: 0.0,
            high: 10.0,
            width: 11,
        };
        assert_eq!(
            whisker(&axis, 5.0, Some((3.0, 7.0)), Some(9.0)),
            "   ┣━●━┫ ◆ "
        );
        // A group of one: the dot alone.
        assert_eq!(whisker(&axis, 2.0, None, None), "  ●        ");
        // The original on the mean hides the dot; on an end, the cap.
        assert_eq!(
            whisker(&axis, 5.0, Some((4.0, 6.0)), Some(5.0)),
            "    ┣◆┫    "
        );
        assert_eq!(
            whisker(&axis, 5.0, Some((4.0, 6.0)), Some(4.0)),
            "    ◆●┫    "
        );
        // An interval wider than the axis runs to its edges.
        assert_eq!(whisker(&axis, 5.0, Some((-3.0, 13.0)), None), "┣━━━━●━━━━┫");
        let empty = ValueAxis { width: 0, ..axis };
        assert_eq!(whisker(&empty, 5.0, None, None), "");
    }

    #[test]
    fn tick_labels_at_the_ends_and_in_the_middle() {
        let axis = ValueAxis {
            low: 86.5,
            high: 89.5,
            width: 31,
        };
        assert_eq!(tick_labels(&axis, "%"), "86.5%        88.0%        89.5%");
        let whole = ValueAxis {
            low: 86.0,
            high: 90.0,
            width: 21,
        };
        assert_eq!(tick_labels(&whole, "%"), "86%      88%      90%");
        let narrow = ValueAxis { width: 12, ..axis };
        assert_eq!(
            tick_labels(&narrow, "%"),
            "86.5%  89.5%",
            "no room for the middle"
        );
        assert_eq!(decimals(&[0.295, 0.3225, 0.35]), 3);
        assert_eq!(decimals(&[88.0, 89.0]), 0);
    }
}
