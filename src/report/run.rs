//! The runs a report covers: each finished run with its history and, where
//! stored, which test images it got right.

use super::ReportError;
use crate::{
    protocol::{ConfusionMatrix, RunId},
    store::{History, Predictions, RunRecord, RunStore},
};

/// One finished run with everything the report shows of it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRun {
    pub record: RunRecord,
    pub history: History,
    /// Per test image, whether the run got it right (for `McNemar`'s test);
    /// `None` when the run folder holds no predictions.
    pub correct: Option<Vec<bool>>,
}

impl ReportRun {
    /// The test-set confusion matrix (every reported run has one).
    pub fn confusion(&self) -> Option<&ConfusionMatrix> {
        self.history.test.as_ref().map(|test| &test.confusion)
    }

    /// A file-name-safe short name: the run name, or the id if names repeat.
    pub(super) fn file_stem(&self, names_repeat: bool) -> String {
        let name: &str = if names_repeat {
            &self.record.id
        } else {
            &self.record.spec.name
        };
        file_safe(name)
    }
}

/// `name` with every character but ASCII letters, digits, `-` and `_` as `_`.
pub(super) fn file_safe(name: &str) -> String {
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
