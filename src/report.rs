//! `atelier report`: the original notebook's figures and tables, from stored
//! runs: a confusion matrix and a training history per run, bar charts of
//! test accuracy and loss across runs, and the results as Markdown and CSV.

pub mod figures;
pub mod groups;
pub mod table;

use std::path::{Path, PathBuf};

use crate::{
    edge::output::{self, Kind, Policy},
    protocol::{ConfusionMatrix, RunId},
    store::{History, Predictions, RunRecord, RunStore, StoreError},
};

/// Pixel sizes of the figures.
pub const CONFUSION_SIZE: (u32, u32) = (1000, 800);
pub const HISTORY_SIZE: (u32, u32) = (1200, 460);
pub const BARS_SIZE: (u32, u32) = (1000, 520);

/// What went wrong writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error(transparent)]
    Output(#[from] crate::edge::output::OutputError),
    #[error("cannot draw {figure}: {problem}")]
    Draw { figure: String, problem: String },
    #[error("{path}: {what}: {error}")]
    Io {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
    #[error("no finished runs to report{0}; train some first (`atelier train --only M1`)")]
    NothingToReport(String),
}

/// One finished run with everything the report shows of it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRun {
    pub record: RunRecord,
    pub history: History,
    /// Per test image, whether the run got it right (for McNemar's test);
    /// `None` when the run folder holds no predictions.
    pub correct: Option<Vec<bool>>,
}

impl ReportRun {
    /// The test-set confusion matrix (every reported run has one).
    pub fn confusion(&self) -> Option<&ConfusionMatrix> {
        self.history.test.as_ref().map(|test| &test.confusion)
    }

    /// A file-name-safe short name: the run name, or the id if names repeat.
    fn file_stem(&self, names_repeat: bool) -> String {
        let name: &str = if names_repeat {
            &self.record.id
        } else {
            &self.record.spec.name
        };
        name.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// The runs a report covers: `ids` in that order, or every run with test
/// results. Runs that have none are named in the second list and left out.
pub fn collect(
    store: &RunStore,
    ids: &[RunId],
) -> Result<(Vec<ReportRun>, Vec<RunId>), ReportError> {
    let ids: Vec<RunId> = if ids.is_empty() {
        store.list().0.into_iter().map(|record| record.id).collect()
    } else {
        ids.to_vec()
    };
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    for id in ids {
        let record = store.load(&id)?;
        let history = History::from_events(&store.events(&id)?.events);
        if history.test.is_some() {
            let correct = Predictions::load(&store.run_dir(&id))
                .ok()
                .map(|p| p.correctness());
            runs.push(ReportRun {
                record,
                history,
                correct,
            });
        } else {
            skipped.push(id);
        }
    }
    Ok((runs, skipped))
}

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
        figures::save(&figures::confusion(run)?, &dir.join(&confusion), policy)?;
        let history = format!("history-{stem}.png");
        figures::save(&figures::history(run)?, &dir.join(&history), policy)?;
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
    Ok(written)
}
