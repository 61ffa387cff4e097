//! Plain-text tables whose columns line up with their content, as `cargo`,
//! `kubectl` and `docker ps` print them: a header row, then one row per
//! item, columns two spaces apart, no box drawing, no trailing spaces.
//!
//! The same on a terminal as in a pipe or a file, whatever the terminal's
//! width (so snapshots and `grep`/`awk` see what a person sees). Every cell
//! goes through [`printable`]: cells often hold a store's or a plan's text.
//! Widths are terminal columns (`unicode-width`), so `±`, `…` and `·` count
//! as one and wide characters as two.

use unicode_width::UnicodeWidthStr;

use super::{console, escape::printable};

/// Where a column's cells sit: text on the left, numbers on the right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table being filled; [`Table::lines`] lays it out.
#[derive(Clone, Debug)]
pub struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
    indent: usize,
}

/// The gap between two columns.
const GAP: &str = "  ";

impl Table {
    /// A table with these columns (header, alignment).
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            headers: columns
                .iter()
                .map(|(name, _)| printable(name).into_owned())
                .collect(),
            aligns: columns.iter().map(|(_, align)| *align).collect(),
            rows: Vec::new(),
            indent: 0,
        }
    }

    /// Every line starts with this many spaces (a table under a heading).
    pub fn indent(mut self, spaces: usize) -> Self {
        self.indent = spaces;
        self
    }

    /// Adds a row; missing cells are empty, extra cells are dropped. Each
    /// cell is made printable.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut row: Vec<String> = cells
            .into_iter()
            .take(self.headers.len())
            .map(|cell| printable(cell.as_ref()).into_owned())
            .collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// How many rows were added (the header not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Each column's width: its widest cell, header included.
    fn widths(&self) -> Vec<usize> {
        (0..self.headers.len())
            .map(|column| {
                std::iter::once(&self.headers[column])
                    .chain(self.rows.iter().map(|row| &row[column]))
                    .map(|cell| cell.width())
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The header line, then one line per row, laid out.
    pub fn lines(&self) -> Vec<String> {
        let widths = self.widths();
        std::iter::once(&self.headers)
            .chain(&self.rows)
            .map(|cells| self.line(cells, &widths))
            .collect()
    }

    fn line(&self, cells: &[String], widths: &[usize]) -> String {
        let mut line = " ".repeat(self.indent);
        let last = cells.len().saturating_sub(1);
        for (column, cell) in cells.iter().enumerate() {
            if column > 0 {
                line.push_str(GAP);
            }
            let pad = " ".repeat(widths[column].saturating_sub(cell.width()));
            match self.aligns[column] {
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(cell);
                }
                // The last column is not padded: no trailing spaces.
                Align::Left if column == last => line.push_str(cell),
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
            }
        }
        line.truncate(line.trim_end().len());
        line
    }

    /// Prints the table to standard output (see [`console::write_line`]).
    pub fn print(&self) -> Result<(), console::StdoutError> {
        for line in self.lines() {
            console::write_line(format_args!("{line}"))?;
        }
        Ok(())
    }
}

/// `text` cut to at most `width` terminal columns, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_their_widest_cell() {
        let mut table = Table::new(&[
            ("RUN", Align::Left),
            ("EPOCHS", Align::Right),
            ("NOTE", Align::Left),
        ]);
        table.row(["M1", "3/3", "done"]);
        table.row(["M2 lr=3e-4 seed=1", "12/20", ""]);
        assert_eq!(
            table.lines(),
            [
                "RUN                EPOCHS  NOTE",
                "M1                    3/3  done",
                "M2 lr=3e-4 seed=1   12/20",
            ]
        );
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn cells_are_escaped_and_measured_in_terminal_columns() {
        let mut table = Table::new(&[("A", Align::Left), ("B", Align::Left)]).indent(2);
        table.row(["x\u{1b}[2J", "1"]);
        table.row(["0.89 ± 0.01", "2"]);
        table.row(["表", "3"]);
        let lines = table.lines();
        assert_eq!(lines[1], "  x\\u{1b}[2J   1");
        assert_eq!(lines[2], "  0.89 ± 0.01  2");
        assert_eq!(lines[3], "  表           3");
        assert!(lines.iter().all(|line| !line.ends_with(' ')));
    }

    #[test]
    fn fit_cuts_with_an_ellipsis_within_the_width() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("abcdefghij", 5), "abcd…");
        assert_eq!(fit("表表表", 4), "表…");
    }
}
