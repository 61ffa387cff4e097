//! Stored runs as groups (runs that differ only in their seed), their
//! summaries, and what `atelier compare` names: two runs or two groups.
//! The verdicts on them are computed above the store (`crate::analysis`).

use serde::Serialize;

use super::{RunRecord, RunStatus};
use crate::{
    plan::{Group, Reference},
    stats::Summary,
};

/// The runs of one group, in the order given.
#[derive(Clone, Debug)]
pub struct GroupRuns<'a> {
    pub group: Group,
    pub runs: Vec<&'a RunRecord>,
}

/// Groups in the order their first run appears.
pub fn group_runs(records: &[RunRecord]) -> Vec<GroupRuns<'_>> {
    by_group(records, |record| record.group())
        .into_iter()
        .map(|(group, runs)| GroupRuns { group, runs })
        .collect()
}

/// `items` gathered by group ([`Group::id`]), groups in the order their first item
/// appears, items in the order given.
pub fn by_group<T>(
    items: impl IntoIterator<Item = T>,
    group_of: impl Fn(&T) -> Group,
) -> Vec<(Group, Vec<T>)> {
    let mut groups: Vec<(Group, Vec<T>)> = Vec::new();
    for item in items {
        let group = group_of(&item);
        match groups.iter_mut().find(|(g, _)| g.id() == group.id()) {
            Some((_, members)) => members.push(item),
            None => groups.push((group, vec![item])),
        }
    }
    groups
}

/// What a group's runs add up to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupStats {
    pub name: String,
    pub key: String,
    /// Every run of the group, whatever its status.
    pub runs: usize,
    /// Runs that finished every epoch.
    pub done: usize,
    pub running: usize,
    pub failed: usize,
    pub seeds: Vec<u64>,
    /// Over the runs that have a test result.
    pub test_accuracy: Summary,
    pub test_loss: Summary,
    /// Each run's best validation accuracy, summarized.
    pub best_val_accuracy: Summary,
    /// The original's value, when the plan gave one.
    pub reference: Option<Reference>,
}

impl GroupRuns<'_> {
    /// The test accuracies of the runs that have one.
    pub fn accuracies(&self) -> Vec<f64> {
        self.runs.iter().filter_map(|r| r.test_accuracy).collect()
    }

    pub fn stats(&self) -> GroupStats {
        let count = |status: RunStatus| self.runs.iter().filter(|r| r.status == status).count();
        let values = |field: fn(&RunRecord) -> Option<f64>| -> Vec<f64> {
            self.runs.iter().filter_map(|r| field(r)).collect()
        };
        GroupStats {
            name: self.group.name.clone(),
            key: self.group.key.clone(),
            runs: self.runs.len(),
            done: count(RunStatus::Done),
            running: count(RunStatus::Running),
            failed: count(RunStatus::Failed),
            seeds: self.runs.iter().map(|r| r.spec.seed).collect(),
            test_accuracy: Summary::of(&self.accuracies()),
            test_loss: Summary::of(&values(|r| r.test_loss)),
            best_val_accuracy: Summary::of(&values(|r| r.best_val_accuracy)),
            reference: self.runs.iter().find_map(|r| r.spec.reference),
        }
    }
}

/// The sweeps in `records`, by name, most recently started last.
pub fn sweeps(records: &[RunRecord]) -> Vec<String> {
    let mut named: Vec<(&str, &str)> = records
        .iter()
        .filter_map(|r| r.spec.sweep.as_deref().map(|s| (s, r.created_at.as_str())))
        .collect();
    named.sort_by(|a, b| a.1.cmp(b.1));
    let mut names: Vec<String> = Vec::new();
    for (name, _) in named {
        names.retain(|known| known != name);
        names.push(name.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{naming::find_runs, RunStore};
    use crate::{
        model::ModelSpec,
        plan::{sweep::with_seed, RunSpec},
        protocol::RunRequest,
    };

    fn record(name: &str, seed: u64, accuracy: Option<f64>) -> RunRecord {
        let base = RunSpec::new(name, ModelSpec::tiny_mlp());
        let mut record = RunRecord::new(&RunRequest {
            id: format!("r-{name}-{seed}").into(),
            plan: "test".into(),
            spec: with_seed(&base, seed),
        });
        record.test_accuracy = accuracy;
        record.status = if accuracy.is_some() {
            RunStatus::Done
        } else {
            RunStatus::Running
        };
        record
    }

    #[test]
    fn groups_gather_seeds_and_summarize_what_finished() {
        let records = [
            record("A", 1, Some(0.90)),
            record("A", 1, Some(0.80)),
            record("A", 2, Some(0.92)),
            record("A", 3, None),
        ];
        let groups = group_runs(&records);
        assert_eq!(groups.len(), 1, "one name, one set of settings: one group");
        // The same settings under another name: a group of its own.
        let renamed = [records[0].clone(), record("B", 1, Some(0.80))];
        let names: Vec<String> = group_runs(&renamed)
            .iter()
            .map(|g| g.group.name.clone())
            .collect();
        assert_eq!(names, ["A", "B"]);
        // Different settings make another group.
        let mut other = record("C", 1, Some(0.7));
        other.spec.epochs = 3;
        other.group = Some(other.spec.group());
        let mut records = records.to_vec();
        records.push(other);
        let groups = group_runs(&records);
        assert_eq!(groups.len(), 2);
        let stats = groups[0].stats();
        assert_eq!((stats.runs, stats.done, stats.running), (4, 3, 1));
        assert_eq!(stats.seeds, [1, 1, 2, 3]);
        assert_eq!(stats.test_accuracy.n, 3);
        assert_eq!(
            groups[1].stats().test_accuracy.sd,
            None,
            "one run: no spread"
        );
    }

    #[test]
    fn runs_named_by_several_queries_come_once_each_in_the_order_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        for (name, seed) in [("A", 1), ("A", 2), ("B", 1)] {
            let base = RunSpec::new(name, ModelSpec::tiny_mlp());
            store
                .create_queued(&RunRequest {
                    id: format!("r-{name}-{seed}").into(),
                    plan: "test".into(),
                    spec: with_seed(&base, seed),
                })
                .unwrap();
        }
        let queries = ["B", "r-A-2", "A"].map(String::from);
        let ids: Vec<String> = find_runs(&store, &queries)
            .unwrap()
            .into_iter()
            .map(|record| record.id.to_string())
            .collect();
        assert_eq!(ids, ["r-B-1", "r-A-2", "r-A-1"]);
        let unknown = ["C".to_string()];
        assert!(find_runs(&store, &unknown).is_err());
    }
}
