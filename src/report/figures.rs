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

use super::{ReportError, ReportRun, BARS_SIZE, CONFUSION_SIZE, HISTORY_SIZE};
use crate::{
    data::CLASS_NAMES,
    export::png::{self as png_export, Canvas},
};

/// The font family every figure uses (registered from the embedded fonts).
const FONT: &str = "sans-serif";

/// The colours of training and validation curves, and of atelier vs the original.
const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALIDATION: RGBColor = RGBColor(255, 127, 14);
const ORIGINAL: RGBColor = RGBColor(150, 150, 150);

/// Which test metric a bar chart shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    Loss,
}

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

/// Writes a figure as PNG.
pub fn save(canvas: &Canvas, path: &Path) -> Result<(), ReportError> {
    let bytes = png_export::encode(canvas)?;
    std::fs::write(path, bytes).map_err(|error| ReportError::Io {
        path: path.to_path_buf(),
        what: "cannot write",
        error,
    })
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

/// Test accuracy or loss of every run, beside the original's where known.
pub fn bars(runs: &[ReportRun], metric: Metric) -> Result<Canvas, ReportError> {
    let value = |run: &ReportRun| {
        run.history.test.as_ref().map_or(0.0, |test| match metric {
            Metric::Accuracy => test.accuracy,
            Metric::Loss => test.loss,
        })
    };
    let original = |run: &ReportRun| {
        run.record.spec.reference.map(|reference| match metric {
            Metric::Accuracy => reference.test_accuracy,
            Metric::Loss => reference.test_loss,
        })
    };
    let name = match metric {
        Metric::Accuracy => "test accuracy",
        Metric::Loss => "test loss",
    };
    let any_original = runs.iter().any(|run| original(run).is_some());
    let (low, high) = bar_range(
        runs.iter()
            .flat_map(|run| [Some(value(run)), original(run)])
            .flatten(),
        metric,
    );
    let width = if any_original { 0.36 } else { 0.6 };
    let offset = if any_original { width / 2.0 } else { 0.0 };
    let ours: Vec<(f64, f64)> = runs
        .iter()
        .enumerate()
        .map(|(i, run)| (i as f64 + 0.5 - offset, value(run)))
        .collect();
    let theirs: Vec<(f64, f64)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, run)| original(run).map(|v| (i as f64 + 0.5 + offset, v)))
        .collect();
    let count = runs.len() as f64;
    draw(name, BARS_SIZE, |root| {
        root.fill(&WHITE).map_err(text)?;
        // A segmented `a..b` has one segment per value a..=b. Run names sit
        // under segments of the primary axis; the bars, two per
        // run, are placed on a secondary, continuous axis over the same area.
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{name} per run"),
                (FONT, 22).into_font().style(FontStyle::Bold),
            )
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (0..runs.len().max(1) as u32 - 1).into_segmented(),
                low..high,
            )
            .map_err(text)?
            .set_secondary_coord(0.0..count, low..high);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(runs.len())
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(index) => {
                    runs.get(*index as usize).map_or_else(String::new, |run| {
                        // The original trained 15 epochs: say how many these had.
                        format!("{} · {} ep.", run.record.spec.name, run.record.epochs_done)
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
            (theirs, ORIGINAL, "original (Keras, 15 epochs)"),
        ] {
            bar_series(&mut chart, &bars, (colour, label), width, low)?;
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

/// One series of bars on the chart's secondary axis, each labelled with its value.
fn bar_series<DB: DrawingBackend>(
    chart: &mut plotters::chart::DualCoordChartContext<
        '_,
        DB,
        Cartesian2d<SegmentedCoord<RangedCoordu32>, RangedCoordf64>,
        Cartesian2d<RangedCoordf64, RangedCoordf64>,
    >,
    bars: &[(f64, f64)],
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
        .draw_secondary_series(bars.iter().map(|&(x, v)| {
            Rectangle::new(
                [(x - width / 2.0, low), (x + width / 2.0, v)],
                colour.filled(),
            )
        }))
        .map_err(text)?
        .label(label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    chart
        .draw_secondary_series(
            bars.iter()
                .map(|&(x, v)| Text::new(format!("{v:.4}"), (x, v), label_style.clone())),
        )
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
                (highest + (highest - lowest) * 0.3 + 0.01).min(1.0),
            )
        }
        Metric::Loss => (0.0, highest * 1.3),
    }
}
