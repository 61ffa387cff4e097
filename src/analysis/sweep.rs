//! A whole sweep read at once: its configurations told apart by what
//! differs, ranked with intervals; the effect of each swept setting (its
//! levels' means and the factorial ANOVA's F-test); and a verdict on every
//! pair of configurations, corrected for how many pairs there are.
//!
//! The family of comparisons is every pair of the sweep's configurations
//! that can be tested (two or more finished seeds each). Each pair gets
//! Welch's test, its p-value adjusted by Holm's method over the family,
//! and two one-sided tests against a practical margin:
//! - *equivalent* when the 90% interval of the difference lies inside
//!   ±margin (whatever the p-value: a real but negligible difference is
//!   negligible);
//! - else *different* when the Holm-adjusted p is below 0.05;
//! - else *undecided*, with the seeds per configuration that would likely
//!   decide it ([`seeds_needed`]).

/// The sweeps of some runs, by name: the store's, which names runs by them too.
pub use crate::store::groups::sweeps;
use serde::Serialize;

use std::collections::HashMap;

use crate::{
    plan::{settings::GroupLabel, Differences, Group, RunSpec},
    stats::{
        anova::{terms, Anova, Observations, Term},
        equivalence::{pooled_sd, seeds_needed, tost},
        multiple::holm,
        welch, Summary, Untestable,
    },
    store::{groups::by_group, RunRecord, Target},
};

/// The practical margin unless a plan or `--margin` says: half a point of accuracy.
pub const DEFAULT_MARGIN_POINTS: f64 = 0.5;

/// Everything `atelier sweep` shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepReport {
    pub sweep: String,
    /// The swept keys: those whose values differ between configurations.
    pub keys: Vec<String>,
    /// The settings every configuration shares.
    pub shared: Vec<(String, String)>,
    /// The margin, in accuracy points.
    pub margin_points: f64,
    /// Configurations, best first (those without a result last).
    pub groups: Vec<SweepGroup>,
    pub effects: Vec<Effect>,
    /// Two-way interactions, when the grid is complete and seeds are to spare.
    pub interactions: Vec<Interaction>,
    /// Every pair of configurations, the better first.
    pub pairs: Vec<Pair>,
    /// How many pairs could be tested: the size of Holm's family.
    pub family: usize,
}

/// One configuration of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepGroup {
    /// Its values of the swept keys, `lr=1e-3 dropout=true`.
    pub label: String,
    /// The same, key by key (in `keys` order).
    #[serde(serialize_with = "as_map")]
    pub keys: Vec<(String, String)>,
    /// The group's full name, as the plan gave it.
    pub name: String,
    /// The group's identity ([`Group::id`]), for the app's selection.
    #[serde(skip)]
    pub id: String,
    /// Its runs, whatever their status.
    pub runs: usize,
    /// Runs with a test accuracy.
    pub n: usize,
    /// Their test accuracies.
    pub values: Vec<f64>,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub ci: Option<(f64, f64)>,
    /// 1 for the best mean test accuracy; none without a result.
    pub rank: Option<usize>,
    /// Not found different from the best (equivalent or undecided).
    pub like_best: bool,
}

/// One swept key's main effect.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Effect {
    pub key: String,
    pub levels: Vec<Level>,
    /// The ANOVA's F of this key, its degrees of freedom and p; none when
    /// the runs leave nothing to test against.
    pub f: Option<f64>,
    pub df: Option<(usize, usize)>,
    pub p: Option<f64>,
}

/// The runs at one value of a key, pooled over the other keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Level {
    pub value: String,
    pub n: usize,
    pub mean: Option<f64>,
    pub ci: Option<(f64, f64)>,
}

/// A two-way interaction's F-test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Interaction {
    pub keys: (String, String),
    pub f: Option<f64>,
    pub df: (usize, usize),
    pub p: Option<f64>,
}

/// What a pair's tests say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// The 90% interval of the difference lies inside ±margin.
    Equivalent,
    /// The Holm-adjusted p is below 0.05.
    Different,
    /// Neither yet: more seeds would tell.
    Undecided,
    /// A side has fewer than two results, no spread, or a diverged run.
    Untestable,
}

impl Call {
    pub fn text(self) -> &'static str {
        match self {
            Call::Equivalent => "equivalent",
            Call::Different => "different",
            Call::Undecided => "undecided",
            Call::Untestable => "untestable",
        }
    }
}

/// `a − b` for two configurations (a the better).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub diff: Option<f64>,
    /// The 95% interval of the difference (Welch).
    pub ci: Option<(f64, f64)>,
    pub p: Option<f64>,
    pub p_holm: Option<f64>,
    /// The larger one-sided p of the equivalence tests.
    pub p_equivalence: Option<f64>,
    pub verdict: Call,
    /// Why it could not be tested.
    pub untestable: Option<Untestable>,
    /// For an undecided pair: seeds per configuration likely to decide it.
    pub seeds_needed: Option<u64>,
}

fn as_map<S: serde::Serializer>(
    pairs: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (key, value) in pairs {
        map.serialize_entry(key, value)?;
    }
    map.end()
}

/// A sweep asked for that the store does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoSuchSweep {
    #[error("no sweep among the stored runs: train a plan with a [[sweep]] table (assets/plans/sweep.toml)")]
    None,
    #[error("no sweep named {name:?}; the stored sweeps: {}", .known.join(", "))]
    Unknown { name: String, known: Vec<String> },
}

/// The sweep `name`, or without one the one trained last.
pub fn choose(records: &[RunRecord], name: Option<&str>) -> Result<String, NoSuchSweep> {
    let known = sweeps(records);
    match name {
        Some(name) if known.iter().any(|k| k == name) => Ok(name.to_string()),
        Some(name) if !known.is_empty() => Err(NoSuchSweep::Unknown {
            name: name.to_string(),
            known,
        }),
        _ => known.last().cloned().ok_or(NoSuchSweep::None),
    }
}

/// The margin (accuracy points) sweep `name` is read with: the one its most
/// recently created run carries, so a plan edited and trained again wins;
/// else [`DEFAULT_MARGIN_POINTS`]. A stored margin out of (0, 100), from a
/// hand-edited run.json, counts as none.
pub fn margin_of(records: &[RunRecord], sweep: &str) -> f64 {
    records
        .iter()
        .filter(|r| r.spec.sweep.as_deref() == Some(sweep))
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
        .and_then(|r| usable_margin(r.spec.margin))
        .unwrap_or(DEFAULT_MARGIN_POINTS)
}

/// A stored margin, if it is a margin at all: points in (0, 100).
pub fn usable_margin(points: Option<f64>) -> Option<f64> {
    points.filter(|points| points.is_finite() && *points > 0.0 && *points < 100.0)
}

/// The label of every group in `records`, by [`Group::id`].
pub fn group_labels(records: &[RunRecord]) -> HashMap<String, GroupLabel> {
    crate::plan::settings::group_labels(records.iter().map(|record| &record.spec))
}

/// A configuration's runs and their test accuracies.
struct Configuration<'a> {
    spec: &'a RunSpec,
    id: String,
    name: String,
    runs: usize,
    values: Vec<f64>,
}

/// One run as a sweep reads it: its settings and its test accuracy, if any.
#[derive(Clone, Copy, Debug)]
pub struct SweepRun<'a> {
    pub spec: &'a RunSpec,
    pub group: &'a Group,
    pub accuracy: Option<f64>,
}

/// Two groups of one sweep (among `records`): the sweep's analysis and
/// their pair in it, so that a verdict on them counts every pair the sweep holds.
pub fn pair_in_sweep(records: &[RunRecord], a: &Target, b: &Target) -> Option<(SweepReport, Pair)> {
    let (Target::Group { runs: x, .. }, Target::Group { runs: y, .. }) = (a, b) else {
        return None;
    };
    let sweep = x.first()?.spec.sweep.clone()?;
    if y.first()?.spec.sweep.as_ref() != Some(&sweep) {
        return None;
    }
    let report = SweepReport::of(&sweep, records, margin_of(records, &sweep));
    let labels = group_labels(records);
    let label = |runs: &[RunRecord]| labels.get(&runs[0].group().id()).map(|l| l.label.clone());
    let pair = report.pair(&label(x)?, &label(y)?)?.clone();
    Some((report, pair))
}

impl SweepReport {
    /// Reads sweep `name` from `records` (which may hold other runs too).
    pub fn of(name: &str, records: &[RunRecord], margin_points: f64) -> Self {
        let groups: Vec<Group> = records.iter().map(RunRecord::group).collect();
        let runs: Vec<SweepRun> = records
            .iter()
            .zip(&groups)
            .map(|(record, group)| SweepRun {
                spec: &record.spec,
                group,
                accuracy: record.test_accuracy,
            })
            .collect();
        Self::of_runs(name, &runs, margin_points)
    }

    /// Reads sweep `name` from `runs` (which may hold other runs too): the
    /// app's live rows as well as stored records.
    pub fn of_runs(name: &str, runs: &[SweepRun], margin_points: f64) -> Self {
        let members = runs
            .iter()
            .filter(|r| r.spec.sweep.as_deref() == Some(name));
        let grouped = by_group(members, |run| run.group.clone());
        let configurations: Vec<Configuration> = grouped
            .iter()
            .map(|(group, runs)| Configuration {
                spec: runs[0].spec,
                id: group.id(),
                name: group.name.clone(),
                runs: runs.len(),
                values: runs.iter().filter_map(|run| run.accuracy).collect(),
            })
            .collect();
        let differences = Differences::of(configurations.iter().map(|c| c.spec));
        let mut groups: Vec<SweepGroup> = configurations
            .iter()
            .map(|c| summarize(c, &differences))
            .collect();
        let labels = crate::plan::settings::group_labels(configurations.iter().map(|c| c.spec));
        for (group, configuration) in groups.iter_mut().zip(&configurations) {
            if let Some(label) = labels.get(&configuration.spec.group().id()) {
                group.label.clone_from(&label.label);
            }
        }
        let order = ranking(&groups);
        let ranked: Vec<(SweepGroup, &Configuration)> = order
            .iter()
            .map(|&index| (groups[index].clone(), &configurations[index]))
            .collect();
        let (mut groups, configurations): (Vec<SweepGroup>, Vec<&Configuration>) =
            ranked.into_iter().unzip();
        for (rank, group) in groups.iter_mut().enumerate() {
            group.rank = group.mean.map(|_| rank + 1);
        }
        let margin = margin_points / 100.0;
        let (pairs, family) = pairs(&groups, &configurations, margin);
        let best = groups.first().map(|g| g.label.clone()).unwrap_or_default();
        for group in groups.iter_mut().filter(|g| g.mean.is_some()) {
            group.like_best = group.label == best
                || pairs
                    .iter()
                    .find(|pair| pair.a == best && pair.b == group.label)
                    .is_some_and(|pair| matches!(pair.verdict, Call::Equivalent | Call::Undecided));
        }
        let (effects, interactions) = effects(&differences.varying, &configurations);
        Self {
            sweep: name.to_string(),
            keys: differences.varying.clone(),
            shared: differences.shared.clone(),
            margin_points,
            groups,
            effects,
            interactions,
            pairs,
            family,
        }
    }

    /// The pair of the configurations labelled `a` and `b`, in either order.
    pub fn pair(&self, a: &str, b: &str) -> Option<&Pair> {
        self.pairs
            .iter()
            .find(|p| (p.a == a && p.b == b) || (p.a == b && p.b == a))
    }
}

fn summarize(configuration: &Configuration, differences: &Differences) -> SweepGroup {
    let summary = Summary::of(&configuration.values);
    SweepGroup {
        label: differences.label(configuration.spec),
        keys: differences
            .varying
            .iter()
            .map(|key| (key.clone(), Differences::value(configuration.spec, key)))
            .collect(),
        name: configuration.name.clone(),
        id: configuration.id.clone(),
        runs: configuration.runs,
        n: summary.n,
        values: configuration.values.clone(),
        mean: summary.mean.filter(|mean| mean.is_finite()),
        sd: summary.sd,
        ci: summary.ci,
        rank: None,
        like_best: false,
    }
}

/// Indices of `groups`, best mean first, those without a result last.
fn ranking(groups: &[SweepGroup]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let mean = |i: usize| groups[i].mean.unwrap_or(f64::NEG_INFINITY);
        mean(b).total_cmp(&mean(a))
    });
    order
}

/// Every pair (the better first), Holm over the testable ones.
fn pairs(
    groups: &[SweepGroup],
    configurations: &[&Configuration],
    margin: f64,
) -> (Vec<Pair>, usize) {
    let mut pairs = Vec::new();
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            let (a, b) = (&configurations[i].values, &configurations[j].values);
            let mut pair = Pair {
                a: groups[i].label.clone(),
                b: groups[j].label.clone(),
                diff: None,
                ci: None,
                p: None,
                p_holm: None,
                p_equivalence: None,
                verdict: Call::Untestable,
                untestable: None,
                seeds_needed: None,
            };
            match welch(a, b) {
                Ok(test) => {
                    pair.diff = Some(test.difference);
                    pair.ci = Some(test.ci);
                    pair.p = Some(test.p);
                    pair.p_equivalence = tost(a, b, margin).ok().map(|t| t.p);
                }
                Err(why) => pair.untestable = Some(why),
            }
            pairs.push(pair);
        }
    }
    let tested: Vec<usize> = (0..pairs.len()).filter(|&i| pairs[i].p.is_some()).collect();
    let raw: Vec<f64> = tested.iter().filter_map(|&i| pairs[i].p).collect();
    for (&index, adjusted) in tested.iter().zip(holm(&raw)) {
        pairs[index].p_holm = Some(adjusted);
    }
    let family = tested.len();
    let mut index = 0;
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            let pair = &mut pairs[index];
            index += 1;
            pair.verdict = match (pair.p_equivalence, pair.p_holm) {
                (Some(equivalence), _) if equivalence < 0.05 => Call::Equivalent,
                (_, Some(adjusted)) if adjusted < 0.05 => Call::Different,
                (_, Some(_)) => Call::Undecided,
                _ => Call::Untestable,
            };
            if pair.verdict == Call::Undecided {
                let (a, b) = (&configurations[i].values, &configurations[j].values);
                pair.seeds_needed = pooled_sd(a, b).and_then(|sd| {
                    seeds_needed(
                        sd,
                        pair.diff.unwrap_or(0.0),
                        margin,
                        family,
                        a.len().max(b.len()),
                    )
                });
            }
        }
    }
    (pairs, family)
}

/// Each key's levels and main effect; the two-way interactions when the
/// grid is complete and leaves residual degrees of freedom.
fn effects(keys: &[String], configurations: &[&Configuration]) -> (Vec<Effect>, Vec<Interaction>) {
    let levels: Vec<Vec<String>> = keys
        .iter()
        .map(|key| {
            let mut values: Vec<String> = Vec::new();
            for configuration in configurations {
                let value = Differences::value(configuration.spec, key);
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            values
        })
        .collect();
    let (rows, values) = observations(keys, &levels, configurations);
    let data = Observations {
        levels: &rows,
        values: &values,
    };
    let complete = levels.iter().map(Vec::len).product::<usize>() == configurations.len();
    let with_interactions = (complete && keys.len() >= 2)
        .then(|| Anova::fit(&data, keys.len(), &terms(keys.len(), true)).ok())
        .flatten();
    let anova =
        with_interactions.or_else(|| Anova::fit(&data, keys.len(), &terms(keys.len(), false)).ok());
    let test_of = |term: &Term| {
        anova.as_ref().and_then(|a| {
            a.terms
                .iter()
                .find(|t| t.term == *term)
                .map(|t| (t.clone(), a.residual_df))
        })
    };
    let effects = keys
        .iter()
        .enumerate()
        .map(|(factor, key)| {
            let test = test_of(&Term {
                factors: vec![factor],
            });
            Effect {
                key: key.clone(),
                levels: levels[factor]
                    .iter()
                    .enumerate()
                    .map(|(level, value)| {
                        let at: Vec<f64> = rows
                            .iter()
                            .zip(&values)
                            .filter(|(row, _)| row[factor] == level)
                            .map(|(_, &y)| y)
                            .collect();
                        let summary = Summary::of(&at);
                        Level {
                            value: value.clone(),
                            n: summary.n,
                            mean: summary.mean,
                            ci: summary.ci,
                        }
                    })
                    .collect(),
                f: test.as_ref().and_then(|(t, _)| t.f),
                df: test
                    .as_ref()
                    .filter(|(t, _)| t.df > 0)
                    .map(|(t, residual)| (t.df, *residual)),
                p: test.as_ref().and_then(|(t, _)| t.p),
            }
        })
        .collect();
    let interactions = anova
        .iter()
        .flat_map(|a| a.terms.iter().map(move |t| (t, a.residual_df)))
        .filter(|(t, _)| t.term.factors.len() == 2)
        .map(|(t, residual)| Interaction {
            keys: (
                keys[t.term.factors[0]].clone(),
                keys[t.term.factors[1]].clone(),
            ),
            f: t.f,
            df: (t.df, residual),
            p: t.p,
        })
        .collect();
    (effects, interactions)
}

/// Every finished run as an observation: its level of each key and its
/// test accuracy.
fn observations(
    keys: &[String],
    levels: &[Vec<String>],
    configurations: &[&Configuration],
) -> (Vec<Vec<usize>>, Vec<f64>) {
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for configuration in configurations {
        let row: Vec<usize> = keys
            .iter()
            .zip(levels)
            .map(|(key, values)| {
                let value = Differences::value(configuration.spec, key);
                values.iter().position(|v| *v == value).unwrap_or(0)
            })
            .collect();
        for &value in &configuration.values {
            rows.push(row.clone());
            values.push(value);
        }
    }
    (rows, values)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{plan::parse_plan, protocol::RunRequest, store::RunStatus};

    /// A 3 × 2 sweep of M1 with 3 seeds: the learning rate matters (a
    /// point a step), dropout less (0.4 point); seeds scatter by 0.3 point.
    fn records(accuracy: impl Fn(&RunSpec) -> Option<f64>) -> Vec<RunRecord> {
        let plan = parse_plan(
            r#"
            [[sweep]]
            name = "M1"
            model = { kind = "cnn", conv = [64], dense = 16 }
            epochs = 2
            seeds = 3
            grid = { learning_rate = [1e-3, 3e-4, 1e-4], "model.dropout" = [false, true] }
            "#,
            "sweep",
            std::path::Path::new("sweep.toml"),
        )
        .unwrap();
        stored(&plan.runs, accuracy)
    }

    /// `specs` as stored runs a minute apart, each done with the accuracy
    /// `accuracy` gives its settings, or failed when it gives none.
    pub(crate) fn stored(
        specs: &[RunSpec],
        accuracy: impl Fn(&RunSpec) -> Option<f64>,
    ) -> Vec<RunRecord> {
        specs
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                let mut record = RunRecord::new(&RunRequest {
                    id: format!("run-{index:02}").into(),
                    plan: "sweep".into(),
                    spec: spec.clone(),
                });
                record.created_at = format!("2026-12-06T12:{index:02}:00Z");
                record.test_accuracy = accuracy(spec);
                record.status = if record.test_accuracy.is_some() {
                    RunStatus::Done
                } else {
                    RunStatus::Failed
                };
                record
            })
            .collect()
    }

    fn made_up(spec: &RunSpec) -> f64 {
        let lr = match spec.learning_rate {
            x if x > 5e-4 => 0.010,
            x if x > 2e-4 => 0.0,
            _ => -0.010,
        };
        let dropout = match &spec.model {
            crate::model::ModelSpec::Cnn { dropout: true, .. } => 0.004,
            _ => 0.0,
        };
        let seed = [0.0, 0.003, -0.003][(spec.seed as usize - 1) % 3];
        0.90 + lr + dropout + seed
    }

    fn all_done() -> Vec<RunRecord> {
        records(|spec| Some(made_up(spec)))
    }

    #[test]
    fn two_groups_of_one_sweep_are_a_pair_of_its_family() {
        let records = all_done();
        let group = |label: &str| {
            let labels = group_labels(&records);
            let runs: Vec<RunRecord> = records
                .iter()
                .filter(|r| labels[&r.group().id()].label == label)
                .cloned()
                .collect();
            Target::Group {
                group: runs[0].group(),
                runs,
            }
        };
        let (a, b) = (
            group("lr=1e-3 dropout=true"),
            group("lr=1e-4 dropout=false"),
        );
        let (report, pair) = pair_in_sweep(&records, &a, &b).unwrap();
        assert_eq!(report.family, 15);
        let mut named = [pair.a.as_str(), pair.b.as_str()];
        named.sort_unstable();
        assert_eq!(named, ["lr=1e-3 dropout=true", "lr=1e-4 dropout=false"]);
        let one_run = Target::Run(Box::new(records[0].clone()));
        assert!(pair_in_sweep(&records, &a, &one_run).is_none());
    }

    #[test]
    fn configurations_are_labelled_by_what_differs_and_ranked() {
        let report = SweepReport::of("M1", &all_done(), DEFAULT_MARGIN_POINTS);
        assert_eq!(report.keys, ["lr", "dropout"]);
        assert!(report.shared.iter().any(|(k, v)| k == "epochs" && v == "2"));
        let labels: Vec<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "lr=1e-3 dropout=true",
                "lr=1e-3 dropout=false",
                "lr=3e-4 dropout=true",
                "lr=3e-4 dropout=false",
                "lr=1e-4 dropout=true",
                "lr=1e-4 dropout=false",
            ]
        );
        let best = &report.groups[0];
        assert_eq!((best.rank, best.n, best.runs), (Some(1), 3, 3));
        assert!((best.mean.unwrap() - 0.914).abs() < 1e-12);
        // Dropout's 0.4 point is neither told from 0 (p ≈ 0.18) nor held
        // inside the half-point margin by three seeds: the runner-up is
        // like the best, undecided; so are the next two, a point or so
        // behind, once Holm has counted 15 pairs. Two points are different.
        let like_best: Vec<bool> = report.groups.iter().map(|g| g.like_best).collect();
        assert_eq!(like_best, [true, true, true, true, false, false]);
        assert_eq!(report.family, 15);
        assert_eq!(report.pairs.len(), 15);
        let runner_up = report.pair(labels[1], labels[0]).unwrap();
        assert_eq!(runner_up.verdict, Call::Undecided);
        assert!(runner_up.seeds_needed.unwrap() > 3);
        assert!(runner_up.p_holm.unwrap() >= runner_up.p.unwrap());
        let far = report.pair(labels[0], labels[5]).unwrap();
        assert_eq!(far.verdict, Call::Different);
    }

    #[test]
    fn the_learning_rate_is_the_setting_that_matters() {
        let report = SweepReport::of("M1", &all_done(), DEFAULT_MARGIN_POINTS);
        let lr = &report.effects[0];
        assert_eq!(lr.key, "lr");
        let means: Vec<f64> = lr.levels.iter().map(|l| l.mean.unwrap()).collect();
        assert!((means[0] - 0.912).abs() < 1e-12, "{means:?}");
        assert_eq!(lr.levels.iter().map(|l| l.n).collect::<Vec<_>>(), [6, 6, 6]);
        // A complete grid with seeds to spare: interactions are fitted, and
        // the residual has 18 − 6 = 12 degrees of freedom.
        assert_eq!(lr.df, Some((2, 12)));
        assert!(lr.p.unwrap() < 1e-6);
        let dropout = &report.effects[1];
        assert!(dropout.p.unwrap() > lr.p.unwrap());
        assert_eq!(report.interactions.len(), 1);
    }

    #[test]
    fn labels_cut_the_shared_part_before_what_differs() {
        let label = GroupLabel {
            sweep: Some("M1-long-sweep".into()),
            label: "lr=1e-3 dropout=true".into(),
        };
        assert_eq!(label.fit(80), "M1-long-sweep lr=1e-3 dropout=true");
        assert_eq!(label.fit(26), "M1-l… lr=1e-3 dropout=true");
        assert_eq!(label.fit(21), "lr=1e-3 dropout=true");
        assert_eq!(label.fit(10), "1e-3 true", "the values before the keys");
        let plain = GroupLabel {
            sweep: None,
            label: "M2 lr=3e-4".into(),
        };
        assert_eq!(plain.fit(6), "M2 lr…");
        let labels = group_labels(&all_done());
        assert_eq!(labels.len(), 6);
        let mut texts: Vec<String> = labels.values().map(|l| l.fit(28)).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), 6, "told apart at 28 columns: {texts:?}");
        assert!(texts.contains(&"M1 lr=3e-4 dropout=false".to_string()));
    }

    #[test]
    fn a_configuration_without_results_is_shown_and_not_tested() {
        let report = SweepReport::of(
            "M1",
            &records(|spec| (spec.learning_rate > 2e-4 || spec.seed == 1).then(|| made_up(spec))),
            DEFAULT_MARGIN_POINTS,
        );
        let last = report.groups.last().unwrap();
        assert_eq!((last.n, last.sd, last.ci), (1, None, None));
        assert_eq!(
            report.family, 6,
            "the four configurations of two or more seeds"
        );
        let untestable = report
            .pairs
            .iter()
            .filter(|p| p.verdict == Call::Untestable)
            .count();
        assert_eq!(untestable, 9);
        assert!(report
            .pairs
            .iter()
            .filter(|p| p.verdict == Call::Untestable)
            .all(|p| p.untestable == Some(Untestable::TooFew) && p.p_holm.is_none()));
        assert_eq!(sweeps(&all_done()), ["M1"]);
        assert_eq!(choose(&all_done(), None), Ok("M1".into()));
        assert_eq!(
            choose(&all_done(), Some("M2")).unwrap_err().to_string(),
            "no sweep named \"M2\"; the stored sweeps: M1"
        );
        assert_eq!(choose(&[], Some("M2")), Err(NoSuchSweep::None));
    }

    #[test]
    fn the_margin_is_the_latest_runs_else_the_default() {
        let mut records = all_done();
        assert_eq!(margin_of(&records, "M1"), DEFAULT_MARGIN_POINTS);
        // Trained again from an edited plan: the newer runs carry 1.5, and
        // they win wherever they sit in the list.
        let newest = records.len() - 1;
        records[newest].spec.margin = Some(1.5);
        records[0].spec.margin = Some(0.8);
        records.swap(0, newest);
        assert_eq!(margin_of(&records, "M1"), 1.5);
        assert_eq!(margin_of(&records, "other"), DEFAULT_MARGIN_POINTS);
        records[0].spec.margin = Some(-2.0);
        assert_eq!(
            margin_of(&records, "M1"),
            DEFAULT_MARGIN_POINTS,
            "a hand-edited margin out of range counts as none"
        );
    }
}
