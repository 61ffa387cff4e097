//! The per-run figures, drawn with plotters into memory (text in the
//! embedded `DejaVu` Sans Mono): the test confusion matrix and the training
//! history. The report writes them as files; the `TensorBoard` export embeds
//! the first. The helpers here draw the report's summary figures too.

use std::sync::Once;

use plotters::{
    coord::{ranged1d::SegmentedCoord, types::RangedCoordu32, Shift},
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{fonts, Canvas, DrawError, PlotError};
use crate::{
    data::CLASS_NAMES,
    protocol::ConfusionMatrix,
    store::{History, RunRecord},
};

/// Pixel sizes of the per-run figures.
pub const CONFUSION_SIZE: (u32, u32) = (1000, 800);
pub const HISTORY_SIZE: (u32, u32) = (1200, 460);

/// The font family every figure uses (registered from the embedded fonts).
pub const FONT: &str = "sans-serif";

/// The colours of training and validation curves, and of atelier vs the original.
pub const TRAIN: RGBColor = RGBColor(31, 119, 180);
pub const VALIDATION: RGBColor = RGBColor(255, 127, 14);
pub const ORIGINAL: RGBColor = RGBColor(150, 150, 150);

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded fonts are known good; a failure would only leave plotters without text.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, fonts::REGULAR);
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, fonts::BOLD);
    });
}

/// Draws into a white `size` image with `paint`, naming `figure` in errors.
pub fn draw(
    figure: &str,
    size: (u32, u32),
    paint: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), PlotError>,
) -> Result<Canvas, DrawError> {
    register_fonts();
    let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        let result = paint(&root).and_then(|()| Ok(root.present()?));
        result.map_err(|problem| DrawError::Figure {
            figure: figure.to_string(),
            problem,
        })?;
    }
    Ok(Canvas::from_rgb(size.0, size.1, pixels))
}

/// Seaborn-like "Blues": white for 0, dark blue for 1.
fn blues(rate: f64) -> RGBColor {
    let t = rate.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

/// The test confusion matrix: counts in cells, coloured by row share.
pub fn confusion(record: &RunRecord, history: &History) -> Result<Canvas, DrawError> {
    let figure = format!("the confusion matrix of {}", record.id);
    let Some(test) = &history.test else {
        return Err(DrawError::NoTestResults(record.id.to_string()));
    };
    let matrix = &test.confusion;
    let title = format!(
        "{} — test accuracy {:.2}%",
        record.spec.title(),
        test.accuracy * 100.0
    );
    draw(&figure, CONFUSION_SIZE, |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&title, (FONT, 22).into_font().style(FontStyle::Bold))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(130)
            .build_cartesian_2d((0..9u32).into_segmented(), (0..9u32).into_segmented()) // ten classes
            ?;
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
            .draw()?;
        confusion_cells(&mut chart, matrix)
    })
}

/// The confusion chart's axes: ten class segments each way.
type ClassGrid = Cartesian2d<SegmentedCoord<RangedCoordu32>, SegmentedCoord<RangedCoordu32>>;

/// The matrix's hundred cells: coloured by row share, each with its count.
fn confusion_cells<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, ClassGrid>,
    matrix: &ConfusionMatrix,
) -> Result<(), PlotError> {
    let cells = (0..10u32).flat_map(|truth| (0..10u32).map(move |predicted| (truth, predicted)));
    let row_total = |truth: u32| matrix[truth as usize].iter().sum::<u32>().max(1);
    let rate = |truth: u32, predicted: u32| {
        f64::from(matrix[truth as usize][predicted as usize]) / f64::from(row_total(truth))
    };
    chart.draw_series(cells.clone().map(|(truth, predicted)| {
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
    }))?;
    chart.draw_series(cells.map(|(truth, predicted)| {
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
    }))?;
    Ok(())
}

/// Accuracy and loss per epoch, training vs validation, side by side.
pub fn history(record: &RunRecord, history: &History) -> Result<Canvas, DrawError> {
    let epochs = &history.epochs;
    let last = epochs.last().map_or(1, |row| row.epoch).max(2);
    draw(
        &format!("the history of {}", record.id),
        HISTORY_SIZE,
        |root| {
            root.fill(&WHITE)?;
            let root = root.titled(
                &record.spec.title(),
                (FONT, 22).into_font().style(FontStyle::Bold),
            )?;
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
) -> Result<(), PlotError> {
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
        .build_cartesian_2d(1u32..last, (low - pad)..(high + pad))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(name)
        .x_labels(last.min(15) as usize)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE)
        .draw()?;
    for (points, colour, label) in [
        (train, TRAIN, "training"),
        (validation, VALIDATION, "validation"),
    ] {
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|point| Circle::new(point, 3, colour.filled())),
        )?;
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
        .draw()?;
    Ok(())
}
