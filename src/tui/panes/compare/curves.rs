//! The compare view's validation-accuracy curves, overlaid: one per run, or
//! for a group of finished seeds its mean per epoch between faint min and
//! max lines. A legend beside the plot says which curve is which: by colour,
//! and without colour by a marker character per curve, in the plot and the
//! legend alike.

use std::collections::BTreeMap;

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    symbols::Marker,
    text::{Line, Span},
    widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Widget},
};
use unicode_width::UnicodeWidthStr;

use super::axis::{decimals, nice_bounds};
use crate::plan::settings::{group_labels, GroupLabel};
use crate::tui::panes::text::fit;
use crate::tui::{
    sweep::{Metric, XAxis},
    RunView,
};

/// Colours cycled through for the curves.
pub const PALETTE: [Color; 6] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Red,
    Color::Blue,
];

/// Without colour, each curve is drawn with its own character instead.
pub const MARKS: [char; 6] = ['o', 'x', '+', '#', '@', '%'];

/// What a group's min–max lines are drawn with when there is no colour.
const BAND_MARK: char = '.';

/// One curve: a run's validation accuracy per epoch, or a group's mean with
/// the lowest and highest of its runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub name: String,
    /// A sweep's group: the legend names it by what varies, cut to fit.
    pub label: Option<GroupLabel>,
    /// (epoch, validation accuracy).
    pub points: Vec<(f64, f64)>,
    /// A group's per-epoch minimum and maximum.
    pub band: Option<[Vec<(f64, f64)>; 2]>,
}

impl Curve {
    /// Its name in the legend's `width` columns; whole for `usize::MAX`.
    fn legend(&self, width: usize) -> String {
        let text = match &self.label {
            Some(label) => label.fit(width),
            None => self.name.clone(),
        };
        if width == usize::MAX {
            text
        } else {
            fit(&text, width)
        }
    }
}

/// The curves of `runs` (as [`crate::tui::App::curve_runs`] picks them
/// from `all`): finished runs of one group (two or more) become one mean
/// curve with a band, where the group's first run is; every other run keeps
/// its own curve. A sweep's groups are named by what differs among `all`.
pub fn curves(all: &[RunView], runs: &[&RunView]) -> Vec<Curve> {
    let labels = group_labels(all.iter().map(|run| &run.spec));
    let keys: Vec<Option<String>> = runs
        .iter()
        .map(|run| run.logged().test.is_some().then(|| run.spec.group().id()))
        .collect();
    let mut curves = Vec::new();
    let mut drawn: Vec<&String> = Vec::new();
    for (run, key) in runs.iter().zip(&keys) {
        let Some(key) = key else {
            curves.push(run_curve(run));
            continue;
        };
        if drawn.contains(&key) {
            continue;
        }
        let members: Vec<&RunView> = runs
            .iter()
            .zip(&keys)
            .filter(|(_, other)| other.as_ref() == Some(key))
            .map(|(member, _)| *member)
            .collect();
        if members.len() < 2 {
            // A sweep's configuration with one finished seed: named as its group.
            let label = labels.get(key).filter(|label| label.sweep.is_some());
            curves.push(Curve {
                label: label.cloned(),
                ..run_curve(run)
            });
            continue;
        }
        drawn.push(key);
        let label = labels.get(key).filter(|label| label.sweep.is_some());
        curves.push(group_curve(&run.spec.group().name, label, &members));
    }
    curves
}

fn run_curve(run: &RunView) -> Curve {
    Curve {
        name: run.spec.name.clone(),
        label: None,
        points: run
            .logged()
            .epochs
            .iter()
            .map(|row| (f64::from(row.epoch), row.val_accuracy))
            .collect(),
        band: None,
    }
}

/// Mean, min and max per epoch over the members that reached it.
fn group_curve(name: &str, label: Option<&GroupLabel>, members: &[&RunView]) -> Curve {
    let mut by_epoch: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for member in members {
        for row in &member.logged().epochs {
            by_epoch
                .entry(row.epoch)
                .or_default()
                .push(row.val_accuracy);
        }
    }
    let (mut mean, mut low, mut high) = (Vec::new(), Vec::new(), Vec::new());
    for (epoch, values) in &by_epoch {
        let x = f64::from(*epoch);
        mean.push((x, values.iter().sum::<f64>() / values.len() as f64));
        low.push((x, values.iter().copied().fold(f64::INFINITY, f64::min)));
        high.push((x, values.iter().copied().fold(f64::NEG_INFINITY, f64::max)));
    }
    Curve {
        name: format!("{name} ({} seeds)", members.len()),
        label: label.cloned(),
        points: mean,
        band: Some([low, high]),
    }
}

/// The curves with their legend; `mono` when the terminal shows no colour.
pub struct CurvesPanel<'a> {
    pub curves: &'a [Curve],
    pub mono: bool,
    /// What the curves' points are: y as `metric`, x as `x_axis`.
    pub metric: Metric,
    pub x_axis: XAxis,
    /// Said after the title: the keys that change the panel.
    pub note: String,
    /// The most columns the legend takes (at most a third of the panel).
    pub legend_width: u16,
}

impl<'a> CurvesPanel<'a> {
    /// Validation accuracy per epoch: the compare view's curves.
    pub fn accuracy(curves: &'a [Curve], mono: bool) -> Self {
        Self {
            curves,
            mono,
            metric: Metric::ValAccuracy,
            x_axis: XAxis::Epochs,
            note: " (m marks runs to overlay)".into(),
            legend_width: 24,
        }
    }
}

/// An x value as the axis labels it: `12`, `480k`, `3:05`.
fn x_label(x_axis: XAxis, value: f64) -> String {
    match x_axis {
        XAxis::Epochs => format!("{value:.0}"),
        XAxis::Images if value >= 1e6 => format!("{:.1}M", value / 1e6),
        XAxis::Images if value >= 1e3 => format!("{:.0}k", value / 1e3),
        XAxis::Images => format!("{value:.0}"),
        XAxis::WallTime => {
            let seconds = value.max(0.0).round() as u64;
            if seconds >= 3600 {
                format!("{}h{:02}", seconds / 3600, seconds / 60 % 60)
            } else {
                format!("{}:{:02}", seconds / 60, seconds % 60)
            }
        }
    }
}

/// The y-axis bounds and its three labels for `values` (log10 of the loss
/// on a log scale).
fn y_axis(metric: Metric, values: &[f64]) -> ([f64; 2], [String; 3]) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match metric {
        Metric::ValAccuracy => {
            let (low, high) = nice_bounds(min * 100.0, max * 100.0, 0.5);
            let (low, high) = (low.max(0.0), high.min(100.0));
            let ticks = [low, f64::midpoint(low, high), high];
            let places = decimals(&ticks);
            (
                [low / 100.0, high / 100.0],
                ticks.map(|tick| format!("{tick:.places$}%")),
            )
        }
        Metric::ValLoss => {
            let (low, high) = nice_bounds(min, max, 0.005);
            let (low, high) = (low.max(0.0), high);
            let ticks = [low, f64::midpoint(low, high), high];
            let places = decimals(&ticks).max(2);
            ([low, high], ticks.map(|tick| format!("{tick:.places$}")))
        }
        Metric::LogValLoss => {
            let pad = ((max - min) * 0.05).max(0.01);
            let (low, high) = (min - pad, max + pad);
            let ticks = [low, f64::midpoint(low, high), high];
            (
                [low, high],
                ticks.map(|tick| format!("{:.3}", 10f64.powf(tick))),
            )
        }
    }
}

impl CurvesPanel<'_> {
    fn style(&self, index: usize) -> (Marker, Style) {
        if self.mono {
            (Marker::Custom(MARKS[index % MARKS.len()]), Style::default())
        } else {
            (
                Marker::Braille,
                Style::default().fg(PALETTE[index % PALETTE.len()]),
            )
        }
    }

    fn band_style(&self, index: usize) -> (Marker, Style) {
        let (marker, style) = if self.mono {
            (Marker::Custom(BAND_MARK), Style::default())
        } else {
            self.style(index)
        };
        (marker, style.add_modifier(Modifier::DIM))
    }

    /// One line per curve (then the band's key), as many as `rows` allow.
    fn legend(&self, rows: usize, width: usize) -> Vec<Line<'static>> {
        let mut lines: Vec<Line> = self
            .curves
            .iter()
            .enumerate()
            .map(|(index, curve)| {
                let (_, style) = self.style(index);
                let swatch = if self.mono {
                    MARKS[index % MARKS.len()].to_string().repeat(2)
                } else {
                    "━━".to_string()
                };
                Line::from(vec![
                    Span::styled(swatch, style),
                    Span::raw(format!(" {}", curve.legend(width.saturating_sub(3)))),
                ])
            })
            .collect();
        if self.curves.iter().any(|curve| curve.band.is_some()) {
            let swatch = if self.mono { ".." } else { "⠤⠤" };
            lines.push(Line::from(vec![
                Span::styled(swatch, Style::default().add_modifier(Modifier::DIM)),
                Span::raw(" min–max"),
            ]));
        }
        if lines.len() > rows && rows > 0 {
            let more = lines.len() - rows + 1;
            lines.truncate(rows - 1);
            lines.push(Line::from(format!("+{more} more")));
        }
        lines
    }

    fn chart(&self) -> Chart<'_> {
        let mut datasets = Vec::new();
        // Bands first, so every curve is drawn over them.
        for (index, curve) in self.curves.iter().enumerate() {
            for line in curve.band.iter().flatten() {
                let (marker, style) = self.band_style(index);
                datasets.push(dataset(line, marker, style));
            }
        }
        for (index, curve) in self.curves.iter().enumerate() {
            let (marker, style) = self.style(index);
            datasets.push(dataset(&curve.points, marker, style));
        }
        let all = || {
            self.curves.iter().flat_map(|curve| {
                curve
                    .points
                    .iter()
                    .chain(curve.band.iter().flatten().flatten())
            })
        };
        let xs: Vec<f64> = all().map(|(x, _)| *x).collect();
        let ys: Vec<f64> = all().map(|(_, y)| *y).collect();
        let (first, last) = match self.x_axis {
            // Epoch 1 to at least 2, so one epoch still spans the plot.
            XAxis::Epochs => (1.0, xs.iter().copied().fold(2.0, f64::max)),
            _ => (
                xs.iter().copied().fold(f64::INFINITY, f64::min).min(0.0),
                xs.iter().copied().fold(1.0, f64::max),
            ),
        };
        let (bounds, labels) = y_axis(self.metric, &ys);
        Chart::new(datasets)
            .x_axis(Axis::default().bounds([first, last]).labels(vec![
                Line::from(x_label(self.x_axis, first)),
                Line::from(x_label(self.x_axis, last)),
            ]))
            .y_axis(
                Axis::default()
                    .bounds(bounds)
                    .labels(labels.map(Line::from)),
            )
    }
}

fn dataset(points: &[(f64, f64)], marker: Marker, style: Style) -> Dataset<'_> {
    Dataset::default()
        .marker(marker)
        .graph_type(GraphType::Line)
        .style(style)
        .data(points)
}

impl Widget for CurvesPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height < 2 {
            return;
        }
        let [title, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("{} {}", self.metric.name(), self.x_axis.phrase()),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(self.note.clone()),
        ]))
        .render(title, buf);
        let wanted = self
            .curves
            .iter()
            .map(|curve| curve.legend(usize::MAX).width() + 3)
            .chain([10])
            .max()
            .unwrap_or(10);
        let legend_width = u16::try_from(wanted)
            .unwrap_or(u16::MAX)
            .min(self.legend_width)
            .min(body.width / 3);
        let [plot, legend] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(legend_width + 1)])
                .areas(body);
        self.chart().render(plot, buf);
        let legend = Rect {
            x: legend.x + 1,
            width: legend.width.saturating_sub(1),
            ..legend
        };
        Paragraph::new(self.legend(usize::from(legend.height), usize::from(legend.width)))
            .render(legend, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::ModelSpec,
        plan::{sweep::with_seed, RunSpec},
        protocol::Event,
        tui::App,
    };

    fn epoch(run: &str, epoch: u32, val_accuracy: f64) -> Event {
        Event::EpochEnd {
            run: run.into(),
            epoch,
            epochs: 2,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy,
            seconds: 1.0,
        }
    }

    /// Two finished MLP seeds, a lone M1 and a third MLP seed still training.
    fn app() -> App {
        let mlp = RunSpec::new("MLP", ModelSpec::tiny_mlp());
        let m1 = RunSpec {
            batch_size: 64,
            ..RunSpec::new("M1", ModelSpec::tiny_mlp())
        };
        let specs = vec![
            with_seed(&mlp, 1),
            m1,
            with_seed(&mlp, 2),
            with_seed(&mlp, 3),
        ];
        let mut app = App::new(Vec::new(), specs);
        for (index, values) in [[0.80, 0.84], [0.85, 0.90], [0.82, 0.86], [0.70, 0.0]]
            .into_iter()
            .enumerate()
        {
            let id = format!("r{index}");
            app.assign_id(index, id.as_str().into());
            app.apply(&epoch(&id, 1, values[0]));
            if index < 3 {
                app.apply(&epoch(&id, 2, values[1]));
                app.apply(&Event::Evaluated {
                    run: id.into(),
                    test_loss: 0.3,
                    test_accuracy: values[1],
                    confusion: Box::new([[0; 10]; 10]),
                });
            }
        }
        app
    }

    /// The curves the compare view draws for `app`.
    fn curves_of(app: &App) -> Vec<Curve> {
        curves(&app.runs, &app.curve_runs())
    }

    #[test]
    fn a_group_of_finished_seeds_is_one_mean_curve_with_its_band() {
        let mut app = app();
        let all = curves_of(&app);
        let names: Vec<&str> = all.iter().map(|curve| curve.name.as_str()).collect();
        assert_eq!(names, ["MLP (2 seeds)", "M1"]);
        let close = |found: &[(f64, f64)], expected: &[(f64, f64)]| {
            assert_eq!(found.len(), expected.len(), "{found:?}");
            for (f, e) in found.iter().zip(expected) {
                assert!(
                    (f.0 - e.0).abs() < 1e-12 && (f.1 - e.1).abs() < 1e-12,
                    "{found:?}"
                );
            }
        };
        close(&all[0].points, &[(1.0, 0.81), (2.0, 0.85)]);
        let [low, high] = all[0].band.clone().unwrap();
        close(&low, &[(1.0, 0.80), (2.0, 0.84)]);
        close(&high, &[(1.0, 0.82), (2.0, 0.86)]);
        assert_eq!(all[1].band, None);
        // Marked: the training seed keeps its own curve; one finished seed is a run.
        app.marked = vec!["r3".into(), "r0".into()];
        let names: Vec<String> = curves_of(&app)
            .into_iter()
            .map(|curve| curve.name)
            .collect();
        assert_eq!(names, ["MLP seed=1", "MLP seed=3"]);
    }

    #[test]
    fn without_colour_each_curve_has_its_own_marker_in_plot_and_legend() {
        let all = curves_of(&app());
        let text = |mono: bool| {
            let terminal =
                crate::tui::test_support::render_widget(CurvesPanel::accuracy(&all, mono), 60, 12);
            crate::tui::test_support::buffer_text(terminal.backend().buffer())
        };
        let mono = text(true);
        assert!(mono.contains("oo MLP (2 seeds)"), "{mono}");
        assert!(mono.contains("xx M1"), "{mono}");
        assert!(mono.contains(".. min–max"), "{mono}");
        let plot: String = mono
            .lines()
            .map(|line| line.chars().take(40).collect::<String>())
            .collect();
        assert!(
            plot.contains('o') && plot.contains('x') && plot.contains('.'),
            "{mono}"
        );
        assert!(
            !plot.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
            "{mono}"
        );
        let colour = text(false);
        assert!(colour.contains("━━ MLP (2 seeds)"), "{colour}");
        // 80 … 90% padded and rounded to steps of 2.
        assert!(colour.contains("78%") && colour.contains("92%"), "{colour}");
    }
}
