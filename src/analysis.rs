//! What the stored runs say, computed above the store from what it
//! returns: the verdict on two runs (`McNemar`'s exact test on their stored
//! test predictions) or two groups of seeds (Welch's test), and a whole
//! sweep ([`sweep`]).

pub mod sweep;

use self::sweep::{Pair, SweepReport};
use crate::{
    stats::{
        verdict::{Side, Verdict},
        McNemar,
    },
    store::{Predictions, RunRecord, RunStore, Target},
};

/// The verdict on `a − b`: Welch's test for two groups, `McNemar`'s for two
/// runs (from their stored test predictions); a run against a group is
/// compared as a group of one, which has no interval.
pub fn compare(store: &RunStore, a: &Target, b: &Target) -> Verdict {
    if let (Target::Run(x), Target::Run(y)) = (a, b) {
        let side = |r: &RunRecord| Side::group(r.spec.name.clone(), &accuracy(r));
        Verdict::runs(side(x), side(y), paired(store, x, y))
    } else {
        let values = |t: &Target| match t {
            Target::Run(r) => accuracy(r),
            Target::Group { runs, .. } => runs.iter().filter_map(|r| r.test_accuracy).collect(),
        };
        let (va, vb) = (values(a), values(b));
        Verdict::groups(
            Side::group(a.name(), &va),
            &va,
            Side::group(b.name(), &vb),
            &vb,
        )
    }
}

/// [`compare`], and when `a` and `b` are two groups of one sweep, their
/// pair in its analysis: the verdict then follows the p-value adjusted over
/// every pair of the sweep.
pub fn compare_in_sweep(
    store: &RunStore,
    a: &Target,
    b: &Target,
) -> (Verdict, Option<(SweepReport, Pair)>) {
    let verdict = compare(store, a, b);
    let (records, _) = store.list();
    let in_sweep = sweep::pair_in_sweep(&records, a, b);
    match &in_sweep {
        Some((report, pair)) => match pair.p_holm {
            Some(p) => (verdict.in_family(report.family, p), in_sweep),
            None => (verdict, in_sweep),
        },
        None => (verdict, None),
    }
}

fn accuracy(record: &RunRecord) -> Vec<f64> {
    record.test_accuracy.into_iter().collect()
}

/// Why two runs cannot be compared image by image.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unpaired {
    /// The run (named) has no `predictions.safetensors`.
    #[error("run {0} has no stored test predictions")]
    NoPredictions(String),
    /// A run's predictions could not be read, and why.
    #[error("{0}")]
    Unreadable(String),
    /// A planned run (named) that never trained.
    #[error("{0} has not run")]
    NotRun(String),
    #[error("the runs were tested on different images")]
    DifferentImages,
}

impl From<crate::stats::DifferentTestSets> for Unpaired {
    fn from(_: crate::stats::DifferentTestSets) -> Self {
        Self::DifferentImages
    }
}

/// `McNemar`'s test of two runs, or why it cannot be done.
pub fn paired(store: &RunStore, a: &RunRecord, b: &RunRecord) -> Result<McNemar, Unpaired> {
    let load = |r: &RunRecord| {
        Predictions::load(&store.run_dir(&r.id))
            .map_err(|_| Unpaired::NoPredictions(r.spec.name.clone()))
    };
    mcnemar(&load(a)?, &load(b)?)
}

/// The exact `McNemar` test of two runs' predictions, on the same images;
/// the problem when they are not the same images.
pub fn mcnemar(a: &Predictions, b: &Predictions) -> Result<McNemar, Unpaired> {
    if a.labels() != b.labels() {
        return Err(Unpaired::DifferentImages);
    }
    Ok(crate::stats::mcnemar(&a.correctness(), &b.correctness())?)
}
