//! The alert log overlay: every alert so far, newest first, one a line
//! (`10:42:07  gpu-box  m1-3  ! diverging  loss 3.1× its best`). Hosts,
//! ids, plans and details may come from remote hosts: they are escaped.

use std::borrow::Cow;

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::Style,
    text::{Line, Span},
    widgets::{Block, Borders, Clear, Paragraph, Widget},
};
use unicode_width::UnicodeWidthStr;

use super::{text, theme};
use crate::edge::escape::printable;
use crate::tui::{keymap, state::AlertEntry};

/// The alert log, drawn into the (centered) area it is given.
pub struct AlertLog<'a>(pub &'a [AlertEntry]);

/// Most columns of the host and the run columns; longer ones end in `…`.
const HOST_MAX: usize = 14;
const RUN_MAX: usize = 24;
/// Least columns of the overlay, for its title.
const MIN_WIDTH: usize = 50;

/// One alert's cells, escaped, before they are padded into columns.
struct Cells<'a> {
    at: Cow<'a, str>,
    host: Cow<'a, str>,
    run: Cow<'a, str>,
    kind: String,
    detail: Cow<'a, str>,
    style: Style,
}

impl<'a> Cells<'a> {
    fn of(entry: &'a AlertEntry) -> Self {
        let alert = &entry.alert;
        let run = match &alert.run {
            Some(run) => printable(run.as_str()),
            None => Cow::Owned(format!("sweep {}", printable(&alert.plan))),
        };
        let (symbol, _, _, _) = theme::alert(alert.kind);
        Self {
            at: printable(&entry.at),
            host: alert
                .host
                .as_deref()
                .map_or(Cow::Borrowed("local"), printable),
            run,
            kind: format!("{symbol} {}", alert.kind.word()),
            detail: printable(&alert.detail),
            style: theme::alert_style(alert.kind),
        }
    }
}

/// Columns of the host, run and kind cells: the widest of each, clamped.
fn widths(cells: &[Cells]) -> (usize, usize, usize) {
    let widest = |cell: &dyn Fn(&Cells) -> usize| cells.iter().map(cell).max().unwrap_or(0);
    (
        widest(&|c| c.host.width()).clamp("local".len(), HOST_MAX),
        widest(&|c| c.run.width()).min(RUN_MAX),
        widest(&|c| c.kind.width()),
    )
}

impl AlertLog<'_> {
    /// The lines, newest first, each at most `width` columns.
    fn lines(&self, width: usize) -> Vec<Line<'static>> {
        if self.0.is_empty() {
            return vec![Line::from(" no alerts yet")];
        }
        let cells: Vec<Cells> = self.0.iter().rev().map(Cells::of).collect();
        let (host, run, kind) = widths(&cells);
        cells
            .iter()
            .map(|cell| {
                let spans = vec![
                    Span::raw(format!(
                        " {}  {}  {}  ",
                        cell.at,
                        text::fit(&cell.host, host),
                        text::fit(&cell.run, run)
                    )),
                    Span::styled(text::fit(&cell.kind, kind), cell.style),
                    Span::raw(format!("  {}", cell.detail)),
                ];
                text::cut(spans, width)
            })
            .collect()
    }

    /// Columns and rows the log would take whole: its longest line and a
    /// line per alert, in a border.
    pub fn wanted(&self) -> (u16, u16) {
        let longest = self
            .lines(usize::MAX)
            .iter()
            .map(Line::width)
            .max()
            .unwrap_or(0);
        let width = (longest + 3).max(MIN_WIDTH);
        let height = self.0.len().max(1) + 2;
        (
            u16::try_from(width).unwrap_or(u16::MAX),
            u16::try_from(height).unwrap_or(u16::MAX),
        )
    }
}

impl Widget for AlertLog<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        Clear.render(area, buf);
        let inner = usize::from(area.width.saturating_sub(2));
        let rows = usize::from(area.height.saturating_sub(2));
        let mut lines = self.lines(inner);
        let mut block = Block::default().borders(Borders::ALL).title(format!(
            " Alerts ({}, times UTC) · {} ",
            self.0.len(),
            keymap::summary(&keymap::ALERTS)
        ));
        // The newest are on top: what does not fit is the oldest.
        if lines.len() > rows {
            block = block.title_bottom(format!(" {} older not shown ", lines.len() - rows));
            lines.truncate(rows);
        }
        Paragraph::new(lines).block(block).render(area, buf);
    }
}
