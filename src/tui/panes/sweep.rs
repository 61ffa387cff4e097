//! The sweep view: one row per configuration of the selected run's sweep
//! (its swept settings, n, mean ± sd, 95% CI, rank; the best and those not
//! found different from it marked), and below it each setting's effect as
//! an interval chart with its F-test, a heat table of two settings, and the
//! curves of the selected configuration beside the best few. On a small
//! screen one of the three lower panels shows at a time.

use ratatui::{
    buffer::Buffer,
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Paragraph, Widget},
};
use unicode_width::UnicodeWidthStr;

use super::{
    compare::{
        axis::{tick_labels, whisker, ValueAxis},
        curves::{Curve, CurvesPanel},
    },
    text::fit,
    theme,
};
use crate::{
    analysis::sweep::{Effect, SweepGroup},
    edge::escape::printable,
    stats::verdict::p_value,
    tui::{
        sweep::{self, Heat, Panel, Sheet, SortBy, SweepCurve, SweepState},
        App, ColorMode,
    },
};

/// The best configuration's mark, and that of those not found different from it.
pub const BEST: char = '★';
pub const LIKE_BEST: char = '≈';
/// Beside the header of the column the table is ordered by.
pub const SORTED: char = '▼';
pub const SORTED_REVERSED: char = '▲';

/// From this size on, the effects, heat table and curves show together.
const WIDE: (u16, u16) = (110, 32);
/// Rows the lower panel keeps on a small screen (its tabs, then a line per
/// key of the compact effects and a few more).
const LOWER_AT_LEAST: u16 = 7;
/// The widest a value's label gets in the effects and the heat table.
const KEY_WIDTH: usize = 16;
/// The narrowest a swept key's column gets in the table.
const MIN_KEY_WIDTH: usize = 6;

/// Draws the sweep view: what it needs of the app's state, computed once
/// per draw, and nothing else.
pub struct SweepPane {
    /// The selected run's sweep; `None` when there is no sweep.
    pub sheet: Option<Sheet>,
    /// The heat table of the chosen pair of settings, when the sweep varies two.
    pub heat: Option<Heat>,
    /// The selected configuration's curve, then the best few's.
    pub curves: Vec<Curve>,
    /// The table's order, the panel shown and the curves' axes.
    pub state: SweepState,
    /// No colour: heat cells unshaded, curves told apart by their marks.
    pub mono: bool,
}

impl SweepPane {
    /// The sweep view of `app`.
    pub fn of(app: &App) -> Self {
        let sheet = sweep::sheet(app);
        let heat = sheet
            .as_ref()
            .and_then(|sheet| sweep::heat(&sheet.report, app.sweep.heat));
        let curves = sheet.as_ref().map_or_else(Vec::new, |sheet| {
            sweep::curves(app, sheet).into_iter().map(curve).collect()
        });
        Self {
            sheet,
            heat,
            curves,
            state: app.sweep,
            mono: app.render.color == ColorMode::None,
        }
    }
}

impl Widget for SweepPane {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(sheet) = &self.sheet else {
            let block = Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Sweep ", theme::title()));
            let inner = block.inner(area);
            block.render(area, buf);
            Paragraph::new(
                "No sweep among these runs: a plan's [[sweep]] table makes one \
                 (assets/plans/sweep.toml); select one of its runs to read it here.",
            )
            .wrap(ratatui::widgets::Wrap { trim: true })
            .render(inner, buf);
            return;
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .title(Span::styled(title(sheet), theme::title()))
            .title_bottom(legend(sheet));
        let inner = block.inner(area);
        block.render(area, buf);
        let [shared, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        Paragraph::new(shared_line(sheet, shared.width)).render(shared, buf);
        let wide = area.width >= WIDE.0 && area.height >= WIDE.1;
        let wanted = u16::try_from(sheet.order.len() + 1).unwrap_or(u16::MAX);
        let table_rows = if wide {
            wanted.min(rest.height * 2 / 5).max(3)
        } else {
            wanted
                .min(rest.height.saturating_sub(LOWER_AT_LEAST))
                .max(3)
        };
        let [table, lower] =
            Layout::vertical([Constraint::Length(table_rows), Constraint::Min(0)]).areas(rest);
        Table {
            sheet,
            state: self.state,
        }
        .render(table, buf);
        if wide {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .spacing(1)
                    .areas(lower);
            let heat_rows = self.heat.as_ref().map_or(0, |heat| {
                u16::try_from(heat.rows.len() + 3).unwrap_or(u16::MAX)
            });
            let [heat_area, curves] = Layout::vertical([
                Constraint::Length(heat_rows.min(right.height / 2)),
                Constraint::Min(0),
            ])
            .areas(right);
            self.panel(sheet, Panel::Effects, left, buf);
            self.panel(sheet, Panel::Heat, heat_area, buf);
            self.panel(sheet, Panel::Curves, curves, buf);
        } else {
            let [tabs, body] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(lower);
            Paragraph::new(tab_line(self.state.panel)).render(tabs, buf);
            self.panel(sheet, self.state.panel, body, buf);
        }
    }
}

/// ` Sweep M1 · 12 configurations · 30 of 36 runs finished `.
fn title(sheet: &Sheet) -> String {
    let report = &sheet.report;
    let runs: usize = report.groups.iter().map(|g| g.runs).sum();
    let finished: usize = report.groups.iter().map(|g| g.n).sum();
    let others = match sheet.sweeps {
        0 | 1 => String::new(),
        n => format!(" (1 of {n} sweeps: select a run of another to switch)"),
    };
    format!(
        " Sweep {} · {} configurations · {finished} of {runs} runs finished{others} ",
        terminal_safe(&report.sweep),
        report.groups.len()
    )
}

/// What the marks mean and what the verdicts are corrected for.
fn legend(sheet: &Sheet) -> String {
    format!(
        " {BEST} best · {LIKE_BEST} not found different (Holm over {} pairs, margin ±{} pts) ",
        sheet.report.family,
        crate::plan::settings::number(sheet.report.margin_points)
    )
}

/// `shared: epochs=2 batch=64 …`: the settings every configuration has.
fn shared_line(sheet: &Sheet, width: u16) -> Line<'static> {
    let shared: Vec<String> = sheet
        .report
        .shared
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let text = terminal_safe(&shared.join(" "));
    Line::from(vec![
        Span::styled("shared: ", Style::default().add_modifier(Modifier::DIM)),
        Span::raw(fit(&text, usize::from(width).saturating_sub(8))),
    ])
}

/// ` effects │ heat table │ curves   v: next`, the shown one in bold.
fn tab_line(shown: Panel) -> Line<'static> {
    let mut spans = Vec::new();
    for (index, panel) in Panel::ALL.into_iter().enumerate() {
        if index > 0 {
            spans.push(Span::raw(" │ "));
        }
        let style = if panel == shown {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        };
        spans.push(Span::styled(panel.name(), style));
    }
    spans.push(Span::styled(
        "   v: next panel",
        Style::default().add_modifier(Modifier::DIM),
    ));
    Line::from(spans)
}

impl SweepPane {
    /// One of the lower panels of `sheet`.
    fn panel(&self, sheet: &Sheet, which: Panel, area: Rect, buf: &mut Buffer) {
        if area.height == 0 {
            return;
        }
        match which {
            Panel::Effects => {
                let mut lines = effect_lines(sheet, area.width);
                if lines.len() > usize::from(area.height) {
                    lines = compact_effect_lines(sheet);
                }
                Paragraph::new(lines).render(area, buf);
            }
            Panel::Heat => {
                Paragraph::new(heat_lines(self.heat.as_ref(), self.mono, area.width))
                    .render(area, buf);
            }
            Panel::Curves => {
                if self.curves.iter().all(|curve| curve.points.is_empty()) {
                    Paragraph::new("No epochs finished yet in this sweep.").render(area, buf);
                    return;
                }
                CurvesPanel {
                    curves: &self.curves,
                    mono: self.mono,
                    metric: self.state.metric,
                    x_axis: self.state.x_axis,
                    note: format!(
                        " · {} (y metric · t x-axis)",
                        terminal_safe(&sheet.report.keys.join(" "))
                    ),
                    legend_width: 40,
                }
                .render(area, buf);
            }
        }
    }
}

/// A configuration's curve as the panel draws it: the selected one marked ▸.
fn curve(curve: SweepCurve) -> Curve {
    Curve {
        name: if curve.selected {
            format!("▸{}", curve.name)
        } else {
            curve.name
        },
        label: None,
        points: curve.points,
        band: None,
    }
}

/// The configuration table.
struct Table<'a> {
    sheet: &'a Sheet,
    /// The column it is ordered by, and which way.
    state: SweepState,
}

/// `room` shared between columns that need `needs`: those that need no
/// more than a fair share get what they need, and what they leave goes to
/// the others, which share it evenly (never under [`MIN_KEY_WIDTH`]).
fn share(needs: &[usize], room: usize) -> Vec<usize> {
    let mut widths = needs.to_vec();
    let mut open: Vec<usize> = (0..needs.len()).collect();
    let mut left = room;
    while !open.is_empty() {
        let fair = (left / open.len()).max(MIN_KEY_WIDTH);
        let (narrow, wide): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|&&index| needs[index] <= fair);
        if narrow.is_empty() {
            for index in wide {
                widths[index] = fair;
            }
            break;
        }
        left = left.saturating_sub(narrow.iter().map(|&index| needs[index]).sum());
        open = wide;
    }
    widths
}

/// Columns after the swept keys: header and width.
const STATS: [(&str, usize); 5] = [
    ("n", 3),
    ("mean", 6),
    ("± sd", 6),
    ("95% CI", 15),
    ("rank", 5),
];

impl Table<'_> {
    /// Each swept key's column: its longest value, when the row has room
    /// for all of them; else the narrow ones whole and the rest sharing
    /// what is left.
    fn key_widths(&self, width: u16) -> Vec<usize> {
        let report = &self.sheet.report;
        let stats: usize = STATS.iter().map(|(_, w)| w + 1).sum();
        let room = usize::from(width).saturating_sub(stats + 2 + report.keys.len());
        let needs: Vec<usize> = report
            .keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let values = report.groups.iter().map(|g| g.keys[index].1.width());
                values.chain([key.width() + 1]).max().unwrap_or(1)
            })
            .collect();
        share(&needs, room)
    }

    /// The header: the ordering column's name carries ▼ (▲ reversed).
    fn header(&self, widths: &[usize]) -> Line<'static> {
        let state = self.state;
        let arrow = if state.reversed {
            SORTED_REVERSED
        } else {
            SORTED
        };
        let columns = SortBy::columns(widths.len());
        let names = self
            .sheet
            .report
            .keys
            .iter()
            .map(String::as_str)
            .zip(widths.iter().copied())
            .chain(STATS);
        let mut text = String::from("  ");
        for ((name, width), column) in names.zip(columns) {
            let name = if column == state.sort {
                format!("{name}{arrow}")
            } else {
                name.to_string()
            };
            text.push_str(&fit(&terminal_safe(&name), width));
            text.push(' ');
        }
        Line::styled(text, Style::default().add_modifier(Modifier::BOLD))
    }

    fn row(group: &SweepGroup, widths: &[usize], selected: bool) -> Line<'static> {
        let mark = if group.rank == Some(1) {
            BEST
        } else if group.like_best {
            LIKE_BEST
        } else {
            ' '
        };
        let mut text = format!("{mark} ");
        for ((_, value), width) in group.keys.iter().zip(widths) {
            text.push_str(&fit(&terminal_safe(value), *width));
            text.push(' ');
        }
        let points = |x: f64| format!("{:.2}", x * 100.0);
        let cells = [
            format!("{}", group.n),
            group.mean.map_or_else(|| "–".into(), points),
            group.sd.map_or_else(|| "–".into(), points),
            match (group.sd, group.ci) {
                // Seeds that agree exactly: no interval to draw, and none faked.
                (Some(0.0), _) => "no spread".into(),
                (_, Some((low, high))) => format!("[{}, {}]", points(low), points(high)),
                _ => "–".into(),
            },
            group
                .rank
                .map_or_else(|| "–".into(), |rank| rank.to_string()),
        ];
        for (cell, (_, width)) in cells.iter().zip(STATS) {
            text.push_str(&fit(cell, width));
            text.push(' ');
        }
        let style = if selected {
            theme::selected()
        } else if group.mean.is_none() {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            Style::default()
        };
        Line::styled(text, style)
    }
}

impl Widget for Table<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height == 0 {
            return;
        }
        let widths = self.key_widths(area.width);
        let mut lines = vec![self.header(&widths)];
        let visible = usize::from(area.height - 1);
        // Scroll so the cursor's row stays in sight.
        let first = self
            .sheet
            .cursor
            .map_or(0, |row| (row + 1).saturating_sub(visible));
        for (row, &index) in self
            .sheet
            .order
            .iter()
            .enumerate()
            .skip(first)
            .take(visible)
        {
            let group = &self.sheet.report.groups[index];
            lines.push(Self::row(group, &widths, self.sheet.cursor == Some(row)));
        }
        Paragraph::new(lines).render(area, buf);
    }
}

/// Each key: a title line with its F-test, then a line per value with its
/// interval on one axis shared by every key, so effects compare by length.
fn effect_lines(sheet: &Sheet, width: u16) -> Vec<Line<'static>> {
    let effects = &sheet.report.effects;
    if effects.is_empty() {
        return vec![Line::from("This sweep varies no setting.")];
    }
    let value_width = effects
        .iter()
        .flat_map(|e| e.levels.iter().map(|l| l.value.width()))
        .max()
        .unwrap_or(1)
        .min(KEY_WIDTH);
    // value, a space, the chart, then ` 88.12 n=12`.
    let chart_width = usize::from(width).saturating_sub(value_width + 14).max(8);
    let ends: Vec<f64> = effects
        .iter()
        .flat_map(|e| e.levels.iter())
        .flat_map(|l| {
            l.ci.map_or_else(|| l.mean.into_iter().collect(), |(a, b)| vec![a, b])
        })
        .map(|x| x * 100.0)
        .collect();
    let axis = ValueAxis::fitting(&ends, u16::try_from(chart_width).unwrap_or(8), 0.1);
    let mut lines = vec![Line::styled(
        "effects: mean test accuracy (%) per value, 95% CI",
        Style::default().add_modifier(Modifier::DIM),
    )];
    for effect in effects {
        lines.push(effect_title(effect));
        for level in &effect.levels {
            let glyphs = level.mean.map_or_else(
                || " ".repeat(chart_width),
                |mean| {
                    let ci = level.ci.map(|(a, b)| (a * 100.0, b * 100.0));
                    whisker(&axis, mean * 100.0, ci, None)
                },
            );
            let mean = level
                .mean
                .map_or_else(|| "–".to_string(), |m| format!("{:.2}", m * 100.0));
            lines.push(Line::from(format!(
                " {} {glyphs} {mean:>6} n={}",
                fit(&terminal_safe(&level.value), value_width),
                level.n
            )));
        }
    }
    lines.push(Line::styled(
        format!(" {} {}", " ".repeat(value_width), tick_labels(&axis, "%")),
        Style::default().add_modifier(Modifier::DIM),
    ));
    for interaction in &sheet.report.interactions {
        let p = interaction.p.map_or_else(|| "no test".into(), p_value);
        lines.push(Line::from(format!(
            "{} × {}: interaction {p}",
            terminal_safe(&interaction.keys.0),
            terminal_safe(&interaction.keys.1)
        )));
    }
    lines
}

/// Where the charts do not fit: a line per key, `lr p < 0.001: 3e-4
/// 87.67±0.21 · 1e-3 88.95±0.12 · …` (mean and CI half-width, in points).
fn compact_effect_lines(sheet: &Sheet) -> Vec<Line<'static>> {
    sheet
        .report
        .effects
        .iter()
        .map(|effect| {
            let levels: Vec<String> = effect
                .levels
                .iter()
                .map(|level| match (level.mean, level.ci) {
                    (Some(mean), Some((a, b))) => format!(
                        "{} {:.2}±{:.2}",
                        terminal_safe(&level.value),
                        mean * 100.0,
                        (b - a) * 50.0
                    ),
                    (Some(mean), None) => {
                        format!("{} {:.2}", terminal_safe(&level.value), mean * 100.0)
                    }
                    _ => format!("{} –", terminal_safe(&level.value)),
                })
                .collect();
            let p = effect.p.map_or_else(|| "no test".into(), p_value);
            let style = if effect.p.is_some_and(|p| p < 0.05) {
                Style::default().add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            Line::from(vec![
                Span::styled(terminal_safe(&effect.key), style),
                Span::raw(format!(" {p}: {}", levels.join(" · "))),
            ])
        })
        .collect()
}

/// `lr  F(2, 24) = 45.10, p < 0.001`, or why there is no test.
fn effect_title(effect: &Effect) -> Line<'static> {
    let test = match (effect.f, effect.df, effect.p) {
        (Some(f), Some((a, b)), Some(p)) => format!("F({a}, {b}) = {f:.2}, {}", p_value(p)),
        _ => "no F-test: too few runs".to_string(),
    };
    let strong = effect.p.is_some_and(|p| p < 0.05);
    let style = if strong {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::styled(terminal_safe(&effect.key), style),
        Span::raw(format!("  {test}")),
    ])
}

/// The heat table: rows one key's values, columns the other's, each cell
/// the pooled mean (coloured by it) and its CI's half-width.
fn heat_lines(table: Option<&Heat>, mono: bool, width: u16) -> Vec<Line<'static>> {
    let Some(table) = table else {
        return vec![Line::from(
            "A heat table needs a sweep of two settings or more.",
        )];
    };
    let label_width = table
        .rows
        .iter()
        .map(|r| r.width())
        .chain([table.rows_key.width()])
        .max()
        .unwrap_or(1)
        .min(KEY_WIDTH);
    let cell_width = 13usize.min(
        (usize::from(width).saturating_sub(label_width + 1) / table.columns.len().max(1)).max(6),
    );
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!(
                "{} × {}",
                terminal_safe(&table.rows_key),
                terminal_safe(&table.columns_key)
            ),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            "  mean % ± CI half-width (H: next pair)",
            Style::default().add_modifier(Modifier::DIM),
        ),
    ])];
    let mut header = fit(&terminal_safe(&table.rows_key), label_width);
    for column in &table.columns {
        header.push(' ');
        header.push_str(&fit(&terminal_safe(column), cell_width));
    }
    lines.push(Line::styled(
        header,
        Style::default().add_modifier(Modifier::DIM),
    ));
    let (low, high) = heat_range(table);
    for (row, cells) in table.rows.iter().zip(&table.cells) {
        let mut spans = vec![Span::raw(fit(&terminal_safe(row), label_width))];
        for cell in cells {
            spans.push(Span::raw(" "));
            let text = match (cell.mean, cell.ci) {
                (Some(mean), Some((a, b))) => {
                    format!("{:.2} ±{:.2}", mean * 100.0, (b - a) * 50.0)
                }
                (Some(mean), None) => format!("{:.2} n={}", mean * 100.0, cell.n),
                _ => "– no runs".to_string(),
            };
            let style = match cell.mean {
                Some(mean) if !mono => heat_style(mean, low, high),
                _ => Style::default(),
            };
            spans.push(Span::styled(fit(&text, cell_width), style));
        }
        lines.push(Line::from(spans));
    }
    lines
}

fn heat_range(table: &Heat) -> (f64, f64) {
    let means = table.cells.iter().flatten().filter_map(|cell| cell.mean);
    means.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), m| {
        (low.min(m), high.max(m))
    })
}

/// Dark to bright green with the mean's place between the table's lowest
/// and highest; dark text on the bright half.
fn heat_style(mean: f64, low: f64, high: f64) -> Style {
    let unit = if high > low {
        (mean - low) / (high - low)
    } else {
        1.0
    };
    let green = (40.0 + unit.clamp(0.0, 1.0) * 170.0) as u8;
    let foreground = if unit > 0.55 {
        Color::Black
    } else {
        Color::White
    };
    Style::default()
        .bg(Color::Rgb(20, green, 60))
        .fg(foreground)
}

/// Text from plans and stores, safe to put on a terminal.
fn terminal_safe(text: &str) -> String {
    printable(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_columns_leave_their_room_to_the_wide_ones() {
        assert_eq!(share(&[11, 26, 18], 73), [11, 26, 18]);
        // 11 fits a third of 40; the two wide ones share the 29 left.
        assert_eq!(share(&[11, 26, 18], 40), [11, 14, 14]);
        assert_eq!(share(&[11, 26, 18], 0), [MIN_KEY_WIDTH; 3]);
        assert_eq!(share(&[], 10), Vec::<usize>::new());
    }
}
