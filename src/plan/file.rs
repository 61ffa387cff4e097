//! Plan files: TOML with `[defaults]`, `[[run]]` and `[[sweep]]` tables
//! (documented in `assets/plans/seed.toml` and `assets/plans/sweep.toml`),
//! resolved into [`RunSpec`]s and checked.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use merge::Merge;
use serde::Deserialize;
use thiserror::Error;

use super::recipe::{Augment, OptimizerKind, Recipe, Schedule};
use super::sweep::{self, Expanded, SweepError, SweepLimit, DEFAULT_MAX_RUNS};
use super::{
    check::{check_margin, check_run, BadMargin},
    DevicePref, SettingError,
};
use super::{Jobs, Plan, Reference, RunSpec, Workers};
use crate::model::{
    blocks::{Block, Head},
    ModelSpec, Precision,
};

/// The built-in plan, also shipped as an example file.
pub const SEED_PLAN_TOML: &str = include_str!("../../assets/plans/seed.toml");
/// The built-in plan of modern recipes that go beyond the original.
pub const BEYOND_PLAN_TOML: &str = include_str!("../../assets/plans/beyond.toml");
/// The names `--plan` takes without a file.
pub const BUILTIN_PLANS: &[&str] = &["seed", "beyond"];

/// What is wrong with a plan; each names the file and, where it applies, the run.
#[derive(Debug, Error)]
pub enum PlanError {
    /// The message names the file and says what went wrong.
    #[error(transparent)]
    Read(#[from] crate::edge::read::ReadError),
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: run {name:?} (#{index}): {problem}")]
    Run {
        path: PathBuf,
        name: String,
        index: usize,
        problem: Box<RunProblem>,
    },
    #[error("{path}: sweep {sweep:?}: {problem}")]
    Sweep {
        path: PathBuf,
        sweep: String,
        problem: Box<SweepProblem>,
    },
    #[error("{path}: {problem}")]
    Plan { path: PathBuf, problem: PlanProblem },
    #[error(
        "plan {plan:?}: {} expands to {runs} runs, more than {limit}; {}",
        .sweep.as_ref().map_or_else(|| "with --seeds it".to_string(), |s| format!("sweep {s:?}")),
        if .sweep.is_some() { "raise the sweep's max_runs or pass --yes to confirm" } else { "pass --yes to confirm" }
    )]
    TooManyRuns {
        plan: String,
        sweep: Option<String>,
        runs: usize,
        limit: usize,
    },
    #[error("run {name:?} with the command line's settings: {problem}")]
    Overridden {
        name: String,
        problem: super::SettingError,
    },
    #[error("plan {plan:?} has no run named {name:?}; it has {}", .available.join(", "))]
    UnknownRun {
        plan: String,
        name: String,
        available: Vec<String>,
    },
    #[error(
        "no model is named {name:?}; the seed models are {}, the beyond plan's {}",
        .seed.join(", "),
        .beyond.join(", ")
    )]
    UnknownModel {
        name: String,
        seed: Vec<String>,
        beyond: Vec<String>,
    },
}

/// What is wrong with one `[[run]]` table.
#[derive(Debug, Error)]
pub enum RunProblem {
    #[error("name must not be empty")]
    EmptyName,
    #[error("another run already has this name")]
    TakenName,
    #[error(transparent)]
    Setting(#[from] SettingError),
}

/// What is wrong with one `[[sweep]]` table.
#[derive(Debug, Error)]
pub enum SweepProblem {
    #[error("name must not be empty")]
    EmptyName,
    #[error("another sweep already has this name")]
    TakenName,
    #[error(transparent)]
    Base(#[from] BaseError),
    #[error("margin: {0}")]
    Margin(#[from] BadMargin),
    #[error(transparent)]
    Expand(#[from] SweepError),
    #[error("it makes a run named {0:?}, which another run already has")]
    TakenRunName(String),
}

/// What is wrong with the plan as a whole.
#[derive(Debug, Error)]
pub enum PlanProblem {
    #[error("the plan has no [[run]] or [[sweep]] tables")]
    Empty,
    #[error(transparent)]
    Workers(#[from] WorkersError),
    #[error(transparent)]
    Alerts(#[from] super::alerts::AlertsError),
}

/// Declares a plan table's struct with every setting a run may take as
/// fields of its own (beside `$field`s), and `settings()` to read them out.
/// Fields of its own rather than `#[serde(flatten)]`: serde's flatten
/// loses the key a type error is at and reports a misspelt key as a missing
/// one, so a plan's mistakes would point at the table, not the key.
macro_rules! with_settings {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        struct $name {
            $($(#[$field_meta])* $field: $ty,)*
            epochs: Option<u32>,
            batch_size: Option<u32>,
            learning_rate: Option<f64>,
            seed: Option<u64>,
            validation_split: Option<f64>,
            device: Option<DevicePref>,
            precision: Option<Precision>,
            limit_train: Option<usize>,
            optimizer: Option<OptimizerKind>,
            weight_decay: Option<f64>,
            momentum: Option<f64>,
            nesterov: Option<bool>,
            schedule: Option<Schedule>,
            label_smoothing: Option<f64>,
            augment: Option<Augment>,
            tta_flip: Option<bool>,
        }

        impl $name {
            /// The settings this table gives.
            #[allow(dead_code)]
            fn settings(&self) -> Settings {
                Settings {
                    epochs: self.epochs,
                    batch_size: self.batch_size,
                    learning_rate: self.learning_rate,
                    seed: self.seed,
                    validation_split: self.validation_split,
                    device: self.device,
                    precision: self.precision,
                    limit_train: self.limit_train,
                    optimizer: self.optimizer,
                    weight_decay: self.weight_decay,
                    momentum: self.momentum,
                    nesterov: self.nesterov,
                    schedule: self.schedule,
                    label_smoothing: self.label_smoothing,
                    augment: self.augment,
                    tta_flip: self.tta_flip,
                }
            }
        }
    };
}

with_settings! {
    /// Settings a run may take from `[defaults]`, or the command line give
    /// every run: one layer of them goes over another ([`Merge`]) and, last,
    /// over a run ([`Settings::apply`]).
    #[derive(Clone, Debug, Default, Deserialize, Merge)]
    #[merge(strategy = merge::option::overwrite_none)]
    #[serde(deny_unknown_fields)]
    struct Settings {}
}

with_settings! {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawRun {
        name: String,
        label: Option<String>,
        model: RawModel,
        reference: Option<RawReference>,
    }
}

/// [`ModelSpec`] as a plan file writes it. The stored type reads fields it
/// does not know (run folders of newer versions); a plan file's unknown key
/// is a typo, refused here.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum RawModel {
    Cnn {
        conv: Vec<i64>,
        dense: i64,
        #[serde(default)]
        dropout: bool,
    },
    Mlp {
        hidden: Vec<i64>,
        #[serde(default)]
        dropout: bool,
    },
    #[serde(rename = "convnet")]
    ConvNet {
        blocks: Vec<StrictBlock>,
        #[serde(default)]
        head: StrictHead,
    },
}

/// A [`Block`] that refuses keys it does not know (a typo in a plan).
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "toml::Table")]
struct StrictBlock(Block);

/// A [`Head`] that refuses keys it does not know.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(try_from = "toml::Table")]
struct StrictHead(Head);

const BLOCK_KEYS: &[&str] = &[
    "width",
    "convs",
    "kernel",
    "padding",
    "batch_norm",
    "pool",
    "residual",
    "dropout",
];
const HEAD_KEYS: &[&str] = &["pool", "dense", "dropout"];

/// A block or head table of a convnet that is not one.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TableError {
    #[error("{what}: unknown key {key:?}; expected one of {}", .known.join(", "))]
    UnknownKey {
        what: &'static str,
        key: String,
        known: &'static [&'static str],
    },
    #[error("{what}: {problem}")]
    Invalid { what: &'static str, problem: String },
}

/// `table` as a `T`, refusing any key not in `known`.
fn strict<T: serde::de::DeserializeOwned>(
    what: &'static str,
    table: toml::Table,
    known: &'static [&'static str],
) -> Result<T, TableError> {
    if let Some(key) = table.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(TableError::UnknownKey {
            what,
            key: key.clone(),
            known,
        });
    }
    T::deserialize(table).map_err(|error| TableError::Invalid {
        what,
        problem: error.message().to_string(),
    })
}

impl TryFrom<toml::Table> for StrictBlock {
    type Error = TableError;
    fn try_from(table: toml::Table) -> Result<Self, TableError> {
        strict("block", table, BLOCK_KEYS).map(StrictBlock)
    }
}

impl TryFrom<toml::Table> for StrictHead {
    type Error = TableError;
    fn try_from(table: toml::Table) -> Result<Self, TableError> {
        strict("head", table, HEAD_KEYS).map(StrictHead)
    }
}

impl From<RawModel> for ModelSpec {
    fn from(raw: RawModel) -> Self {
        match raw {
            RawModel::ConvNet { blocks, head } => Self::ConvNet {
                blocks: blocks.into_iter().map(|block| block.0).collect(),
                head: head.0,
            },
            RawModel::Cnn {
                conv,
                dense,
                dropout,
            } => Self::Cnn {
                conv,
                dense,
                dropout,
            },
            RawModel::Mlp { hidden, dropout } => Self::Mlp { hidden, dropout },
        }
    }
}

/// [`Reference`] as a plan file writes it, strict for the same reason.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    test_accuracy: f64,
    test_loss: f64,
}

impl From<RawReference> for Reference {
    fn from(raw: RawReference) -> Self {
        Self {
            test_accuracy: raw.test_accuracy,
            test_loss: raw.test_loss,
        }
    }
}

with_settings! {
    /// A `[[sweep]]` table: a base run (its own model and settings, or a
    /// `[[run]]` of the plan named by `base`) and what varies.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawSweep {
        name: String,
        base: Option<String>,
        label: Option<String>,
        model: Option<RawModel>,
        reference: Option<RawReference>,
        /// A count (seeds 1…N) or a list.
        seeds: Option<toml::Value>,
        grid: Option<toml::Table>,
        #[serde(default)]
        points: Vec<toml::Table>,
        max_runs: Option<usize>,
        /// The practical margin in accuracy points, kept in every run it makes.
        margin: Option<f64>,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    defaults: Settings,
    #[serde(default, rename = "run")]
    runs: Vec<RawRun>,
    #[serde(default, rename = "sweep")]
    sweeps: Vec<RawSweep>,
    workers: Option<RawWorkers>,
    alerts: Option<super::alerts::RawAlerts>,
}

/// The `[workers]` table: `jobs` is a count or `"auto"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkers {
    jobs: Option<toml::Value>,
    #[serde(default)]
    devices: Vec<DevicePref>,
    threads: Option<u16>,
}

/// A `[workers]` table out of range.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WorkersError {
    #[error("[workers] jobs = {0} is too large")]
    TooManyJobs(i64),
    #[error("[workers] jobs: expected a number of workers (1 or more) or \"auto\", found {0}")]
    Jobs(String),
    #[error("[workers] threads: expected 1 or more, found 0")]
    NoThreads,
}

/// A sweep without a base run to vary.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BaseError {
    #[error("give seed or seeds, not both")]
    SeedAndSeeds,
    #[error(
        "base {base:?}: no [[run]] of this plan has that name; it has {}",
        if .names.is_empty() { "none".to_string() } else { .names.join(", ") }
    )]
    UnknownBase { base: String, names: Vec<String> },
    #[error("give the sweep a model, or a base = \"NAME\" of a [[run]]")]
    NoModel,
}

impl RawWorkers {
    fn resolve(self) -> Result<Workers, WorkersError> {
        let jobs = match self.jobs {
            None => None,
            Some(toml::Value::String(text)) if text == "auto" => Some(Jobs::Auto),
            Some(toml::Value::Integer(n)) if n >= 1 => Some(Jobs::Count(
                usize::try_from(n).map_err(|_| WorkersError::TooManyJobs(n))?,
            )),
            Some(other) => return Err(WorkersError::Jobs(other.to_string())),
        };
        if self.threads == Some(0) {
            return Err(WorkersError::NoThreads);
        }
        Ok(Workers {
            jobs,
            devices: self.devices,
            threads: self.threads,
        })
    }
}

/// What `atelier train`'s flags may change in every run.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub epochs: Option<u32>,
    pub limit_train: Option<usize>,
    pub device: Option<DevicePref>,
    pub batch_size: Option<u32>,
    pub precision: Option<Precision>,
    /// Every run once with this seed.
    pub seed: Option<u64>,
    /// Every run with seeds 1…N (replacing a sweep's own seeds).
    pub seeds: Option<u32>,
}

impl Overrides {
    /// The settings every run takes (the seeds make runs, not settings).
    fn settings(&self) -> Settings {
        Settings {
            epochs: self.epochs,
            limit_train: self.limit_train,
            device: self.device,
            batch_size: self.batch_size,
            precision: self.precision,
            ..Settings::default()
        }
    }
}

/// The built-in `seed` plan: the original notebook's six models.
pub fn seed_plan() -> Plan {
    parse_plan(SEED_PLAN_TOML, "seed", Path::new("assets/plans/seed.toml"))
        .unwrap_or_else(|error| unreachable!("the built-in plan is tested to parse: {error}"))
}

/// The built-in `beyond` plan: `BatchNorm` nets with modern recipes.
pub fn beyond_plan() -> Plan {
    parse_plan(
        BEYOND_PLAN_TOML,
        "beyond",
        Path::new("assets/plans/beyond.toml"),
    )
    .unwrap_or_else(|error| unreachable!("the built-in plan is tested to parse: {error}"))
}

/// A built-in plan by name (`seed`, `beyond`).
pub fn builtin_plan(name: &str) -> Option<Plan> {
    match name {
        "seed" => Some(seed_plan()),
        "beyond" => Some(beyond_plan()),
        _ => None,
    }
}

/// The built-in runs named, from the seed plan or the `beyond` plan, in
/// the order named; every seed model when none is named.
pub fn builtin_runs(names: &[String]) -> Result<Vec<RunSpec>, PlanError> {
    let (seed, beyond) = (seed_plan().runs, beyond_plan().runs);
    if names.is_empty() {
        return Ok(seed);
    }
    let find = |name: &String| {
        seed.iter()
            .chain(&beyond)
            .find(|spec| spec.name.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| PlanError::UnknownModel {
                name: name.clone(),
                seed: seed.iter().map(|spec| spec.name.clone()).collect(),
                beyond: beyond.iter().map(|spec| spec.name.clone()).collect(),
            })
    };
    names.iter().map(find).collect()
}

/// Reads a plan file; the plan is named after the file's stem.
pub fn load_plan(path: &Path) -> Result<Plan, PlanError> {
    let text = crate::edge::read::text(path, crate::edge::read::PLAN_LIMIT)?;
    let name = path.file_stem().map_or_else(
        || "plan".to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    parse_plan(&text, &name, path)
}

/// Parses and checks a plan; `origin` is named in every error.
pub fn parse_plan(text: &str, name: &str, origin: &Path) -> Result<Plan, PlanError> {
    let raw: RawPlan = toml::from_str(text).map_err(|error| PlanError::Syntax {
        path: origin.to_path_buf(),
        message: error.to_string().trim_end().to_string(),
    })?;
    let plan_error = |problem: PlanProblem| PlanError::Plan {
        path: origin.to_path_buf(),
        problem,
    };
    if raw.runs.is_empty() && raw.sweeps.is_empty() {
        return Err(plan_error(PlanProblem::Empty));
    }
    let mut names = HashSet::new();
    let mut runs = Vec::with_capacity(raw.runs.len());
    for (index, run) in raw.runs.into_iter().enumerate() {
        let run_error = |problem: RunProblem| PlanError::Run {
            path: origin.to_path_buf(),
            name: run.name.clone(),
            index: index + 1,
            problem: Box::new(problem),
        };
        if run.name.trim().is_empty() {
            return Err(run_error(RunProblem::EmptyName));
        }
        if !names.insert(run.name.to_ascii_lowercase()) {
            return Err(run_error(RunProblem::TakenName));
        }
        let settings = run.settings().or(&raw.defaults);
        let spec = settings.apply(RunSpec {
            label: run.label.clone(),
            reference: run.reference.map(Reference::from),
            ..RunSpec::new(run.name.clone(), ModelSpec::from(run.model))
        });
        check_run(&spec).map_err(|problem| run_error(problem.into()))?;
        runs.push(Expanded { round: 0, spec });
    }
    let mut limits = Vec::new();
    let mut sweep_names = HashSet::new();
    for raw_sweep in raw.sweeps {
        let sweep_error = |problem: SweepProblem| PlanError::Sweep {
            path: origin.to_path_buf(),
            sweep: raw_sweep.name.clone(),
            problem: Box::new(problem),
        };
        if raw_sweep.name.trim().is_empty() {
            return Err(sweep_error(SweepProblem::EmptyName));
        }
        if !sweep_names.insert(raw_sweep.name.to_ascii_lowercase()) {
            return Err(sweep_error(SweepProblem::TakenName));
        }
        let base = sweep_base(&raw_sweep, &raw.defaults, &runs)
            .map_err(|problem| sweep_error(problem.into()))?;
        let margin = raw_sweep
            .margin
            .map(check_margin)
            .transpose()
            .map_err(|problem| sweep_error(problem.into()))?;
        let mut expanded = sweep::expand(
            &raw_sweep.name,
            &base,
            raw_sweep.grid.as_ref(),
            &raw_sweep.points,
            raw_sweep.seeds.as_ref(),
        )
        .map_err(|problem| sweep_error(problem.into()))?;
        for run in &mut expanded {
            run.spec.margin = margin;
        }
        for run in &expanded {
            if !names.insert(run.spec.name.to_ascii_lowercase()) {
                return Err(sweep_error(SweepProblem::TakenRunName(
                    run.spec.name.clone(),
                )));
            }
        }
        limits.push(SweepLimit {
            sweep: raw_sweep.name.clone(),
            max_runs: raw_sweep.max_runs.unwrap_or(DEFAULT_MAX_RUNS),
        });
        runs.extend(expanded);
    }
    // Round by round: see `sweep`'s module documentation.
    runs.sort_by_key(|run| run.round);
    let workers = match raw.workers {
        Some(workers) => workers
            .resolve()
            .map_err(|problem| plan_error(problem.into()))?,
        None => Workers::default(),
    };
    let alerts = match raw.alerts {
        Some(alerts) => alerts
            .resolve()
            .map_err(|problem| plan_error(problem.into()))?,
        None => super::AlertSettings::default(),
    };
    Ok(Plan {
        name: name.to_string(),
        runs: runs.into_iter().map(|run| run.spec).collect(),
        limits,
        workers,
        alerts,
    })
}

/// A sweep's base run: the named `[[run]]` or its own model, with the
/// sweep's own settings over it; named after the sweep.
fn sweep_base(
    raw: &RawSweep,
    defaults: &Settings,
    runs: &[Expanded],
) -> Result<RunSpec, BaseError> {
    if raw.seeds.is_some() && raw.seed.is_some() {
        return Err(BaseError::SeedAndSeeds);
    }
    let base = match (&raw.base, &raw.model) {
        (Some(base), _) => {
            let found = runs
                .iter()
                .find(|run| run.spec.name.eq_ignore_ascii_case(base.trim()))
                .ok_or_else(|| BaseError::UnknownBase {
                    base: base.clone(),
                    names: runs.iter().map(|r| r.spec.name.clone()).collect(),
                })?;
            raw.settings().apply(found.spec.clone())
        }
        (None, Some(model)) => raw.settings().or(defaults).apply(RunSpec::new(
            raw.name.clone(),
            ModelSpec::from(model.clone()),
        )),
        (None, None) => return Err(BaseError::NoModel),
    };
    Ok(RunSpec {
        name: raw.name.clone(),
        label: raw.label.clone().or(base.label.clone()),
        reference: raw
            .reference
            .clone()
            .map(Reference::from)
            .or(base.reference),
        model: raw
            .model
            .clone()
            .map_or(base.model.clone(), ModelSpec::from),
        ..base
    })
}

impl Settings {
    /// These settings where given, else `defaults`'.
    fn or(&self, defaults: &Settings) -> Settings {
        let mut layered = self.clone();
        layered.merge(defaults.clone());
        layered
    }

    /// `spec` with the settings given here replaced.
    fn apply(&self, spec: RunSpec) -> RunSpec {
        RunSpec {
            epochs: self.epochs.unwrap_or(spec.epochs),
            batch_size: self.batch_size.unwrap_or(spec.batch_size),
            learning_rate: self.learning_rate.unwrap_or(spec.learning_rate),
            seed: self.seed.unwrap_or(spec.seed),
            validation_split: self.validation_split.unwrap_or(spec.validation_split),
            device: self.device.unwrap_or(spec.device),
            precision: self.precision.unwrap_or(spec.precision),
            limit_train: self.limit_train.or(spec.limit_train),
            recipe: Recipe {
                optimizer: self.optimizer.unwrap_or(spec.recipe.optimizer),
                weight_decay: self.weight_decay.unwrap_or(spec.recipe.weight_decay),
                momentum: self.momentum.or(spec.recipe.momentum),
                nesterov: self.nesterov.unwrap_or(spec.recipe.nesterov),
                schedule: self.schedule.unwrap_or(spec.recipe.schedule),
                label_smoothing: self.label_smoothing.unwrap_or(spec.recipe.label_smoothing),
                augment: self.augment.unwrap_or(spec.recipe.augment),
                tta_flip: self.tta_flip.unwrap_or(spec.recipe.tta_flip),
            },
            ..spec
        }
    }
}

impl Plan {
    /// Only the runs named (case-insensitive), in plan order. A name picks
    /// a run, a group (`M2 lr=3e-4`, every seed of it) or a whole sweep.
    pub fn only(&self, names: &[String]) -> Result<Plan, PlanError> {
        let picks = |run: &RunSpec, name: &str| {
            let name = name.trim();
            run.name.eq_ignore_ascii_case(name)
                || run.group().name.eq_ignore_ascii_case(name)
                || run
                    .sweep
                    .as_ref()
                    .is_some_and(|sweep| sweep.eq_ignore_ascii_case(name))
        };
        for name in names {
            if !self.runs.iter().any(|run| picks(run, name)) {
                let mut available: Vec<String> = Vec::new();
                for run in &self.runs {
                    let group = run.group().name;
                    if !available.contains(&group) {
                        available.push(group);
                    }
                }
                return Err(PlanError::UnknownRun {
                    plan: self.name.clone(),
                    name: name.clone(),
                    available,
                });
            }
        }
        let runs = self
            .runs
            .iter()
            .filter(|run| names.iter().any(|name| picks(run, name)))
            .cloned()
            .collect();
        Ok(Plan {
            runs,
            ..self.clone()
        })
    }

    /// Every run with the given settings replaced. `seed` or `seeds` make
    /// each group one run per seed (named `GROUP seed=S`), round by round.
    pub fn with_overrides(mut self, overrides: &Overrides) -> Plan {
        let settings = overrides.settings();
        self.runs = self
            .runs
            .into_iter()
            .map(|run| settings.apply(run))
            .collect();
        let seeds: Vec<u64> = match (overrides.seeds, overrides.seed) {
            (Some(count), _) => (1..=u64::from(count)).collect(),
            (None, Some(seed)) => vec![seed],
            (None, None) => return self,
        };
        // One base per group: a sweep's own seeds are replaced, not multiplied.
        let mut bases: Vec<RunSpec> = Vec::new();
        for run in self.runs {
            if !bases.iter().any(|base| base.group() == run.group()) {
                bases.push(run);
            }
        }
        self.runs = seeds
            .iter()
            .flat_map(|&seed| bases.iter().map(move |base| sweep::with_seed(base, seed)))
            .collect();
        self
    }

    /// Checks every run again after the command line changed them
    /// ([`Plan::with_overrides`]): `--limit-train` above the data, say.
    pub fn check_runs(&self) -> Result<(), PlanError> {
        for spec in &self.runs {
            check_run(spec).map_err(|problem| PlanError::Overridden {
                name: spec.name.clone(),
                problem,
            })?;
        }
        Ok(())
    }

    /// Refuses a plan with more runs than a sweep's `max_runs` (or, for
    /// runs `--seeds` made, [`DEFAULT_MAX_RUNS`]) unless `confirmed`.
    pub fn check_size(&self, confirmed: bool) -> Result<(), PlanError> {
        if confirmed {
            return Ok(());
        }
        for limit in &self.limits {
            let runs = self
                .runs
                .iter()
                .filter(|run| run.sweep.as_deref() == Some(limit.sweep.as_str()))
                .count();
            if runs > limit.max_runs {
                return Err(PlanError::TooManyRuns {
                    plan: self.name.clone(),
                    sweep: Some(limit.sweep.clone()),
                    runs,
                    limit: limit.max_runs,
                });
            }
        }
        let others = self.runs.iter().filter(|run| run.sweep.is_none()).count();
        if others > DEFAULT_MAX_RUNS {
            return Err(PlanError::TooManyRuns {
                plan: self.name.clone(),
                sweep: None,
                runs: others,
                limit: DEFAULT_MAX_RUNS,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Plan, PlanError> {
        parse_plan(text, "mine", Path::new("plans/mine.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const ONE_RUN: &str = "[[run]]\nname = \"A\"\nmodel = { kind = \"mlp\", hidden = [8] }\n";

    #[test]
    fn seed_plan_is_the_original_experiment() {
        let plan = seed_plan();
        assert_eq!(plan.name, "seed");
        let names: Vec<&str> = plan.runs.iter().map(|run| run.name.as_str()).collect();
        assert_eq!(names, ["M1", "M2", "M3", "M4", "M5", "MLP"]);
        let params: Vec<u64> = plan
            .runs
            .iter()
            .map(|run| run.model.param_count().unwrap())
            .collect();
        assert_eq!(
            params,
            [173_882, 173_882, 11_082_122, 11_082_122, 1_484_522, 567_434]
        );
        let dropout: Vec<bool> = plan
            .runs
            .iter()
            .map(|run| run.model.has_dropout())
            .collect();
        assert_eq!(dropout, [false, true, false, true, true, true]);
        assert_eq!(
            plan.runs[4].model,
            ModelSpec::Cnn {
                conv: vec![512, 256, 128],
                dense: 32,
                dropout: true
            }
        );
        for run in &plan.runs {
            assert_eq!((run.epochs, run.batch_size, run.seed), (15, 32, 42));
            assert_eq!((run.learning_rate, run.validation_split), (0.001, 0.2));
            assert_eq!(run.device, DevicePref::Auto);
            assert!(run.reference.is_some() && run.label.is_some());
        }
        assert_eq!(
            plan.runs[3].reference,
            Some(Reference {
                test_accuracy: 0.9207,
                test_loss: 0.2833
            })
        );
        assert_eq!(plan.runs[0].title(), "M1 · CNN [64,32,16]");
    }

    #[test]
    fn built_in_defaults_then_file_defaults_then_run_settings() {
        let plan = parse(ONE_RUN).unwrap();
        assert_eq!((plan.runs[0].epochs, plan.runs[0].batch_size), (15, 32));
        let text = format!("[defaults]\nepochs = 3\ndevice = \"cpu\"\n{ONE_RUN}epochs = 7\n");
        let run = &parse(&text).unwrap().runs[0];
        assert_eq!((run.epochs, run.device), (7, DevicePref::Cpu));
    }

    #[test]
    fn unknown_keys_and_syntax_errors_name_the_file_and_key() {
        let message = error(&ONE_RUN.replace("hidden = [8]", "hidden = [8], dropuot = true"));
        assert!(message.starts_with("plans/mine.toml: "), "{message}");
        assert!(message.contains("dropuot"), "{message}");
        let message = error(&format!("{ONE_RUN}epohcs = 3\n"));
        assert!(message.contains("epohcs"), "{message}");
        let message = error(&format!(
            "{ONE_RUN}reference = {{ test_accuracy = 0.9, test_loss = 0.3, tset_loss = 1.0 }}\n"
        ));
        assert!(message.contains("tset_loss"), "{message}");
        let message = error("[[run]\nname = 1");
        assert!(
            message.starts_with("plans/mine.toml: TOML parse error at line 1"),
            "{message}"
        );
    }

    #[test]
    fn invalid_runs_name_the_run_and_the_problem() {
        let deep = ONE_RUN.replace(
            "kind = \"mlp\", hidden = [8]",
            "kind = \"cnn\", conv = [8, 8, 8, 8], dense = 4",
        );
        assert_eq!(
            error(&deep).split(" (1×1").next().unwrap(),
            "plans/mine.toml: run \"A\" (#1): conv[3] = 8: the feature map vanishes there"
        );
        assert!(error(&ONE_RUN.replace("[8]", "[8, 0]"))
            .ends_with("hidden[1]: width must be positive, found 0"));
        assert!(error(&ONE_RUN.replace("[8]", "[-4]"))
            .ends_with("hidden[0]: width must be positive, found -4"));
        assert!(error(&format!("{ONE_RUN}epochs = 0\n"))
            .ends_with("epochs must be at least 1, found 0"));
        assert!(error(&format!("{ONE_RUN}validation_split = 1.0\n"))
            .ends_with("validation_split must be between 0 and 1 (exclusive), found 1"));
        assert!(error(&format!("{ONE_RUN}validation_split = 0.0\n"))
            .ends_with("validation_split must be between 0 and 1 (exclusive), found 0"));
        assert!(error(&format!("{ONE_RUN}learning_rate = -0.1\n"))
            .contains("learning_rate must be a positive number"));
        assert!(error(&format!("{ONE_RUN}device = \"tpu\"\n")).contains("unknown device \"tpu\""));
        // A fuzz find (fuzz/corpus/plan/wide.toml): this width overflowed the parameter count.
        let wide = ONE_RUN.replace("[8]", "[9223372036854775807]");
        assert!(error(&wide).starts_with("plans/mine.toml: run \"A\" (#1): MLP hidden [9223372036854775807]: the parameter count overflows"));
    }

    #[test]
    fn plan_level_problems() {
        assert_eq!(
            error(""),
            "plans/mine.toml: the plan has no [[run]] or [[sweep]] tables"
        );
        let message = error(&format!("{ONE_RUN}{}", ONE_RUN.replace("\"A\"", "\"a\"")));
        assert_eq!(
            message,
            "plans/mine.toml: run \"a\" (#2): another run already has this name"
        );
        let message = load_plan(Path::new("/nonexistent/plan.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("/nonexistent/plan.toml: cannot read: "),
            "{message}"
        );
    }

    #[test]
    fn built_in_runs_by_name_in_the_order_named() {
        let names = ["b1", "M2"].map(String::from);
        let runs: Vec<String> = builtin_runs(&names)
            .unwrap()
            .into_iter()
            .map(|spec| spec.name)
            .collect();
        assert_eq!(runs, ["B1", "M2"]);
        assert_eq!(builtin_runs(&[]).unwrap().len(), 6);
        let error = builtin_runs(&["M9".into()]).unwrap_err().to_string();
        assert!(
            error.starts_with("no model is named \"M9\"; the seed models are M1, M2, M3, M4, M5, MLP, the beyond plan's B1"),
            "{error}"
        );
    }

    #[test]
    fn only_and_overrides() {
        let plan = seed_plan().only(&["m4".into(), "M1".into()]).unwrap();
        let names: Vec<&str> = plan.runs.iter().map(|run| run.name.as_str()).collect();
        assert_eq!(names, ["M1", "M4"], "plan order is kept");
        let message = seed_plan().only(&["M9".into()]).unwrap_err().to_string();
        assert_eq!(
            message,
            "plan \"seed\" has no run named \"M9\"; it has M1, M2, M3, M4, M5, MLP"
        );
        let plan = plan.with_overrides(&Overrides {
            epochs: Some(1),
            limit_train: Some(100),
            device: Some(DevicePref::Cpu),
            batch_size: None,
            precision: Some(Precision::Bf16),
            seed: None,
            seeds: None,
        });
        assert!(plan.runs.iter().all(|run| run.precision == Precision::Bf16));
        assert!(plan
            .runs
            .iter()
            .all(|run| run.epochs == 1 && run.limit_train == Some(100)));
        assert!(plan
            .runs
            .iter()
            .all(|run| run.device == DevicePref::Cpu && run.batch_size == 32));
    }

    #[test]
    fn precision_is_a_setting_that_defaults_to_fp32() {
        let plan = parse(&format!("[defaults]\nprecision = \"bf16\"\n{ONE_RUN}")).unwrap();
        assert_eq!(plan.runs[0].precision, Precision::Bf16);
        assert!(plan.runs[0].title().ends_with(" · bf16"));
        let plain = parse(ONE_RUN).unwrap();
        assert_eq!(plain.runs[0].precision, Precision::Fp32);
        // Records of fp32 runs stay as they were: no precision key.
        let json = serde_json::to_string(&plain.runs[0]).unwrap();
        assert!(!json.contains("precision"), "{json}");
        let json = serde_json::to_string(&plan.runs[0]).unwrap();
        assert!(json.contains("\"precision\":\"bf16\""), "{json}");
        assert!(error(&format!("{ONE_RUN}precision = \"fp8\"\n")).contains("fp8"));
    }

    const SWEEP: &str = "[[run]]\nname = \"A\"\nmodel = { kind = \"mlp\", hidden = [8] }\n[[sweep]]\nname = \"S\"\nbase = \"A\"\nepochs = 2\nseeds = 2\ngrid = { learning_rate = [0.1, 0.01] }\n";

    #[test]
    fn sweeps_expand_round_by_round_after_the_runs() {
        let plan = parse(SWEEP).unwrap();
        let names: Vec<&str> = plan.runs.iter().map(|run| run.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "A",
                "S lr=0.1 seed=1",
                "S lr=0.01 seed=1",
                "S lr=0.1 seed=2",
                "S lr=0.01 seed=2"
            ]
        );
        let run = &plan.runs[4];
        assert_eq!((run.epochs, run.learning_rate, run.seed), (2, 0.01, 2));
        assert_eq!(run.model, plan.runs[0].model, "the base's model");
        assert_eq!(plan.runs[0].epochs, 15, "the base itself is untouched");
        assert_eq!(
            plan.limits,
            [SweepLimit {
                sweep: "S".into(),
                max_runs: 50
            }]
        );
        let picked = plan.only(&["s lr=0.1".into()]).unwrap();
        assert_eq!(picked.runs.len(), 2, "a group picks every seed");
        assert_eq!(
            plan.only(&["S".into()]).unwrap().runs.len(),
            4,
            "a sweep picks all"
        );
    }

    #[test]
    fn shipped_plans_parse() {
        for (file, runs) in [
            ("sweep", 15),
            ("original-5-seeds", 15),
            ("original-5-seeds-gpu", 15),
            ("m2-seeds", 2),
        ] {
            let path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/plans/{file}.toml"));
            let plan = load_plan(&path).unwrap();
            assert_eq!(plan.runs.len(), runs, "{file}");
            plan.check_size(false).unwrap();
        }
        let plan = load_plan(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/plans/original-5-seeds.toml"),
        )
        .unwrap();
        let names: Vec<&str> = plan
            .runs
            .iter()
            .take(4)
            .map(|run| run.name.as_str())
            .collect();
        assert_eq!(names, ["M1 seed=1", "M2 seed=1", "MLP seed=1", "M1 seed=2"]);
        // The same runs as the seed plan's, with seeds 1–5: same groups.
        let seeded = seed_plan()
            .only(&["M1".into(), "M2".into(), "MLP".into()])
            .unwrap()
            .with_overrides(&Overrides {
                seeds: Some(5),
                ..Overrides::default()
            });
        let key = |plan: &Plan| {
            plan.runs
                .iter()
                .map(|r| (r.name.clone(), r.seed, r.group()))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&plan), key(&seeded));
    }

    #[test]
    fn bad_sweeps_name_the_plan_the_sweep_and_the_key() {
        let sweep = |body: &str| error(&format!("{ONE_RUN}[[sweep]]\nname = \"S\"\n{body}"));
        assert_eq!(
            sweep("base = \"B\"\n"),
            "plans/mine.toml: sweep \"S\": base \"B\": no [[run]] of this plan has that name; it has A"
        );
        assert_eq!(
            sweep("seeds = 2\n"),
            "plans/mine.toml: sweep \"S\": give the sweep a model, or a base = \"NAME\" of a [[run]]"
        );
        assert_eq!(
            sweep("base = \"A\"\nseed = 3\nseeds = 2\n"),
            "plans/mine.toml: sweep \"S\": give seed or seeds, not both"
        );
        assert_eq!(
            sweep("base = \"A\"\ngrid = { learning_rate = [\"x\"] }\n"),
            "plans/mine.toml: sweep \"S\": learning_rate: expected a number, found \"x\""
        );
        assert!(sweep("base = \"A\"\ngird = {}\n").contains("gird"));
        assert_eq!(
            error(&format!("{ONE_RUN}[[sweep]]\nname = \"A\"\nbase = \"A\"\n")),
            "plans/mine.toml: sweep \"A\": it makes a run named \"A\", which another run already has"
        );
        let big = parse(&format!(
            "{ONE_RUN}[[sweep]]\nname = \"S\"\nbase = \"A\"\nseeds = 51\n"
        ))
        .unwrap();
        assert_eq!(
            big.check_size(false).unwrap_err().to_string(),
            "plan \"mine\": sweep \"S\" expands to 51 runs, more than 50; raise the sweep's max_runs or pass --yes to confirm"
        );
        big.check_size(true).unwrap();
        let raised = parse(&format!(
            "{ONE_RUN}[[sweep]]\nname = \"S\"\nbase = \"A\"\nseeds = 51\nmax_runs = 60\n"
        ))
        .unwrap();
        raised.check_size(false).unwrap();
        let many = seed_plan().with_overrides(&Overrides {
            seeds: Some(9),
            ..Overrides::default()
        });
        assert_eq!(
            many.check_size(false).unwrap_err().to_string(),
            "plan \"seed\": with --seeds it expands to 54 runs, more than 50; pass --yes to confirm"
        );
    }

    #[test]
    fn a_sweeps_margin_goes_into_its_runs_and_changes_no_group() {
        let plain = parse(SWEEP).unwrap();
        let with = parse(&format!("{SWEEP}margin = 1.25\n")).unwrap();
        let margins: Vec<Option<f64>> = with.runs.iter().map(|run| run.margin).collect();
        assert_eq!(
            margins,
            [None, Some(1.25), Some(1.25), Some(1.25), Some(1.25)]
        );
        let seeded = with.clone().with_overrides(&Overrides {
            seeds: Some(3),
            ..Overrides::default()
        });
        assert!(seeded
            .runs
            .iter()
            .all(|run| run.margin == run.sweep.as_ref().map(|_| 1.25)));
        for (a, b) in plain.runs.iter().zip(&with.runs) {
            assert_eq!(a.group().id(), b.group().id(), "{}", a.name);
            assert_eq!(a.settings(), b.settings(), "{}", a.name);
        }
        assert!(!with.runs[1]
            .settings()
            .iter()
            .any(|(key, _)| key == "margin"));
        let labels = |plan: &Plan| {
            let mut labels: Vec<_> = crate::plan::settings::group_labels(&plan.runs)
                .into_iter()
                .collect();
            labels.sort_by(|a, b| a.0.cmp(&b.0));
            labels
        };
        assert_eq!(labels(&plain), labels(&with));
        let json = serde_json::to_string(&with.runs[1]).unwrap();
        assert!(json.contains("\"margin\":1.25"), "{json}");
        let old = serde_json::to_string(&plain.runs[1]).unwrap();
        assert!(!old.contains("margin"), "{old}");
        let read: RunSpec = serde_json::from_str(&old).unwrap();
        assert_eq!(read.margin, None, "a run.json without a margin still reads");
    }

    #[test]
    fn a_margin_out_of_range_names_the_plan_the_sweep_and_the_key() {
        for (margin, found) in [
            ("0.0", "0"),
            ("-1", "-1"),
            ("100", "100"),
            ("nan", "NaN"),
            ("inf", "inf"),
        ] {
            assert_eq!(
                error(&format!("{SWEEP}margin = {margin}\n")),
                format!("plans/mine.toml: sweep \"S\": margin: expected accuracy points between 0 and 100 (exclusive, e.g. 0.5), found {found}"),
                "{margin}"
            );
        }
        let typed = error(&format!("{SWEEP}margin = \"big\"\n"));
        assert!(
            typed.starts_with("plans/mine.toml: ") && typed.contains("margin"),
            "{typed}"
        );
        let whole = parse(&format!("{SWEEP}margin = 2\n")).unwrap();
        assert_eq!(
            whole.runs[1].margin,
            Some(2.0),
            "a whole number is points too"
        );
    }

    #[test]
    fn seeds_and_seed_flags_make_each_group_once_per_seed() {
        let plan = parse(SWEEP).unwrap().with_overrides(&Overrides {
            seeds: Some(3),
            ..Overrides::default()
        });
        let names: Vec<&str> = plan.runs.iter().map(|run| run.name.as_str()).collect();
        assert_eq!(
            names[..3],
            ["A seed=1", "S lr=0.1 seed=1", "S lr=0.01 seed=1"]
        );
        assert_eq!(
            plan.runs.len(),
            9,
            "the sweep's own two seeds are replaced, not multiplied"
        );
        assert_eq!(plan.runs[8].name, "S lr=0.01 seed=3");
        assert_eq!(plan.runs[8].seed, 3);
        let one = seed_plan().with_overrides(&Overrides {
            seed: Some(7),
            ..Overrides::default()
        });
        assert_eq!(one.runs[0].name, "M1 seed=7");
        assert_eq!((one.runs.len(), one.runs[0].seed), (6, 7));
        assert_eq!(one.runs[0].group(), seed_plan().runs[0].group());
    }

    #[test]
    fn the_seed_plan_keeps_the_original_recipe_and_stores_none() {
        for run in seed_plan().runs {
            assert!(run.recipe.is_original(), "{}", run.name);
            let json = serde_json::to_string(&run).unwrap();
            assert!(!json.contains("recipe"), "{json}");
        }
    }

    #[test]
    fn the_beyond_plan_parses_with_its_recipe_and_the_original_as_reference() {
        let plan = beyond_plan();
        let names: Vec<&str> = plan.runs.iter().map(|run| run.name.as_str()).collect();
        assert_eq!(names, ["B1", "B1-aug", "B1-nobn", "B1-const", "B2", "B3"]);
        let b1 = &plan.runs[0];
        assert_eq!(b1.recipe.optimizer, OptimizerKind::AdamW);
        assert!(!b1.recipe.augment.is_on() && b1.recipe.tta_flip);
        assert_eq!(b1.model.param_count(), Ok(870_826));
        // B1-aug adds shifts and flips to B1; each ablation takes one
        // ingredient away from B1-aug and keeps the rest.
        let with_aug = &plan.runs[1];
        assert!(with_aug.recipe.augment.is_on());
        assert_eq!(with_aug.model, b1.model);
        assert_eq!(with_aug.recipe.schedule, b1.recipe.schedule);
        assert_eq!(
            plan.runs[2].model.to_string(),
            "ConvNet [32×2 pool, 64×2 pool, flatten, 256, drop 0.4]"
        );
        assert!(!plan.runs[2].model.to_string().contains("bn"));
        assert_eq!(plan.runs[2].recipe.augment, with_aug.recipe.augment);
        assert_eq!(plan.runs[3].recipe.schedule, Schedule::Constant);
        assert_eq!(plan.runs[3].recipe.augment, with_aug.recipe.augment);
        for run in &plan.runs {
            assert_eq!(run.reference.map(|r| r.test_accuracy), Some(0.9207));
            if run.name != "B1" {
                assert_ne!(run.group().key, b1.group().key, "{}", run.name);
            }
        }
        assert!(builtin_plan("beyond").is_some() && builtin_plan("nope").is_none());
    }

    const CONVNET: &str =
        "[[run]]\nname = \"C\"\nmodel = { kind = \"convnet\", blocks = [{ width = 8 }] }\n";

    #[test]
    fn convnet_plans_refuse_typos_and_bad_values_by_name() {
        let plan = parse(CONVNET).unwrap();
        assert_eq!(plan.runs[0].model.to_string(), "ConvNet [8 pool, gap]");
        let typo = error(&CONVNET.replace("width = 8", "width = 8, batchnorm = true"));
        assert!(
            typo.contains("block: unknown key \"batchnorm\"; expected one of width, convs, kernel, padding, batch_norm, pool, residual, dropout"),
            "{typo}"
        );
        let head = error(&CONVNET.replace("}] }", "}], head = { pooling = \"gap\" } }"));
        assert!(head.contains("head: unknown key \"pooling\""), "{head}");
        let deep = error(&CONVNET.replace(
            "[{ width = 8 }]",
            "[{ width = 8 }, { width = 8 }, { width = 8 }, { width = 8 }, { width = 8 }]",
        ));
        assert!(
            deep.contains(
                "run \"C\" (#1): blocks[4] max-pool: the feature map vanishes there (1×1 input)"
            ),
            "{deep}"
        );
        let bf16 = error(&format!("{CONVNET}precision = \"bf16\"\n"));
        assert!(
            bf16.contains("convnet models compute in fp32 only"),
            "{bf16}"
        );
    }

    #[test]
    fn recipe_settings_are_checked_and_misspelt_ones_refused() {
        let with = |extra: &str| format!("{ONE_RUN}{extra}\n");
        let plan = parse(&with("optimizer = \"sgd\"\nmomentum = 0.8\nnesterov = true\nschedule = { kind = \"step\", every_epochs = 5, factor = 0.5 }")).unwrap();
        let recipe = &plan.runs[0].recipe;
        assert_eq!(
            (recipe.optimizer, recipe.momentum(), recipe.nesterov),
            (OptimizerKind::Sgd, 0.8, true)
        );
        assert_eq!(
            recipe.schedule,
            Schedule::Step {
                every_epochs: 5,
                factor: 0.5
            }
        );
        assert!(error(&with("label_smoothing = 1.5"))
            .contains("label_smoothing must be in [0, 1), found 1.5"));
        assert!(
            error(&with("augment = { crop = 2, flips = true }")).contains("unknown field `flips`")
        );
        assert!(error(&with("schedule = { kind = \"cosine\", warmup = 1 }"))
            .contains("unknown field `warmup`"));
        assert!(
            error(&with("schedule = { kind = \"linear\" }")).contains("unknown variant `linear`")
        );
        assert!(error(&with("optimizer = \"adagrad\"")).contains("unknown variant `adagrad`"));
        assert!(
            error(&with("momentum = 0.9")).contains("momentum applies to optimizer = \"sgd\" only")
        );
        // [defaults] carry a recipe to every run, and a run may override it.
        let plan = parse(&format!("[defaults]\nlabel_smoothing = 0.1\n{ONE_RUN}[[run]]\nname = \"B\"\nmodel = {{ kind = \"mlp\", hidden = [8] }}\nlabel_smoothing = 0.0\n")).unwrap();
        assert_eq!(plan.runs[0].recipe.label_smoothing, 0.1);
        assert!(plan.runs[1].recipe.is_original());
    }
}
