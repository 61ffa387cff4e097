//! The run list: every run with its status, progress and results; groups
//! of seeds as one row each until expanded (see [`crate::tui::list`]), and
//! the sweep in progress on the bottom border. The title says the filter
//! and the order when there are any. A merged list (runs from remote
//! hosts) names each run's host; a run with an alert carries a badge.

use std::borrow::Cow;

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Margin, Rect},
    style::{Modifier, Style, Stylize},
    text::{Line, Span},
    widgets::{Block, Borders, Cell, Row, StatefulWidget, Table, TableState, Widget},
};

use unicode_width::UnicodeWidthStr;

use super::{text, theme};
use crate::edge::escape::printable;
use crate::plan::settings::group_labels;
use crate::protocol::RunId;
use crate::store::AlertKind;
use crate::tui::{
    list::{GroupSummary, ListRow, Order},
    progress::sweep_progress,
    App, RunView, UiStatus,
};
use crate::units::{clock, thousands};

/// Draws the run list, the cursor's row highlighted: what it needs of the
/// app's state, and nothing else.
pub struct RunsPane<'a> {
    pub runs: &'a [RunView],
    /// The list's rows (groups folded or open), as [`App::list_rows`] gives them.
    pub rows: Vec<ListRow>,
    pub marked: &'a [RunId],
    /// The row the cursor is on.
    pub cursor_row: Option<usize>,
    /// ` Runs (7) `, or what the filter and the order are.
    pub title: String,
}

impl<'a> RunsPane<'a> {
    /// The run list of `app`.
    pub fn of(app: &'a App) -> Self {
        let rows = app.list_rows();
        let filter = app
            .filter
            .is_on()
            .then(|| (app.shown_count(), app.filter.text.as_str()));
        Self {
            runs: &app.runs,
            cursor_row: app.cursor_row(&rows),
            rows,
            marked: &app.marked,
            title: title(app.runs.len(), filter, app.order),
        }
    }

    fn is_marked(&self, run: &RunView) -> bool {
        run.id.as_ref().is_some_and(|id| self.marked.contains(id))
    }
}

impl Widget for RunsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let runs = self.runs;
        let title = Span::styled(self.title.clone(), theme::title());
        let columns = Columns::of(runs, area.width);
        let (titles, widths) = columns.titles_and_widths();
        let header = Row::new(titles).bold();
        let rows = &self.rows;
        let table_rows = rows.iter().map(|list_row| match list_row {
            ListRow::Run { index, member } => {
                let run = &runs[*index];
                let row = row(run, *member, columns);
                if self.is_marked(run) {
                    row.style(Style::default().add_modifier(Modifier::UNDERLINED))
                } else {
                    row
                }
            }
            // The rest of a header's row is painted over the columns below.
            ListRow::Group { members, .. } => {
                Row::new([group_status_cell(&summary(runs, members))])
            }
        });
        let mut block = Block::default().borders(Borders::ALL).title(title);
        if let Some(progress) = sweep_progress(runs) {
            let room = usize::from(area.width).saturating_sub(4);
            block = block.title_bottom(format!(" {} ", progress.line(room)));
        }
        let table = Table::new(table_rows, widths)
            .header(header)
            .row_highlight_style(theme::selected())
            .block(block);
        // A throwaway table state: it scrolls the cursor into view
        // without the draw changing the app.
        let mut state = TableState::default().with_selected(self.cursor_row);
        StatefulWidget::render(table, area, buf, &mut state);
        paint_headers(runs, rows, state.offset(), area, buf);
    }
}

/// ` Runs (7) `; with a filter, how many runs it lets through and what it
/// is (` Runs: 2 of 7 match "status:done" `); then the order, unless the plan's.
fn title(total: usize, filter: Option<(usize, &str)>, order: Order) -> String {
    let mut title = match filter {
        Some((shown, text)) => format!(" Runs: {shown} of {total} match \"{}\"", printable(text)),
        None => format!(" Runs ({total})"),
    };
    if let Some(order) = order.title() {
        title.push_str(&format!(" · {order}"));
    }
    title.push(' ');
    title
}

/// Which of the optional columns the list shows, and how wide the host and
/// Slurm columns are: one rule for the titles and every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Columns {
    /// The progress gauge: while a run trains, unless the Slurm labels need its room.
    gauge: bool,
    /// Parameters, test loss and time, on a wide list.
    wide: bool,
    /// The device. A narrow list gives its place to the Slurm column (the
    /// live pane beside it names the device); a wide one has room for both.
    device: bool,
    /// The host column's width, when any run comes from a remote host.
    host: Option<u16>,
    /// The Slurm column's width, when any run has a Slurm label.
    slurm: Option<u16>,
}

impl Columns {
    /// The columns for `runs` in a list `width` columns wide.
    fn of(runs: &[RunView], width: u16) -> Self {
        // The gauge appears only while a run trains, leaving room for names otherwise.
        let training = runs
            .iter()
            .any(|run| matches!(run.status, UiStatus::Running | UiStatus::Paused));
        // A wide list (the run-list view, a big terminal) has room for more.
        let wide = width >= WIDE_LIST;
        let plain = Self {
            gauge: training,
            wide,
            device: true,
            host: None,
            slurm: None,
        };
        let host = widest_host(runs);
        let label = widest_label(runs);
        if host.is_none() && label.is_none() {
            return plain;
        }
        // A narrow list gives the device's place to the hosts and the Slurm
        // labels (the live pane beside it names the device).
        let mut beside_gauge = Self {
            device: wide,
            host: host.map(|_| 0),
            slurm: label.map(|_| 0),
            ..plain
        };
        if let Some(wanted) = host {
            // Host names are short: as wide as the longest, unless the run
            // names would get less than their least.
            let room = beside_gauge.room(width).saturating_sub(RUN_MIN);
            beside_gauge.host = Some(wanted.min(room).max(HOST_MIN));
        }
        let Some(wanted) = label else {
            return beside_gauge;
        };
        if beside_gauge.room(width).saturating_sub(RUN_KEEP) >= wanted {
            return Self {
                slurm: Some(wanted),
                ..beside_gauge
            };
        }
        // Where Slurm has a run says more than a bar, and the epoch column
        // and the live pane still tell how far it is.
        let no_gauge = Self {
            gauge: false,
            ..beside_gauge
        };
        Self {
            slurm: Some(slurm_width(wanted, no_gauge.room(width))),
            ..no_gauge
        }
    }

    /// Columns left over for the run names once every other column has its
    /// width (a column of width 0 holds its place, for the room it shares
    /// with the names).
    fn room(self, width: u16) -> u16 {
        let (_, widths) = self.titles_and_widths();
        let taken: u16 = widths
            .iter()
            .map(|width| match width {
                Constraint::Length(n) => *n,
                _ => 0,
            })
            .sum();
        // Two borders, one space between columns.
        let gaps = u16::try_from(widths.len())
            .unwrap_or(u16::MAX)
            .saturating_sub(1);
        width.saturating_sub(2 + taken + gaps)
    }

    /// The columns' titles and widths, in the order of a row's cells.
    fn titles_and_widths(self) -> (Vec<&'static str>, Vec<Constraint>) {
        let mut columns = vec![("", Constraint::Length(STATUS_WIDTH))];
        // Where, then what: `gpu-box  M1 · CNN`, as `host:path` reads.
        if let Some(width) = self.host {
            columns.push(("host", Constraint::Length(width)));
        }
        columns.extend([
            ("run", Constraint::Min(RUN_MIN)),
            ("epoch", Constraint::Length(7)),
        ]);
        if self.gauge {
            columns.push(("progress", Constraint::Length(GAUGE_WIDTH as u16)));
        }
        columns.extend([
            ("best val", Constraint::Length(8)),
            ("test", Constraint::Length(7)),
        ]);
        if self.wide {
            columns.extend([
                ("params", Constraint::Length(10)),
                ("test loss", Constraint::Length(9)),
                ("time", Constraint::Length(8)),
            ]);
        }
        if self.device {
            columns.push(("device", Constraint::Length(7)));
        }
        if let Some(width) = self.slurm {
            columns.push(("slurm", Constraint::Length(width)));
        }
        columns.into_iter().unzip()
    }
}

/// The widest Slurm label, as wide as the column may take; `None` when no
/// run has one (the list has no Slurm column then).
fn widest_label(runs: &[RunView]) -> Option<u16> {
    let widest = runs
        .iter()
        .filter_map(|run| run.slurm_label.as_deref())
        .map(|label| label.chars().count())
        .max()?;
    let widest = u16::try_from(widest).unwrap_or(u16::MAX);
    Some(widest.clamp("slurm".len() as u16, SLURM_MAX))
}

/// The widest host (`local` for a run of this machine), as wide as the
/// column may take; `None` when every run is local (no host column then).
fn widest_host(runs: &[RunView]) -> Option<u16> {
    runs.iter().any(|run| run.host.is_some()).then_some(())?;
    let widest = runs
        .iter()
        .map(|run| host_text(run).width())
        .max()
        .unwrap_or_default();
    let widest = u16::try_from(widest).unwrap_or(u16::MAX);
    Some(widest.clamp(HOST_MIN, HOST_MAX))
}

/// A run's host as drawn: escaped (it comes from the remote end), or `local`.
fn host_text(run: &RunView) -> Cow<'_, str> {
    run.host.as_deref().map_or(Cow::Borrowed(LOCAL), printable)
}

/// What the host column says of a run of this machine.
const LOCAL: &str = "local";
/// Least columns of the host column: `local`.
const HOST_MIN: u16 = 5;
/// Most columns of the host column; longer hosts end in `…`.
const HOST_MAX: u16 = 14;

/// How wide the Slurm column is, sharing `room` columns with the run names:
/// as wide as the `wanted` label, but a label of [`SLURM_SHORT`] columns
/// comes before names longer than [`RUN_MIN`], and longer labels only
/// after names of [`RUN_KEEP`].
fn slurm_width(wanted: u16, room: u16) -> u16 {
    let short = SLURM_SHORT.min(room.saturating_sub(RUN_MIN));
    let beyond_names = room.saturating_sub(RUN_KEEP);
    wanted.min(short.max(beyond_names)).max(SLURM_MIN)
}

/// Least columns of the run names.
const RUN_MIN: u16 = 16;
/// Columns of the run names that longer Slurm labels leave them: what a
/// name gets at 80 columns without a Slurm column.
const RUN_KEEP: u16 = 20;
/// Columns of the common Slurm labels: `pending (Priority)`, `running on node7`.
const SLURM_SHORT: u16 = 18;
/// Least columns of the Slurm column: `requeued`, `lost`, and a hint of the rest.
const SLURM_MIN: u16 = 8;
/// Most columns of the Slurm column; longer labels end in `…` (the live
/// pane shows them whole).
const SLURM_MAX: u16 = 30;

/// Columns of the status cell; a header's line starts after it.
const STATUS_WIDTH: u16 = 13;

/// Writes each visible group header's line across the columns after its
/// status, where a table cell would cut it: `▸ M1 · n=5 · test
/// 89.40±0.33% · 3/5 done`. `offset` is the first row the table showed.
fn paint_headers(runs: &[RunView], rows: &[ListRow], offset: usize, area: Rect, buf: &mut Buffer) {
    let inner = area.inner(Margin::new(1, 1));
    // One line of column titles, then a line per row; one column between columns.
    let x = inner.x.saturating_add(STATUS_WIDTH + 1);
    let width = inner.right().saturating_sub(x);
    // A sweep's groups are named by what differs; its name is cut first.
    let labels = group_labels(runs.iter().map(|run| &run.spec));
    for (shown, row) in rows.iter().skip(offset).enumerate() {
        let y = inner.y.saturating_add(1).saturating_add(shown as u16);
        if y >= inner.bottom() || width == 0 {
            break;
        }
        if let ListRow::Group {
            key,
            name,
            members,
            expanded,
        } = row
        {
            let summary = summary(runs, members);
            let room = usize::from(width).saturating_sub(header_rest(&summary).chars().count() + 2);
            let shown = labels.get(key).map_or_else(
                || name.clone(),
                |label| label.fit(room.max(HEADER_NAME_MIN)),
            );
            let line = header_line(&shown, *expanded, &summary);
            buf.set_line(x, y, &line, width);
        }
    }
}

/// The fewest columns a header's name gets before the counts after it are cut.
const HEADER_NAME_MIN: usize = 12;

fn summary(runs: &[RunView], members: &[usize]) -> GroupSummary {
    GroupSummary::of(members.iter().map(|&index| &runs[index]))
}

/// A group header's text: marker, name, size, test accuracy and runs done.
pub fn header_line(name: &str, expanded: bool, summary: &GroupSummary) -> Line<'static> {
    // `--ascii` draws these as + and - (see render_mode).
    let marker = if expanded { "▾" } else { "▸" };
    Line::from(vec![
        Span::styled(format!("{marker} {name}"), Style::default().bold()),
        Span::raw(header_rest(summary)),
    ])
}

/// ` · n=5 · test 89.40±0.33% · 3/5 done`; when the runs' statuses differ,
/// how many have each instead, which add up to n:
/// ` · test 89.40% · 2 running · 3 planned`.
fn header_rest(summary: &GroupSummary) -> String {
    let accuracy = summary.accuracy_text();
    if !summary.mixed() {
        let (done, runs) = (summary.done, summary.runs);
        return format!(" · n={runs} · test {accuracy} · {done}/{runs} done");
    }
    let counts: Vec<String> = summary
        .statuses
        .iter()
        .map(|&(status, count)| format!("{count} {}", theme::status(status).1))
        .collect();
    format!(" · test {accuracy} · {}", counts.join(" · "))
}

/// A group's status: its runs' one status, or `mixed` in the colour and
/// with the symbol of the most pressing (the header's line counts them).
fn group_status_cell(summary: &GroupSummary) -> Cell<'static> {
    if !summary.mixed() {
        return status_cell(summary.status, Style::default());
    }
    let (symbol, _, color) = theme::status(summary.status);
    Cell::from(Span::styled(
        format!("{symbol} mixed"),
        Style::default().fg(color),
    ))
}

/// A status's symbol and word in its colour, in `style` besides (bold for
/// an alert that says the same).
fn status_cell(status: UiStatus, style: Style) -> Cell<'static> {
    let (symbol, word, color) = theme::status(status);
    let style = style.fg(color);
    Cell::from(Line::from(vec![
        Span::styled(format!("{symbol} "), style),
        Span::styled(word.to_string(), style),
    ]))
}

/// A run's status, or the badge of its alert (`! diverging`) in its
/// place: the cell holds every badge, so the names keep their width, and
/// the gauge and the epoch still say how far the run is. An alert the
/// status says already (`✗ failed`) makes it bold instead, if it asks for
/// attention (a finish stays as it is). A run that ended says how, whatever
/// was told of it before; one that ended and started again shows its new
/// status, not its old end.
fn status_or_badge(run: &RunView) -> Cell<'static> {
    let plain = || status_cell(run.status, Style::default());
    let Some(kind) = run.alert else {
        return plain();
    };
    let (symbol, word, _, loud) = theme::alert(kind);
    let told = matches!(
        (run.status, kind),
        (UiStatus::Done, AlertKind::Finished)
            | (UiStatus::Failed, AlertKind::Failed)
            | (UiStatus::Crashed, AlertKind::Crashed)
            | (UiStatus::Interrupted, AlertKind::Interrupted)
            | (UiStatus::Stalled, AlertKind::Stalled)
    );
    if told && loud {
        return status_cell(run.status, Style::default().add_modifier(Modifier::BOLD));
    }
    // What is going on with a run that has not ended: the status would not say it.
    let ongoing = matches!(
        kind,
        AlertKind::Diverging
            | AlertKind::Plateaued
            | AlertKind::Stalled
            | AlertKind::Lost
            | AlertKind::Requeued
    );
    if told || !ongoing || !run.is_active() {
        return plain();
    }
    Cell::from(Span::styled(
        format!("{symbol} {word}"),
        theme::alert_style(kind),
    ))
}

/// A run's row; a group's member is indented under its header.
fn row(run: &RunView, member: bool, columns: Columns) -> Row<'static> {
    let (_, _, color) = theme::status(run.status);
    let percent = |value: Option<f64>| {
        value.map_or_else(|| "-".to_string(), |v| format!("{:.2}%", v * 100.0))
    };
    let indent = if member { "  " } else { "" };
    let mut cells = vec![status_or_badge(run)];
    if let Some(width) = columns.host {
        cells.push(Cell::from(text::fit(&host_text(run), usize::from(width))));
    }
    cells.extend([
        Cell::from(format!("{indent}{}", run.spec.title())),
        Cell::from(epoch_text(run)),
    ]);
    if columns.gauge {
        cells.push(Cell::from(Span::styled(
            gauge(run),
            Style::default().fg(color),
        )));
    }
    cells.extend([
        Cell::from(percent(run.best_val_accuracy())),
        Cell::from(percent(
            run.logged().test.as_ref().map(|test| test.accuracy),
        )),
    ]);
    if columns.wide {
        cells.extend(wide_cells(run));
    }
    if columns.device {
        cells.push(Cell::from(
            run.logged().device.clone().unwrap_or_else(|| "-".into()),
        ));
    }
    if let Some(width) = columns.slurm {
        cells.push(slurm_cell(run.slurm_label.as_deref(), width));
    }
    Row::new(cells)
}

/// Active runs show the epoch in progress; the others, the epochs they completed.
fn epoch_text(run: &RunView) -> String {
    if run.is_active() && run.epoch > 0 {
        format!("{}/{}", run.epoch, run.spec.epochs)
    } else if run.status == UiStatus::Planned {
        format!("-/{}", run.spec.epochs)
    } else {
        format!("{}/{}", run.logged().epochs.len(), run.spec.epochs)
    }
}

/// A wide list's parameters, test loss and time.
fn wide_cells(run: &RunView) -> [Cell<'static>; 3] {
    let params = run.logged().params.map_or_else(|| "-".into(), thousands);
    let test_loss = run
        .logged()
        .test
        .as_ref()
        .map_or_else(|| "-".into(), |test| format!("{:.4}", test.loss));
    // Active runs count their time so far; the others, their epochs'.
    let seconds = if run.is_active() {
        run.elapsed_secs
    } else {
        run.logged().epochs.iter().map(|row| row.seconds).sum()
    };
    let time = if seconds > 0.0 {
        clock(seconds)
    } else {
        "-".into()
    };
    [Cell::from(params), Cell::from(test_loss), Cell::from(time)]
}

/// A run's Slurm label, cut to `width` with `…`, coloured by what it says
/// (the words carry the meaning without colour).
fn slurm_cell(label: Option<&str>, width: u16) -> Cell<'static> {
    let Some(label) = label else {
        return Cell::from("-");
    };
    let text = fit(label, usize::from(width));
    Cell::from(Span::styled(text, Style::default().fg(theme::slurm(label))))
}

/// `text` in at most `width` characters: cut short, the cut marked by `…`.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
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
    use crate::protocol::Event;
    use crate::tui::test_support::{buffer_text, planned_app, render_widget};

    fn rendered(app: &App, width: u16, height: u16) -> String {
        buffer_text(
            render_widget(RunsPane::of(app), width, height)
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
            .draw(|frame| frame.render_widget(RunsPane::of(&app), frame.area()))
            .unwrap();
        let selected = &terminal.backend().buffer()[(3, 2)];
        assert_eq!(
            selected.bg,
            theme::SELECTED_BG,
            "the selected row is highlighted"
        );
    }

    #[test]
    fn the_slurm_column_takes_the_devices_place_and_the_gauges_when_short_of_room() {
        let mut app = planned_app(&["M1", "M2"]);
        app.assign_id(0, "a".into());
        app.runs[0].status = UiStatus::Running;
        let plain = Columns::of(&app.runs, 80);
        assert_eq!((plain.gauge, plain.device, plain.slurm), (true, true, None));
        app.runs[0].slurm_label = Some("lost".into());
        let short = Columns::of(&app.runs, 80);
        assert_eq!(
            (short.gauge, short.device, short.slurm),
            (true, false, Some(5))
        );
        app.runs[0].slurm_label = Some("pending (JobArrayTaskLimit)".into());
        let long = Columns::of(&app.runs, 80);
        assert_eq!(
            (long.gauge, long.device, long.slurm),
            (false, false, Some(18))
        );
        let wide = Columns::of(&app.runs, 160);
        assert_eq!(
            (wide.gauge, wide.device, wide.slurm),
            (true, true, Some(27))
        );
    }

    #[test]
    fn a_sweeps_group_headers_cut_its_name_before_what_differs() {
        let plan = crate::plan::parse_plan(
            r#"
            [[sweep]]
            name = "a-rather-long-sweep-name"
            model = { kind = "mlp", hidden = [8] }
            seeds = 2
            grid = { learning_rate = [1e-3, 3e-4], batch_size = [32, 64] }
            "#,
            "sweep",
            std::path::Path::new("sweep.toml"),
        )
        .unwrap();
        let app = App::new(Vec::new(), plan.runs);
        let screen = rendered(&app, 80, 12);
        for label in [
            "batch=32 lr=1e-3",
            "batch=32 lr=3e-4",
            "batch=64 lr=1e-3",
            "batch=64 lr=3e-4",
        ] {
            let line = screen
                .lines()
                .find(|line| line.contains(label))
                .unwrap_or_else(|| panic!("{label} cut at 80 columns:\n{screen}"));
            assert!(line.contains("…") && line.contains("· n=2"), "{line}");
        }
    }

    #[test]
    fn an_alert_shows_in_place_of_the_status_while_the_status_does_not_say_it() {
        use crate::tui::test_support::run_view;
        let shown = |status, alert| {
            let mut run = run_view("M1", status, None);
            run.alert = Some(alert);
            let row = render_widget(
                RunsPane {
                    runs: std::slice::from_ref(&run),
                    rows: vec![ListRow::Run {
                        index: 0,
                        member: false,
                    }],
                    marked: &[],
                    cursor_row: None,
                    title: String::new(),
                },
                60,
                4,
            );
            let text = buffer_text(row.backend().buffer());
            text.lines().nth(2).unwrap()[3..]
                .split("  ")
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            shown(UiStatus::Running, AlertKind::Diverging),
            "! diverging"
        );
        assert_eq!(shown(UiStatus::Queued, AlertKind::Requeued), "! requeued");
        assert_eq!(shown(UiStatus::Failed, AlertKind::Failed), "✗ failed");
        // The run ended (or started again) since: its status is the news.
        assert_eq!(shown(UiStatus::Done, AlertKind::Diverging), "✓ done");
        assert_eq!(shown(UiStatus::Running, AlertKind::Finished), "▶ running");
    }

    #[test]
    fn a_host_column_only_for_a_merged_list_as_wide_as_the_longest_host() {
        let mut app = planned_app(&["M1", "M2"]);
        assert_eq!(Columns::of(&app.runs, 80).host, None);
        app.runs[0].host = Some("gpu".into());
        assert_eq!(Columns::of(&app.runs, 80).host, Some(HOST_MIN), "`local`");
        app.runs[1].host = Some("gpu-box-02".into());
        let columns = Columns::of(&app.runs, 80);
        assert_eq!((columns.host, columns.device), (Some(10), false));
        app.runs[1].host = Some("a-rather-long-login-node.example.org".into());
        assert_eq!(Columns::of(&app.runs, 80).host, Some(HOST_MAX));
        assert!(
            Columns::of(&app.runs, 160).device,
            "a wide list keeps the device"
        );
        assert!(rendered(&app, 80, 5).contains("a-rather-long… M2"));
    }

    #[test]
    fn a_label_too_long_for_its_column_ends_in_an_ellipsis() {
        assert_eq!(fit("running on node7", 16), "running on node7");
        assert_eq!(fit("pending (JobArrayTaskLimit)", 12), "pending (Jo…");
        // Names keep 20 columns before labels grow past 18, and 16 before they shrink.
        assert_eq!(slurm_width(27, 38), 18);
        assert_eq!(slurm_width(27, 34), 18);
        assert_eq!(slurm_width(27, 50), 27);
        assert_eq!(slurm_width(27, 20), SLURM_MIN);
    }
}
