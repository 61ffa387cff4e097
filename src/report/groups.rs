//! The report's runs as groups of seeds: their statistics, their
//! validation curves as mean and min–max, and the verdicts on the pairs of
//! groups that answer the original's questions (dropout or not; CNN or MLP).

use super::ReportRun;
use crate::{
    analysis::Unpaired,
    plan::{group::Question, Group, Reference},
    stats::{
        mcnemar,
        verdict::{Side, Verdict},
        Summary,
    },
};

/// Finished runs that differ only in their seed.
#[derive(Clone, Debug)]
pub struct ReportGroup<'a> {
    pub group: Group,
    pub runs: Vec<&'a ReportRun>,
}

/// Which test metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    Loss,
}

impl Metric {
    fn of(self, run: &ReportRun) -> Option<f64> {
        run.history.test.as_ref().map(|test| match self {
            Metric::Accuracy => test.accuracy,
            Metric::Loss => test.loss,
        })
    }

    pub fn reference(self, reference: Reference) -> f64 {
        match self {
            Metric::Accuracy => reference.test_accuracy,
            Metric::Loss => reference.test_loss,
        }
    }
}

/// One epoch of a group's validation accuracy: mean, lowest and highest seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub epoch: u32,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Groups in the order their first run appears.
pub fn groups(runs: &[ReportRun]) -> Vec<ReportGroup<'_>> {
    crate::store::groups::by_group(runs, |run| run.record.group())
        .into_iter()
        .map(|(group, runs)| ReportGroup { group, runs })
        .collect()
}

impl ReportGroup<'_> {
    pub fn values(&self, metric: Metric) -> Vec<f64> {
        self.runs.iter().filter_map(|run| metric.of(run)).collect()
    }

    pub fn summary(&self, metric: Metric) -> Summary {
        Summary::of(&self.values(metric))
    }

    pub fn best_val(&self) -> Summary {
        let values: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|run| run.record.best_val_accuracy)
            .collect();
        Summary::of(&values)
    }

    pub fn reference(&self) -> Option<Reference> {
        self.runs.iter().find_map(|run| run.record.spec.reference)
    }

    /// Epochs every run of the group completed.
    pub fn epochs(&self) -> u32 {
        self.runs
            .iter()
            .map(|run| run.record.epochs_done)
            .min()
            .unwrap_or(0)
    }

    /// Validation accuracy per epoch over the runs that reached it.
    pub fn band(&self) -> Vec<Band> {
        let last = self
            .runs
            .iter()
            .filter_map(|run| run.history.epochs.last().map(|row| row.epoch))
            .max()
            .unwrap_or(0);
        (1..=last)
            .filter_map(|epoch| {
                let values: Vec<f64> = self
                    .runs
                    .iter()
                    .filter_map(|run| run.history.epochs.iter().find(|row| row.epoch == epoch))
                    .map(|row| row.val_accuracy)
                    .collect();
                (!values.is_empty()).then(|| Band {
                    epoch,
                    mean: values.iter().sum::<f64>() / values.len() as f64,
                    min: values.iter().copied().fold(f64::INFINITY, f64::min),
                    max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                })
            })
            .collect()
    }
}

/// A pair of groups, the question it answers and the verdict on `a − b`.
#[derive(Clone, Debug)]
pub struct Finding {
    pub question: Question,
    pub verdict: Verdict,
}

/// The verdicts the groups suggest: each pair that differs only by dropout,
/// or only by being a CNN rather than an MLP.
pub fn findings(groups: &[ReportGroup]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, x) in groups.iter().enumerate() {
        for y in &groups[i + 1..] {
            let (sx, sy) = (&x.runs[0].record.spec, &y.runs[0].record.spec);
            if let Some((question, first, _)) = Question::between(sx, sy) {
                let (a, b) = if std::ptr::eq(first, sx) {
                    (x, y)
                } else {
                    (y, x)
                };
                findings.push(Finding {
                    question,
                    verdict: verdict(a, b),
                });
            }
        }
    }
    findings
}

/// Welch for groups of seeds; `McNemar` for two single runs with predictions.
pub fn verdict(a: &ReportGroup, b: &ReportGroup) -> Verdict {
    let (va, vb) = (a.values(Metric::Accuracy), b.values(Metric::Accuracy));
    if let ([ra], [rb]) = (a.runs.as_slice(), b.runs.as_slice()) {
        let test = match (&ra.correct, &rb.correct) {
            (Some(ca), Some(cb)) => mcnemar(ca, cb).map_err(Unpaired::from),
            (None, _) => Err(Unpaired::NoPredictions(ra.record.spec.name.clone())),
            (_, None) => Err(Unpaired::NoPredictions(rb.record.spec.name.clone())),
        };
        return Verdict::runs(
            Side::group(ra.record.spec.name.clone(), &va),
            Side::group(rb.record.spec.name.clone(), &vb),
            test,
        );
    }
    Verdict::groups(
        Side::group(a.group.name.clone(), &va),
        &va,
        Side::group(b.group.name.clone(), &vb),
        &vb,
    )
}
