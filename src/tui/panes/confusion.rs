//! The confusion matrix of the selected run: a 10×10 heat grid with class
//! names, the top confusions as text, and per-class recall and precision.

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Paragraph, Widget},
};

use super::{text::join_within, theme};
use crate::{
    data::{CLASS_NAMES, NUM_CLASSES},
    edge::escape::printable,
    protocol::ConfusionMatrix,
    stats::confusion as metrics,
    store::TestResult,
    tui::{App, View},
};

/// Column headers: four letters each, enough to tell the classes apart.
pub const SHORT_NAMES: [&str; NUM_CLASSES] = [
    "Tsht", "Trou", "Pull", "Drss", "Coat", "Sndl", "Shrt", "Snkr", "Bag", "Boot",
];
const NAME_WIDTH: usize = 12;
const CELL_WIDTH: usize = 5;
/// Columns of the names and cells, before the scores.
const GRID_WIDTH: usize = NAME_WIDTH + NUM_CLASSES * CELL_WIDTH;
/// The scores' headings and widths where the pane has room for them…
const FULL_SCORES: Scores = Scores {
    recall: ("recall", 8),
    precision: ("precision", 10),
};
/// … and where it has not (80 columns): `prec.`, which a legend spells out.
const SHORT_SCORES: Scores = Scores {
    recall: ("recall", 7),
    precision: ("prec.", 7),
};

/// The recall and precision columns: heading, width (the gap before included).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Scores {
    recall: (&'static str, usize),
    precision: (&'static str, usize),
}

impl Scores {
    /// The widest that fits `width` columns.
    fn within(width: usize) -> Self {
        let full = GRID_WIDTH + FULL_SCORES.recall.1 + FULL_SCORES.precision.1;
        if width >= full {
            FULL_SCORES
        } else {
            SHORT_SCORES
        }
    }

    fn row(self, recall: &str, precision: &str) -> String {
        let (recall_width, precision_width) = (self.recall.1, self.precision.1);
        format!("{recall:>recall_width$}{precision:>precision_width$}")
    }
}

/// Draws the selected run's test confusion matrix, or says why there is none.
pub struct ConfusionPane<'a> {
    /// The selected run's test results, when it has them.
    pub test: Option<&'a TestResult>,
    /// Which run the matrix is of, escaped; on a collapsed group, which of its seeds.
    pub run: Option<String>,
    /// Row shares instead of counts.
    pub percent: bool,
    /// The cell under the cursor, shown in the confusion view only.
    pub cursor: Option<(usize, usize)>,
}

impl<'a> ConfusionPane<'a> {
    /// The selected run's matrix in `app`.
    pub fn of(app: &'a App) -> Self {
        Self {
            test: app
                .selected_run()
                .and_then(|run| run.logged().test.as_ref()),
            run: run_label(app),
            percent: app.percent,
            cursor: (app.view == View::Confusion).then_some(app.cursor),
        }
    }
}

/// The selected run's name; on a group's header, the seed the matrix is of
/// and how many the group has, since the header stands for all of them.
fn run_label(app: &App) -> Option<String> {
    let run = app.selected_run()?;
    let name = printable(&run.spec.name).into_owned();
    let Some((_, members)) = app.cursor_group() else {
        return Some(name);
    };
    let seed = if run.spec.name.contains("seed=") {
        name
    } else {
        format!("{name} seed={}", run.spec.seed)
    };
    Some(format!("{seed}, one of {} seeds", members.len()))
}

impl Widget for ConfusionPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let inner = usize::from(area.width.saturating_sub(2));
        let block = Block::default().borders(Borders::ALL).title(Span::styled(
            format!(" {} ", self.title(inner.saturating_sub(2))),
            theme::title(),
        ));
        let lines = match self.test {
            Some(test) => lines(
                &test.confusion,
                self.percent,
                self.cursor,
                Scores::within(inner),
            ),
            None => vec![Line::from(
                "No test results yet: the matrix appears when the run finishes.",
            )],
        };
        Paragraph::new(lines).block(block).render(area, buf);
    }
}

impl ConfusionPane<'_> {
    /// What the matrix is of and how it is drawn, within `width` columns:
    /// `test set` goes first, then the scale; the run and the mode stay.
    fn title(&self, width: usize) -> String {
        let mode = if self.percent { "row %" } else { "counts" };
        let mut parts = vec![("Confusion".to_string(), 9), ("test set".into(), 1)];
        parts.extend(self.run.clone().map(|run| (run, 8)));
        parts.push((format!("{mode} (p)"), 7));
        if let Some(test) = self.test {
            let worst = worst_confusion(&test.confusion) * 100.0;
            parts.push((format!("confusions scaled to the worst, {worst:.1}%"), 5));
        }
        join_within(&parts, width)
    }
}

fn lines(
    matrix: &ConfusionMatrix,
    percent: bool,
    cursor: Option<(usize, usize)>,
    columns: Scores,
) -> Vec<Line<'static>> {
    let mut lines = Vec::with_capacity(NUM_CLASSES + 8);
    let mut header = vec![Span::raw(format!("{:NAME_WIDTH$}", "true ╲ pred"))];
    header.extend(
        SHORT_NAMES
            .iter()
            .map(|name| Span::raw(format!("{name:>CELL_WIDTH$}"))),
    );
    header.push(Span::raw(
        columns.row(columns.recall.0, columns.precision.0),
    ));
    lines.push(Line::from(header));
    let scores = metrics::class_scores(matrix);
    let worst = worst_confusion(matrix);
    // Underlined as well as bright, so they stand out without colour too.
    let top: Vec<(usize, usize)> = metrics::top_confusions(matrix, 3)
        .iter()
        .map(|c| (c.truth, c.predicted))
        .collect();
    for (truth, row) in matrix.iter().enumerate() {
        let mut spans = vec![Span::raw(format!("{:NAME_WIDTH$}", CLASS_NAMES[truth]))];
        for (predicted, &count) in row.iter().enumerate() {
            let rate = metrics::row_rate(matrix, truth, predicted);
            let text = if percent {
                format!("{:>CELL_WIDTH$.1}", rate * 100.0)
            } else {
                format!("{count:>CELL_WIDTH$}")
            };
            let heat = if truth == predicted {
                theme::heat_diagonal(rate)
            } else {
                theme::heat_confusion(if worst > 0.0 { rate / worst } else { 0.0 })
            };
            let mut style = Style::default().fg(Color::White).bg(heat);
            if top.contains(&(truth, predicted)) {
                style = style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
            }
            if cursor == Some((truth, predicted)) {
                style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
            }
            spans.push(Span::styled(text, style));
        }
        let score = |value: Option<f64>| {
            value.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", v * 100.0))
        };
        spans.push(Span::raw(columns.row(
            &score(scores[truth].recall),
            &score(scores[truth].precision),
        )));
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(""));
    let legend = if columns == SHORT_SCORES {
        " (prec.: precision)"
    } else {
        ""
    };
    lines.push(Line::from(format!(
        "accuracy {:.2}%{legend}   most confused (underlined):",
        metrics::accuracy(matrix) * 100.0
    )));
    for confusion in metrics::top_confusions(matrix, 3) {
        lines.push(Line::from(format!(
            "  {} → {} {:.1}% ({})",
            CLASS_NAMES[confusion.truth],
            CLASS_NAMES[confusion.predicted],
            confusion.rate * 100.0,
            confusion.count
        )));
    }
    lines
}

/// The largest off-diagonal row share: the top of the confusions' scale.
fn worst_confusion(matrix: &ConfusionMatrix) -> f64 {
    metrics::top_confusions(matrix, 1)
        .first()
        .map_or(0.0, |confusion| confusion.rate)
}

#[cfg(test)]
mod tests {
    use ratatui::{backend::TestBackend, Terminal};

    use super::*;
    use crate::protocol::Event;
    use crate::tui::test_support::planned_app;

    fn app_with_result() -> App {
        let mut app = planned_app(&["M1"]);
        app.assign_id(0, "a".into());
        let mut matrix = [[0; NUM_CLASSES]; NUM_CLASSES];
        for (class, row) in matrix.iter_mut().enumerate() {
            row[class] = 900;
            row[(class + 1) % NUM_CLASSES] = 100;
        }
        matrix[6][0] = 144;
        matrix[6][7] = 0;
        matrix[6][6] = 856;
        app.apply(&Event::Evaluated {
            run: "a".into(),
            test_loss: 0.3,
            test_accuracy: 0.8956,
            confusion: Box::new(matrix),
        });
        app
    }

    fn draw(app: &App) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(90, 18)).unwrap();
        terminal
            .draw(|frame| frame.render_widget(ConfusionPane::of(app), frame.area()))
            .unwrap();
        terminal
    }

    fn line(terminal: &Terminal<TestBackend>, y: u16) -> String {
        let buffer = terminal.backend().buffer();
        (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect()
    }

    #[test]
    fn cells_show_counts_or_row_percentages_with_heat_colours() {
        let mut app = app_with_result();
        let terminal = draw(&app);
        assert!(
            line(&terminal, 1).contains("true ╲ pred  Tsht Trou"),
            "{}",
            line(&terminal, 1)
        );
        let shirt = line(&terminal, 8);
        assert!(shirt.starts_with("│Shirt         144    0"), "{shirt}");
        assert!(
            line(&terminal, 14).contains("Shirt → T-shirt/top 14.4% (144)"),
            "{}",
            line(&terminal, 14)
        );
        // Column of T-shirt/top in the Shirt row: x = 1 (border) + 12 (names) + 0..5.
        let buffer = terminal.backend().buffer();
        let off_diagonal = buffer[(15, 8)].bg;
        let diagonal = buffer[(15 + 6 * 5, 8)].bg;
        // The worst confusion (14.4%) is the top of the red scale; a 10%
        // one sits at 10/14.4 of it, not near the top as on a 0–100% scale.
        assert_eq!(off_diagonal, Color::Rgb(230, 20, 20));
        let tenth = buffer[(20, 2)].bg;
        assert_eq!(tenth, Color::Rgb((0.1 / 0.144 * 200.0) as u8 + 30, 20, 20));
        assert!(line(&terminal, 0).contains("confusions scaled to the worst, 14.4%"));
        assert!(buffer[(15, 8)].modifier.contains(Modifier::UNDERLINED));
        assert!(!buffer[(15 + 6 * 5, 8)]
            .modifier
            .contains(Modifier::UNDERLINED));
        assert!(
            matches!(diagonal, Color::Rgb(10, g, 40) if g > 200),
            "{diagonal:?}"
        );
        app.percent = true;
        let terminal = draw(&app);
        assert!(
            line(&terminal, 8).starts_with("│Shirt        14.4  0.0"),
            "{}",
            line(&terminal, 8)
        );
        assert!(line(&terminal, 0).contains("row %"));
    }

    #[test]
    fn a_one_percent_confusion_stays_dark_beside_a_sixteen_percent_one() {
        let one = theme::heat_confusion(0.01 / 0.16);
        let worst = theme::heat_confusion(1.0);
        let (Color::Rgb(dim, ..), Color::Rgb(bright, ..)) = (one, worst) else {
            panic!("{one:?} {worst:?}")
        };
        assert!(bright >= 4 * dim, "{dim} vs {bright}");
    }

    #[test]
    fn says_why_when_there_is_no_matrix() {
        let app = planned_app(&["M1"]);
        let terminal = draw(&app);
        assert!(line(&terminal, 1).contains("No test results yet"));
    }
}
