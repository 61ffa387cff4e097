//! What the stored runs say, computed above the store from what it
//! returns: the verdict on two runs (McNemar's exact test on their stored
//! test predictions) or two groups of seeds (Welch's test).

use crate::{
    stats::{
        verdict::{Side, Verdict},
        McNemar,
    },
    store::{Predictions, RunRecord, RunStore, Target},
};

/// The verdict on `a − b`: Welch's test for two groups, McNemar's for two
/// runs (from their stored test predictions); a run against a group is
/// compared as a group of one, which has no interval.
pub fn compare(store: &RunStore, a: &Target, b: &Target) -> Verdict {
    match (a, b) {
        (Target::Run(x), Target::Run(y)) => {
            let side = |r: &RunRecord| Side::group(r.spec.name.clone(), &accuracy(r));
            Verdict::runs(side(x), side(y), paired(store, x, y))
        }
        _ => {
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
}

fn accuracy(record: &RunRecord) -> Vec<f64> {
    record.test_accuracy.into_iter().collect()
}

/// McNemar's test of two runs, or why it cannot be done.
pub fn paired(store: &RunStore, a: &RunRecord, b: &RunRecord) -> Result<McNemar, String> {
    let load = |r: &RunRecord| {
        Predictions::load(&store.run_dir(&r.id))
            .map_err(|_| format!("run {} has no stored test predictions", r.spec.name))
    };
    mcnemar(&load(a)?, &load(b)?)
}

/// The exact McNemar test of two runs' predictions, on the same images;
/// the problem when they are not the same images.
pub fn mcnemar(a: &Predictions, b: &Predictions) -> Result<McNemar, String> {
    if a.labels() != b.labels() {
        return Err("the runs were tested on different images".into());
    }
    crate::stats::mcnemar(&a.correctness(), &b.correctness()).map_err(|error| error.to_string())
}
