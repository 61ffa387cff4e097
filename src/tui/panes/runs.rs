//! The run list: every run with its status, progress and results; groups
//! of seeds as one row each until expanded (see [`crate::tui::list`]), and
//! the sweep in progress on the bottom border.

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Margin, Rect},
    style::{Modifier, Style, Stylize},
    text::{Line, Span},
    widgets::{Block, Borders, Cell, Row, StatefulWidget, Table, TableState, Widget},
};

use super::theme;
use crate::tui::{
    list::{GroupSummary, ListRow},
    progress::sweep_progress,
    App, RunView, UiStatus,
};
use crate::units::{clock, thousands};

/// Draws the run list of `app`, the cursor's row highlighted.
pub struct RunsPane<'a>(pub &'a App);

impl Widget for RunsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        // The gauge column appears only while a run trains, leaving room for names otherwise.
        let training = app
            .runs
            .iter()
            .any(|run| matches!(run.status, UiStatus::Running | UiStatus::Paused));
        // A wide list (the run-list view, a big terminal) has room for more.
        let wide = area.width >= WIDE_LIST;
        let (titles, widths) = columns(training, wide);
        let header = Row::new(titles).bold();
        let rows = app.list_rows();
        let table_rows = rows.iter().map(|list_row| match list_row {
            ListRow::Run { index, member } => {
                let run = &app.runs[*index];
                let row = row(run, *member, training, wide);
                if app.is_marked(run) {
                    row.style(Style::default().add_modifier(Modifier::UNDERLINED))
                } else {
                    row
                }
            }
            // The rest of a header's row is painted over the columns below.
            ListRow::Group { members, .. } => Row::new([status_cell(summary(app, members).status)]),
        });
        let mut block = Block::default().borders(Borders::ALL).title(Span::styled(
            format!(" Runs ({}) ", app.runs.len()),
            theme::title(),
        ));
        if let Some(progress) = sweep_progress(&app.runs) {
            let room = usize::from(area.width).saturating_sub(4);
            block = block.title_bottom(format!(" {} ", progress.line(room)));
        }
        let table = Table::new(table_rows, widths)
            .header(header)
            .row_highlight_style(theme::selected())
            .block(block);
        // A throwaway table state: it scrolls the cursor into view
        // without the draw changing the app.
        let mut state = TableState::default().with_selected(app.cursor_row(&rows));
        StatefulWidget::render(table, area, buf, &mut state);
        paint_headers(app, &rows, state.offset(), area, buf);
    }
}

/// The columns' titles and widths: the gauge only while training, more
/// columns on a wide list.
fn columns(training: bool, wide: bool) -> (Vec<&'static str>, Vec<Constraint>) {
    let mut titles = vec!["", "run", "epoch", "progress", "best val", "test", "device"];
    let mut widths = vec![
        Constraint::Length(STATUS_WIDTH),
        Constraint::Min(16),
        Constraint::Length(7),
        Constraint::Length(GAUGE_WIDTH as u16),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    if wide {
        titles.splice(6..6, ["params", "test loss", "time"]);
        widths.splice(
            6..6,
            [
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Length(8),
            ],
        );
    }
    if !training {
        titles.remove(3);
        widths.remove(3);
    }
    (titles, widths)
}

/// Columns of the status cell; a header's line starts after it.
const STATUS_WIDTH: u16 = 13;

/// Writes each visible group header's line across the columns after its
/// status, where a table cell would cut it: `▸ M1 · n=5 · test
/// 89.40±0.33% · 3/5 done`. `offset` is the first row the table showed.
fn paint_headers(app: &App, rows: &[ListRow], offset: usize, area: Rect, buf: &mut Buffer) {
    let inner = area.inner(Margin::new(1, 1));
    // One line of column titles, then a line per row; one column between columns.
    let x = inner.x.saturating_add(STATUS_WIDTH + 1);
    let width = inner.right().saturating_sub(x);
    for (shown, row) in rows.iter().skip(offset).enumerate() {
        let y = inner.y.saturating_add(1).saturating_add(shown as u16);
        if y >= inner.bottom() || width == 0 {
            break;
        }
        if let ListRow::Group {
            name,
            members,
            expanded,
            ..
        } = row
        {
            let line = header_line(name, *expanded, &summary(app, members));
            buf.set_line(x, y, &line, width);
        }
    }
}

fn summary(app: &App, members: &[usize]) -> GroupSummary {
    GroupSummary::of(members.iter().map(|&index| &app.runs[index]))
}

/// A group header's text: marker, name, size, test accuracy and runs done.
pub fn header_line(name: &str, expanded: bool, summary: &GroupSummary) -> Line<'static> {
    // `--ascii` draws these as + and - (see render_mode).
    let marker = if expanded { "▾" } else { "▸" };
    Line::from(vec![
        Span::styled(format!("{marker} {name}"), Style::default().bold()),
        Span::raw(format!(
            " · n={} · test {} · {}/{} done",
            summary.runs,
            summary.accuracy_text(),
            summary.done,
            summary.runs
        )),
    ])
}

fn status_cell(status: UiStatus) -> Cell<'static> {
    let (symbol, word, color) = theme::status(status);
    Cell::from(Line::from(vec![
        Span::styled(format!("{symbol} "), Style::default().fg(color)),
        Span::styled(word.to_string(), Style::default().fg(color)),
    ]))
}

/// A run's row; a group's member is indented under its header.
fn row(run: &RunView, member: bool, with_gauge: bool, wide: bool) -> Row<'static> {
    let (_, _, color) = theme::status(run.status);
    // Active runs show the epoch in progress; the others, the epochs they completed.
    let epoch = if run.is_active() && run.epoch > 0 {
        format!("{}/{}", run.epoch, run.spec.epochs)
    } else if run.status == UiStatus::Planned {
        format!("-/{}", run.spec.epochs)
    } else {
        format!("{}/{}", run.epochs.len(), run.spec.epochs)
    };
    let percent = |value: Option<f64>| {
        value.map_or_else(|| "-".to_string(), |v| format!("{:.2}%", v * 100.0))
    };
    let indent = if member { "  " } else { "" };
    let mut cells = vec![
        status_cell(run.status),
        Cell::from(format!("{indent}{}", run.spec.title())),
        Cell::from(epoch),
        Cell::from(Span::styled(gauge(run), Style::default().fg(color))),
        Cell::from(percent(run.best_val_accuracy())),
        Cell::from(percent(run.test.as_ref().map(|test| test.accuracy))),
        Cell::from(run.device.clone().unwrap_or_else(|| "-".into())),
    ];
    if wide {
        let params = run.params.map_or_else(|| "-".into(), thousands);
        let test_loss = run
            .test
            .as_ref()
            .map_or_else(|| "-".into(), |test| format!("{:.4}", test.loss));
        // Active runs count their time so far; the others, their epochs'.
        let seconds = if run.is_active() {
            run.elapsed_secs
        } else {
            run.epochs.iter().map(|row| row.seconds).sum()
        };
        let time = if seconds > 0.0 {
            clock(seconds)
        } else {
            "-".into()
        };
        cells.splice(
            6..6,
            [Cell::from(params), Cell::from(test_loss), Cell::from(time)],
        );
    }
    if !with_gauge {
        cells.remove(3);
    }
    Row::new(cells)
}

/// From this width on the list also shows parameters, test loss and time.
pub const WIDE_LIST: u16 = 110;

/// Characters of the text gauge.
const GAUGE_WIDTH: usize = 10;

/// How far the whole run is, as a bar: only for runs that are training.
fn gauge(run: &RunView) -> String {
    if !matches!(run.status, UiStatus::Running | UiStatus::Paused) || run.steps == 0 {
        return String::new();
    }
    let total = f64::from(run.spec.epochs) * run.steps as f64;
    let done = f64::from(run.epoch.saturating_sub(1)) * run.steps as f64 + run.step as f64;
    let filled = ((done / total).clamp(0.0, 1.0) * GAUGE_WIDTH as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(GAUGE_WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use ratatui::{backend::TestBackend, Terminal};

    use super::*;
    use crate::train::Event;
    use crate::tui::test_support::{buffer_text, planned_app, render_widget};

    fn rendered(app: &App, width: u16, height: u16) -> String {
        buffer_text(
            render_widget(RunsPane(app), width, height)
                .backend()
                .buffer(),
        )
    }

    #[test]
    fn lists_status_progress_and_results() {
        let mut app = planned_app(&["M1", "MLP"]);
        app.assign_id(0, "a".into());
        app.apply(&Event::EpochEnd {
            run: "a".into(),
            epoch: 1,
            epochs: 15,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy: 0.8765,
            seconds: 1.0,
        });
        app.apply(&Event::Cancelled {
            run: "a".into(),
            epochs_done: 1,
        });
        let screen = rendered(&app, 84, 5);
        let lines: Vec<&str> = screen.lines().collect();
        assert!(lines[0].starts_with("┌ Runs (2) "), "{screen}");
        assert!(
            lines[2].contains("■ interrupted M1")
                && lines[2].contains("1/15")
                && lines[2].contains("87.65%"),
            "{screen}"
        );
        assert!(
            lines[3].contains("· planned") && lines[3].contains("MLP") && lines[3].contains("-/15"),
            "{screen}"
        );
        let mut terminal = Terminal::new(TestBackend::new(84, 5)).unwrap();
        terminal
            .draw(|frame| frame.render_widget(RunsPane(&app), frame.area()))
            .unwrap();
        let selected = &terminal.backend().buffer()[(3, 2)];
        assert_eq!(
            selected.bg,
            theme::SELECTED_BG,
            "the selected row is highlighted"
        );
    }
}
