//! SVG screenshots: background rectangles, then one `<text>` per run of
//! cells that look alike, each stretched to its exact columns so the grid
//! holds whatever monospace font the viewer picks.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use unicode_width::UnicodeWidthStr;

use super::{cells, html::escape};
use crate::draw::Theme;

/// Cell size in SVG user units (a 14 px monospace font).
const CELL_WIDTH: f64 = 8.4;
const CELL_HEIGHT: f64 = 17.0;
const FONT_SIZE: f64 = 14.0;
/// Baseline offset from a row's top.
const BASELINE: f64 = 13.0;

/// The screen as a standalone SVG document.
pub fn image(buffer: &Buffer, theme: Theme) -> String {
    let width = f64::from(buffer.area.width) * CELL_WIDTH;
    let height = f64::from(buffer.area.height) * CELL_HEIGHT;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.1}\" height=\"{height:.1}\" \
         viewBox=\"0 0 {width:.1} {height:.1}\" font-family=\"'DejaVu Sans Mono', 'Cascadia Mono', Menlo, Consolas, monospace\" \
         font-size=\"{FONT_SIZE}\">\n<rect width=\"100%\" height=\"100%\" fill=\"{}\"/>\n",
        theme.background().hex()
    );
    let rows = cells::rows(buffer, theme);
    let runs: Vec<Vec<cells::Run>> = rows.iter().map(|row| cells::runs(row)).collect();
    for (y, row) in runs.iter().enumerate() {
        let top = y as f64 * CELL_HEIGHT;
        for run in row.iter().filter(|run| run.look.bg != theme.background()) {
            let _ = writeln!(
                out,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{CELL_HEIGHT}\" fill=\"{}\"/>",
                f64::from(run.column) * CELL_WIDTH,
                f64::from(run.columns) * CELL_WIDTH,
                run.look.bg.hex()
            );
        }
    }
    for (y, row) in runs.iter().enumerate() {
        let baseline = y as f64 * CELL_HEIGHT + BASELINE;
        for run in row.iter().filter(|run| !run.text.trim().is_empty()) {
            // Trailing blanks need no glyphs; leaving them out keeps the stretch exact.
            let text = run.text.trim_end();
            let columns = run.columns - (run.text.width() - text.width()) as u16;
            let mut attributes = format!("fill=\"{}\"", run.look.fg.hex());
            if run.look.bold {
                attributes.push_str(" font-weight=\"bold\"");
            }
            if run.look.italic {
                attributes.push_str(" font-style=\"italic\"");
            }
            if run.look.underlined {
                attributes.push_str(" text-decoration=\"underline\"");
            }
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{baseline:.1}\" textLength=\"{:.1}\" lengthAdjust=\"spacingAndGlyphs\" xml:space=\"preserve\" {attributes}>{}</text>",
                f64::from(run.column) * CELL_WIDTH,
                f64::from(columns) * CELL_WIDTH,
                escape(text)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::fixture;

    #[test]
    fn svg_matches_golden() {
        insta::assert_snapshot!(image(&fixture::buffer(), Theme::Dark));
    }
}
