//! The compare view: test accuracy and test loss of every finished run as
//! bar charts (the original's Figures 4–5), best marked, and their
//! validation-accuracy curves on shared axes.

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    symbols::Marker,
    text::{Line, Span},
    widgets::{
        Axis, Bar, BarChart, BarGroup, Block, Borders, Chart, Dataset, GraphType, Paragraph, Widget,
    },
};

use super::theme;
use crate::tui::{App, RunView};

/// Colours cycled through for the curves, one per run.
const PALETTE: [Color; 6] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Red,
    Color::Blue,
];

/// Draws the compare view.
pub struct ComparePane<'a>(pub &'a App);

impl Widget for ComparePane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let finished: Vec<&RunView> = self.0.finished().collect();
        let block = Block::default().borders(Borders::ALL).title(Span::styled(
            format!(" Compare · {} finished run(s) ", finished.len()),
            theme::title(),
        ));
        let inner = block.inner(area);
        block.render(area, buf);
        if finished.is_empty() {
            Paragraph::new("No finished runs yet: results appear here as runs complete.")
                .render(inner, buf);
            return;
        }
        let [bars, curves] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        let [accuracy, loss] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(bars);
        let test = |run: &RunView| {
            run.test
                .as_ref()
                .map_or((0.0, 0.0), |t| (t.accuracy, t.loss))
        };
        let best_accuracy = finished
            .iter()
            .map(|run| test(run).0)
            .fold(f64::MIN, f64::max);
        let best_loss = finished
            .iter()
            .map(|run| test(run).1)
            .fold(f64::MAX, f64::min);
        bar_chart(
            "test accuracy (★ best)",
            &finished,
            |run| test(run).0,
            |value| value == best_accuracy,
            |value| format!("{:.2}", value * 100.0),
            1.0,
        )
        .render(accuracy, buf);
        let top_loss = finished.iter().map(|run| test(run).1).fold(0.0, f64::max);
        bar_chart(
            "test loss (★ lowest)",
            &finished,
            |run| test(run).1,
            |value| value == best_loss,
            |value| format!("{value:.3}"),
            top_loss.max(1e-9),
        )
        .render(loss, buf);
        let series: Vec<(String, Vec<(f64, f64)>)> = self
            .0
            .curve_runs()
            .iter()
            .map(|run| {
                let points = run
                    .epochs
                    .iter()
                    .map(|row| (f64::from(row.epoch), row.val_accuracy))
                    .collect();
                (run.spec.name.clone(), points)
            })
            .collect();
        curves_chart(&series).render(curves, buf);
    }
}

fn bar_chart<'a>(
    title: &'a str,
    runs: &[&RunView],
    value: impl Fn(&RunView) -> f64,
    is_best: impl Fn(f64) -> bool,
    text: impl Fn(f64) -> String,
    scale: f64,
) -> BarChart<'a> {
    let bars: Vec<Bar> = runs
        .iter()
        .map(|run| {
            let value = value(run);
            let best = is_best(value);
            let label = if best {
                format!("★{}", run.spec.name)
            } else {
                run.spec.name.clone()
            };
            let style = if best {
                Style::default()
                    .fg(Color::Green)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(Color::Gray)
            };
            Bar::default()
                .value((value / scale * 1000.0).round() as u64)
                .text_value(text(value))
                .label(Line::from(label))
                .style(style)
        })
        .collect();
    BarChart::default()
        .block(Block::default().title(title))
        .data(BarGroup::default().bars(&bars))
        .bar_width(7)
        .bar_gap(1)
        .max(1000)
}

fn curves_chart(series: &[(String, Vec<(f64, f64)>)]) -> Chart<'_> {
    let epochs = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(x, _)| *x))
        .fold(1.0, f64::max);
    let low = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(_, y)| *y))
        .fold(1.0, f64::min);
    let low = (low * 20.0).floor() / 20.0;
    let datasets = series
        .iter()
        .enumerate()
        .map(|(index, (name, points))| {
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(PALETTE[index % PALETTE.len()]))
                .data(points)
        })
        .collect();
    Chart::new(datasets)
        .block(Block::default().title("validation accuracy per epoch (m marks runs to overlay)"))
        .x_axis(
            Axis::default()
                .bounds([1.0, epochs])
                .labels(vec![Line::from("1"), Line::from(format!("{epochs:.0}"))]),
        )
        .y_axis(Axis::default().bounds([low, 1.0]).labels(vec![
            Line::from(format!("{:.0}%", low * 100.0)),
            Line::from("100%"),
        ]))
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::train::Event;
    use crate::tui::test_support::{buffer_text, planned_app, render_widget};

    fn screen(app: &App) -> String {
        buffer_text(render_widget(ComparePane(app), 100, 30).backend().buffer())
    }

    #[test]
    fn bars_mark_the_best_run_and_empty_says_so() {
        let mut app = planned_app(&["M1", "MLP"]);
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
        assert!(text.contains("Compare · 2 finished run(s)"), "{text}");
        assert!(text.contains("★M1"), "{text}");
        assert!(text.contains("90.54") && text.contains("87.18"), "{text}");
        assert!(text.contains("0.307") && text.contains("0.373"), "{text}");
        assert!(text.contains("validation accuracy per epoch"), "{text}");
    }
}
