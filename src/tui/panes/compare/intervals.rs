//! The compare view's interval panels: one row per group with its mean test
//! accuracy (or loss) as a dot, the 95% confidence interval of the mean as
//! a whisker and the original's value as a diamond, on an axis zoomed to
//! the values, so that 87.6, 88.1 and 88.4 no longer look alike.

use ratatui::{
    buffer::Buffer,
    layout::Rect,
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Paragraph, Widget},
};
use unicode_width::UnicodeWidthStr;

use super::axis::{
    tick_labels, whisker, with_best_line, ValueAxis, BEST_LINE, LEFT_CAP, LINE, MEAN, ORIGINAL,
    RIGHT_CAP,
};
use crate::tui::panes::text::fit;
use crate::{
    plan::{settings::GroupLabel, Reference},
    stats::Summary,
    tui::comparison::TestGroup,
};

/// What a panel shows: test accuracy or test loss.
pub struct Metric {
    pub title: &'static str,
    /// After each tick label.
    pub unit: &'static str,
    /// From the stored value to the shown one (accuracy in %).
    pub scale: f64,
    /// Decimals of the mean and spread beside the axis.
    pub places: usize,
    /// The least padding around the values, in shown units.
    pub min_pad: f64,
    pub higher_is_better: bool,
    pub values: fn(&TestGroup) -> Vec<f64>,
    pub original: fn(&Reference) -> f64,
}

pub const ACCURACY: Metric = Metric {
    title: "test accuracy (%)",
    unit: "%",
    scale: 100.0,
    places: 2,
    min_pad: 0.2,
    higher_is_better: true,
    values: |group| group.accuracies(),
    original: |reference| reference.test_accuracy,
};

pub const LOSS: Metric = Metric {
    title: "test loss",
    unit: "",
    scale: 1.0,
    places: 3,
    min_pad: 0.002,
    higher_is_better: false,
    values: |group| group.losses(),
    original: |reference| reference.test_loss,
};

/// The most columns a group's name takes (a sweep's name is cut first).
const NAME_WIDTH: usize = 24;

/// A group's row, in shown units.
struct Row {
    label: GroupLabel,
    summary: Summary,
    mean: f64,
    ci: Option<(f64, f64)>,
    original: Option<f64>,
}

/// The panel: a title with the key to its glyphs, a row per group (as many
/// as fit, then how many more), and the axis labels.
pub struct IntervalPanel<'a> {
    pub groups: &'a [TestGroup<'a>],
    pub metric: &'a Metric,
}

impl IntervalPanel<'_> {
    /// Rows the panel takes for `groups` groups: title, rows, axis labels.
    pub fn height(groups: usize) -> u16 {
        u16::try_from(groups).unwrap_or(u16::MAX).saturating_add(2)
    }

    fn rows(&self) -> Vec<Row> {
        let metric = self.metric;
        self.groups
            .iter()
            .filter_map(|group| {
                let values: Vec<f64> = (metric.values)(group)
                    .into_iter()
                    .map(|value| value * metric.scale)
                    .collect();
                let summary = Summary::of(&values);
                Some(Row {
                    label: group.label.clone(),
                    mean: summary.mean?,
                    ci: summary.ci,
                    original: group
                        .reference()
                        .map(|reference| (metric.original)(&reference) * metric.scale),
                    summary,
                })
            })
            .collect()
    }
}

impl Widget for IntervalPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height < 3 || area.width < 20 {
            return;
        }
        let metric = self.metric;
        let mut rows = self.rows();
        let room = usize::from(area.height - 2);
        let hidden = rows.len().saturating_sub(room);
        if hidden > 0 {
            rows.truncate(room - 1);
        }
        let text = |row: &Row| match row.summary.sd {
            Some(sd) => format!("{:.*} ± {sd:.*}", metric.places, row.mean, metric.places),
            None => format!("{:.*}", metric.places, row.mean),
        };
        let name_width = rows
            .iter()
            .map(|row| row.label.fit(usize::MAX).width())
            .max()
            .unwrap_or(0)
            .clamp(4, NAME_WIDTH);
        let text_width = rows.iter().map(|row| text(row).width()).max().unwrap_or(0);
        // Name, space, `n=NN`, space, axis, space, mean ± sd.
        let axis_width = usize::from(area.width).saturating_sub(name_width + text_width + 7);
        let axis = ValueAxis::fitting(
            &rows
                .iter()
                .flat_map(|row| {
                    let (low, high) = row.ci.unwrap_or((row.mean, row.mean));
                    [Some(low), Some(high), row.original].into_iter().flatten()
                })
                .collect::<Vec<f64>>(),
            u16::try_from(axis_width).unwrap_or(u16::MAX),
            metric.min_pad,
        );
        let best = rows.iter().map(|row| row.mean).reduce(|x, y| {
            if (y > x) == metric.higher_is_better {
                y
            } else {
                x
            }
        });
        // The original's best model (its highest test accuracy), as a line
        // through every row: where the beyond groups must land to beat it.
        let best_original = self
            .groups
            .iter()
            .filter_map(TestGroup::reference)
            .reduce(|a, b| {
                if b.test_accuracy > a.test_accuracy {
                    b
                } else {
                    a
                }
            })
            .map(|reference| (metric.original)(&reference) * metric.scale)
            .filter(|_| rows.len() > 1);
        let mut lines = vec![title(metric, &rows, best_original)];
        for row in &rows {
            let mut spans = vec![Span::raw(format!(
                "{} {:<4} ",
                fit(&row.label.fit(name_width), name_width),
                format!("n={}", row.summary.n)
            ))];
            let glyphs = whisker(&axis, row.mean, row.ci, row.original);
            spans.extend(glyph_spans(&with_best_line(&axis, &glyphs, best_original)));
            let style = if Some(row.mean) == best && rows.len() > 1 {
                Style::default()
                    .fg(Color::Green)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            spans.push(Span::styled(format!(" {}", text(row)), style));
            lines.push(Line::from(spans));
        }
        if hidden > 0 {
            // The row this line takes is one more group not shown.
            lines.push(Line::from(format!("… and {} more groups", hidden + 1)));
        }
        lines.push(Line::from(format!(
            "{}{}",
            " ".repeat(name_width + 6),
            tick_labels(&axis, metric.unit)
        )));
        Paragraph::new(lines).render(area, buf);
    }
}

/// `test accuracy (%) · ● mean ┣━┫ 95% CI ◆ original ┊ best`, with the parts the rows use.
fn title(metric: &Metric, rows: &[Row], best_original: Option<f64>) -> Line<'static> {
    let mut spans = vec![
        Span::styled(metric.title, Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(" · "),
    ];
    spans.extend(glyph_spans(&MEAN.to_string()));
    spans.push(Span::raw(" mean"));
    if rows.iter().any(|row| row.ci.is_some()) {
        spans.push(Span::raw("  "));
        spans.extend(glyph_spans(&format!("{LEFT_CAP}{LINE}{RIGHT_CAP}")));
        spans.push(Span::raw(" 95% CI of the mean"));
    }
    if rows.iter().any(|row| row.original.is_some()) {
        spans.push(Span::raw("  "));
        spans.extend(glyph_spans(&ORIGINAL.to_string()));
        spans.push(Span::raw(" original"));
    }
    // Short, to fit 80 columns: the original's best-accuracy model.
    if best_original.is_some() {
        spans.push(Span::raw("  "));
        spans.extend(glyph_spans(&BEST_LINE.to_string()));
        spans.push(Span::raw(" best"));
    }
    Line::from(spans)
}

/// The whisker's glyphs, styled: the interval cyan, the mean bold, the original yellow.
fn glyph_spans(glyphs: &str) -> Vec<Span<'static>> {
    glyphs
        .chars()
        .map(|glyph| {
            let style = match glyph {
                LEFT_CAP | LINE | RIGHT_CAP => Style::default().fg(Color::Cyan),
                MEAN => Style::default().add_modifier(Modifier::BOLD),
                ORIGINAL => Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
                BEST_LINE => Style::default().fg(Color::Yellow),
                _ => Style::default(),
            };
            Span::styled(glyph.to_string(), style)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_that_do_not_fit_are_counted() {
        use crate::{model::ModelSpec, plan::RunSpec, protocol::Event, tui::RunView};
        let views: Vec<RunView> = (0..4u32)
            .map(|index| {
                let mut view =
                    RunView::planned(RunSpec::new(format!("G{index}"), ModelSpec::tiny_mlp()));
                view.apply(&Event::Evaluated {
                    run: "r".into(),
                    test_loss: 0.3,
                    test_accuracy: 0.88 + f64::from(index) / 100.0,
                    confusion: Box::new([[0; 10]; 10]),
                });
                view
            })
            .collect();
        let groups: Vec<TestGroup> = views
            .iter()
            .map(|view| TestGroup {
                key: view.spec.name.clone(),
                name: view.spec.name.clone(),
                label: GroupLabel {
                    sweep: None,
                    label: view.spec.name.clone(),
                },
                runs: vec![view],
            })
            .collect();
        let panel = IntervalPanel {
            groups: &groups,
            metric: &ACCURACY,
        };
        let terminal = crate::tui::test_support::render_widget(panel, 60, 4);
        let text = crate::tui::test_support::buffer_text(terminal.backend().buffer());
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        assert_eq!(lines[0], "test accuracy (%) · ● mean");
        // A lone value sits mid-axis, with no whisker.
        assert_eq!(lines[1].find('●'), Some(31), "{text}");
        assert!(lines[1].starts_with("G0   n=1 ") && !lines[1].contains(LINE));
        assert!(lines[1].ends_with(" 88.00"), "{text}");
        assert_eq!(lines[2], "… and 3 more groups");
        assert!(lines[3].trim_start().starts_with("87.8%"), "{text}");
    }

    #[test]
    fn the_originals_best_is_a_line_through_every_row() {
        use crate::{model::ModelSpec, plan::RunSpec, protocol::Event, tui::RunView};
        let view = |name: &str, accuracy: f64, reference: Option<Reference>| {
            let mut spec = RunSpec::new(name, ModelSpec::tiny_mlp());
            spec.reference = reference;
            let mut view = RunView::planned(spec);
            view.apply(&Event::Evaluated {
                run: "r".into(),
                test_loss: 0.3,
                test_accuracy: accuracy,
                confusion: Box::new([[0; 10]; 10]),
            });
            view
        };
        let best = Reference {
            test_accuracy: 0.9207,
            test_loss: 0.2833,
        };
        let views = [
            view("B1", 0.93, Some(best)),
            view(
                "M1",
                0.90,
                Some(Reference {
                    test_accuracy: 0.9094,
                    test_loss: 0.3163,
                }),
            ),
        ];
        let groups: Vec<TestGroup> = views
            .iter()
            .map(|view| TestGroup {
                key: view.spec.name.clone(),
                name: view.spec.name.clone(),
                label: GroupLabel {
                    sweep: None,
                    label: view.spec.name.clone(),
                },
                runs: vec![view],
            })
            .collect();
        let panel = IntervalPanel {
            groups: &groups,
            metric: &ACCURACY,
        };
        let terminal = crate::tui::test_support::render_widget(panel, 70, 4);
        let text = crate::tui::test_support::buffer_text(terminal.backend().buffer());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("◆ original  ┊ best"), "{text}");
        // B1's own reference is that best: its ◆ sits where M1's row has the line.
        let column = |line: &str, glyph: char| line.chars().position(|c| c == glyph);
        assert_eq!(
            column(lines[1], ORIGINAL),
            column(lines[2], BEST_LINE),
            "{text}"
        );
        assert!(
            column(lines[2], ORIGINAL) < column(lines[2], BEST_LINE),
            "{text}"
        );
    }
}
