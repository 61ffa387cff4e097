//! The whole screen, drawn from `&App`: panes laid out for the terminal's
//! size, a status bar with key hints, and the overlays.

use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Clear, Paragraph, Wrap},
    Frame,
};

use super::{
    keymap,
    panes::{
        alerts::AlertLog, compare::ComparePane, confusion::ConfusionPane, diff::DiffPane,
        gallery::GalleryPane, live::LivePane, prompt::FilterPrompt, runs::RunsPane,
        sources::SourcesLine, sweep::SweepPane,
    },
    App, Confirm, Overlay, View,
};
use crate::{edge::escape::printable, tui::panes::text::wrap};

/// From this width on, the monitor view shows the confusion matrix beside the live pane.
pub const WIDE: u16 = 150;
/// Columns the confusion pane needs to show every cell.
const CONFUSION_WIDTH: u16 = 84;

/// The smallest terminal the app lays out for.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Draws the app into `frame`.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let text = format!(
            "terminal too small: {}×{} (need {}×{}); enlarge it, or press q to quit",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    // A merged view says how its sources stand on a line of its own, above
    // the status bar: the run list keeps its rows (the live pane gives one).
    let sources_height = u16::from(!app.sources.is_empty());
    let [body, sources, status] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(sources_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    match app.view {
        View::Monitor => monitor(frame, body, app),
        View::Confusion => {
            let [runs, matrix] = Layout::vertical([
                Constraint::Length(runs_height(app, body)),
                Constraint::Min(0),
            ])
            .areas(body);
            frame.render_widget(RunsPane::of(app), runs);
            frame.render_widget(ConfusionPane::of(app), matrix);
        }
        View::Compare => frame.render_widget(ComparePane::of(app), body),
        View::Runs => frame.render_widget(RunsPane::of(app), body),
        View::Gallery => frame.render_widget(GalleryPane::of(app), body),
        View::Diff => frame.render_widget(DiffPane::of(app), body),
        View::Sweep => frame.render_widget(SweepPane::of(app), body),
    }
    if !app.sources.is_empty() {
        frame.render_widget(SourcesLine(&app.sources), sources);
    }
    frame.render_widget(status_bar(app, status.width), status);
    match &app.overlay {
        Overlay::None => {}
        // The prompt is one line, typed where the status line was.
        Overlay::Filter(text) => frame.render_widget(FilterPrompt(text), status),
        Overlay::Help => help(frame, frame.area(), app.view, app.read_only),
        Overlay::Alerts => {
            let log = AlertLog(&app.alerts);
            let (width, height) = log.wanted();
            frame.render_widget(log, centered(frame.area(), width, height));
        }
        Overlay::Confirm(question) => confirm(frame, frame.area(), question),
    }
    app.render.apply(frame.buffer_mut());
}

fn monitor(frame: &mut Frame, area: Rect, app: &App) {
    if area.width >= WIDE {
        // The matrix needs its full width (names, ten cells, recall, precision).
        let [left, right] =
            Layout::horizontal([Constraint::Min(60), Constraint::Length(CONFUSION_WIDTH)])
                .areas(area);
        let [runs, live] = Layout::vertical([
            Constraint::Length(runs_height(app, left)),
            Constraint::Min(0),
        ])
        .areas(left);
        frame.render_widget(RunsPane::of(app), runs);
        frame.render_widget(LivePane::of(app), live);
        frame.render_widget(ConfusionPane::of(app), right);
    } else {
        let [runs, live] = Layout::vertical([
            Constraint::Length(runs_height(app, area)),
            Constraint::Min(0),
        ])
        .areas(area);
        frame.render_widget(RunsPane::of(app), runs);
        frame.render_widget(LivePane::of(app), live);
    }
}

/// The run list takes its rows plus borders and header, at most a third of the screen.
fn runs_height(app: &App, area: Rect) -> u16 {
    let wanted = u16::try_from(app.list_rows().len())
        .unwrap_or(u16::MAX)
        .saturating_add(3);
    wanted.clamp(4, (area.height / 3).max(4))
}

fn status_bar(app: &App, width: u16) -> Paragraph<'static> {
    let view = app.view.name();
    let mut spans = vec![Span::styled(
        format!(" {view} "),
        Style::default()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    )];
    if let Some(message) = &app.message {
        spans.push(Span::styled(
            format!(" {message} "),
            Style::default().fg(Color::Yellow),
        ));
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let room = usize::from(width).saturating_sub(used);
    spans.push(Span::raw(hint_line(app, room)));
    Paragraph::new(Line::from(spans))
}

/// The view's key hints, as many as fit in `room` columns, in the keymap's
/// order (the view's own keys first): whole hints only, never cut short.
fn hint_line(app: &App, room: usize) -> String {
    let layers = keymap::layers(&Overlay::None, app.view);
    let mut hints = keymap::hints(layers, app.read_only);
    if app.read_only {
        hints.insert(0, "read-only".into());
    }
    let mut line = String::new();
    for hint in hints {
        let next = if line.is_empty() {
            format!(" {hint}")
        } else {
            format!("{line} · {hint}")
        };
        if Span::raw(next.as_str()).width() > room {
            break;
        }
        line = next;
    }
    line
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn help(frame: &mut Frame, area: Rect, view: View, read_only: bool) {
    let rows = keymap::help_lines(view, read_only);
    let lines: Vec<Line> = rows.iter().map(help_line).collect();
    let height = u16::try_from(rows.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let area = centered(area, 80, height);
    let mode = if read_only { " · watch" } else { "" };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(
                    " Keys · {} view{mode} ({}) ",
                    view.name(),
                    keymap::summary(&keymap::HELP)
                ))
                .title_bottom(" runs are stored under --runs-dir; `atelier runs` lists them "),
        ),
        area,
    );
}

/// A help row: its keys in bold, what they do; the keys of no use here dimmed.
fn help_line(row: &keymap::HelpLine) -> Line<'static> {
    let keys = Style::default().add_modifier(Modifier::BOLD);
    let line = Line::from(vec![
        Span::styled(format!(" {:<13} ", row.keys), keys),
        Span::raw(row.text.clone()),
    ]);
    if row.unavailable {
        line.style(Style::default().fg(Color::DarkGray))
    } else {
        line
    }
}

/// What a question asks: a run's id is stored text, escaped.
fn question_text(question: &Confirm) -> String {
    match question {
        Confirm::Quit => {
            "Training is under way. Quit? Active runs are stored as interrupted.".to_string()
        }
        Confirm::Cancel(id) => {
            format!("Cancel run {}? It is stored as interrupted.", printable(id))
        }
        Confirm::Delete(id) => format!(
            "Delete run {} and its files from disk? This cannot be undone.",
            printable(id)
        ),
    }
}

/// The question, wrapped between words, then its keys: the box grows to
/// hold every row (up to the screen's height).
fn confirm(frame: &mut Frame, area: Rect, question: &Confirm) {
    const WIDTH: u16 = 64;
    let room = usize::from(WIDTH.min(area.width).saturating_sub(2));
    let keys = keymap::summary(&keymap::CONFIRM);
    let mut lines: Vec<Line> = wrap(&question_text(question), room, usize::MAX)
        .into_iter()
        .map(Line::from)
        .collect();
    lines.push(Line::from(""));
    lines.extend(wrap(&keys, room, usize::MAX).into_iter().map(Line::from));
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let area = centered(area, WIDTH, height);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Confirm ")),
        area,
    );
}

#[cfg(test)]
mod tests {
    use ratatui::{backend::TestBackend, Terminal};

    use super::*;
    use crate::tui::test_support::buffer_text;
    use crate::{model::ModelSpec, plan::RunSpec};

    fn screen(app: &App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| draw(frame, app)).unwrap();
        buffer_text(terminal.backend().buffer())
    }

    fn app() -> App {
        let specs = crate::plan::seed_plan().runs;
        let mut app = App::new(Vec::new(), specs);
        app.runs.push(crate::tui::RunView::planned(RunSpec::new(
            "extra",
            ModelSpec::tiny_mlp(),
        )));
        app
    }

    #[test]
    fn layouts_adapt_from_80x24_to_160x48() {
        let app = app();
        let small = screen(&app, 80, 24);
        assert!(
            small.contains("Runs (7)") && small.contains(" Live "),
            "{small}"
        );
        assert!(
            !small.contains("Confusion"),
            "no room for the matrix at 80×24:\n{small}"
        );
        assert!(
            small
                .lines()
                .last()
                .unwrap()
                .starts_with(" monitor  ? help · q quit"),
            "{small}"
        );
        let large = screen(&app, 160, 48);
        assert!(
            large.contains("Runs (7)") && large.contains(" Live ") && large.contains("Confusion"),
            "{large}"
        );
        assert!(large.contains("M5 · CNN [512,256,128,64,32"), "{large}");
    }

    #[test]
    fn help_and_confirm_overlays() {
        let mut app = app();
        app.overlay = Overlay::Help;
        let text = screen(&app, 100, 30);
        assert!(
            text.contains("Keys · monitor view (Esc ? q Enter: close)")
                && text.contains("space         pause / resume the running run"),
            "{text}"
        );
        // In every view, in the app and the viewer, every row fits on the
        // smallest screen, none cut short.
        for (view, read_only) in View::ALL.into_iter().flat_map(|v| [(v, false), (v, true)]) {
            (app.view, app.read_only) = (view, read_only);
            let small = screen(&app, 80, 24);
            let lines = keymap::help_lines(view, read_only);
            assert!(lines.len() + 2 <= 24, "{view:?}: {} rows", lines.len());
            for line in lines {
                let row = format!("│ {:<13} {}", line.keys, line.text);
                assert!(small.contains(&row), "{view:?}: {row}:\n{small}");
            }
        }
        app.read_only = false;
        app.view = View::Monitor;
        app.overlay = Overlay::Confirm(Confirm::Quit);
        let question = screen(&app, 100, 30);
        assert!(
            question.contains("Training is under way. Quit?")
                && question.contains("y Y Enter: yes · n N q Esc: no"),
            "{question}"
        );
    }

    #[test]
    fn the_status_bar_shows_whole_hints_as_many_as_fit() {
        let mut app = app();
        let views = View::ALL;
        for (view, read_only) in views.into_iter().flat_map(|v| [(v, false), (v, true)]) {
            (app.view, app.read_only) = (view, read_only);
            let hints = keymap::hints(keymap::layers(&Overlay::None, view), read_only);
            for width in [80, 200] {
                let text = screen(&app, width, 24);
                let bar = text.lines().last().unwrap().trim_end();
                let prefix = format!(" {}  ", view.name());
                let shown = bar.strip_prefix(&prefix).unwrap_or_else(|| panic!("{bar}"));
                let shown: Vec<&str> = shown.split(" · ").collect();
                let expected = if read_only {
                    [&["read-only".to_string()], &hints[..]].concat()
                } else {
                    hints.clone()
                };
                // The first hints, in order, and every one at 200 columns.
                assert_eq!(shown, expected[..shown.len()], "{width}: {bar}");
                // The way to every other key always fits.
                assert!(shown.contains(&"? help"), "{bar}");
                if width == 200 {
                    assert_eq!(shown.len(), expected.len(), "{bar}");
                }
            }
        }
    }

    fn trimmed(text: &str) -> String {
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        lines.join("\n")
    }

    #[test]
    fn the_help_at_80x24() {
        let mut app = app();
        app.overlay = Overlay::Help;
        insta::assert_snapshot!("help_80x24", trimmed(&screen(&app, 80, 24)));
    }

    /// The viewer's help says what q does there and leaves out, on one
    /// dimmed line, the keys that act on training.
    #[test]
    fn the_viewers_help_at_80x24() {
        let mut app = app();
        app.overlay = Overlay::Help;
        app.read_only = true;
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|frame| draw(frame, &app)).unwrap();
        let buffer = terminal.backend().buffer();
        let text = buffer_text(buffer);
        let row = text
            .lines()
            .position(|line| line.contains(keymap::NOT_IN_WATCH))
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(buffer[(2, row as u16)].fg, Color::DarkGray);
        assert!(!text.contains("start the selected run"), "{text}");
        insta::assert_snapshot!("help_watch_80x24", trimmed(&text));
    }

    /// A run id as long as a sweep's makes the question three lines: the
    /// box grows, and its keys stay in it.
    #[test]
    fn a_question_about_a_long_run_id_at_80x24() {
        let mut app = app();
        app.overlay = Overlay::Confirm(Confirm::Delete(
            "20261206-101500-M2_lr_3e-4_dropout_0_25_seed_2".into(),
        ));
        let text = screen(&app, 80, 24);
        assert!(text.contains("y Y Enter: yes · n N q Esc: no"), "{text}");
        assert!(text.contains("This cannot be undone."), "{text}");
        insta::assert_snapshot!("confirm_delete_80x24", trimmed(&text));
    }

    #[test]
    fn a_small_terminal_gets_a_clear_message() {
        let text = screen(&app(), 60, 20);
        assert!(
            text.replace('\n', " ")
                .contains("terminal too small: 60×20 (need 80×24)"),
            "{text}"
        );
        let text = screen(&app(), 80, 24);
        assert!(!text.contains("too small"));
    }

    #[test]
    fn views_switch() {
        let mut app = app();
        app.view = View::Compare;
        assert!(screen(&app, 100, 30).contains("No finished runs yet"));
        app.view = View::Confusion;
        assert!(screen(&app, 100, 30).contains("No test results yet"));
    }
}
