//! The results table, as Markdown (for the README) and CSV (for spreadsheets).

use crate::edge::printable;
use std::fmt::Write;

use super::{
    groups::{Finding, Metric, ReportGroup},
    ReportError, ReportRun,
};
use crate::stats::Summary;

/// The figure of the groups' validation curves.
pub const BANDS_FILE: &str = "validation-groups.png";

/// The figure files of each run, for links in the Markdown.
#[derive(Debug, Default)]
pub struct Figures {
    /// (run id, confusion matrix file, history file)
    pub per_run: Vec<(String, String, String)>,
}

const HEADER: [&str; 13] = [
    "run",
    "model",
    "layers",
    "parameters",
    "epochs",
    "test accuracy",
    "test loss",
    "original accuracy",
    "training time (s)",
    "device",
    "id",
    "group",
    "seed",
];

/// One row of values, in `HEADER` order, each printable (names and labels
/// come from plans and stores; a report is read with `cat` too).
fn row(run: &ReportRun) -> [String; 13] {
    raw_row(run).map(|cell| printable(&cell).into_owned())
}

fn raw_row(run: &ReportRun) -> [String; 13] {
    let record = &run.record;
    let test = run.history.test.as_ref();
    [
        record.spec.name.clone(),
        record
            .spec
            .label
            .clone()
            .unwrap_or_else(|| record.spec.model.family().to_string()),
        record.spec.model.to_string(),
        record.params.map_or_else(String::new, |p| p.to_string()),
        record.epochs_done.to_string(),
        test.map_or_else(String::new, |t| format!("{:.4}", t.accuracy)),
        test.map_or_else(String::new, |t| format!("{:.4}", t.loss)),
        record
            .spec
            .reference
            .map_or_else(String::new, |r| format!("{:.4}", r.test_accuracy)),
        record
            .seconds
            .map_or_else(String::new, |s| format!("{s:.0}")),
        record.device.clone().unwrap_or_default(),
        record.id.to_string(),
        record.group().name,
        record.spec.seed.to_string(),
    ]
}

/// `results.md`: the groups with their intervals and the verdicts, the
/// per-run table, then the figures.
pub fn markdown(
    runs: &[ReportRun],
    groups: &[ReportGroup],
    findings: &[Finding],
    figures: &Figures,
) -> String {
    let mut out = String::from("# Results\n\n");
    if groups.len() < runs.len() {
        out.push_str(&groups_markdown(groups));
    }
    if !findings.is_empty() {
        out.push_str("## Verdicts\n\n");
        for finding in findings {
            let _ = writeln!(
                out,
                "- {}: {}",
                finding.question.text(),
                printable(&finding.verdict.text())
            );
        }
        out.push('\n');
    }
    out.push_str("## Runs\n\n");
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let align: Vec<&str> = HEADER
        .iter()
        .enumerate()
        .map(|(index, _)| {
            if (3..=8).contains(&index) || index == 12 {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(out, "| {} |", align.join(" | "));
    for run in runs {
        let cells = row(run);
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push_str(
        "\n![Test accuracy per group](test-accuracy.png)\n\n![Test loss per group](test-loss.png)\n",
    );
    let _ = writeln!(out, "\n![Validation accuracy per group]({BANDS_FILE})");
    for ((id, confusion, history), run) in figures.per_run.iter().zip(runs) {
        let title = printable(&run.record.spec.title()).into_owned();
        let _ = write!(
            out,
            "\n## {title}\n\nRun `{id}`.\n\n![Training history of {title}]({history})\n\n![Confusion matrix of {title}]({confusion})\n"
        );
    }
    out
}

/// `0.8940 ± 0.0033`, `0.8940` for one run, empty for none.
fn mean_sd(summary: &Summary) -> String {
    match (summary.mean, summary.sd) {
        (Some(mean), Some(sd)) => format!("{mean:.4} ± {sd:.4}"),
        (Some(mean), None) => format!("{mean:.4}"),
        _ => String::new(),
    }
}

fn interval(summary: &Summary) -> String {
    summary.ci.map_or_else(
        || "n/a (one run)".to_string(),
        |(lo, hi)| format!("{lo:.4} … {hi:.4}"),
    )
}

/// Whether the original's single value lies inside the group's interval.
fn original_inside(group: &ReportGroup) -> String {
    match (group.reference(), group.summary(Metric::Accuracy).ci) {
        (Some(reference), Some((lo, hi))) => {
            let value = reference.test_accuracy;
            if value < lo {
                "below".into()
            } else if value > hi {
                "above".into()
            } else {
                "inside".into()
            }
        }
        _ => String::new(),
    }
}

fn groups_markdown(groups: &[ReportGroup]) -> String {
    let mut out = String::from("## Groups (runs that differ only in their seed)\n\n");
    out.push_str("| group | n | test accuracy (mean ± sd) | 95% CI | test loss (mean ± sd) | best val accuracy | original | original vs CI |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for group in groups {
        let accuracy = group.summary(Metric::Accuracy);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            printable(&group.group.name),
            accuracy.n,
            mean_sd(&accuracy),
            interval(&accuracy),
            mean_sd(&group.summary(Metric::Loss)),
            mean_sd(&group.best_val()),
            group
                .reference()
                .map_or_else(String::new, |r| format!("{:.4}", r.test_accuracy)),
            original_inside(group),
        );
    }
    out.push('\n');
    out
}

const GROUP_HEADER: [&str; 14] = [
    "group",
    "key",
    "runs",
    "n",
    "test accuracy mean",
    "test accuracy sd",
    "test accuracy ci low",
    "test accuracy ci high",
    "test loss mean",
    "test loss sd",
    "best val accuracy mean",
    "original accuracy",
    "original vs ci",
    "seeds",
];

/// `groups.csv`: one line per group: n, mean, sd and 95% CI.
pub fn groups_csv(groups: &[ReportGroup]) -> Result<String, ReportError> {
    let number = |value: Option<f64>| value.map_or_else(String::new, |v| format!("{v:.6}"));
    let rows = groups.iter().map(|group| {
        let accuracy = group.summary(Metric::Accuracy);
        let loss = group.summary(Metric::Loss);
        vec![
            printable(&group.group.name).into_owned(),
            group.group.key.clone(),
            group.runs.len().to_string(),
            accuracy.n.to_string(),
            number(accuracy.mean),
            number(accuracy.sd),
            number(accuracy.ci.map(|c| c.0)),
            number(accuracy.ci.map(|c| c.1)),
            number(loss.mean),
            number(loss.sd),
            number(group.best_val().mean),
            number(group.reference().map(|r| r.test_accuracy)),
            original_inside(group),
            group
                .runs
                .iter()
                .map(|run| run.record.spec.seed.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ]
    });
    write_csv("groups.csv", &GROUP_HEADER, rows)
}

const VERDICT_HEADER: [&str; 10] = [
    "question",
    "a",
    "b",
    "test",
    "difference (points)",
    "ci low (points)",
    "ci high (points)",
    "p",
    "significant at 0.05",
    "verdict",
];

/// `verdicts.csv`: one line per pair of groups the plan's runs suggest.
pub fn verdicts_csv(findings: &[Finding]) -> Result<String, ReportError> {
    let number = |value: Option<f64>| value.map_or_else(String::new, |v| format!("{v:.6}"));
    let rows = findings.iter().map(|finding| {
        let v = &finding.verdict;
        vec![
            finding.question.text().to_string(),
            printable(&v.a.name).into_owned(),
            printable(&v.b.name).into_owned(),
            format!("{:?}", v.test).to_lowercase(),
            number(v.difference_points),
            number(v.ci_points.map(|c| c.0)),
            number(v.ci_points.map(|c| c.1)),
            number(v.p),
            v.significant.map_or_else(String::new, |s| s.to_string()),
            v.text(),
        ]
    });
    write_csv("verdicts.csv", &VERDICT_HEADER, rows)
}

pub(super) fn write_csv(
    table: &str,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<String, ReportError> {
    let problem = |e: ::csv::Error| ReportError::Table {
        table: table.into(),
        problem: e.to_string(),
    };
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(problem)?;
    for row in rows {
        writer.write_record(row).map_err(problem)?;
    }
    let bytes = writer.into_inner().map_err(|e| ReportError::Table {
        table: table.into(),
        problem: e.to_string(),
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `results.csv`: one header line, one line per run.
pub fn csv(runs: &[ReportRun]) -> Result<String, ReportError> {
    write_csv(
        "results.csv",
        &HEADER,
        runs.iter().map(|run| row(run).to_vec()),
    )
}
