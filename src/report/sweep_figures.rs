//! A sweep's figures for the report: each swept key's effect as an interval
//! chart (one panel per key), and a heat table of the two keys that matter
//! most. The numbers are the [`SweepReport`]'s, as `sweep.md` gives them.

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::figures::WHISKER;
use crate::stats::verdict::p_value;
use crate::{
    analysis::sweep::{Effect, SweepReport},
    draw::{
        figures::{draw, FONT, TRAIN},
        Canvas, DrawError, PlotError,
    },
    edge::printable,
    stats::Summary,
};

/// One effect panel's pixel size; panels go three to a row under a title.
pub const EFFECT_PANEL: (u32, u32) = (400, 300);
/// Panels in a row of the effects figure.
pub const EFFECT_COLUMNS: u32 = 3;
/// The band above the panels that holds the figure's title.
const TITLE_BAND: u32 = 50;

/// Pixel size of the effects figure of a sweep that varies `keys` keys.
pub fn effects_size(keys: usize) -> (u32, u32) {
    let keys = (keys as u32).max(1);
    let columns = keys.min(EFFECT_COLUMNS);
    let rows = keys.div_ceil(EFFECT_COLUMNS);
    (columns * EFFECT_PANEL.0, rows * EFFECT_PANEL.1 + TITLE_BAND)
}

/// Each swept key's effect: at each of its values, the mean test accuracy
/// (runs pooled over the other keys) as a point with its 95% interval; the
/// key and its ANOVA p above. One scale for every panel, so they compare.
pub fn effects(report: &SweepReport) -> Result<Canvas, DrawError> {
    let size = effects_size(report.effects.len());
    let (low, high) = value_range(&report.effects);
    let title = format!(
        "sweep {}: mean test accuracy at each value, 95% CI (runs pooled over the other keys)",
        printable(&report.sweep)
    );
    draw("the sweep's effects", size, |root| {
        root.fill(&WHITE)?;
        let (band, panels) = root.split_vertically(TITLE_BAND);
        band.draw(&Text::new(
            title.as_str(),
            (size.0 as i32 / 2, TITLE_BAND as i32 / 2),
            TextStyle::from((FONT, 17).into_font().style(FontStyle::Bold))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        let columns = size.0 / EFFECT_PANEL.0;
        let rows = (size.1 - TITLE_BAND) / EFFECT_PANEL.1;
        let areas = panels.split_evenly((rows as usize, columns as usize));
        for (effect, area) in report.effects.iter().zip(&areas) {
            effect_panel(area, effect, (low, high))?;
        }
        Ok(())
    })
}

/// The accuracy axis of the effect panels: every level's interval (or
/// mean) with room around it.
fn value_range(effects: &[Effect]) -> (f64, f64) {
    let (low, high) = effects
        .iter()
        .flat_map(|effect| &effect.levels)
        .flat_map(|level| {
            level
                .ci
                .map_or([level.mean, level.mean], |(l, h)| [Some(l), Some(h)])
        })
        .flatten()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((high - low) * 0.1).max(0.002);
    (low - pad, high + pad)
}

/// One key's panel: its values along the bottom, a point and whisker each.
fn effect_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    effect: &Effect,
    (low, high): (f64, f64),
) -> Result<(), PlotError> {
    let caption = match effect.p {
        Some(p) => format!("{} · {}", printable(&effect.key), p_value(p)),
        None => format!("{} · no F-test", printable(&effect.key)),
    };
    let levels = &effect.levels;
    let last = levels.len().max(1) as u32 - 1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 16).into_font().style(FontStyle::Bold))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(58)
        .build_cartesian_2d((0..last).into_segmented(), low..high)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(levels.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(index) => levels
                .get(*index as usize)
                .map(|level| printable(&level.value).into_owned())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .y_labels(6)
        .y_label_formatter(&|y| format!("{y:.3}"))
        .label_style((FONT, 12))
        .light_line_style(WHITE)
        .draw()?;
    let at = |index: usize| SegmentValue::CenterOf(index as u32);
    // Whiskers first, so each point is drawn whole over its own.
    for (index, (lo, hi)) in levels
        .iter()
        .enumerate()
        .filter_map(|(i, level)| level.ci.map(|ci| (i, ci)))
    {
        let style = WHISKER.stroke_width(2);
        chart.draw_series([PathElement::new(
            vec![(at(index), lo), (at(index), hi)],
            style,
        )])?;
        chart.draw_series([lo, hi].map(|y| {
            EmptyElement::at((at(index), y)) + PathElement::new(vec![(-7, 0), (7, 0)], style)
        }))?;
    }
    let label = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(
        levels
            .iter()
            .enumerate()
            .filter_map(|(i, level)| level.mean.filter(|m| m.is_finite()).map(|m| (i, m)))
            .map(|(index, mean)| {
                EmptyElement::at((at(index), mean))
                    + Circle::new((0, 0), 6, TRAIN.filled())
                    + Text::new(format!("{mean:.4}"), (11, 0), label.clone())
            }),
    )?;
    Ok(())
}

/// The two keys a heat table shows: the smallest effect p first (ties and
/// keys without a test keep the key order); none for fewer than two keys.
pub fn heat_keys(report: &SweepReport) -> Option<(usize, usize)> {
    let mut order: Vec<usize> = (0..report.effects.len()).collect();
    let p = |index: usize| report.effects[index].p.unwrap_or(f64::INFINITY);
    order.sort_by(|&a, &b| p(a).total_cmp(&p(b)));
    match order[..] {
        [rows, columns, ..] => Some((rows, columns)),
        _ => None,
    }
}

/// A cell of the heat table: its runs' mean and the half-width of its 95%
/// interval (none from one run).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeatCell {
    pub n: usize,
    pub mean: f64,
    pub half: Option<f64>,
}

/// Two keys' values crossed: each cell pools the runs of every
/// configuration with those values, whatever the other keys'.
#[derive(Clone, Debug, PartialEq)]
pub struct Heat {
    pub rows: String,
    pub columns: String,
    pub row_values: Vec<String>,
    pub column_values: Vec<String>,
    /// Row by row; none where no run has a result.
    pub cells: Vec<Vec<Option<HeatCell>>>,
}

impl Heat {
    /// The heat table of [`heat_keys`], when the sweep varies two keys or more.
    pub fn of(report: &SweepReport) -> Option<Self> {
        let (row_key, column_key) = heat_keys(report)?;
        let values = |key: usize| -> Vec<String> {
            report.effects[key]
                .levels
                .iter()
                .map(|l| l.value.clone())
                .collect()
        };
        let (row_values, column_values) = (values(row_key), values(column_key));
        let cell = |row: &String, column: &String| {
            let pooled: Vec<f64> = report
                .groups
                .iter()
                .filter(|g| g.keys[row_key].1 == *row && g.keys[column_key].1 == *column)
                .flat_map(|g| g.values.iter().copied())
                .collect();
            let summary = Summary::of(&pooled);
            summary.mean.filter(|m| m.is_finite()).map(|mean| HeatCell {
                n: summary.n,
                mean,
                half: summary.ci.map(|(low, high)| (high - low) / 2.0),
            })
        };
        let cells = row_values
            .iter()
            .map(|row| column_values.iter().map(|c| cell(row, c)).collect())
            .collect();
        Some(Self {
            rows: report.effects[row_key].key.clone(),
            columns: report.effects[column_key].key.clone(),
            row_values,
            column_values,
            cells,
        })
    }

    /// The lowest and highest cell mean.
    pub fn range(&self) -> Option<(f64, f64)> {
        self.cells
            .iter()
            .flatten()
            .flatten()
            .map(|cell| cell.mean)
            .fold(None, |range, x| {
                Some(range.map_or((x, x), |(lo, hi): (f64, f64)| (lo.min(x), hi.max(x))))
            })
    }

    /// Where the table's cells lie in the figure.
    pub fn layout(&self) -> HeatLayout {
        let (left, top) = (HEAT_LEFT, HEAT_TOP);
        let (right, bottom) = (HEAT_SIZE.0 - 30, HEAT_SIZE.1 - HEAT_LEGEND);
        HeatLayout {
            left,
            top,
            cell_width: (right - left) / self.column_values.len().max(1) as u32,
            cell_height: (bottom - top) / self.row_values.len().max(1) as u32,
        }
    }
}

/// Pixel size of the heat-table figure.
pub const HEAT_SIZE: (u32, u32) = (1000, 640);
/// Room left of the cells for the row values, above them for the title and
/// the column values, below them for the legend.
const HEAT_LEFT: u32 = 190;
const HEAT_TOP: u32 = 110;
const HEAT_LEGEND: u32 = 100;

/// The heat table's grid in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeatLayout {
    pub left: u32,
    pub top: u32,
    pub cell_width: u32,
    pub cell_height: u32,
}

impl HeatLayout {
    /// The top-left corner of cell (`row`, `column`).
    pub fn corner(self, row: usize, column: usize) -> (i32, i32) {
        (
            (self.left + self.cell_width * column as u32) as i32,
            (self.top + self.cell_height * row as u32) as i32,
        )
    }
}

/// A sequential ramp ("Blues"): near white at 0, dark saturated blue at 1.
pub fn ramp(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

/// The fill of a cell without a result.
pub const EMPTY_CELL: RGBColor = RGBColor(255, 255, 255);
const EMPTY_MARK: RGBColor = RGBColor(170, 170, 170);

/// The heat table of two keys: each cell coloured by its mean (the ramp
/// from the lowest mean to the highest, said in the legend), with the mean
/// and its interval's half-width written in; cells without a result white,
/// crossed and marked.
pub fn heat(table: &Heat, sweep: &str) -> Result<Canvas, DrawError> {
    let title = format!(
        "sweep {}: {} × {}, mean test accuracy ± half its 95% CI (runs pooled over the other keys)",
        printable(sweep),
        printable(&table.rows),
        printable(&table.columns)
    );
    draw("the sweep's heat table", HEAT_SIZE, |root| {
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            title.as_str(),
            (HEAT_SIZE.0 as i32 / 2, 28),
            TextStyle::from((FONT, 16).into_font().style(FontStyle::Bold))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        heat_axes(root, table)?;
        heat_cells(root, table)?;
        heat_legend(root, table.range())
    })
}

/// The corner's `rows \ columns`, the column values above the cells and
/// the row values left of them.
fn heat_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    table: &Heat,
) -> Result<(), PlotError> {
    let layout = table.layout();
    let style = |h: HPos| TextStyle::from((FONT, 14).into_font()).pos(Pos::new(h, VPos::Center));
    let above = HEAT_TOP as i32 - 18;
    let corner = format!(
        "{} \\ {}",
        printable(&table.rows),
        printable(&table.columns)
    );
    root.draw(&Text::new(
        corner,
        (HEAT_LEFT as i32 - 12, above),
        style(HPos::Right),
    ))?;
    for (column, value) in table.column_values.iter().enumerate() {
        let (x, _) = layout.corner(0, column);
        let x = x + layout.cell_width as i32 / 2;
        root.draw(&Text::new(
            printable(value).into_owned(),
            (x, above),
            style(HPos::Center),
        ))?;
    }
    for (row, value) in table.row_values.iter().enumerate() {
        let (_, y) = layout.corner(row, 0);
        let y = y + layout.cell_height as i32 / 2;
        let at = (HEAT_LEFT as i32 - 12, y);
        root.draw(&Text::new(
            printable(value).into_owned(),
            at,
            style(HPos::Right),
        ))?;
    }
    Ok(())
}

fn heat_cells<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    table: &Heat,
) -> Result<(), PlotError> {
    let layout = table.layout();
    let (low, high) = table.range().unwrap_or((0.0, 1.0));
    let share = |mean: f64| {
        if high > low {
            (mean - low) / (high - low)
        } else {
            1.0
        }
    };
    let (w, h) = (layout.cell_width as i32, layout.cell_height as i32);
    for (row, cells) in table.cells.iter().enumerate() {
        for (column, cell) in cells.iter().enumerate() {
            let (x, y) = layout.corner(row, column);
            let fill = cell.map_or(EMPTY_CELL, |c| ramp(share(c.mean)));
            root.draw(&Rectangle::new([(x, y), (x + w, y + h)], fill.filled()))?;
            root.draw(&Rectangle::new(
                [(x, y), (x + w, y + h)],
                WHITE.stroke_width(2),
            ))?;
            let centre = (x + w / 2, y + h / 2);
            match cell {
                Some(cell) => cell_text(root, *cell, centre, share(cell.mean) > 0.5)?,
                None => empty_mark(root, (x, y), (w, h))?,
            }
        }
    }
    Ok(())
}

/// A cell's mean and `±half` (or its one run's `n=1`), light on dark.
fn cell_text<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cell: HeatCell,
    (x, y): (i32, i32),
    dark: bool,
) -> Result<(), PlotError> {
    let colour = if dark { WHITE } else { BLACK };
    let style = |size: u32| {
        TextStyle::from((FONT, size).into_font())
            .color(&colour)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    let below = cell
        .half
        .map_or_else(|| format!("n={}", cell.n), |half| format!("±{half:.4}"));
    root.draw(&Text::new(
        format!("{:.4}", cell.mean),
        (x, y - 10),
        style(17),
    ))?;
    Ok(root.draw(&Text::new(below, (x, y + 12), style(13)))?)
}

/// A cell without a result: crossed, and said so.
fn empty_mark<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    (w, h): (i32, i32),
) -> Result<(), PlotError> {
    let inset = 6;
    for line in [
        [(x + inset, y + inset), (x + w - inset, y + h - inset)],
        [(x + inset, y + h - inset), (x + w - inset, y + inset)],
    ] {
        root.draw(&PathElement::new(line, EMPTY_MARK.stroke_width(1)))?;
    }
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Center, VPos::Center));
    Ok(root.draw(&Text::new("no result", (x + w / 2, y + h / 2), style))?)
}

/// The ramp from the lowest mean to the highest, with both said.
fn heat_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    range: Option<(f64, f64)>,
) -> Result<(), PlotError> {
    let y = (HEAT_SIZE.1 - HEAT_LEGEND / 2) as i32;
    let (from, to) = (340, 660);
    let style = |h: HPos| TextStyle::from((FONT, 14).into_font()).pos(Pos::new(h, VPos::Center));
    let Some((low, high)) = range else {
        return Ok(root.draw(&Text::new("no results yet", (500, y), style(HPos::Center)))?);
    };
    root.draw(&Text::new(
        "colour: mean test accuracy",
        (500, y - 22),
        style(HPos::Center),
    ))?;
    for x in from..to {
        let t = f64::from(x - from) / f64::from(to - from - 1);
        root.draw(&Rectangle::new(
            [(x, y - 8), (x + 1, y + 8)],
            ramp(t).filled(),
        ))?;
    }
    root.draw(&Text::new(
        format!("min {low:.4}"),
        (from - 10, y),
        style(HPos::Right),
    ))?;
    root.draw(&Text::new(
        format!("max {high:.4}"),
        (to + 10, y),
        style(HPos::Left),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        analysis::sweep::DEFAULT_MARGIN_POINTS,
        draw::Rgb,
        plan::{parse_plan, RunSpec},
    };

    /// The runs of a sweep of `grid` (3 seeds), each with the accuracy
    /// `accuracy` gives its settings, or none (a failed run).
    fn sweep_report(grid: &str, accuracy: impl Fn(&RunSpec) -> Option<f64>) -> SweepReport {
        let plan = parse_plan(
            &format!(
                "[[sweep]]\nname = \"S\"\nmodel = {{ kind = \"cnn\", conv = [64], dense = 16 }}\nseeds = 3\ngrid = {grid}\n"
            ),
            "sweep",
            std::path::Path::new("sweep.toml"),
        )
        .unwrap();
        let records = crate::analysis::sweep::tests::stored(&plan.runs, accuracy);
        SweepReport::of("S", &records, DEFAULT_MARGIN_POINTS)
    }

    /// The learning rate matters most, the batch size some, dropout least.
    fn made_up(spec: &RunSpec) -> f64 {
        let lr = (spec.learning_rate.log10() + 4.0) * 0.01;
        let batch = if spec.batch_size == 64 { 0.004 } else { 0.0 };
        let dropout = if spec.model.has_dropout() { 0.001 } else { 0.0 };
        let seed = [0.0, 0.002, -0.002][(spec.seed as usize - 1) % 3];
        0.88 + lr + batch + dropout + seed
    }

    const THREE: &str =
        "{ learning_rate = [1e-3, 1e-4], \"model.dropout\" = [false, true], batch_size = [32, 64] }";

    /// Groups of 4-connected pixels of exactly `colour`: their centres.
    fn blobs(canvas: &Canvas, colour: Rgb) -> Vec<(f64, f64)> {
        let (w, h) = (canvas.width, canvas.height);
        let mut seen = vec![false; (w * h) as usize];
        let mut centres = Vec::new();
        for start in 0..w * h {
            let (sx, sy) = (start % w, start / w);
            if seen[start as usize] || canvas.pixel(sx, sy) != colour {
                continue;
            }
            let (mut stack, mut sum, mut count) = (vec![(sx, sy)], (0.0, 0.0), 0.0);
            seen[start as usize] = true;
            while let Some((x, y)) = stack.pop() {
                sum = (sum.0 + f64::from(x), sum.1 + f64::from(y));
                count += 1.0;
                let next = [
                    (x.wrapping_sub(1), y),
                    (x + 1, y),
                    (x, y.wrapping_sub(1)),
                    (x, y + 1),
                ];
                for (nx, ny) in next {
                    if nx < w
                        && ny < h
                        && !seen[(ny * w + nx) as usize]
                        && canvas.pixel(nx, ny) == colour
                    {
                        seen[(ny * w + nx) as usize] = true;
                        stack.push((nx, ny));
                    }
                }
            }
            // Anti-aliased text can leave a stray pixel of any colour.
            if count >= 20.0 {
                centres.push((sum.0 / count, sum.1 / count));
            }
        }
        centres
    }

    #[test]
    fn one_panel_per_key_with_a_point_per_value_the_best_highest() {
        let report = sweep_report(THREE, |spec| Some(made_up(spec)));
        assert_eq!(report.keys, ["batch", "lr", "dropout"]);
        let canvas = effects(&report).unwrap();
        assert_eq!((canvas.width, canvas.height), effects_size(3));
        let points = blobs(&canvas, Rgb(TRAIN.0, TRAIN.1, TRAIN.2));
        let panel_of = |x: f64| (x / f64::from(EFFECT_PANEL.0)) as usize;
        for (panel, effect) in report.effects.iter().enumerate() {
            let mut mine: Vec<(f64, f64)> = points
                .iter()
                .copied()
                .filter(|(x, _)| panel_of(*x) == panel)
                .collect();
            assert_eq!(
                mine.len(),
                effect.levels.len(),
                "{}: {points:?}",
                effect.key
            );
            // Left to right in the levels' order; the higher mean drawn higher.
            mine.sort_by(|a, b| a.0.total_cmp(&b.0));
            let means: Vec<f64> = effect.levels.iter().map(|l| l.mean.unwrap()).collect();
            assert_eq!(
                mine[0].1 < mine[1].1,
                means[0] > means[1],
                "{}: {mine:?} for {means:?}",
                effect.key
            );
        }
        assert_eq!(effects_size(4), (1200, 650), "a second row");
    }

    #[test]
    fn the_heat_table_takes_the_two_strongest_keys_and_pools_the_rest() {
        let report = sweep_report(THREE, |spec| Some(made_up(spec)));
        let heat = Heat::of(&report).unwrap();
        assert_eq!((heat.rows.as_str(), heat.columns.as_str()), ("lr", "batch"));
        assert_eq!(heat.row_values, ["1e-3", "1e-4"], "the best first");
        assert_eq!(heat.column_values, ["64", "32"]);
        // Each cell: both dropout values' three seeds.
        let cell = heat.cells[0][0].unwrap();
        assert_eq!(cell.n, 6);
        let expected = 0.88 + 0.01 + 0.004 + 0.0005;
        assert!((cell.mean - expected).abs() < 1e-12, "{cell:?}");
        assert!(cell.half.unwrap() > 0.0);
        let one = sweep_report("{ learning_rate = [1e-3, 1e-4] }", |spec| {
            Some(made_up(spec))
        });
        assert_eq!(Heat::of(&one), None, "one key makes no table");
    }

    #[test]
    fn the_best_cell_is_the_darkest_and_an_empty_one_is_marked() {
        // No run of lr=1e-4 with batch 32 finished.
        let report = sweep_report(THREE, |spec| {
            (spec.learning_rate > 5e-4 || spec.batch_size == 64).then(|| made_up(spec))
        });
        let heat = Heat::of(&report).unwrap();
        let row = |value: &str| heat.row_values.iter().position(|v| v == value).unwrap();
        let column = |value: &str| heat.column_values.iter().position(|v| v == value).unwrap();
        let (best, empty) = ((row("1e-3"), column("64")), (row("1e-4"), column("32")));
        assert_eq!(heat.cells[empty.0][empty.1], None);
        let canvas = heat_figure(&heat);
        let layout = heat.layout();
        // A pixel inside each cell, clear of its text.
        let colour_at = |row: usize, column: usize| {
            let (x, y) = layout.corner(row, column);
            canvas.pixel(x as u32 + 12, y as u32 + layout.cell_height / 2)
        };
        let saturation = |c: Rgb| {
            let max = c.0.max(c.1).max(c.2);
            let min = c.0.min(c.1).min(c.2);
            f64::from(max - min) / f64::from(max.max(1))
        };
        let darkest = ramp(1.0);
        assert_eq!(
            colour_at(best.0, best.1),
            Rgb(darkest.0, darkest.1, darkest.2)
        );
        let others = [(row("1e-3"), column("32")), (row("1e-4"), column("64"))];
        for (row, column) in others {
            assert!(
                saturation(colour_at(row, column)) < saturation(colour_at(best.0, best.1)),
                "cell ({row}, {column})"
            );
        }
        let white = Rgb(255, 255, 255);
        assert_eq!(
            colour_at(empty.0, empty.1),
            white,
            "an empty cell is not coloured"
        );
        // It is crossed: grey pixels along its diagonals, none coloured.
        let (x, y) = layout.corner(empty.0, empty.1);
        let inside: Vec<Rgb> = (y as u32 + 4..y as u32 + layout.cell_height - 4)
            .flat_map(|py| (x as u32 + 4..x as u32 + layout.cell_width - 4).map(move |px| (px, py)))
            .map(|(px, py)| canvas.pixel(px, py))
            .collect();
        assert!(inside.iter().filter(|c| **c != white).count() > 100);
        assert!(inside.iter().all(|c| saturation(*c) < 0.05));
    }

    fn heat_figure(table: &Heat) -> Canvas {
        let canvas = heat(table, "S").unwrap();
        assert_eq!((canvas.width, canvas.height), HEAT_SIZE);
        canvas
    }
}
