//! `atelier report`: the original notebook's figures and tables, from stored
//! runs: a confusion matrix and a training history per run, bar charts of
//! test accuracy and loss across runs, and the results as Markdown and CSV.

mod error;
pub mod figures;
pub mod groups;
mod run;
pub mod sweep;
pub mod sweep_figures;
pub mod table;

use std::path::{Path, PathBuf};

pub use error::ReportError;
pub use figures::BARS_SIZE;
pub use run::{collect, ReportRun};

use crate::{
    analysis::sweep::{margin_of, sweeps, SweepReport},
    draw,
    edge::output::{self, Kind, Policy},
    store::RunRecord,
};

/// Writes every figure and both tables into `dir`; returns the files written.
/// The tables a report writes beside its figures.
const TABLES: [&str; 4] = ["results.md", "results.csv", "groups.csv", "verdicts.csv"];

/// Every file is checked against `policy` before the first is written, so a
/// refused path leaves the folder as it was.
pub fn write(runs: &[ReportRun], dir: &Path, policy: &Policy) -> Result<Vec<PathBuf>, ReportError> {
    if runs.is_empty() {
        return Err(ReportError::NothingToReport(String::new()));
    }
    output::create_folder(dir)?;
    let names_repeat = {
        let mut names: Vec<&str> = runs
            .iter()
            .map(|run| run.record.spec.name.as_str())
            .collect();
        names.sort_unstable();
        names.windows(2).any(|pair| pair[0] == pair[1])
    };
    let pictures = runs.iter().flat_map(|run| {
        let stem = run.file_stem(names_repeat);
        [
            format!("confusion-{stem}.png"),
            format!("history-{stem}.png"),
        ]
    });
    let summaries = ["test-accuracy.png", "test-loss.png", table::BANDS_FILE].map(String::from);
    for name in pictures.chain(summaries) {
        output::check(&dir.join(name), Kind::Png, policy)?;
    }
    for name in TABLES {
        output::check(&dir.join(name), Kind::Text, policy)?;
    }
    let records: Vec<RunRecord> = runs.iter().map(|run| run.record.clone()).collect();
    let sweep_outputs = sweep_outputs(&records, dir)?;
    for file in &sweep_outputs {
        output::check(&file.path, file.kind, policy)?;
    }
    let mut written = Vec::new();
    let mut figures = table::Figures::default();
    for run in runs {
        let stem = run.file_stem(names_repeat);
        let confusion = format!("confusion-{stem}.png");
        figures::save(
            &draw::figures::confusion(&run.record, &run.history)?,
            &dir.join(&confusion),
            policy,
        )?;
        let history = format!("history-{stem}.png");
        figures::save(
            &draw::figures::history(&run.record, &run.history)?,
            &dir.join(&history),
            policy,
        )?;
        figures.per_run.push((
            run.record.id.to_string(),
            confusion.clone(),
            history.clone(),
        ));
        written.push(dir.join(confusion));
        written.push(dir.join(history));
    }
    let groups = groups::groups(runs);
    for (name, metric) in [
        ("test-accuracy.png", groups::Metric::Accuracy),
        ("test-loss.png", groups::Metric::Loss),
    ] {
        figures::save(&figures::bars(&groups, metric)?, &dir.join(name), policy)?;
        written.push(dir.join(name));
    }
    figures::save(
        &figures::validation_bands(&groups)?,
        &dir.join(table::BANDS_FILE),
        policy,
    )?;
    written.push(dir.join(table::BANDS_FILE));
    let findings = groups::findings(&groups);
    let tables = [
        table::markdown(runs, &groups, &findings, &figures),
        table::csv(runs)?,
        table::groups_csv(&groups)?,
        table::verdicts_csv(&findings)?,
    ];
    for (name, text) in TABLES.into_iter().zip(tables) {
        let path = dir.join(name);
        output::write(&path, Kind::Text, text.as_bytes(), policy)?;
        written.push(path);
    }
    for file in sweep_outputs {
        output::write(&file.path, file.kind, &file.bytes, policy)?;
        written.push(file.path);
    }
    Ok(written)
}

/// A file of the report, made before any is written.
struct Output {
    path: PathBuf,
    kind: Kind,
    bytes: Vec<u8>,
}

/// For each sweep among `records`, read with its own margin: `sweep.md`,
/// `sweep.csv`, the effects figure when it varies a key and the heat table
/// when it varies two (`sweep-NAME…` when the runs hold several sweeps).
fn sweep_outputs(records: &[RunRecord], dir: &Path) -> Result<Vec<Output>, ReportError> {
    let names = sweeps(records);
    let mut outputs = Vec::new();
    for name in &names {
        let stem = if names.len() == 1 {
            "sweep".to_string()
        } else {
            format!("sweep-{}", run::file_safe(name))
        };
        let report = SweepReport::of(name, records, margin_of(records, name));
        let mut add = |suffix: &str, kind: Kind, bytes: Vec<u8>| {
            outputs.push(Output {
                path: dir.join(format!("{stem}{suffix}")),
                kind,
                bytes,
            });
        };
        add(".md", Kind::Text, sweep::markdown(&report).into_bytes());
        add(".csv", Kind::Text, sweep::csv(&report)?.into_bytes());
        if !report.effects.is_empty() {
            let png = draw::encode_png(&sweep_figures::effects(&report)?)?;
            add("-effects.png", Kind::Png, png);
        }
        if let Some(heat) = sweep_figures::Heat::of(&report) {
            let png = draw::encode_png(&sweep_figures::heat(&heat, name)?)?;
            add("-heat.png", Kind::Png, png);
        }
    }
    Ok(outputs)
}
