//! One way to name stored runs, for every command that takes them.
//!
//! A query is a run id, a unique start of one, a run's name (its latest
//! run), a group's name (every seed of one configuration: `M2`,
//! `M2 lr=3e-4`), a sweep's name (every run its `[[sweep]]` made), or a
//! unique start of a group key. Names are matched whatever their case.
//!
//! Where one run is wanted (`runs show`, `screenshot --run`), a name that
//! stands for several runs is refused with the few runs closest to it;
//! where several are taken, groups and sweeps stand for all their runs, and
//! a query may be a comma list (`M1,M2`; commas inside brackets, as in
//! `hidden=[64,32]`, belong to the name). A query that names nothing is
//! answered with the closest runs (and groups and sweeps, where those are
//! taken): first those whose name or id is the query, starts with it or
//! holds it, then by edit distance, the newest first among equals.

use std::{collections::HashSet, time::SystemTime};

use super::{group_runs, liveness, GroupRuns, RunRecord, RunStore, StoreError};
use crate::{edge::printable, plan::Group, protocol::RunId};

/// How many candidates an error lists, at most.
pub const SHOWN_CANDIDATES: usize = 8;

/// What one query named.
#[derive(Clone, Debug, PartialEq)]
pub enum Named {
    /// One run: by id, by a unique start of its id, or by its name (the
    /// latest run of that name).
    Run(Box<RunRecord>),
    /// The runs of every group of this name (runs trained apart under one
    /// name with other settings are groups of their own), or of the one
    /// group whose key starts with the query.
    Groups {
        name: String,
        groups: Vec<Group>,
        runs: Vec<RunRecord>,
    },
    /// Every run of a sweep.
    Sweep { name: String, runs: Vec<RunRecord> },
}

impl Named {
    /// Its runs, oldest first.
    pub fn runs(&self) -> Vec<&RunRecord> {
        match self {
            Named::Run(record) => vec![record],
            Named::Groups { runs, .. } | Named::Sweep { runs, .. } => runs.iter().collect(),
        }
    }

    /// Its runs, oldest first.
    pub fn into_runs(self) -> Vec<RunRecord> {
        match self {
            Named::Run(record) => vec![*record],
            Named::Groups { runs, .. } | Named::Sweep { runs, .. } => runs,
        }
    }

    /// `run 2026…-M1`, `group "M1" of 5 runs`, `sweep "lr" of 36 runs`.
    pub fn describe(&self) -> String {
        match self {
            Named::Run(record) => format!("run {}", record.id),
            Named::Groups { name, groups, runs } if groups.len() > 1 => format!(
                "{} groups named {:?} ({} runs)",
                groups.len(),
                printable(name),
                runs.len()
            ),
            Named::Groups { name, runs, .. } => {
                format!(
                    "group {:?} of {}",
                    printable(name),
                    count(runs.len(), "run")
                )
            }
            Named::Sweep { name, runs } => {
                format!(
                    "sweep {:?} of {}",
                    printable(name),
                    count(runs.len(), "run")
                )
            }
        }
    }
}

/// `1 run`, `3 runs`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Whether the command takes one run or several.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// A run name is its latest run, and a set of runs is refused.
    One,
    /// A group, sweep or run name stands for all its runs.
    Several,
}

/// What a query matched before the command's needs are weighed.
enum Found<'a> {
    Named(Named),
    /// Several runs whose ids (or whose groups' keys) start with the query.
    Prefix(Vec<&'a RunRecord>),
    Nothing,
}

/// The stored runs, read once per command.
struct Index<'a> {
    store: &'a RunStore,
    records: &'a [RunRecord],
    groups: Vec<GroupRuns<'a>>,
}

impl RunStore {
    /// The one run `query` names (see the module's documentation); a group,
    /// sweep or id start of several runs is refused with the closest of them.
    pub fn find(&self, query: &str) -> Result<RunId, StoreError> {
        self.find_one(query).map(|record| record.id)
    }

    /// The record of the one run `query` names, as [`RunStore::find`].
    pub fn find_one(&self, query: &str) -> Result<RunRecord, StoreError> {
        let (records, mut unreadable) = self.readable()?;
        let index = Index::new(self, &records);
        match index.found(query, Want::One) {
            Found::Named(Named::Run(record)) => Ok(*record),
            Found::Named(named) if named.runs().len() == 1 => Ok(named.into_runs().swap_remove(0)),
            Found::Named(named) => Err(index.not_one(
                query,
                &format!("names {}", named.describe()),
                &named.runs(),
                "one run is wanted here: give its id, or the start of its id",
            )),
            Found::Prefix(runs) => Err(index.not_one(
                query,
                &format!("is the start of {} run ids", runs.len()),
                &runs,
                "one run is wanted here: give more of its id",
            )),
            Found::Nothing => Err(index.unknown(query, Want::One, &mut unreadable)),
        }
    }

    /// What `query` names where several runs are taken: a run, groups or a
    /// sweep (see the module's documentation). A comma list is not split:
    /// see [`RunStore::find_each`].
    pub fn find_named(&self, query: &str) -> Result<Named, StoreError> {
        let (records, mut unreadable) = self.readable()?;
        Index::new(self, &records).named(query, &mut unreadable)
    }

    /// What `query` names where one run or one group is wanted
    /// (`compare`): a run, or the runs of one group. Groups that share a
    /// name, or a sweep, are refused with the closest of their groups.
    pub fn find_run_or_group(&self, query: &str) -> Result<Named, StoreError> {
        let (records, mut unreadable) = self.readable()?;
        let index = Index::new(self, &records);
        let named = index.named(query, &mut unreadable)?;
        match &named {
            Named::Run(_) => return Ok(named),
            Named::Groups { groups, .. } if groups.len() == 1 => return Ok(named),
            _ => {}
        }
        let ids: HashSet<String> = named.runs().iter().map(|r| r.group().id()).collect();
        let candidates = index
            .groups
            .iter()
            .filter(|g| ids.contains(&g.group.id()))
            .map(group_candidate)
            .collect();
        let (candidates, more) = closest(query.trim(), candidates);
        Err(StoreError::NotOneRun {
            query: query.to_string(),
            dir: self.dir().to_path_buf(),
            what: format!("names {}", named.describe()),
            wanted: "one run or one group is wanted here: give a group's whole name, or a run's id",
            candidates,
            more,
        })
    }

    /// What each query names, in order; a query that names nothing as a
    /// whole but holds commas is read as a list.
    pub fn find_each(&self, queries: &[String]) -> Result<Vec<Named>, StoreError> {
        let (records, mut unreadable) = self.readable()?;
        let index = Index::new(self, &records);
        let mut named = Vec::new();
        for query in queries {
            match index.named(query, &mut unreadable) {
                Ok(one) => named.push(one),
                Err(error) => {
                    let parts = split_list(query);
                    if parts.len() < 2 {
                        return Err(error);
                    }
                    for part in parts {
                        named.push(index.named(part, &mut unreadable)?);
                    }
                }
            }
        }
        Ok(named)
    }

    /// Every run the queries name, each once, in the order named (a group's
    /// or sweep's runs oldest first); see [`RunStore::find_each`].
    pub fn find_all(&self, queries: &[String]) -> Result<Vec<RunRecord>, StoreError> {
        let mut seen = HashSet::new();
        Ok(self
            .find_each(queries)?
            .into_iter()
            .flat_map(Named::into_runs)
            .filter(|record| seen.insert(record.id.clone()))
            .collect())
    }

    /// The readable runs, or the error of the runs folder itself.
    fn readable(&self) -> Result<(Vec<RunRecord>, Vec<StoreError>), StoreError> {
        let (records, mut unreadable) = self.list();
        if let Some(error) = super::take_folder_error(self.dir(), &mut unreadable) {
            return Err(error);
        }
        Ok((records, unreadable))
    }
}

impl<'a> Index<'a> {
    fn new(store: &'a RunStore, records: &'a [RunRecord]) -> Self {
        Self {
            store,
            records,
            groups: group_runs(records),
        }
    }

    fn named(&self, query: &str, unreadable: &mut Vec<StoreError>) -> Result<Named, StoreError> {
        match self.found(query, Want::Several) {
            Found::Named(named) => Ok(named),
            Found::Prefix(runs) => Err(self.not_one(
                query,
                &format!("is the start of {} run ids", runs.len()),
                &runs,
                "give more of a run's id, or a group's or sweep's name",
            )),
            Found::Nothing => Err(self.unknown(query, Want::Several, unreadable)),
        }
    }

    /// What `query` matches, in the order of precedence `want` gives.
    fn found(&self, query: &str, want: Want) -> Found<'a> {
        let query = query.trim();
        if query.is_empty() {
            return Found::Nothing;
        }
        let run = |record: &RunRecord| Named::Run(Box::new(record.clone()));
        if let Some(record) = self.records.iter().find(|r| r.id.as_str() == query) {
            return Found::Named(run(record));
        }
        let prefixed: Vec<&RunRecord> = self
            .records
            .iter()
            .filter(|r| r.id.as_str().starts_with(query))
            .collect();
        let unique_prefix = match prefixed.as_slice() {
            [one] => Some(run(one)),
            _ => None,
        };
        let latest = self
            .records
            .iter()
            .rev()
            .find(|r| r.spec.name.eq_ignore_ascii_case(query))
            .map(run);
        let named_groups: Vec<&GroupRuns> = self
            .groups
            .iter()
            .filter(|g| g.group.name.eq_ignore_ascii_case(query))
            .collect();
        let groups = (!named_groups.is_empty()).then(|| groups_of(query, &named_groups));
        let sweep = self.sweep(query);
        let keyed: Vec<&GroupRuns> = self
            .groups
            .iter()
            .filter(|g| g.group.key.starts_with(query))
            .collect();
        let key = match (keyed.as_slice(), prefixed.is_empty()) {
            ([one], true) => Some(groups_of(&one.group.name, &[*one])),
            _ => None,
        };
        let named = match want {
            Want::One => unique_prefix.or(latest).or(groups).or(sweep).or(key),
            Want::Several => groups.or(sweep).or(latest).or(unique_prefix).or(key),
        };
        if let Some(named) = named {
            return Found::Named(named);
        }
        let mut several = prefixed;
        for group in keyed {
            several.extend(group.runs.iter().copied());
        }
        if several.is_empty() {
            Found::Nothing
        } else {
            several.sort_by(|a, b| a.id.cmp(&b.id));
            several.dedup_by(|a, b| a.id == b.id);
            Found::Prefix(several)
        }
    }

    /// The runs of the sweep named `query`.
    fn sweep(&self, query: &str) -> Option<Named> {
        let runs: Vec<RunRecord> = self
            .records
            .iter()
            .filter(|r| {
                r.spec
                    .sweep
                    .as_deref()
                    .is_some_and(|sweep| sweep.eq_ignore_ascii_case(query))
            })
            .cloned()
            .collect();
        let name = runs.first()?.spec.sweep.clone()?;
        Some(Named::Sweep { name, runs })
    }

    /// A query that stands for several runs where one is wanted.
    fn not_one(
        &self,
        query: &str,
        what: &str,
        runs: &[&RunRecord],
        wanted: &'static str,
    ) -> StoreError {
        let candidates: Vec<Candidate> = runs.iter().map(|r| self.run_candidate(r)).collect();
        let (candidates, more) = closest(query, candidates);
        StoreError::NotOneRun {
            query: query.to_string(),
            dir: self.store.dir().to_path_buf(),
            what: what.to_string(),
            wanted,
            candidates,
            more,
        }
    }

    /// A query that names nothing: the closest runs (and, where several
    /// are taken, groups and sweeps); or what is wrong with a damaged run
    /// folder it could mean.
    fn unknown(&self, query: &str, want: Want, unreadable: &mut Vec<StoreError>) -> StoreError {
        if let Some(error) = super::damaged_match(query.trim(), unreadable) {
            return error;
        }
        let mut candidates: Vec<Candidate> =
            self.records.iter().map(|r| self.run_candidate(r)).collect();
        if want == Want::Several {
            candidates.extend(
                self.groups
                    .iter()
                    .filter(|g| g.runs.len() > 1)
                    .map(group_candidate),
            );
            for sweep in super::groups::sweeps(self.records) {
                if let Some(Named::Sweep { name, runs }) = self.sweep(&sweep) {
                    candidates.push(sweep_candidate(&name, &runs));
                }
            }
        }
        let (candidates, more) = closest(query.trim(), candidates);
        StoreError::UnknownRun {
            query: query.to_string(),
            dir: self.store.dir().to_path_buf(),
            what: match want {
                Want::One => "run",
                Want::Several => "run, group or sweep",
            },
            candidates,
            more,
            unreadable: unreadable.len(),
        }
    }

    fn run_candidate(&self, record: &RunRecord) -> Candidate {
        let group = record.group();
        let state = liveness::shown_status(self.store, record, SystemTime::now());
        Candidate {
            texts: vec![
                record.id.to_string(),
                record.spec.name.clone(),
                group.name.clone(),
            ],
            kind: 2,
            newest: record.id.to_string(),
            columns: [
                record.id.to_string(),
                format!("{:?}", printable(&record.spec.name)),
                format!("group {:?}", printable(&group.name)),
                state,
            ],
        }
    }
}

fn groups_of(name: &str, groups: &[&GroupRuns]) -> Named {
    let mut runs: Vec<RunRecord> = groups
        .iter()
        .flat_map(|g| g.runs.iter().map(|r| (*r).clone()))
        .collect();
    runs.sort_by(|a, b| a.id.cmp(&b.id));
    Named::Groups {
        name: groups
            .first()
            .map_or_else(|| name.to_string(), |g| g.group.name.clone()),
        groups: groups.iter().map(|g| g.group.clone()).collect(),
        runs,
    }
}

/// One line of a listing of candidates, and what it is matched on.
struct Candidate {
    /// What the query is compared with: an id, names.
    texts: Vec<String>,
    /// Among candidates as close: sweeps (0) before groups (1) before runs (2).
    kind: u8,
    /// Then the newest first (run ids begin with their time).
    newest: String,
    /// The line's columns, aligned over the lines shown.
    columns: [String; 4],
}

fn group_candidate(group: &GroupRuns) -> Candidate {
    let spec = &group.runs[0].spec;
    Candidate {
        texts: vec![group.group.name.clone(), group.group.key.clone()],
        kind: 1,
        newest: newest(&group.runs),
        columns: [
            format!("group {:?}", printable(&group.group.name)),
            count(group.runs.len(), "run"),
            count(spec.epochs as usize, "epoch"),
            format!("key {}", group.group.key),
        ],
    }
}

fn sweep_candidate(name: &str, runs: &[RunRecord]) -> Candidate {
    let refs: Vec<&RunRecord> = runs.iter().collect();
    let groups = super::groups::by_group(&refs, |r| r.group()).len();
    Candidate {
        texts: vec![name.to_string()],
        kind: 0,
        newest: newest(&refs),
        columns: [
            format!("sweep {:?}", printable(name)),
            count(runs.len(), "run"),
            count(groups, "group"),
            String::new(),
        ],
    }
}

fn newest(runs: &[&RunRecord]) -> String {
    runs.iter()
        .map(|r| r.id.to_string())
        .max()
        .unwrap_or_default()
}

/// How close `text` is to `query`, the smaller the closer: 0 when it is
/// the query, 1 when it starts with it, 2 when it holds it, 3 otherwise;
/// then the edit distance. Case is ignored.
fn closeness(query: &str, text: &str) -> (u8, usize) {
    let query = query.to_lowercase();
    let text = text.to_lowercase();
    let tier = if text == query {
        0
    } else if text.starts_with(&query) {
        1
    } else if text.contains(&query) {
        2
    } else {
        3
    };
    (tier, strsim::levenshtein(&query, &text))
}

/// The [`SHOWN_CANDIDATES`] candidates closest to `query`, as aligned
/// lines, and how many more there are.
fn closest(query: &str, mut candidates: Vec<Candidate>) -> (Vec<String>, usize) {
    let score = |candidate: &Candidate| {
        candidate
            .texts
            .iter()
            .map(|text| closeness(query, text))
            .min()
            .unwrap_or((u8::MAX, usize::MAX))
    };
    candidates.sort_by(|a, b| {
        score(a)
            .cmp(&score(b))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| b.newest.cmp(&a.newest))
    });
    let more = candidates.len().saturating_sub(SHOWN_CANDIDATES);
    candidates.truncate(SHOWN_CANDIDATES);
    // Aligned among lines of one kind: a run's columns are not a group's.
    let width = |kind: u8, column: usize| {
        candidates
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.columns[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let lines = candidates
        .iter()
        .map(|c| {
            let [a, b, d, e] = &c.columns;
            format!(
                "{a:<w0$}  {b:<w1$}  {d:<w2$}  {e}",
                w0 = width(c.kind, 0),
                w1 = width(c.kind, 1),
                w2 = width(c.kind, 2)
            )
            .trim_end()
            .to_string()
        })
        .collect();
    (lines, more)
}

/// `query` cut at its commas, but for those inside brackets, braces or
/// parentheses (`M2 hidden=[64,32]`); empty parts are dropped.
fn split_list(query: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_usize;
    let mut start = 0;
    for (at, c) in query.char_indices() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&query[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&query[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect()
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

/// Every run the queries name, each once, in the order named: groups and
/// sweeps stand for all their runs (see [`RunStore::find_all`]).
pub fn find_runs(store: &RunStore, queries: &[String]) -> Result<Vec<RunRecord>, StoreError> {
    store.find_all(queries)
}

/// Finds a run or a group, as `store::naming` reads names: a group of one
/// run is that run; a sweep, or groups that share a name, are refused with
/// the closest of their groups (see [`RunStore::find_run_or_group`]).
pub fn find_target(store: &RunStore, query: &str) -> Result<Target, StoreError> {
    Ok(match store.find_run_or_group(query)? {
        Named::Run(record) => Target::Run(record),
        Named::Groups {
            mut groups, runs, ..
        } if runs.len() > 1 => Target::Group {
            group: groups.swap_remove(0),
            runs,
        },
        named => {
            let mut runs = named.into_runs();
            Target::Run(Box::new(runs.swap_remove(0)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        model::ModelSpec,
        plan::{sweep::with_seed, RunSpec},
        protocol::RunRequest,
    };

    /// Stores a queued run of `spec` with the id `id`.
    fn store_run(store: &RunStore, id: &str, spec: RunSpec) {
        store
            .create_queued(&RunRequest {
                id: id.into(),
                plan: "test".into(),
                spec,
            })
            .unwrap();
    }

    /// Two seeds of M1, three of a two-point sweep "lr" (groups `lr lr=1e-3`
    /// and `lr lr=2e-3`), a run named `solo`, and `solo` again later.
    fn fixture() -> (tempfile::TempDir, RunStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let m1 = RunSpec::new("M1", ModelSpec::tiny_mlp());
        for seed in [1, 2] {
            store_run(
                &store,
                &format!("20260101-00000{seed}-M1_seed_{seed}"),
                with_seed(&m1, seed),
            );
        }
        for (at, rate) in [(1, 1e-3), (2, 2e-3)] {
            let mut base = RunSpec::new("lr", ModelSpec::tiny_mlp());
            base.learning_rate = rate;
            let group = format!("lr lr={}", if at == 1 { "1e-3" } else { "2e-3" });
            base.name.clone_from(&group);
            base.group = Some(group);
            base.sweep = Some("lr".into());
            for seed in 1..=3 {
                store_run(
                    &store,
                    &format!("20260102-0{at}000{seed}-lr_{at}_seed_{seed}"),
                    with_seed(&base, seed),
                );
            }
        }
        let mut solo = RunSpec::new("solo", ModelSpec::tiny_mlp());
        store_run(&store, "20260103-000000-solo", solo.clone());
        solo.epochs = 3;
        store_run(&store, "20260104-000000-solo", solo);
        (dir, store)
    }

    fn ids(records: &[RunRecord]) -> Vec<String> {
        records.iter().map(|r| r.id.to_string()).collect()
    }

    #[test]
    fn one_run_by_id_id_start_or_name() {
        let (_dir, store) = fixture();
        assert_eq!(
            store.find("20260101-000001-M1_seed_1").unwrap().as_str(),
            "20260101-000001-M1_seed_1"
        );
        assert_eq!(
            store.find("20260101-000002").unwrap().as_str(),
            "20260101-000002-M1_seed_2"
        );
        assert_eq!(
            store.find("SOLO").unwrap().as_str(),
            "20260104-000000-solo",
            "a name is its latest run"
        );
        assert_eq!(
            store.find("M1 seed=2").unwrap().as_str(),
            "20260101-000002-M1_seed_2"
        );
    }

    #[test]
    fn a_group_sweep_or_shared_id_start_is_refused_with_its_closest_runs() {
        let (_dir, store) = fixture();
        for (query, what, runs) in [
            ("M1", "names group \"M1\" of 2 runs", 2),
            ("lr", "names sweep \"lr\" of 6 runs", 6),
            ("2026", "is the start of 10 run ids", 10),
            ("lr lr=2e-3", "names group \"lr lr=2e-3\" of 3 runs", 3),
        ] {
            let error = store.find(query).unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("{query:?} {what} in ")),
                "{message}"
            );
            assert!(message.contains("one run is wanted here"), "{message}");
            let lines: Vec<&str> = message.lines().skip(1).collect();
            let listed = lines.iter().filter(|l| l.contains("2026")).count();
            assert_eq!(listed, runs.min(SHOWN_CANDIDATES), "{message}");
            assert!(lines.iter().all(|line| line.len() < 120), "{message}");
            if runs > SHOWN_CANDIDATES {
                assert!(
                    message.contains(&format!("and {} more", runs - SHOWN_CANDIDATES)),
                    "{message}"
                );
            }
        }
        // Each line: id, name, group and state.
        let message = store.find("M1").unwrap_err().to_string();
        let line = message.lines().nth(1).unwrap();
        for part in [
            "20260101-000002-M1_seed_2",
            "\"M1 seed=2\"",
            "group \"M1\"",
            "queued",
        ] {
            assert!(line.contains(part), "{part} missing in {line:?}");
        }
    }

    #[test]
    fn several_runs_expand_groups_and_sweeps_and_comma_lists() {
        let (_dir, store) = fixture();
        let all = |queries: &[&str]| {
            let queries: Vec<String> = queries.iter().map(ToString::to_string).collect();
            ids(&store.find_all(&queries).unwrap())
        };
        assert_eq!(
            all(&["m1"]),
            ["20260101-000001-M1_seed_1", "20260101-000002-M1_seed_2"]
        );
        assert_eq!(all(&["lr"]).len(), 6);
        assert_eq!(all(&["LR LR=1E-3"]).len(), 3);
        // The name of two groups (other settings): both.
        assert_eq!(all(&["solo"]).len(), 2);
        // Each once, in the order named.
        assert_eq!(
            all(&["20260101-000002", "M1,solo"]),
            [
                "20260101-000002-M1_seed_2",
                "20260101-000001-M1_seed_1",
                "20260103-000000-solo",
                "20260104-000000-solo"
            ]
        );
        assert_eq!(all(&["M1 seed=1"]), ["20260101-000001-M1_seed_1"]);
        let message = store
            .find_all(&["2026".to_string()])
            .unwrap_err()
            .to_string();
        assert!(message.contains("is the start of 10 run ids"), "{message}");
        let message = store
            .find_all(&["M1,nope".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("no run, group or sweep matches \"nope\""),
            "{message}"
        );
    }

    #[test]
    fn a_name_that_matches_nothing_lists_the_closest_first() {
        let (_dir, store) = fixture();
        let message = store.find("sol").unwrap_err().to_string();
        assert!(
            message.starts_with("no run matches \"sol\" in "),
            "{message}"
        );
        let first = message.lines().nth(1).unwrap();
        assert!(first.contains("20260104-000000-solo"), "{message}");
        let message = store.find("M2").unwrap_err().to_string();
        let first = message.lines().nth(1).unwrap();
        assert!(first.contains("M1 seed="), "{message}");
        assert!(message.lines().count() <= SHOWN_CANDIDATES + 2, "{message}");
        // Where several runs are taken, groups and sweeps are candidates too.
        let message = store.find_named("lx").unwrap_err().to_string();
        assert!(message.contains("sweep \"lr\""), "{message}");
        assert!(message.contains("group \"lr lr=1e-3\""), "{message}");
    }

    #[test]
    fn commas_inside_brackets_belong_to_the_name() {
        assert_eq!(
            split_list("M1, M2 hidden=[64,32],lr(a=1,b=2)"),
            ["M1", "M2 hidden=[64,32]", "lr(a=1,b=2)"]
        );
        assert_eq!(split_list("a,,b,"), ["a", "b"]);
    }

    #[test]
    fn an_empty_store_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let message = store.find("x").unwrap_err().to_string();
        assert!(message.ends_with("it holds no runs"), "{message}");
    }
}
