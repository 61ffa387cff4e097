//! The report's summary figures across groups of runs: test accuracy and
//! loss as bars beside the original's, and the validation curves as bands.
//! The per-run figures and the drawing helpers are in [`crate::draw`].

use std::path::Path;

use plotters::{
    coord::{
        ranged1d::SegmentedCoord,
        types::{RangedCoordf64, RangedCoordu32},
    },
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{
    groups::{Band, Metric, ReportGroup},
    ReportError,
};
use crate::{
    draw::{
        encode_png,
        figures::{draw, FONT, ORIGINAL, TRAIN},
        Canvas, DrawError, PlotError,
    },
    edge::output::{self, Kind, Policy},
};

/// Writes a figure as PNG, if `policy` allows the path.
pub fn save(canvas: &Canvas, path: &Path, policy: &Policy) -> Result<(), ReportError> {
    let bytes = encode_png(canvas)?;
    Ok(output::write(path, Kind::Png, &bytes, policy)?)
}

/// Pixel size of the summary figures (the per-run ones are in
/// [`crate::draw::figures`]).
pub const BARS_SIZE: (u32, u32) = (1000, 520);

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
pub fn bars(groups: &[ReportGroup], metric: Metric) -> Result<Canvas, DrawError> {
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
        root.fill(&WHITE)?;
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
            )?
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
            .draw()?;
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
                ))?
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
            .draw()?;
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
) -> Result<(), PlotError> {
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
        }))?
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
            chart.draw_secondary_series(std::iter::once(PathElement::new(
                points,
                WHISKER.stroke_width(2),
            )))?;
        }
    }
    chart.draw_secondary_series(bars.iter().map(|bar| {
        let top = bar.interval.map_or(bar.value, |(_, hi)| hi.max(bar.value));
        Text::new(
            format!("{:.4}", bar.value),
            (bar.x, top),
            label_style.clone(),
        )
    }))?;
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
pub fn validation_bands(groups: &[ReportGroup]) -> Result<Canvas, DrawError> {
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
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "validation accuracy per group: mean, band from lowest to highest seed",
                (FONT, 20).into_font().style(FontStyle::Bold),
            )
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1u32..last, (low - pad)..(high + pad))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("validation accuracy")
            .x_labels(last.min(15) as usize)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(WHITE)
            .draw()?;
        for (index, (group, band)) in groups.iter().zip(&bands).enumerate() {
            let colour = GROUP_COLOURS[index % GROUP_COLOURS.len()];
            let outline: Vec<(u32, f64)> = band
                .iter()
                .map(|b| (b.epoch, b.max))
                .chain(band.iter().rev().map(|b| (b.epoch, b.min)))
                .collect();
            if group.runs.len() > 1 {
                chart.draw_series(std::iter::once(Polygon::new(
                    outline,
                    colour.mix(0.2).filled(),
                )))?;
            }
            let label = format!("{} (n={})", group.group.name, group.runs.len());
            chart
                .draw_series(LineSeries::new(
                    band.iter().map(|b| (b.epoch, b.mean)),
                    colour.stroke_width(2),
                ))?
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
            .draw()?;
        Ok(())
    })
}
