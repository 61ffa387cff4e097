//! The run diff: the second run's row-normalised confusion matrix minus the
//! first's, in percentage points, green where the second does better (more
//! on the diagonal, fewer confusions) and red where it does worse; under it,
//! how many test images one gets right and the other wrong, and whether
//! that difference is more than chance (`McNemar`'s exact test).

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Paragraph, Widget, Wrap},
};

use super::{confusion::SHORT_NAMES, text::join_within, theme};
use crate::{
    data::{CLASS_NAMES, NUM_CLASSES},
    edge::escape::printable,
    protocol::{ConfusionMatrix, RunId},
    stats::confusion as metrics,
    stats::{
        verdict::{p_value, ALPHA},
        McNemar,
    },
    store::Predictions,
    tui::{
        comparison,
        gallery::{disagreements, only_right, Loaded},
        App, RunView,
    },
};

const NAME_WIDTH: usize = 12;
const CELL_WIDTH: usize = 6;

/// Draws the diff of the two runs [`App::diff_pair`] picks, or says how to pick them.
pub struct DiffPane<'a> {
    /// The runs A and B, both with test results, or what to do to get them.
    pub pair: Result<(&'a RunView, &'a RunView), String>,
    /// The cell under the cursor.
    pub cursor: (usize, usize),
    /// A's and B's per-image predictions, as loaded (or why not).
    pub predictions: Option<(Loaded<Predictions>, Loaded<Predictions>)>,
    /// The paired test of A against B (`McNemar`), when both have predictions.
    pub test: Option<McNemar>,
}

impl<'a> DiffPane<'a> {
    /// The diff `app` shows.
    pub fn of(app: &'a App) -> Self {
        let find = |id: &RunId| {
            app.runs
                .iter()
                .find(|view| view.id.as_ref() == Some(id))
                .filter(|view| view.logged().test.is_some())
        };
        let pair = app
            .diff_pair()
            .map_err(|hint| hint.to_string())
            .and_then(|(a, b)| match (find(&a), find(&b)) {
                (Some(a), Some(b)) => Ok((a, b)),
                _ => Err("the runs to diff have no test results".to_string()),
            });
        let loaded = |view: &RunView| app.predictions_of(&view.id.clone().unwrap_or_default());
        let predictions = pair.as_ref().ok().map(|(a, b)| (loaded(a), loaded(b)));
        let test = pair
            .as_ref()
            .ok()
            .and_then(|(a, b)| comparison::paired(app, a, b).ok());
        Self {
            pair,
            cursor: app.cursor,
            predictions,
            test,
        }
    }
}

impl Widget for DiffPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (a, b) = match self.pair {
            Ok(pair) => pair,
            Err(message) => {
                Paragraph::new(message)
                    .wrap(Wrap { trim: true })
                    .block(Block::default().borders(Borders::ALL).title(" Diff "))
                    .render(area, buf);
                return;
            }
        };
        let room = usize::from(area.width.saturating_sub(4));
        let block = Block::default().borders(Borders::ALL).title(Span::styled(
            format!(" {} ", title(a, b, room)),
            theme::title(),
        ));
        // The grid fits 80 columns; the counts' line may not, and wraps.
        Paragraph::new(lines(
            a,
            b,
            self.cursor,
            self.predictions.as_ref(),
            self.test,
        ))
        .wrap(Wrap { trim: false })
        .block(block)
        .render(area, buf);
    }
}

/// Which run is B and which A, then how to read the cells, in `width`
/// columns: what does not fit goes whole, the colours' key first.
fn title(a: &RunView, b: &RunView, width: usize) -> String {
    let parts = [
        ("Diff".to_string(), 9),
        (
            format!(
                "B {} minus A {}",
                printable(&b.spec.name),
                printable(&a.spec.name)
            ),
            8,
        ),
        ("row % points".to_string(), 5),
        ("green: B better".to_string(), 3),
    ];
    join_within(&parts, width)
}

/// The change of one cell, B minus A, in percentage points of the row.
pub fn change(a: &ConfusionMatrix, b: &ConfusionMatrix, truth: usize, predicted: usize) -> f64 {
    (metrics::row_rate(b, truth, predicted) - metrics::row_rate(a, truth, predicted)) * 100.0
}

/// The cell's colour: green where B is better, red where worse, brighter the larger the change.
pub fn colour(points: f64, diagonal: bool) -> Option<Color> {
    if points.abs() < 0.05 {
        return None;
    }
    let level = ((points.abs() / 100.0).clamp(0.0, 1.0).sqrt() * 200.0) as u8 + 40;
    let better = (points > 0.0) == diagonal;
    Some(if better {
        Color::Rgb(10, level, 40)
    } else {
        Color::Rgb(level, 20, 20)
    })
}

fn cell_text(points: f64) -> String {
    let text = if points.abs() < 0.05 {
        "·".to_string()
    } else if points.abs() < 9.95 {
        format!("{points:+.1}")
    } else {
        format!("{points:+.0}")
    };
    format!("{text:>CELL_WIDTH$}")
}

fn lines(
    a: &RunView,
    b: &RunView,
    cursor: (usize, usize),
    predictions: Option<&(Loaded<Predictions>, Loaded<Predictions>)>,
    test: Option<McNemar>,
) -> Vec<Line<'static>> {
    let (Some(a_test), Some(b_test)) = (&a.logged().test, &b.logged().test) else {
        return Vec::new();
    };
    let (ma, mb) = (&a_test.confusion, &b_test.confusion);
    let mut lines = Vec::with_capacity(NUM_CLASSES + 6);
    let mut header = vec![Span::raw(format!("{:NAME_WIDTH$}", "true ╲ pred"))];
    header.extend(
        SHORT_NAMES
            .iter()
            .map(|name| Span::raw(format!("{name:>CELL_WIDTH$}"))),
    );
    lines.push(Line::from(header));
    for (truth, name) in CLASS_NAMES.iter().enumerate() {
        let mut spans = vec![Span::raw(format!("{name:NAME_WIDTH$}"))];
        for predicted in 0..NUM_CLASSES {
            let points = change(ma, mb, truth, predicted);
            let mut style = Style::default();
            if let Some(bg) = colour(points, truth == predicted) {
                style = style.fg(Color::White).bg(bg);
            }
            if cursor == (truth, predicted) {
                style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
            }
            spans.push(Span::styled(cell_text(points), style));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "accuracy A {:.2}% → B {:.2}% ({:+.2} points)",
        metrics::accuracy(ma) * 100.0,
        metrics::accuracy(mb) * 100.0,
        (metrics::accuracy(mb) - metrics::accuracy(ma)) * 100.0
    )));
    let (truth, predicted) = cursor;
    let cell = if truth == predicted {
        format!("{} right", CLASS_NAMES[truth])
    } else {
        format!("{} → {}", CLASS_NAMES[truth], CLASS_NAMES[predicted])
    };
    lines.push(Line::from(format!(
        "cursor: {cell}: A {:.1}% → B {:.1}%",
        metrics::row_rate(ma, truth, predicted) * 100.0,
        metrics::row_rate(mb, truth, predicted) * 100.0
    )));
    let Some((pa, pb)) = predictions else {
        return lines;
    };
    lines.push(Line::from(match (pa, pb) {
        (Ok(pa), Ok(pb)) if pa.labels() == pb.labels() => {
            format!(
                "B right, A wrong: {} images (b) · A right, B wrong: {} (a) · here: {} (Enter)",
                only_right(pb, pa).len(),
                only_right(pa, pb).len(),
                disagreements(pa, pb, truth, predicted).len()
            )
        }
        (Ok(_), Ok(_)) => "the two runs were tested on different test sets".into(),
        (Err(message), _) | (_, Err(message)) => message.clone(),
    }));
    if let Some(test) = test {
        lines.push(Line::from(mcnemar_line(&test)));
    }
    lines
}

/// `McNemar (exact) on 2 (a) vs 5 (b): p = 0.453, not significant at 0.05`:
/// within 78 columns for any counts of a 10,000-image test set.
fn mcnemar_line(test: &McNemar) -> String {
    let significance = if test.p < ALPHA {
        "significant"
    } else {
        "not significant"
    };
    format!(
        "McNemar (exact) on {} (a) vs {} (b): {}, {significance} at {ALPHA:.2}",
        test.only_a,
        test.only_b,
        p_value(test.p)
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        protocol::Event,
        tui::test_support::{buffer_text, planned_app, predictions, render_widget},
    };

    /// A (the MLP) takes 20% of sneakers for boots; B (the CNN) 5%, and 10% of shirts for T-shirts.
    fn app() -> App {
        let mut app = planned_app(&["MLP", "CNN"]);
        for (row, id, sneaker_boot, shirt_tshirt) in [(0, "mlp", 20, 0), (1, "cnn", 5, 10)] {
            app.assign_id(row, id.into());
            let mut confusion = [[0u32; NUM_CLASSES]; NUM_CLASSES];
            for (class, counts) in confusion.iter_mut().enumerate() {
                counts[class] = 100;
            }
            confusion[7][7] = 100 - sneaker_boot;
            confusion[7][9] = sneaker_boot;
            confusion[6][6] = 100 - shirt_tshirt;
            confusion[6][0] = shirt_tshirt;
            app.apply(&Event::Evaluated {
                run: id.into(),
                test_loss: 0.3,
                test_accuracy: 0.9,
                confusion: Box::new(confusion),
            });
        }
        app.marked = vec!["mlp".into(), "cnn".into()];
        app.cursor = (7, 9);
        app
    }

    #[test]
    fn the_grid_shows_b_minus_a_green_where_b_is_better() {
        let mut app = app();
        let terminal = render_widget(DiffPane::of(&app), 100, 20);
        let buffer = terminal.backend().buffer();
        let text = buffer_text(buffer);
        assert!(text.contains("Diff · B CNN minus A MLP"), "{text}");
        let line = |y: usize| text.lines().nth(y).unwrap().to_string();
        // Rows from y = 2; columns of 6 from x = 13.
        assert!(
            line(9).starts_with(
                "│Sneaker          ·     ·     ·     ·     ·     ·     ·   +15     ·   -15"
            ),
            "{}",
            line(9)
        );
        assert!(
            line(8).starts_with("│Shirt          +10     ·"),
            "{}",
            line(8)
        );
        let bg = |x: u16, y: u16| buffer[(x, y)].bg;
        let green = |color: Color| matches!(color, Color::Rgb(10, g, 40) if g > 100);
        let red = |color: Color| matches!(color, Color::Rgb(r, 20, 20) if r > 100);
        // Fewer boots and more right sneakers: green; more shirts as T-shirts: red.
        assert!(
            green(bg(13 + 9 * 6, 9)) && green(bg(13 + 7 * 6, 9)),
            "{:?}",
            bg(13 + 9 * 6, 9)
        );
        assert!(red(bg(13, 8)) && red(bg(13 + 6 * 6, 8)));
        assert_eq!(bg(13 + 6, 9), Color::Reset, "no change, no colour");
        assert!(
            buffer[(13 + 9 * 6, 9)]
                .modifier
                .contains(Modifier::REVERSED),
            "the cursor"
        );
        assert!(
            text.contains("accuracy A 98.00% → B 98.50% (+0.50 points)"),
            "{text}"
        );
        assert!(
            text.contains("cursor: Sneaker → Ankle boot: A 20.0% → B 5.0%"),
            "{text}"
        );
        assert!(text.contains("reading the test predictions"), "{text}");
        // With predictions: MLP wrong on sneakers 7 and 17, the CNN on 27 only.
        app.predictions
            .insert("mlp".into(), Ok(Arc::new(predictions(&[(7, 9), (17, 9)]))));
        app.predictions
            .insert("cnn".into(), Ok(Arc::new(predictions(&[(27, 9), (6, 0)]))));
        let text = buffer_text(
            render_widget(DiffPane::of(&app), 100, 20)
                .backend()
                .buffer(),
        );
        assert!(
            text.contains(
                "B right, A wrong: 2 images (b) · A right, B wrong: 2 (a) · here: 3 (Enter)"
            ),
            "{text}"
        );
        // 2 against 2 disagreements: as likely as not.
        assert!(
            text.contains("McNemar (exact) on 2 (a) vs 2 (b): p = 1.000, not significant at 0.05"),
            "{text}"
        );
    }

    #[test]
    fn mcnemar_says_whether_the_disagreements_are_chance() {
        use crate::stats::verdict::mcnemar_from_counts;
        assert_eq!(
            mcnemar_line(&mcnemar_from_counts(10_000, 247, 400)),
            "McNemar (exact) on 247 (a) vs 400 (b): p < 0.001, significant at 0.05"
        );
        let widest = mcnemar_line(&mcnemar_from_counts(10_000, 5_000, 4_999));
        assert!(widest.chars().count() <= 78, "fits at 80 columns: {widest}");
    }

    #[test]
    fn without_two_runs_it_says_how_to_pick_them() {
        let mut app = app();
        app.marked.clear();
        let text = buffer_text(
            render_widget(DiffPane::of(&app), 100, 20)
                .backend()
                .buffer(),
        );
        assert!(text.contains("mark two finished runs with m"), "{text}");
    }
}
