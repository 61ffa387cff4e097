//! The report's figures, drawn with plotters into memory and encoded as PNG
//! by the screenshot encoder (no image-codec dependency), text in the
//! embedded DejaVu Sans Mono.

use std::{path::Path, sync::Once};

use plotters::{
    coord::{
        ranged1d::SegmentedCoord,
        types::{RangedCoordf64, RangedCoordu32},
        Shift,
    },
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{
    groups::{Band, Metric, ReportGroup},
    ReportError, ReportRun, BARS_SIZE, CONFUSION_SIZE, HISTORY_SIZE,
};
use crate::{
    data::CLASS_NAMES,
    edge::output::{self, Kind, Policy},
    export::png::{self as png_export, Canvas},
};

/// The font family every figure uses (registered from the embedded fonts).
const FONT: &str = "sans-serif";

/// The colours of training and validation curves, and of atelier vs the original.
pub const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);
pub const ORIGINAL: RGBColor = RGBColor(150, 150, 150);

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded fonts are known good; a failure would only leave plotters without text.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, png_export::REGULAR);
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, png_export::BOLD);
    });
}

/// Draws into a white `size` image with `paint`, naming `figure` in errors.
fn draw(
    figure: &str,
    size: (u32, u32),
    paint: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<Canvas, ReportError> {
    register_fonts();
    let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        let result = paint(&root).and_then(|()| root.present().map_err(|e| e.to_string()));
        result.map_err(|problem| ReportError::Draw {
            figure: figure.to_string(),
            problem,
        })?;
    }
    Ok(Canvas::from_rgb(size.0, size.1, pixels))
}

/// Writes a figure as PNG, if `policy` allows the path.
pub fn save(canvas: &Canvas, path: &Path, policy: &Policy) -> Result<(), ReportError> {
    let bytes = png_export::encode(canvas)?;
    Ok(output::write(path, Kind::Png, &bytes, policy)?)
}

fn text<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

/// Seaborn-like "Blues": white for 0, dark blue for 1.
fn blues(rate: f64) -> RGBColor {
    let t = rate.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

/// The test confusion matrix: counts in cells, coloured by row share.
pub fn confusion(run: &ReportRun) -> Result<Canvas, ReportError> {
    let Some(matrix) = run.confusion() else {
        return Err(ReportError::Draw {
            figure: format!("the confusion matrix of {}", run.record.id),
            problem: "the run has no test results".into(),
        });
    };
    let accuracy = run.history.test.as_ref().map_or(0.0, |t| t.accuracy);
    let title = format!(
        "{} — test accuracy {:.2}%",
        run.record.spec.title(),
        accuracy * 100.0
    );
    draw(
        &format!("the confusion matrix of {}", run.record.id),
        CONFUSION_SIZE,
        |root| {
            root.fill(&WHITE).map_err(text)?;
            let mut chart = ChartBuilder::on(root)
                .caption(&title, (FONT, 22).into_font().style(FontStyle::Bold))
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(130)
                .build_cartesian_2d((0..9u32).into_segmented(), (0..9u32).into_segmented()) // ten classes
                .map_err(text)?;
            let class = |value: &SegmentValue<u32>, flip: bool| match value {
                SegmentValue::CenterOf(index) if *index < 10 => {
                    let row = if flip { 9 - index } else { *index };
                    CLASS_NAMES[row as usize].to_string()
                }
                _ => String::new(),
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(10)
                .y_labels(10)
                .x_label_formatter(&|v| class(v, false))
                .y_label_formatter(&|v| class(v, true))
                .x_desc("predicted")
                .y_desc("true")
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 16))
                .draw()
                .map_err(text)?;
            confusion_cells(&mut chart, matrix)
        },
    )
}

/// The confusion chart's axes: ten class segments each way.
type ClassGrid = Cartesian2d<SegmentedCoord<RangedCoordu32>, SegmentedCoord<RangedCoordu32>>;

/// The matrix's hundred cells: coloured by row share, each with its count.
fn confusion_cells<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, ClassGrid>,
    matrix: &crate::protocol::ConfusionMatrix,
) -> Result<(), String> {
    let cells = (0..10u32).flat_map(|truth| (0..10u32).map(move |predicted| (truth, predicted)));
    let row_total = |truth: u32| matrix[truth as usize].iter().sum::<u32>().max(1);
    let rate = |truth: u32, predicted: u32| {
        f64::from(matrix[truth as usize][predicted as usize]) / f64::from(row_total(truth))
    };
    chart
        .draw_series(cells.clone().map(|(truth, predicted)| {
            let y = 9 - truth;
            Rectangle::new(
                [
                    (SegmentValue::Exact(predicted), SegmentValue::Exact(y)),
                    (
                        SegmentValue::Exact(predicted + 1),
                        SegmentValue::Exact(y + 1),
                    ),
                ],
                blues(rate(truth, predicted)).filled(),
            )
        }))
        .map_err(text)?;
    chart
        .draw_series(cells.map(|(truth, predicted)| {
            let colour: &'static RGBColor = if rate(truth, predicted) > 0.5 {
                &WHITE
            } else {
                &BLACK
            };
            let style = TextStyle::from((FONT, 15).into_font())
                .color(colour)
                .pos(Pos::new(HPos::Center, VPos::Center));
            Text::new(
                matrix[truth as usize][predicted as usize].to_string(),
                (
                    SegmentValue::CenterOf(predicted),
                    SegmentValue::CenterOf(9 - truth),
                ),
                style,
            )
        }))
        .map_err(text)?;
    Ok(())
}

/// Accuracy and loss per epoch, training vs validation, side by side.
pub fn history(run: &ReportRun) -> Result<Canvas, ReportError> {
    let epochs = &run.history.epochs;
    let last = epochs.last().map_or(1, |row| row.epoch).max(2);
    draw(
        &format!("the history of {}", run.record.id),
        HISTORY_SIZE,
        |root| {
            root.fill(&WHITE).map_err(text)?;
            let root = root
                .titled(
                    &run.record.spec.title(),
                    (FONT, 22).into_font().style(FontStyle::Bold),
                )
                .map_err(text)?;
            let (left, right) = root.split_horizontally(HISTORY_SIZE.0 / 2);
            let panels = [
                (
                    left,
                    "accuracy",
                    [
                        epochs
                            .iter()
                            .map(|row| (row.epoch, row.train_accuracy))
                            .collect::<Vec<_>>(),
                        epochs
                            .iter()
                            .map(|row| (row.epoch, row.val_accuracy))
                            .collect(),
                    ],
                ),
                (
                    right,
                    "loss",
                    [
                        epochs
                            .iter()
                            .map(|row| (row.epoch, row.train_loss))
                            .collect(),
                        epochs.iter().map(|row| (row.epoch, row.val_loss)).collect(),
                    ],
                ),
            ];
            for (area, name, [train, validation]) in panels {
                history_panel(&area, name, train, validation, last)?;
            }
            Ok(())
        },
    )
}

/// One panel of the history: a metric's training and validation curves.
fn history_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    train: Vec<(u32, f64)>,
    validation: Vec<(u32, f64)>,
    last: u32,
) -> Result<(), String> {
    let values = train.iter().chain(&validation).map(|(_, v)| *v);
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (low, high) = if low.is_finite() {
        (low, high)
    } else {
        (0.0, 1.0)
    };
    let pad = ((high - low) * 0.08).max(0.005);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("model {name}"), (FONT, 18))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1u32..last, (low - pad)..(high + pad))
        .map_err(text)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(name)
        .x_labels(last.min(15) as usize)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE)
        .draw()
        .map_err(text)?;
    for (points, colour, label) in [
        (train, TRAIN, "training"),
        (validation, VALIDATION, "validation"),
    ] {
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(text)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|point| Circle::new(point, 3, colour.filled())),
            )
            .map_err(text)?;
    }
    chart
        .configure_series_labels()
        .position(if name == "loss" {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(text)?;
    Ok(())
}

/// One bar: its x on the continuous axis, its height, and the 95% interval
/// of the mean when the group has one.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bar {
    x: f64,
    value: f64,
    interval: Option<(f64, f64)>,
}

/// Test accuracy or loss per group of seeds (a run alone is a group of one):
/// the mean as a bar, its 95% confidence interval as an error bar, beside
/// the original's single value where known.
pub fn bars(groups: &[ReportGroup], metric: Metric) -> Result<Canvas, ReportError> {
    let summaries: Vec<_> = groups.iter().map(|group| group.summary(metric)).collect();
    let original = |group: &ReportGroup| {
        group
            .reference()
            .map(|reference| metric.reference(reference))
    };
    let name = match metric {
        Metric::Accuracy => "test accuracy",
        Metric::Loss => "test loss",
    };
    let any_original = groups.iter().any(|group| original(group).is_some());
    // The original's best model is the one with the highest test accuracy.
    let best_original = groups
        .iter()
        .filter_map(ReportGroup::reference)
        .reduce(|a, b| {
            if b.test_accuracy > a.test_accuracy {
                b
            } else {
                a
            }
        })
        .map(|reference| metric.reference(reference));
    let (low, high) = bar_range(
        summaries
            .iter()
            .flat_map(|s| [s.mean, s.ci.map(|c| c.0), s.ci.map(|c| c.1)])
            .chain(groups.iter().map(original))
            .flatten(),
        metric,
    );
    let width = if any_original { 0.36 } else { 0.6 };
    let offset = if any_original { width / 2.0 } else { 0.0 };
    let ours: Vec<Bar> = summaries
        .iter()
        .enumerate()
        .map(|(i, summary)| Bar {
            x: i as f64 + 0.5 - offset,
            value: summary.mean.unwrap_or(low),
            interval: summary.ci,
        })
        .collect();
    let theirs: Vec<Bar> = groups
        .iter()
        .enumerate()
        .filter_map(|(i, group)| {
            original(group).map(|value| Bar {
                x: i as f64 + 0.5 + offset,
                value,
                interval: None,
            })
        })
        .collect();
    let count = groups.len() as f64;
    let seeded = groups.iter().any(|group| group.runs.len() > 1);
    draw(name, BARS_SIZE, |root| {
        root.fill(&WHITE).map_err(text)?;
        // A segmented `a..b` has one segment per value a..=b. Group names sit
        // under segments of the primary axis; the bars, two per group, are
        // placed on a secondary, continuous axis over the same area.
        let caption = if seeded {
            format!("{name} per group: mean, 95% CI of the mean")
        } else {
            format!("{name} per run")
        };
        let mut chart = ChartBuilder::on(root)
            .caption(caption, (FONT, 22).into_font().style(FontStyle::Bold))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (0..groups.len().max(1) as u32 - 1).into_segmented(),
                low..high,
            )
            .map_err(text)?
            .set_secondary_coord(0.0..count, low..high);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(groups.len())
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(index) => {
                    groups
                        .get(*index as usize)
                        .map_or_else(String::new, |group| {
                            // The original trained 15 epochs: say how many these had.
                            let n = group.runs.len();
                            if n > 1 {
                                format!("{} · n={n} · {} ep.", group.group.name, group.epochs())
                            } else {
                                format!("{} · {} ep.", group.group.name, group.epochs())
                            }
                        })
                }
                _ => String::new(),
            })
            .y_desc(name)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE)
            .draw()
            .map_err(text)?;
        for (bars, colour, label) in [
            (ours, TRAIN, "atelier"),
            (theirs, ORIGINAL, "original (Keras, 15 epochs, one run)"),
        ] {
            bar_series(&mut chart, &bars, (colour, label), width, low)?;
        }
        if let Some(best) = best_original.filter(|_| groups.len() > 1) {
            // The original's best model, across every group: the line to beat.
            chart
                .draw_secondary_series(DashedLineSeries::new(
                    [(0.0, best), (count, best)],
                    8,
                    5,
                    ORIGINAL.stroke_width(2),
                ))
                .map_err(text)?
                .label(format!("original's best ({best:.4})"))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], ORIGINAL.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(text)?;
        Ok(())
    })
}

/// The colour of error bars.
pub const WHISKER: RGBColor = RGBColor(0, 0, 0);

/// One series of bars on the chart's secondary axis, each labelled with its
/// value above its error bar (when it has one).
fn bar_series<DB: DrawingBackend>(
    chart: &mut plotters::chart::DualCoordChartContext<
        '_,
        DB,
        Cartesian2d<SegmentedCoord<RangedCoordu32>, RangedCoordf64>,
        Cartesian2d<RangedCoordf64, RangedCoordf64>,
    >,
    bars: &[Bar],
    (colour, label): (RGBColor, &str),
    width: f64,
    low: f64,
) -> Result<(), String> {
    if bars.is_empty() {
        return Ok(());
    }
    let label_style =
        TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    chart
        .draw_secondary_series(bars.iter().map(|bar| {
            Rectangle::new(
                [(bar.x - width / 2.0, low), (bar.x + width / 2.0, bar.value)],
                colour.filled(),
            )
        }))
        .map_err(text)?
        .label(label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    let cap = width / 4.0;
    let whiskers = bars
        .iter()
        .filter_map(|bar| bar.interval.map(|i| (bar.x, i)));
    for (x, (lo, hi)) in whiskers {
        for points in [
            vec![(x, lo), (x, hi)],
            vec![(x - cap, lo), (x + cap, lo)],
            vec![(x - cap, hi), (x + cap, hi)],
        ] {
            chart
                .draw_secondary_series(std::iter::once(PathElement::new(
                    points,
                    WHISKER.stroke_width(2),
                )))
                .map_err(text)?;
        }
    }
    chart
        .draw_secondary_series(bars.iter().map(|bar| {
            let top = bar.interval.map_or(bar.value, |(_, hi)| hi.max(bar.value));
            Text::new(
                format!("{:.4}", bar.value),
                (bar.x, top),
                label_style.clone(),
            )
        }))
        .map_err(text)?;
    Ok(())
}

/// The value axis of a bar chart. Accuracies sit close together, so the
/// axis starts near them and differences show; losses start at zero, with
/// room above the tallest bar for its value and the legend.
fn bar_range(values: impl Iterator<Item = f64> + Clone, metric: Metric) -> (f64, f64) {
    let highest = values.clone().fold(0.0, f64::max);
    match metric {
        Metric::Accuracy => {
            let lowest = values.fold(1.0, f64::min);
            (
                ((lowest - 0.02) * 50.0).floor() / 50.0,
                // Room above the highest whisker for its label and the legend.
                highest + (highest - lowest) * 0.35 + 0.01,
            )
        }
        Metric::Loss => (0.0, highest * 1.3),
    }
}

/// Colours of the groups' curves, cycled.
const GROUP_COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Every group's validation accuracy per epoch: the mean over its seeds as
/// a line, the lowest and highest seed as a shaded band.
pub fn validation_bands(groups: &[ReportGroup]) -> Result<Canvas, ReportError> {
    let bands: Vec<Vec<Band>> = groups.iter().map(ReportGroup::band).collect();
    let last = bands
        .iter()
        .filter_map(|band| band.last().map(|b| b.epoch))
        .max()
        .unwrap_or(1)
        .max(2);
    let (low, high) = bands
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
            (lo.min(b.min), hi.max(b.max))
        });
    let (low, high) = if low.is_finite() {
        (low, high)
    } else {
        (0.0, 1.0)
    };
    let pad = ((high - low) * 0.08).max(0.005);
    draw("the validation curves of the groups", BARS_SIZE, |root| {
        root.fill(&WHITE).map_err(text)?;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "validation accuracy per group: mean, band from lowest to highest seed",
                (FONT, 20).into_font().style(FontStyle::Bold),
            )
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1u32..last, (low - pad)..(high + pad))
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("validation accuracy")
            .x_labels(last.min(15) as usize)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE)
            .draw()
            .map_err(text)?;
        for (index, (group, band)) in groups.iter().zip(&bands).enumerate() {
            let colour = GROUP_COLOURS[index % GROUP_COLOURS.len()];
            let outline: Vec<(u32, f64)> = band
                .iter()
                .map(|b| (b.epoch, b.max))
                .chain(band.iter().rev().map(|b| (b.epoch, b.min)))
                .collect();
            if group.runs.len() > 1 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        colour.mix(0.2).filled(),
                    )))
                    .map_err(text)?;
            }
            let label = format!("{} (n={})", group.group.name, group.runs.len());
            chart
                .draw_series(LineSeries::new(
                    band.iter().map(|b| (b.epoch, b.mean)),
                    colour.stroke_width(2),
                ))
                .map_err(text)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(text)?;
        Ok(())
    })
}
