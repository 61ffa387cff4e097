//! A sweep read at once, as text (`atelier sweep`, `sweep.md`) and CSV:
//! the configurations ranked, each key's effect with an interval chart, an
//! optional heat table of two keys, and the verdict on every pair.
//!
//! Labels come from plans and stores: every one is made printable.

use std::fmt::Write;

use super::ReportError;
use crate::{
    analysis::sweep::{Call, Effect, Pair, SweepGroup, SweepReport},
    edge::printable,
    stats::{verdict::p_value, Summary},
};

/// Columns of the interval charts.
const CHART: usize = 21;

/// A key `--by` names that the sweep does not vary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--by {key}: the sweep {sweep} does not vary {key}; it varies {}", .keys.join(", "))]
pub struct UnknownKey {
    pub key: String,
    pub sweep: String,
    pub keys: Vec<String>,
}

/// The keys `--by` names, checked against the sweep's.
pub fn check_by(report: &SweepReport, by: &[String]) -> Result<(), UnknownKey> {
    match by.iter().find(|key| !report.keys.contains(key)) {
        Some(key) => Err(UnknownKey {
            key: key.clone(),
            sweep: report.sweep.clone(),
            keys: report.keys.clone(),
        }),
        None => Ok(()),
    }
}

/// The whole report as text; `by` limits the effects to those keys and,
/// with two, adds their heat table.
pub fn text(report: &SweepReport, by: &[String]) -> String {
    let mut out = String::new();
    header(&mut out, report);
    table(&mut out, report);
    let effects: Vec<&Effect> = report
        .effects
        .iter()
        .filter(|effect| by.is_empty() || by.contains(&effect.key))
        .collect();
    if !effects.is_empty() {
        effects_text(&mut out, report, &effects);
    }
    if let [rows, columns] = by {
        heat_text(&mut out, report, rows, columns);
    }
    pairs_text(&mut out, report);
    out
}

fn header(out: &mut String, report: &SweepReport) {
    let runs: usize = report.groups.iter().map(|g| g.runs).sum();
    let results: usize = report.groups.iter().map(|g| g.n).sum();
    let _ = writeln!(
        out,
        "sweep {} · {} configurations · {runs} runs, {results} with a test accuracy",
        printable(&report.sweep),
        report.groups.len()
    );
    let shared: Vec<String> = report
        .shared
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let _ = writeln!(out, "alike: {}", printable(&shared.join(" ")));
}

/// Column widths of the keys: the key's name or its longest value.
fn key_widths(report: &SweepReport) -> Vec<usize> {
    report
        .keys
        .iter()
        .enumerate()
        .map(|(index, key)| {
            report
                .groups
                .iter()
                .filter_map(|g| g.keys.get(index).map(|(_, v)| v.chars().count()))
                .chain([key.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

fn table(out: &mut String, report: &SweepReport) {
    let widths = key_widths(report);
    let _ = writeln!(out);
    let mut line = String::from("rank ");
    for (key, width) in report.keys.iter().zip(&widths) {
        let _ = write!(line, " {:<width$}", printable(key));
    }
    let _ = write!(
        line,
        "  {:>3}  {:<6}  {:<6}  {:<17}",
        "n", "mean", "sd", "95% CI"
    );
    let _ = writeln!(out, "{}", line.trim_end());
    for group in &report.groups {
        let mut line = format!(
            "{:>4} ",
            group.rank.map_or_else(|| "-".into(), |r| r.to_string())
        );
        for ((_, value), width) in group.keys.iter().zip(&widths) {
            let _ = write!(line, " {:<width$}", printable(value));
        }
        let interval = group
            .ci
            .map_or_else(|| "-".into(), |(low, high)| format!("{low:.4} … {high:.4}"));
        let mark = match (group.rank, group.like_best) {
            (Some(1), _) => "best",
            (_, true) => "≈ best",
            _ => "",
        };
        let _ = write!(
            line,
            "  {:>3}  {:<6}  {:<6}  {:<17}  {mark}",
            group.n,
            optional(group.mean, 4),
            optional(group.sd, 4),
            interval
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "≈ best: not found different from the best (equivalent or undecided)"
    );
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

fn effects_text(out: &mut String, report: &SweepReport, effects: &[&Effect]) {
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "effects on test accuracy (type II ANOVA; each value's runs pooled over the other keys)"
    );
    // One scale for every chart, so their intervals compare by eye.
    let bounds = effects
        .iter()
        .flat_map(|effect| &effect.levels)
        .flat_map(|level| {
            level
                .ci
                .map_or_else(|| level.mean.into_iter().collect(), |(l, h)| vec![l, h])
        })
        .filter(|x| x.is_finite())
        .fold(None, |range: Option<(f64, f64)>, x| {
            Some(range.map_or((x, x), |(low, high)| (low.min(x), high.max(x))))
        });
    let width = effects
        .iter()
        .flat_map(|e| e.levels.iter().map(|l| l.value.chars().count()))
        .max()
        .unwrap_or(0);
    for effect in effects {
        let _ = writeln!(
            out,
            "  {}  {}",
            printable(&effect.key),
            f_test(effect.f, effect.df, effect.p)
        );
        for level in &effect.levels {
            let interval = level
                .ci
                .map_or_else(|| "-".into(), |(low, high)| format!("{low:.4} … {high:.4}"));
            let _ = writeln!(
                out,
                "    {:<width$}  n={:<3} {:<6}  {:<17}  {}",
                printable(&level.value),
                level.n,
                optional(level.mean, 4),
                interval,
                chart(level.mean, level.ci, bounds)
            );
        }
    }
    for interaction in &report.interactions {
        let _ = writeln!(
            out,
            "  {} × {}  {}",
            printable(&interaction.keys.0),
            printable(&interaction.keys.1),
            f_test(interaction.f, Some(interaction.df), interaction.p)
        );
    }
}

/// `F(2, 12) = 95.10, p < 0.001`, or why there is none.
fn f_test(f: Option<f64>, df: Option<(usize, usize)>, p: Option<f64>) -> String {
    match (f, df, p) {
        (Some(f), Some((a, b)), Some(p)) => format!("F({a}, {b}) = {f:.2}, {}", p_value(p)),
        _ => "no F-test: too few runs for the residual".into(),
    }
}

/// `····├──●──┤·······`: a mean and its interval on the shared scale.
fn chart(mean: Option<f64>, ci: Option<(f64, f64)>, bounds: Option<(f64, f64)>) -> String {
    let (Some(mean), Some((low, high))) = (mean, bounds) else {
        return String::new();
    };
    let span = (high - low).max(f64::EPSILON);
    let at = |x: f64| {
        (((x - low) / span) * (CHART - 1) as f64)
            .round()
            .clamp(0.0, (CHART - 1) as f64) as usize
    };
    let mut cells = vec!['·'; CHART];
    if let Some((from, to)) = ci {
        let (from, to) = (at(from), at(to));
        for cell in &mut cells[from..=to] {
            *cell = '─';
        }
        cells[from] = '├';
        cells[to] = '┤';
    }
    cells[at(mean)] = '●';
    cells.into_iter().collect()
}

fn heat_text(out: &mut String, report: &SweepReport, rows: &str, columns: &str) {
    let (Some(row_key), Some(column_key)) = (
        report.keys.iter().position(|k| k == rows),
        report.keys.iter().position(|k| k == columns),
    ) else {
        return;
    };
    let values = |key: &str| -> Vec<String> {
        report
            .effects
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.levels.iter().map(|l| l.value.clone()).collect())
            .unwrap_or_default()
    };
    let (row_values, column_values) = (values(rows), values(columns));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} × {}: mean test accuracy ± half its 95% CI (runs pooled over the other keys)",
        printable(rows),
        printable(columns)
    );
    let first = row_values
        .iter()
        .map(|v| v.chars().count())
        .chain([rows.chars().count() + columns.chars().count() + 3])
        .max()
        .unwrap_or(0);
    let mut line = format!("  {:<first$}", format!("{rows} \\ {columns}"));
    for value in &column_values {
        let _ = write!(line, "  {:<15}", printable(value));
    }
    let _ = writeln!(out, "{}", line.trim_end());
    for row in &row_values {
        let mut line = format!("  {:<first$}", printable(row));
        for column in &column_values {
            let cell = report
                .groups
                .iter()
                .filter(|g| g.keys[row_key].1 == *row && g.keys[column_key].1 == *column);
            let _ = write!(line, "  {:<15}", heat_cell(cell));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The mean of a cell's runs (all its configurations'), `0.9120 ±0.0037`.
fn heat_cell<'a>(groups: impl Iterator<Item = &'a SweepGroup>) -> String {
    let values: Vec<f64> = groups.flat_map(|g| g.values.iter().copied()).collect();
    let summary = Summary::of(&values);
    match (summary.mean, summary.ci) {
        (Some(mean), Some((low, high))) => format!("{mean:.4} ±{:.4}", (high - low) / 2.0),
        (Some(mean), None) => format!("{mean:.4}"),
        _ => "-".into(),
    }
}

fn pairs_text(out: &mut String, report: &SweepReport) {
    let count = |call: Call| report.pairs.iter().filter(|p| p.verdict == call).count();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "pairs: {} ({} tested, Holm over {}), margin ±{:.2} points: {} different, {} equivalent, {} undecided, {} untestable",
        report.pairs.len(),
        report.family,
        report.family,
        report.margin_points,
        count(Call::Different),
        count(Call::Equivalent),
        count(Call::Undecided),
        count(Call::Untestable)
    );
    let width = report
        .pairs
        .iter()
        .flat_map(|p| [p.a.chars().count(), p.b.chars().count()])
        .max()
        .unwrap_or(1);
    let _ = writeln!(
        out,
        "  {:<width$}  {:<width$}  {:>6}  {:<15}  {:<7}  {:<7}  verdict",
        "a", "b", "diff", "95% CI (points)", "p", "p Holm"
    );
    for pair in &report.pairs {
        let _ = writeln!(out, "{}", pair_line(pair, width).trim_end());
    }
    let _ = writeln!(
        out,
        "diff: a − b in accuracy points. equivalent: its 90% CI inside ±margin; different: p Holm < 0.05; \
         undecided: neither, with the seeds per configuration likely to decide it"
    );
}

/// `different`, `undecided (≈9 seeds each)`, `untestable (no spread)`.
fn verdict_text(pair: &Pair) -> String {
    match (pair.verdict, pair.seeds_needed, pair.untestable) {
        (Call::Undecided, Some(n), _) => format!("undecided (≈{n} seeds each)"),
        (Call::Untestable, _, Some(why)) => format!("untestable ({})", untestable_text(why)),
        (call, _, _) => call.text().into(),
    }
}

/// A pair's numbers as text: difference and interval in points, p, the
/// adjusted p, the verdict.
fn pair_numbers(pair: &Pair) -> [String; 5] {
    let points = |x: f64| format!("{:+.2}", x * 100.0);
    [
        pair.diff.map_or_else(|| "-".into(), points),
        pair.ci.map_or_else(
            || "-".into(),
            |(l, h)| format!("{} … {}", points(l), points(h)),
        ),
        optional(pair.p, 4),
        optional(pair.p_holm, 4),
        verdict_text(pair),
    ]
}

fn pair_line(pair: &Pair, width: usize) -> String {
    let [diff, ci, p, p_holm, verdict] = pair_numbers(pair);
    format!(
        "  {:<width$}  {:<width$}  {diff:>6}  {ci:<15}  {p:<7}  {p_holm:<7}  {verdict}",
        printable(&pair.a),
        printable(&pair.b),
    )
}

fn untestable_text(why: crate::stats::Untestable) -> &'static str {
    match why {
        crate::stats::Untestable::TooFew => "fewer than two results",
        crate::stats::Untestable::NoSpread => "no spread",
        crate::stats::Untestable::NotFinite => "a diverged run",
    }
}

/// `sweep.csv`: the configurations: rank, label, one column per key, n,
/// mean, sd, the interval, and whether it is like the best.
pub fn csv(report: &SweepReport) -> Result<String, ReportError> {
    let mut header: Vec<&str> = vec!["rank", "label"];
    header.extend(report.keys.iter().map(String::as_str));
    header.extend(["n", "mean", "sd", "ci_low", "ci_high", "like_best"]);
    let number = |x: Option<f64>| x.map(|x| format!("{x:.6}")).unwrap_or_default();
    let rows = report.groups.iter().map(|group| {
        let mut row = vec![
            group.rank.map(|r| r.to_string()).unwrap_or_default(),
            printable(&group.label).into_owned(),
        ];
        row.extend(group.keys.iter().map(|(_, v)| printable(v).into_owned()));
        row.extend([
            group.n.to_string(),
            number(group.mean),
            number(group.sd),
            number(group.ci.map(|c| c.0)),
            number(group.ci.map(|c| c.1)),
            group.like_best.to_string(),
        ]);
        row
    });
    super::table::write_csv("sweep.csv", &header, rows)
}

/// A table cell: printable, and a `|` cannot end the cell early.
fn cell(text: &str) -> String {
    printable(text).replace('|', "\\|")
}

fn interval(ci: Option<(f64, f64)>) -> String {
    ci.map_or_else(|| "-".into(), |(low, high)| format!("{low:.4} … {high:.4}"))
}

/// `sweep.md`: the configurations, the effects and the pairs as Markdown tables.
pub fn markdown(report: &SweepReport) -> String {
    let mut out = String::new();
    let runs: usize = report.groups.iter().map(|g| g.runs).sum();
    let _ = writeln!(out, "# Sweep {}\n", cell(&report.sweep));
    let shared: Vec<String> = report
        .shared
        .iter()
        .map(|(k, v)| format!("`{k}={v}`"))
        .collect();
    let _ = writeln!(
        out,
        "{} configurations, {runs} runs. Every configuration shares {}.\n",
        report.groups.len(),
        cell(&shared.join(" "))
    );
    let keys: Vec<String> = report.keys.iter().map(|k| cell(k)).collect();
    let _ = writeln!(
        out,
        "| rank | {} | n | mean | sd | 95% CI | |",
        keys.join(" | ")
    );
    let _ = writeln!(
        out,
        "|---:|{}---:|---:|---:|---|---|",
        "---|".repeat(keys.len())
    );
    for group in &report.groups {
        let values: Vec<String> = group.keys.iter().map(|(_, v)| cell(v)).collect();
        let mark = match (group.rank, group.like_best) {
            (Some(1), _) => "best",
            (_, true) => "≈ best",
            _ => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {mark} |",
            group.rank.map_or_else(|| "-".into(), |r| r.to_string()),
            values.join(" | "),
            group.n,
            optional(group.mean, 4),
            optional(group.sd, 4),
            interval(group.ci)
        );
    }
    let _ = writeln!(
        out,
        "\n≈ best: not found different from the best (equivalent or undecided).\n\n## Effects\n\n\
         Each value's runs pooled over the other keys; F-tests from the type II factorial ANOVA.\n"
    );
    let _ = writeln!(out, "| key | value | n | mean | 95% CI | F-test |");
    let _ = writeln!(out, "|---|---|---:|---:|---|---|");
    for effect in &report.effects {
        for (index, level) in effect.levels.iter().enumerate() {
            let test = if index == 0 {
                f_test(effect.f, effect.df, effect.p)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {test} |",
                if index == 0 {
                    cell(&effect.key)
                } else {
                    String::new()
                },
                cell(&level.value),
                level.n,
                optional(level.mean, 4),
                interval(level.ci)
            );
        }
    }
    for interaction in &report.interactions {
        let _ = writeln!(
            out,
            "| {} × {} | | | | | {} |",
            cell(&interaction.keys.0),
            cell(&interaction.keys.1),
            f_test(interaction.f, Some(interaction.df), interaction.p)
        );
    }
    let _ = writeln!(
        out,
        "\n## Pairs\n\n{} pairs, {} tested; p-values adjusted by Holm's method over the {} tested; \
         margin ±{:.2} points. Differences in accuracy points.\n",
        report.pairs.len(),
        report.family,
        report.family,
        report.margin_points
    );
    let _ = writeln!(out, "| a | b | diff | 95% CI | p | p Holm | verdict |");
    let _ = writeln!(out, "|---|---|---:|---|---:|---:|---|");
    for pair in &report.pairs {
        let [diff, ci, p, p_holm, verdict] = pair_numbers(pair);
        let _ = writeln!(
            out,
            "| {} | {} | {diff} | {ci} | {p} | {p_holm} | {verdict} |",
            cell(&pair.a),
            cell(&pair.b),
        );
    }
    out
}
