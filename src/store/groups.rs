//! Stored runs as groups (runs that differ only in their seed), their
//! summaries, and what `atelier compare` names: two runs or two groups.
//! The verdicts on them are computed above the store (`crate::analysis`).

use serde::Serialize;

use super::{RunRecord, RunStatus, RunStore, StoreError};
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

/// One side of `atelier compare`.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Run(Box<RunRecord>),
    Group { group: Group, runs: Vec<RunRecord> },
}

impl Target {
    pub fn name(&self) -> String {
        match self {
            Target::Run(record) => record.spec.name.clone(),
            Target::Group { group, .. } => group.name.clone(),
        }
    }

    /// The run, or the group's runs.
    pub fn into_runs(self) -> Vec<RunRecord> {
        match self {
            Target::Run(record) => vec![*record],
            Target::Group { runs, .. } => runs,
        }
    }
}

/// Every run the queries name (each as [`find_target`] reads it), each
/// once, in the order named.
pub fn find_runs(store: &RunStore, queries: &[String]) -> Result<Vec<RunRecord>, StoreError> {
    let mut records: Vec<RunRecord> = Vec::new();
    for query in queries {
        for record in find_target(store, query)?.into_runs() {
            if !records.iter().any(|known| known.id == record.id) {
                records.push(record);
            }
        }
    }
    Ok(records)
}

/// Finds a run or a group: an exact run id, a group's name (a group of one
/// run is that run), a run's name (its latest run), a unique prefix of a
/// run id or of a group key. Nothing or several matches: the error lists
/// the candidates.
pub fn find_target(store: &RunStore, query: &str) -> Result<Target, StoreError> {
    let (records, mut unreadable) = store.list();
    if let Some(error) = super::take_folder_error(store.dir(), &mut unreadable) {
        return Err(error);
    }
    let query = query.trim();
    let target = |group: &GroupRuns| -> Target {
        if group.runs.len() == 1 {
            Target::Run(Box::new(group.runs[0].clone()))
        } else {
            Target::Group {
                group: group.group.clone(),
                runs: group.runs.iter().map(|r| (*r).clone()).collect(),
            }
        }
    };
    if let Some(record) = records.iter().find(|r| r.id.as_str() == query) {
        return Ok(Target::Run(Box::new(record.clone())));
    }
    let groups = group_runs(&records);
    let named: Vec<&GroupRuns> = groups
        .iter()
        .filter(|g| g.group.name.eq_ignore_ascii_case(query))
        .collect();
    match named.as_slice() {
        [one] => return Ok(target(one)),
        [] => {}
        several => return Err(ambiguous(store, query, several)),
    }
    if let Some(record) = records
        .iter()
        .rev()
        .find(|r| r.spec.name.eq_ignore_ascii_case(query))
    {
        return Ok(Target::Run(Box::new(record.clone())));
    }
    let ids: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.id.as_str().starts_with(query))
        .collect();
    let keys: Vec<&GroupRuns> = groups
        .iter()
        .filter(|g| !query.is_empty() && g.group.key.starts_with(query))
        .collect();
    match (ids.as_slice(), keys.as_slice()) {
        ([one], []) => Ok(Target::Run(Box::new((*one).clone()))),
        ([], [one]) => Ok(target(one)),
        ([], []) => Err(super::damaged_match(query, &mut unreadable)
            .unwrap_or_else(|| unknown(store, query, &groups, &[]))),
        _ => Err(unknown(store, query, &groups, &ids)),
    }
}

/// What a query that names no single run or group gets: the candidates.
fn unknown(store: &RunStore, query: &str, groups: &[GroupRuns], ids: &[&RunRecord]) -> StoreError {
    let lower = query.to_ascii_lowercase();
    let mut candidates: Vec<String> = groups
        .iter()
        .filter(|g| g.group.name.to_ascii_lowercase().contains(&lower))
        .map(describe)
        .collect();
    candidates.extend(
        ids.iter()
            .map(|r| format!("run {} ({})", r.id, r.spec.name)),
    );
    if candidates.is_empty() {
        candidates = groups.iter().map(describe).collect();
    }
    candidates.truncate(12);
    StoreError::UnknownTarget {
        query: query.to_string(),
        dir: store.dir().to_path_buf(),
        candidates,
    }
}

fn describe(group: &GroupRuns) -> String {
    let runs = group.runs.len();
    let spec = &group.runs[0].spec;
    format!(
        "group {:?} ({runs} run{}, {} epochs, key {})",
        group.group.name,
        if runs == 1 { "" } else { "s" },
        spec.epochs,
        group.group.key
    )
}

fn ambiguous(store: &RunStore, query: &str, groups: &[&GroupRuns]) -> StoreError {
    StoreError::UnknownTarget {
        query: query.to_string(),
        dir: store.dir().to_path_buf(),
        candidates: groups.iter().map(|g| describe(g)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
