//! What the compare view compares: the finished runs gathered into groups
//! (runs that differ only in their seed; a lone run is a group of one), and
//! the two groups or runs its verdict is about.
//!
//! Pure functions of the app state: the panes draw from them, and the
//! loader asks [`verdict_runs`] which predictions the verdict needs.

use super::{App, RunView};
use crate::{
    analysis::Unpaired,
    plan::{
        settings::{group_labels, GroupLabel},
        Reference,
    },
    protocol::RunId,
    stats::{
        multiple::holm,
        verdict::{Side, Verdict},
        welch, McNemar,
    },
};

/// The finished runs (those with a test result) of one group, in list order.
#[derive(Clone, Debug)]
pub struct TestGroup<'a> {
    /// The group's identity ([`crate::plan::Group::id`]).
    pub key: String,
    /// The first member's group name.
    pub name: String,
    /// What tells it apart: in a sweep, the values of the keys that vary.
    pub label: GroupLabel,
    pub runs: Vec<&'a RunView>,
}

impl TestGroup<'_> {
    /// Each member's test accuracy.
    pub fn accuracies(&self) -> Vec<f64> {
        self.runs
            .iter()
            .filter_map(|run| run.logged().test.as_ref().map(|test| test.accuracy))
            .collect()
    }

    /// Each member's test loss.
    pub fn losses(&self) -> Vec<f64> {
        self.runs
            .iter()
            .filter_map(|run| run.logged().test.as_ref().map(|test| test.loss))
            .collect()
    }

    /// The original's result, when a member's plan gave one.
    pub fn reference(&self) -> Option<Reference> {
        self.runs.iter().find_map(|run| run.spec.reference)
    }

    fn mean_accuracy(&self) -> f64 {
        let values = self.accuracies();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    }
}

/// The finished runs by group, groups in the order their first run appears.
pub fn test_groups(app: &App) -> Vec<TestGroup<'_>> {
    let labels = group_labels(app.runs.iter().map(|run| &run.spec));
    let mut groups: Vec<TestGroup> = Vec::new();
    for run in app.finished() {
        let group = run.spec.group();
        let id = group.id();
        match groups.iter_mut().find(|known| known.key == id) {
            Some(known) => known.runs.push(run),
            None => groups.push(TestGroup {
                label: labels.get(&id).cloned().unwrap_or_else(|| GroupLabel {
                    sweep: None,
                    label: group.name.clone(),
                }),
                key: id,
                name: group.name,
                runs: vec![run],
            }),
        }
    }
    groups
}

/// How the verdict's two sides were chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// Exactly two groups are marked (or two runs of one group).
    Marked,
    /// The selected run's group against the best other group.
    Selected,
    /// No finished run is selected: the best group against the next best.
    Best,
}

impl Chosen {
    /// Says on screen how the pair was picked.
    pub fn label(self) -> &'static str {
        match self {
            Chosen::Marked => "marked",
            Chosen::Selected => "selected vs best other",
            Chosen::Best => "best two",
        }
    }
}

/// One side of the verdict: a group's name and finished runs, or a single run.
#[derive(Clone, Debug)]
pub struct Contender<'a> {
    pub name: String,
    pub runs: Vec<&'a RunView>,
    /// The group's key; none for a single run.
    pub key: Option<String>,
}

impl<'a> Contender<'a> {
    fn group(group: &TestGroup<'a>) -> Self {
        Self {
            name: group.name.clone(),
            runs: group.runs.clone(),
            key: Some(group.key.clone()),
        }
    }

    fn run(run: &'a RunView) -> Self {
        Self {
            name: run.spec.name.clone(),
            runs: vec![run],
            key: None,
        }
    }

    fn accuracies(&self) -> Vec<f64> {
        self.runs
            .iter()
            .filter_map(|run| run.logged().test.as_ref().map(|test| test.accuracy))
            .collect()
    }
}

/// The verdict's subject, `a − b`.
#[derive(Clone, Debug)]
pub struct Pair<'a> {
    pub a: Contender<'a>,
    pub b: Contender<'a>,
    pub chosen: Chosen,
}

/// Which two to compare. Marked first: exactly two marked groups (a group
/// counts as marked when any finished member is) give later-marked minus
/// earlier-marked, as the diff shows B minus A; two marked runs of one
/// group are compared run against run. Else the selected run's group
/// against the best other group (by mean test accuracy).
pub fn pair<'a>(app: &App, groups: &[TestGroup<'a>]) -> Result<Pair<'a>, String> {
    // Marked finished runs in the order they were marked, with their group.
    let marked: Vec<(usize, &'a RunView)> = app
        .marked
        .iter()
        .filter_map(|id| {
            groups.iter().enumerate().find_map(|(index, group)| {
                let run = group.runs.iter().find(|run| run.id.as_ref() == Some(id))?;
                Some((index, *run))
            })
        })
        .collect();
    let mut marked_groups: Vec<usize> = Vec::new();
    for (group, _) in &marked {
        if !marked_groups.contains(group) {
            marked_groups.push(*group);
        }
    }
    match (marked_groups.as_slice(), marked.as_slice()) {
        ([first, second], _) => {
            return Ok(Pair {
                a: Contender::group(&groups[*second]),
                b: Contender::group(&groups[*first]),
                chosen: Chosen::Marked,
            })
        }
        ([_], [(_, first), (_, second)]) => {
            return Ok(Pair {
                a: Contender::run(second),
                b: Contender::run(first),
                chosen: Chosen::Marked,
            })
        }
        _ => {}
    }
    if groups.len() < 2 {
        return Err("one group of finished runs: nothing to compare it with yet".into());
    }
    let best_except = |except: Option<usize>| {
        (0..groups.len())
            .filter(|index| Some(*index) != except)
            .max_by(|x, y| {
                groups[*x]
                    .mean_accuracy()
                    .total_cmp(&groups[*y].mean_accuracy())
                    .then(y.cmp(x))
            })
            .unwrap_or(0)
    };
    let selected = app
        .selected_run()
        .and_then(|view| view.id.as_ref())
        .and_then(|id| {
            groups
                .iter()
                .position(|group| group.runs.iter().any(|run| run.id.as_ref() == Some(id)))
        });
    let (first, chosen) = match selected {
        Some(index) => (index, Chosen::Selected),
        None => (best_except(None), Chosen::Best),
    };
    Ok(Pair {
        a: Contender::group(&groups[first]),
        b: Contender::group(&groups[best_except(Some(first))]),
        chosen,
    })
}

/// The verdict on the pair: `McNemar`'s test for two single runs (from their
/// loaded predictions), else Welch's for the groups, which leaves a group of
/// one untested rather than invent an interval. Two groups among several
/// are one pair of many (the "best other" is picked from them all): their
/// p-value is adjusted by Holm's method over every pair that can be tested.
pub fn verdict(app: &App, groups: &[TestGroup], pair: &Pair) -> Verdict {
    let (va, vb) = (pair.a.accuracies(), pair.b.accuracies());
    let (sa, sb) = (
        Side::group(pair.a.name.clone(), &va),
        Side::group(pair.b.name.clone(), &vb),
    );
    if let ([a], [b]) = (pair.a.runs.as_slice(), pair.b.runs.as_slice()) {
        return Verdict::runs(sa, sb, paired(app, a, b));
    }
    let verdict = Verdict::groups(sa, &va, sb, &vb);
    match family(groups, pair) {
        Some((pairs, p_holm)) => verdict.in_family(pairs, p_holm),
        None => verdict,
    }
}

/// Every pair of `groups` Welch's test can take, with Holm's adjustment:
/// how many there are and `pair`'s adjusted p (when it is one of them).
fn family(groups: &[TestGroup], pair: &Pair) -> Option<(usize, f64)> {
    let values: Vec<Vec<f64>> = groups.iter().map(TestGroup::accuracies).collect();
    let mut tested: Vec<(usize, usize, f64)> = Vec::new();
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            if let Ok(test) = welch(&values[i], &values[j]) {
                tested.push((i, j, test.p));
            }
        }
    }
    let index_of = |key: &Option<String>| groups.iter().position(|g| Some(&g.key) == key.as_ref());
    let (a, b) = (index_of(&pair.a.key)?, index_of(&pair.b.key)?);
    let adjusted = holm(&tested.iter().map(|t| t.2).collect::<Vec<_>>());
    tested
        .iter()
        .zip(adjusted)
        .find(|((i, j, _), _)| (*i, *j) == (a.min(b), a.max(b)))
        .map(|(_, p)| (tested.len(), p))
}

/// The runs whose predictions the compare view's verdict needs: the two,
/// when it compares two single runs.
pub fn verdict_runs(app: &App) -> Vec<RunId> {
    let groups = test_groups(app);
    let Ok(pair) = pair(app, &groups) else {
        return Vec::new();
    };
    match (pair.a.runs.as_slice(), pair.b.runs.as_slice()) {
        ([a], [b]) => a.id.iter().chain(b.id.iter()).cloned().collect(),
        _ => Vec::new(),
    }
}

/// `McNemar`'s test of two runs from their loaded predictions, or why not.
pub fn paired(app: &App, a: &RunView, b: &RunView) -> Result<McNemar, Unpaired> {
    let load = |view: &RunView| match &view.id {
        Some(id) => app.predictions_of(id).map_err(Unpaired::Unreadable),
        None => Err(Unpaired::NotRun(view.spec.name.clone())),
    };
    crate::analysis::mcnemar(&*load(a)?, &*load(b)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        model::ModelSpec,
        plan::{sweep::with_seed, RunSpec},
        protocol::Event,
        tui::test_support::predictions,
    };

    /// Three MLP seeds, two M1 seeds and a lone M2, finished in that order.
    fn app() -> App {
        let mlp = RunSpec::new("MLP", ModelSpec::tiny_mlp());
        let m1 = RunSpec {
            batch_size: 64,
            ..RunSpec::new("M1", ModelSpec::tiny_mlp())
        };
        let m2 = RunSpec {
            batch_size: 16,
            ..RunSpec::new("M2", ModelSpec::tiny_mlp())
        };
        let specs = vec![
            with_seed(&mlp, 1),
            with_seed(&mlp, 2),
            with_seed(&m1, 1),
            with_seed(&mlp, 3),
            with_seed(&m1, 2),
            m2,
        ];
        let mut app = App::new(Vec::new(), specs);
        let accuracies = [0.876, 0.881, 0.902, 0.884, 0.906, 0.89];
        for (index, accuracy) in accuracies.into_iter().enumerate() {
            let id = format!("r{index}");
            app.assign_id(index, id.as_str().into());
            app.apply(&Event::Evaluated {
                run: id.into(),
                test_loss: 0.3,
                test_accuracy: accuracy,
                confusion: Box::new([[0; 10]; 10]),
            });
        }
        app
    }

    /// The pair's names and sizes, and how it was chosen.
    fn chosen(app: &App) -> (String, usize, String, usize, Chosen) {
        let groups = test_groups(app);
        let pair = pair(app, &groups).unwrap();
        (
            pair.a.name.clone(),
            pair.a.runs.len(),
            pair.b.name.clone(),
            pair.b.runs.len(),
            pair.chosen,
        )
    }

    fn verdict_text(app: &App) -> String {
        let groups = test_groups(app);
        verdict(app, &groups, &pair(app, &groups).unwrap()).text()
    }

    #[test]
    fn finished_runs_group_by_their_settings_in_list_order() {
        let mut app = app();
        let original = Reference {
            test_accuracy: 0.8817,
            test_loss: 0.3433,
        };
        app.runs[1].spec.reference = Some(original);
        let groups = test_groups(&app);
        let summary: Vec<(&str, Vec<f64>)> = groups
            .iter()
            .map(|group| (group.name.as_str(), group.accuracies()))
            .collect();
        assert_eq!(
            summary,
            [
                ("MLP", vec![0.876, 0.881, 0.884]),
                ("M1", vec![0.902, 0.906]),
                ("M2", vec![0.89]),
            ]
        );
        assert_eq!(groups[0].reference(), Some(original));
        assert_eq!(groups[1].reference(), None);
    }

    #[test]
    fn the_pair_is_the_marked_groups_else_the_selection_against_the_best() {
        let mut app = app();
        let own =
            |name: &str, n, other: &str, m, how| (name.to_string(), n, other.to_string(), m, how);
        // Row 0 (an MLP seed) is selected: MLP against the best other, M1.
        assert_eq!(chosen(&app), own("MLP", 3, "M1", 2, Chosen::Selected));
        // M1 selected: the best other group is M2.
        app.selected = 4;
        assert_eq!(chosen(&app), own("M1", 2, "M2", 1, Chosen::Selected));
        // Marking a member marks its group: later marked minus earlier.
        app.marked = vec!["r5".into(), "r3".into()];
        assert_eq!(chosen(&app), own("MLP", 3, "M2", 1, Chosen::Marked));
        // Two seeds of one group: run against run.
        app.marked = vec!["r0".into(), "r1".into()];
        assert_eq!(
            chosen(&app),
            own("MLP seed=2", 1, "MLP seed=1", 1, Chosen::Marked)
        );
        assert_eq!(verdict_runs(&app), [RunId::from("r1"), RunId::from("r0")]);
        // The loader reads them once the compare view shows.
        assert!(app.needed().0.is_empty());
        app.view = crate::tui::View::Compare;
        assert_eq!(app.needed(), (vec!["r1".into(), "r0".into()], false));
        // Three marked groups: back to the selection.
        app.marked = vec!["r0".into(), "r2".into(), "r5".into()];
        assert_eq!(chosen(&app).4, Chosen::Selected);
        assert!(verdict_runs(&app).is_empty(), "groups need no predictions");
    }

    #[test]
    fn the_best_other_of_several_groups_is_judged_by_its_holm_adjusted_p() {
        let mut app = app();
        // Two of MLP's seeds again, as a group of their own (batch 8).
        let m3 = RunSpec {
            batch_size: 8,
            ..RunSpec::new("M3", ModelSpec::tiny_mlp())
        };
        for (seed, accuracy) in [(1, 0.877), (2, 0.883)] {
            let row = app.add_planned(with_seed(&m3, seed));
            let id = format!("m3-{seed}");
            app.assign_id(row, id.as_str().into());
            app.apply(&Event::Evaluated {
                run: id.into(),
                test_loss: 0.3,
                test_accuracy: accuracy,
                confusion: Box::new([[0; 10]; 10]),
            });
        }
        // MLP, M1 and M3 can be tested (M2 has one seed): three pairs.
        let text = verdict_text(&app);
        assert!(text.starts_with("MLP (3 seeds) − M1 (2 seeds)"), "{text}");
        assert!(text.contains(", Holm over 3 pairs p = "), "{text}");
        let groups = test_groups(&app);
        let verdict = verdict(&app, &groups, &pair(&app, &groups).unwrap());
        let family = verdict.family.unwrap();
        assert!(family.p_holm >= verdict.p.unwrap());
        assert_eq!(verdict.significant, Some(family.p_holm < 0.05));
    }

    #[test]
    fn without_a_finished_selection_the_best_two_and_one_group_is_not_enough() {
        let mut app = app();
        // Trained otherwise (3 epochs): a group of its own, with nothing finished.
        app.add_planned(RunSpec {
            epochs: 3,
            ..RunSpec::new("later", ModelSpec::tiny_mlp())
        });
        app.selected = 6;
        assert_eq!(chosen(&app), ("M1".into(), 2, "M2".into(), 1, Chosen::Best));
        let groups = test_groups(&app);
        assert!(pair(&app, &groups[..1]).is_err());
    }

    #[test]
    fn two_single_runs_are_compared_by_mcnemar_once_their_predictions_are_read() {
        let mut app = app();
        app.marked = vec!["r0".into(), "r1".into()];
        assert_eq!(
            verdict_text(&app),
            "MLP seed=2 − MLP seed=1: +0.50 points: untested: reading the test predictions…"
        );
        app.predictions
            .insert("r0".into(), Ok(Arc::new(predictions(&[(1, 2), (2, 3)]))));
        app.predictions
            .insert("r1".into(), Ok(Arc::new(predictions(&[(5, 6)]))));
        assert_eq!(
            verdict_text(&app),
            "MLP seed=2 − MLP seed=1: +3.33 points, McNemar 2 vs 1 images, p = 1.000: not significant at 0.05"
        );
        // Groups by Welch.
        app.marked = vec!["r0".into(), "r2".into()];
        let text = verdict_text(&app);
        assert!(
            text.starts_with("M1 (2 seeds) − MLP (3 seeds): +2.37 points, 95% CI"),
            "{text}"
        );
    }
}
