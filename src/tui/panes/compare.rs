//! The compare view: per group of finished runs (seeds of one setting; a
//! lone run is a group of one), the mean test accuracy and loss with their
//! 95% intervals and the original's values on zoomed axes; the validation
//! curves overlaid with a legend; and at the bottom a verdict on the two
//! marked groups or runs, else the selected run's group against the best
//! other one.

pub mod axis;
pub mod curves;
pub mod intervals;

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    style::{Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Paragraph, Widget},
};

use self::{
    curves::{Curve, CurvesPanel},
    intervals::{IntervalPanel, ACCURACY, LOSS},
};
use super::{text::wrap, theme};
use crate::tui::{
    comparison::{pair, test_groups, verdict, TestGroup},
    App, ColorMode,
};

/// Rows the curves keep before the test loss panel gets any.
const CURVES_BEFORE_LOSS: u16 = 10;
/// Rows the curves keep however many groups there are.
const CURVES_AT_LEAST: u16 = 7;
/// From this inner width, accuracy and loss panels sit side by side.
const SIDE_BY_SIDE: u16 = 150;

/// Draws the compare view: what it needs of the app's state, and nothing else.
pub struct ComparePane<'a> {
    /// The finished runs by group.
    pub groups: Vec<TestGroup<'a>>,
    /// The validation curves, as [`curves::curves`] gives them.
    pub curves: Vec<Curve>,
    /// The verdict's label (how its pair was chosen) and text, or why there is none.
    pub verdict: (&'static str, String),
    /// No colour: the curves are told apart by their marks.
    pub mono: bool,
}

impl<'a> ComparePane<'a> {
    /// The compare view of `app`.
    pub fn of(app: &'a App) -> Self {
        let groups = test_groups(app);
        Self {
            verdict: match pair(app, &groups) {
                Ok(pair) => (pair.chosen.label(), verdict(app, &groups, &pair).text()),
                Err(why) => ("verdict", why),
            },
            curves: curves::curves(&app.runs, &app.curve_runs()),
            groups,
            mono: app.render.color == ColorMode::None,
        }
    }
}

impl Widget for ComparePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let groups = &self.groups;
        let finished: usize = groups.iter().map(|group| group.runs.len()).sum();
        let block = Block::default().borders(Borders::ALL).title(Span::styled(
            format!(
                " Compare · {finished} finished run{} in {} group{} ",
                plural(finished),
                groups.len(),
                plural(groups.len())
            ),
            theme::title(),
        ));
        let inner = block.inner(area);
        block.render(area, buf);
        if finished == 0 {
            Paragraph::new("No finished runs yet: results appear here as runs complete.")
                .render(inner, buf);
            return;
        }
        let verdict_rows = if inner.height >= 16 { 2 } else { 1 };
        let room = inner
            .height
            .saturating_sub(verdict_rows + CURVES_AT_LEAST)
            .max(3);
        let panel = IntervalPanel::height(groups.len()).min(room);
        let side_by_side = inner.width >= SIDE_BY_SIDE;
        let with_loss =
            side_by_side || inner.height >= 2 * panel + verdict_rows + CURVES_BEFORE_LOSS;
        let top = if with_loss && !side_by_side {
            2 * panel
        } else {
            panel
        };
        let [top, curves, bottom] = Layout::vertical([
            Constraint::Length(top),
            Constraint::Min(0),
            Constraint::Length(verdict_rows),
        ])
        .areas(inner);
        let accuracy = IntervalPanel {
            groups,
            metric: &ACCURACY,
        };
        let loss = IntervalPanel {
            groups,
            metric: &LOSS,
        };
        if side_by_side {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .spacing(2)
                    .areas(top);
            accuracy.render(left, buf);
            loss.render(right, buf);
        } else if with_loss {
            let [upper, lower] =
                Layout::vertical([Constraint::Length(panel), Constraint::Length(panel)]).areas(top);
            accuracy.render(upper, buf);
            loss.render(lower, buf);
        } else {
            accuracy.render(top, buf);
        }
        CurvesPanel::accuracy(&self.curves, self.mono).render(curves, buf);
        let (label, text) = &self.verdict;
        Paragraph::new(verdict_lines(label, text, bottom.width, bottom.height)).render(bottom, buf);
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// `selected vs best other: MLP (3 seeds) − M1 (3 seeds): …`, wrapped to the rows there are.
fn verdict_lines(label: &str, text: &str, width: u16, rows: u16) -> Vec<Line<'static>> {
    let label = format!("{label}: ");
    let lines = wrap(
        &format!("{label}{text}"),
        usize::from(width),
        usize::from(rows),
    );
    lines
        .into_iter()
        .enumerate()
        .map(|(index, line)| match line.strip_prefix(&label) {
            Some(rest) if index == 0 => Line::from(vec![
                Span::styled(label.clone(), Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(rest.to_string()),
            ]),
            _ => Line::from(line),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Event;
    use crate::tui::test_support::{buffer_text, render_widget};

    fn screen(app: &App) -> String {
        buffer_text(
            render_widget(ComparePane::of(app), 100, 30)
                .backend()
                .buffer(),
        )
    }

    #[test]
    fn one_row_per_run_and_a_verdict_empty_says_so() {
        // One name, two seeds: one group.
        let tiny = |seed| crate::plan::RunSpec {
            seed,
            ..crate::plan::RunSpec::new("M1", crate::model::ModelSpec::tiny_mlp())
        };
        let mut app = App::new(Vec::new(), vec![tiny(1), tiny(2)]);
        assert!(screen(&app).contains("No finished runs yet"));
        for (index, (id, accuracy, loss)) in [("a", 0.9054, 0.3074), ("b", 0.8718, 0.3730)]
            .into_iter()
            .enumerate()
        {
            app.assign_id(index, id.into());
            app.apply(&Event::EpochEnd {
                run: id.into(),
                epoch: 1,
                epochs: 15,
                train_loss: 0.5,
                train_accuracy: 0.8,
                val_loss: 0.4,
                val_accuracy: accuracy,
                seconds: 1.0,
            });
            app.apply(&Event::Evaluated {
                run: id.into(),
                test_loss: loss,
                test_accuracy: accuracy,
                confusion: Box::new([[0; 10]; 10]),
            });
        }
        let text = screen(&app);
        // Both tiny MLPs share their settings and name: one group of two seeds.
        assert!(
            text.contains("Compare · 2 finished runs in 1 group"),
            "{text}"
        );
        assert!(text.contains("M1   n=2"), "{text}");
        assert!(text.contains("88.86 ± 2.38"), "{text}");
        assert!(text.contains("0.340 ± 0.046"), "{text}");
        assert!(text.contains("validation accuracy per epoch"), "{text}");
        assert!(
            text.contains("verdict: one group of finished runs: nothing to compare it with yet"),
            "{text}"
        );
    }
}
