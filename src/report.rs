//! `atelier report`: the original notebook's figures and tables, from stored
//! runs: a confusion matrix and a training history per run, bar charts of
//! test accuracy and loss across runs, and the results as Markdown and CSV.

mod error;
pub mod figures;
pub mod groups;
mod run;
pub mod sweep;
pub mod table;

use std::path::{Path, PathBuf};

pub use error::ReportError;
pub use figures::BARS_SIZE;
pub use run::{collect, ReportRun};

use crate::{
    analysis::sweep::{sweeps, SweepReport, DEFAULT_MARGIN_POINTS},
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
    written.extend(write_sweeps(runs, dir, policy)?);
    Ok(written)
}

/// `sweep.md` and `sweep.csv` for each sweep among `runs` (named after it
/// when there are several), checked before the first is written.
fn write_sweeps(
    runs: &[ReportRun],
    dir: &Path,
    policy: &Policy,
) -> Result<Vec<PathBuf>, ReportError> {
    let records: Vec<RunRecord> = runs.iter().map(|run| run.record.clone()).collect();
    let names = sweeps(&records);
    let stem = |name: &str| {
        if names.len() == 1 {
            "sweep".to_string()
        } else {
            format!("sweep-{}", run::file_safe(name))
        }
    };
    for name in &names {
        for extension in ["md", "csv"] {
            output::check(
                &dir.join(format!("{}.{extension}", stem(name))),
                Kind::Text,
                policy,
            )?;
        }
    }
    let mut written = Vec::new();
    for name in &names {
        let report = SweepReport::of(name, &records, DEFAULT_MARGIN_POINTS);
        for (extension, text) in [
            ("md", sweep::markdown(&report)),
            ("csv", sweep::csv(&report)?),
        ] {
            let path = dir.join(format!("{}.{extension}", stem(name)));
            output::write(&path, Kind::Text, text.as_bytes(), policy)?;
            written.push(path);
        }
    }
    Ok(written)
}
