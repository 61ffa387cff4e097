//! Sweeps: a base run, a grid over its settings, explicit points and seeds,
//! expanded into ordinary runs (the format is in `assets/plans/sweep.toml`).
//!
//! Expansion is deterministic: grid keys are taken in sorted order, so the
//! order they are written in changes neither which runs exist nor their
//! names; values keep the order written; explicit points follow the grid.
//! Each configuration is then repeated for every seed, and a plan's runs are
//! ordered round by round (every configuration's first seed, then every
//! configuration's second…), so a sweep stopped early still compares all.

use serde::Deserialize;

use super::{
    check::{check_run, SettingError},
    RunSpec,
};
use super::{settings, Recipe};
use crate::model::{ModelSpec, Precision};

/// A sweep that cannot expand, naming the key and the problem.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SweepError {
    #[error("expands to more than {HARD_MAX_RUNS} runs")]
    TooManyRuns,
    #[error("the grid expands to more than {HARD_MAX_RUNS} runs")]
    GridTooLarge,
    #[error("{key}: {problem}")]
    Key { key: String, problem: ValueError },
    #[error("run {group:?}: {problem}")]
    Run {
        group: String,
        problem: SettingError,
    },
    #[error("grid is empty: give at least one key with a list of values")]
    EmptyGrid,
    #[error("grid.{key}: expected a list of values, found {found}")]
    GridNotAList { key: String, found: String },
    #[error("grid.{0}: the list is empty; give at least one value")]
    GridListEmpty(String),
    #[error("points[{0}] is empty")]
    EmptyPoint(usize),
    #[error("seeds = {0}: a count must be between 1 and {MAX_SEEDS}")]
    SeedCount(i64),
    #[error("seeds = []: give at least one seed")]
    NoSeeds,
    #[error("seeds: {0} listed, more than {MAX_SEEDS}")]
    TooManySeeds(usize),
    #[error("seeds: expected whole numbers ≥ 0, found {0}")]
    BadSeed(String),
    #[error("seeds: {0} is listed twice")]
    SeedTwice(u64),
    #[error("seeds: expected a count (e.g. 5) or a list of seeds (e.g. [1, 2, 3]), found {0}")]
    SeedsKind(String),
}

/// A swept value of the wrong kind, or a key a sweep cannot set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("expected \"fp32\" or \"bf16\", found {0}")]
    Precision(String),
    #[error("expected true or false, found {0}")]
    Bool(String),
    #[error("a seed is not swept in the grid: use seeds = N or seeds = [...]")]
    SeedInGrid,
    #[error("unknown key; a sweep may set {}", SWEEP_KEYS.join(", "))]
    UnknownKey,
    #[error("the sweep's model is {} {family}, which has no such field", if .family == "MLP" { "an" } else { "a" })]
    NoSuchField { family: String },
    #[error("expected a whole number ≥ 1, found {0}")]
    Count(String),
    #[error("expected a number, found {0}")]
    Number(String),
    #[error("expected a list of layer widths such as [64, 32], found {0}")]
    Widths(String),
    #[error("{0}")]
    Recipe(String),
}

/// Runs a sweep may expand to unless its `max_runs` says more, or `--yes` confirms.
pub const DEFAULT_MAX_RUNS: usize = 50;

/// Beyond this a sweep is refused even when confirmed: a typo, not a plan.
const HARD_MAX_RUNS: usize = 100_000;
/// The most seeds one group may have, in a plan (`seeds = N` or a list) as
/// on the command line (`--seeds N`).
pub const MAX_SEEDS: u32 = 10_000;

/// The settings a grid or a point may set: the run's, the model's, and
/// the recipe's (so an ablation is one sweep).
pub const SWEEP_KEYS: [&str; 19] = [
    "epochs",
    "batch_size",
    "learning_rate",
    "validation_split",
    "precision",
    "limit_train",
    "model.dropout",
    "model.conv",
    "model.dense",
    "model.hidden",
    "model.batch_norm",
    "optimizer",
    "weight_decay",
    "momentum",
    "nesterov",
    "schedule",
    "label_smoothing",
    "augment",
    "tta_flip",
];

/// How many runs one sweep may make, checked once the flags are applied.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct SweepLimit {
    pub sweep: String,
    pub max_runs: usize,
}

/// A run a sweep made, and its round: the position of its seed.
pub(super) struct Expanded {
    pub round: usize,
    pub spec: RunSpec,
}

/// One setting's value in a configuration.
type Assignment = (String, toml::Value);

/// Expands `base` (every default filled in, the sweep's own settings
/// applied) over `grid`, `points` and `seeds`; the problem names the key.
pub(super) fn expand(
    sweep: &str,
    base: &RunSpec,
    grid: Option<&toml::Table>,
    points: &[toml::Table],
    seeds: Option<&toml::Value>,
) -> Result<Vec<Expanded>, SweepError> {
    let configurations = configurations(grid, points)?;
    let seeds = seed_list(seeds)?;
    let total = configurations
        .len()
        .checked_mul(seeds.as_ref().map_or(1, Vec::len))
        .filter(|&total| total <= HARD_MAX_RUNS)
        .ok_or(SweepError::TooManyRuns)?;
    let mut runs = Vec::with_capacity(total);
    for assignments in &configurations {
        let mut spec = base.clone();
        for (key, value) in assignments {
            set(&mut spec, key, value).map_err(|problem| SweepError::Key {
                key: key.clone(),
                problem,
            })?;
        }
        let group = std::iter::once(sweep.to_string())
            .chain(
                assignments
                    .iter()
                    .map(|(key, value)| format!("{}={}", short_key(key), show(value))),
            )
            .collect::<Vec<_>>()
            .join(" ");
        spec.sweep = Some(sweep.to_string());
        spec.group = Some(group.clone());
        spec.name.clone_from(&group);
        check_run(&spec).map_err(|problem| SweepError::Run {
            group: group.clone(),
            problem,
        })?;
        match &seeds {
            None => runs.push(Expanded { round: 0, spec }),
            Some(seeds) => runs.extend(seeds.iter().enumerate().map(|(round, &seed)| Expanded {
                round,
                spec: with_seed(&spec, seed),
            })),
        }
    }
    Ok(runs)
}

/// `spec` with `seed`, named after its group and the seed.
pub fn with_seed(spec: &RunSpec, seed: u64) -> RunSpec {
    let group = spec.group().name;
    RunSpec {
        name: format!("{group} seed={seed}"),
        group: Some(group),
        seed,
        ..spec.clone()
    }
}

/// Every configuration: the grid's product (sorted keys), then the points.
fn configurations(
    grid: Option<&toml::Table>,
    points: &[toml::Table],
) -> Result<Vec<Vec<Assignment>>, SweepError> {
    let mut configurations: Vec<Vec<Assignment>> = vec![Vec::new()];
    if let Some(grid) = grid {
        if grid.is_empty() && points.is_empty() {
            return Err(SweepError::EmptyGrid);
        }
        let mut keys: Vec<(&String, &toml::Value)> = grid.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (key, values) in keys {
            let toml::Value::Array(values) = values else {
                return Err(SweepError::GridNotAList {
                    key: key.clone(),
                    found: values.to_string(),
                });
            };
            if values.is_empty() {
                return Err(SweepError::GridListEmpty(key.clone()));
            }
            if configurations.len().saturating_mul(values.len()) > HARD_MAX_RUNS {
                return Err(SweepError::GridTooLarge);
            }
            configurations = configurations
                .iter()
                .flat_map(|done| {
                    values.iter().map(move |value| {
                        let mut next = done.clone();
                        next.push((key.clone(), value.clone()));
                        next
                    })
                })
                .collect();
        }
        if grid.is_empty() {
            configurations.clear();
        }
    } else if !points.is_empty() {
        configurations.clear();
    }
    for (index, point) in points.iter().enumerate() {
        if point.is_empty() {
            return Err(SweepError::EmptyPoint(index));
        }
        let mut assignments: Vec<Assignment> = point
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        assignments.sort_by(|a, b| a.0.cmp(&b.0));
        configurations.push(assignments);
    }
    Ok(configurations)
}

/// `seeds = N` (1, 2, …, N) or `seeds = [a, b, …]`; none when not given.
fn seed_list(value: Option<&toml::Value>) -> Result<Option<Vec<u64>>, SweepError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let seeds = match value {
        toml::Value::Integer(count) if (1..=i64::from(MAX_SEEDS)).contains(count) => {
            (1..=*count as u64).collect()
        }
        toml::Value::Integer(count) => return Err(SweepError::SeedCount(*count)),
        toml::Value::Array(items) if items.is_empty() => return Err(SweepError::NoSeeds),
        toml::Value::Array(items) if items.len() > MAX_SEEDS as usize => {
            return Err(SweepError::TooManySeeds(items.len()))
        }
        toml::Value::Array(items) => {
            let mut seeds = Vec::with_capacity(items.len());
            for item in items {
                let seed = item
                    .as_integer()
                    .and_then(|seed| u64::try_from(seed).ok())
                    .ok_or_else(|| SweepError::BadSeed(item.to_string()))?;
                if seeds.contains(&seed) {
                    return Err(SweepError::SeedTwice(seed));
                }
                seeds.push(seed);
            }
            seeds
        }
        other => return Err(SweepError::SeedsKind(other.to_string())),
    };
    Ok(Some(seeds))
}

/// Sets one sweep key on `spec`; the problem says what was expected.
fn set(spec: &mut RunSpec, key: &str, value: &toml::Value) -> Result<(), ValueError> {
    match key {
        "epochs" => spec.epochs = count(value)?,
        "batch_size" => spec.batch_size = count(value)?,
        "limit_train" => spec.limit_train = Some(count(value)? as usize),
        "learning_rate" => spec.learning_rate = number(value)?,
        "validation_split" => spec.validation_split = number(value)?,
        "precision" => {
            spec.precision = match value.as_str() {
                Some("fp32") => Precision::Fp32,
                Some("bf16") => Precision::Bf16,
                _ => return Err(ValueError::Precision(value.to_string())),
            }
        }
        "model.dropout" => spec.model.set_dropout(flag(value)?),
        "model.conv" | "model.dense" | "model.hidden" => set_width(&mut spec.model, key, value)?,
        "model.batch_norm" => set_batch_norm(&mut spec.model, flag(value)?)?,
        "seed" => return Err(ValueError::SeedInGrid),
        _ => set_recipe(&mut spec.recipe, key, value)?,
    }
    Ok(())
}

/// A recipe key, read as a plan's `[defaults]` or `[[run]]` writes it
/// (`schedule = { kind = "cosine" }`, `augment = { crop = 2 }`); ranges are
/// checked with the rest of the run.
fn set_recipe(recipe: &mut Recipe, key: &str, value: &toml::Value) -> Result<(), ValueError> {
    fn read<T: serde::de::DeserializeOwned>(value: &toml::Value) -> Result<T, ValueError> {
        value
            .clone()
            .try_into()
            .map_err(|error: toml::de::Error| ValueError::Recipe(error.message().to_string()))
    }
    match key {
        "optimizer" => recipe.optimizer = read(value)?,
        "weight_decay" => recipe.weight_decay = number(value)?,
        "momentum" => recipe.momentum = Some(number(value)?),
        "nesterov" => recipe.nesterov = flag(value)?,
        "schedule" => recipe.schedule = read(value)?,
        "label_smoothing" => recipe.label_smoothing = number(value)?,
        "augment" => recipe.augment = read(value)?,
        "tta_flip" => recipe.tta_flip = flag(value)?,
        _ => return Err(ValueError::UnknownKey),
    }
    Ok(())
}

/// `BatchNorm` in every block of a `convnet` model, or in none.
fn set_batch_norm(model: &mut ModelSpec, on: bool) -> Result<(), ValueError> {
    match model {
        ModelSpec::ConvNet { blocks, .. } => {
            for block in blocks {
                block.batch_norm = on;
            }
            Ok(())
        }
        model => Err(ValueError::NoSuchField {
            family: model.family().to_string(),
        }),
    }
}

fn flag(value: &toml::Value) -> Result<bool, ValueError> {
    value
        .as_bool()
        .ok_or_else(|| ValueError::Bool(value.to_string()))
}

/// `model.conv`, `model.dense` or `model.hidden`, on a model that has it.
fn set_width(model: &mut ModelSpec, key: &str, value: &toml::Value) -> Result<(), ValueError> {
    match (model, key) {
        (ModelSpec::Cnn { conv, .. }, "model.conv") => *conv = widths(value)?,
        (ModelSpec::Cnn { dense, .. }, "model.dense") => *dense = i64::from(count(value)?),
        (ModelSpec::Mlp { hidden, .. }, "model.hidden") => *hidden = widths(value)?,
        (model, _) => {
            return Err(ValueError::NoSuchField {
                family: model.family().to_string(),
            })
        }
    }
    Ok(())
}

fn count(value: &toml::Value) -> Result<u32, ValueError> {
    value
        .as_integer()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| ValueError::Count(value.to_string()))
}

fn number(value: &toml::Value) -> Result<f64, ValueError> {
    match value {
        toml::Value::Float(x) => Ok(*x),
        toml::Value::Integer(n) => Ok(*n as f64),
        _ => Err(ValueError::Number(value.to_string())),
    }
}

fn widths(value: &toml::Value) -> Result<Vec<i64>, ValueError> {
    let problem = || ValueError::Widths(value.to_string());
    let items = value.as_array().ok_or_else(problem)?;
    items
        .iter()
        .map(|item| item.as_integer().ok_or_else(problem))
        .collect()
}

/// The name a key has in run names: `lr`, `batch`, `dropout`…
pub fn short_key(key: &str) -> &str {
    match key {
        "learning_rate" => "lr",
        "batch_size" => "batch",
        "validation_split" => "val",
        "limit_train" => "limit",
        other => other.strip_prefix("model.").unwrap_or(other),
    }
}

/// A value as run names write it: `3e-4`, `true`, `[64,32]`, `bf16`,
/// `onecycle(warmup_share=0.3)`, `{crop=2,flip=true}`, `none` for `{}`.
fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::Float(x) => settings::number(*x),
        toml::Value::String(text) => text.clone(),
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(","))
        }
        toml::Value::Table(table) if table.is_empty() => "none".into(),
        toml::Value::Table(table) => {
            let rest: Vec<String> = table
                .iter()
                .filter(|(key, _)| key.as_str() != "kind")
                .map(|(key, value)| format!("{key}={}", show(value)))
                .collect();
            match table.get("kind").and_then(toml::Value::as_str) {
                Some(kind) if rest.is_empty() => kind.to_string(),
                Some(kind) => format!("{kind}({})", rest.join(",")),
                None => format!("{{{}}}", rest.join(",")),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    fn base() -> RunSpec {
        RunSpec::new(
            "M1",
            ModelSpec::Cnn {
                conv: vec![64],
                dense: 16,
                dropout: false,
            },
        )
    }

    fn names(runs: &[Expanded]) -> Vec<String> {
        runs.iter().map(|run| run.spec.name.clone()).collect()
    }

    #[test]
    fn grid_times_points_times_seeds() {
        let grid = table("learning_rate = [1e-3, 3e-4]\n\"model.dropout\" = [false, true]");
        let points = [table("batch_size = 64\nlearning_rate = 0.01")];
        let runs = expand("M1", &base(), Some(&grid), &points, Some(&2.into())).unwrap();
        assert_eq!(
            names(&runs),
            [
                "M1 lr=1e-3 dropout=false seed=1",
                "M1 lr=1e-3 dropout=false seed=2",
                "M1 lr=1e-3 dropout=true seed=1",
                "M1 lr=1e-3 dropout=true seed=2",
                "M1 lr=3e-4 dropout=false seed=1",
                "M1 lr=3e-4 dropout=false seed=2",
                "M1 lr=3e-4 dropout=true seed=1",
                "M1 lr=3e-4 dropout=true seed=2",
                "M1 batch=64 lr=0.01 seed=1",
                "M1 batch=64 lr=0.01 seed=2",
            ]
        );
        let last = &runs[9].spec;
        assert_eq!(
            (last.batch_size, last.learning_rate, last.seed),
            (64, 0.01, 2)
        );
        assert_eq!(last.group.as_deref(), Some("M1 batch=64 lr=0.01"));
        assert_eq!(last.sweep.as_deref(), Some("M1"));
        assert_eq!(
            runs.iter().map(|r| r.round).collect::<Vec<_>>()[..4],
            [0, 1, 0, 1]
        );
        assert!(runs[2].spec.model.has_dropout() && !runs[0].spec.model.has_dropout());
        // Runs of one configuration share a group; others do not.
        assert_eq!(runs[0].spec.group(), runs[1].spec.group());
        assert_ne!(runs[0].spec.group().key, runs[2].spec.group().key);
    }

    #[test]
    fn the_order_of_grid_keys_changes_nothing() {
        let one = table("\"model.dropout\" = [false, true]\nlearning_rate = [1e-3, 3e-4]");
        let other = table("learning_rate = [1e-3, 3e-4]\n\"model.dropout\" = [false, true]");
        let one = expand("s", &base(), Some(&one), &[], None).unwrap();
        let other = expand("s", &base(), Some(&other), &[], None).unwrap();
        assert_eq!(names(&one), names(&other));
        assert_eq!(names(&one)[0], "s lr=1e-3 dropout=false");
        let specs = |runs: &[Expanded]| runs.iter().map(|r| r.spec.clone()).collect::<Vec<_>>();
        assert_eq!(specs(&one), specs(&other));
    }

    #[test]
    fn seeds_as_a_count_or_a_list() {
        let runs = expand("s", &base(), None, &[], Some(&3.into())).unwrap();
        assert_eq!(names(&runs), ["s seed=1", "s seed=2", "s seed=3"]);
        let list = toml::Value::Array(vec![7.into(), 42.into()]);
        let runs = expand("s", &base(), None, &[], Some(&list)).unwrap();
        assert_eq!(
            runs.iter().map(|r| r.spec.seed).collect::<Vec<_>>(),
            [7, 42]
        );
        let plain = expand("s", &base(), None, &[], None).unwrap();
        assert_eq!(
            (names(&plain), plain[0].spec.seed),
            (vec!["s".to_string()], 42)
        );
    }

    #[test]
    fn model_fields_and_settings_are_set_by_type() {
        let grid = table("\"model.conv\" = [[32], [64, 32]]\n\"model.dense\" = [8]\nprecision = [\"bf16\"]\nepochs = [3]\nlimit_train = [100]\nvalidation_split = [0.1]");
        let runs = expand("w", &base(), Some(&grid), &[], None).unwrap();
        assert_eq!(
            names(&runs),
            [
                "w epochs=3 limit=100 conv=[32] dense=8 precision=bf16 val=0.1",
                "w epochs=3 limit=100 conv=[64,32] dense=8 precision=bf16 val=0.1"
            ]
        );
        let spec = &runs[1].spec;
        assert_eq!(
            spec.model,
            ModelSpec::Cnn {
                conv: vec![64, 32],
                dense: 8,
                dropout: false
            }
        );
        assert_eq!(
            (spec.epochs, spec.limit_train, spec.precision),
            (3, Some(100), Precision::Bf16)
        );
    }

    #[test]
    fn an_ablation_of_recipe_keys_is_one_sweep() {
        let plan = crate::plan::parse_plan(
            r#"
            [defaults]
            schedule = { kind = "onecycle", warmup_share = 0.3 }
            augment = { crop = 2, flip = true }
            [[sweep]]
            name = "B1"
            model = { kind = "convnet", blocks = [{ width = 32, convs = 2, batch_norm = true }] }
            grid = { augment = [{ crop = 2, flip = true }, {}], "model.batch_norm" = [true, false], schedule = [{ kind = "onecycle", warmup_share = 0.3 }, { kind = "constant" }] }
            "#,
            "ablation",
            std::path::Path::new("ablation.toml"),
        )
        .unwrap();
        let names: Vec<&str> = plan.runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names.len(), 8);
        assert_eq!(
            names[0],
            "B1 augment={crop=2,flip=true} batch_norm=true schedule=onecycle(warmup_share=0.3)"
        );
        assert!(
            names.contains(&"B1 augment=none batch_norm=false schedule=constant"),
            "{names:?}"
        );
        let last = plan
            .runs
            .iter()
            .find(|r| r.name == "B1 augment=none batch_norm=false schedule=constant")
            .unwrap();
        assert_eq!(last.recipe.augment, crate::plan::Augment::default());
        assert_eq!(last.recipe.schedule, crate::plan::Schedule::Constant);
        let labels = crate::plan::Differences::of(plan.runs.iter());
        assert_eq!(labels.varying, ["batch_norm", "schedule", "augment"]);
    }

    #[test]
    fn bad_sweeps_name_the_key_and_the_problem() {
        let bad = |grid: &str, points: &[&str], seeds: Option<toml::Value>| {
            let points: Vec<toml::Table> = points.iter().map(|p| table(p)).collect();
            expand("s", &base(), Some(&table(grid)), &points, seeds.as_ref())
                .err()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            bad("", &[], None),
            "grid is empty: give at least one key with a list of values"
        );
        assert_eq!(bad("lr = [1]", &[], None), "lr: unknown key; a sweep may set epochs, batch_size, learning_rate, validation_split, precision, limit_train, model.dropout, model.conv, model.dense, model.hidden, model.batch_norm, optimizer, weight_decay, momentum, nesterov, schedule, label_smoothing, augment, tta_flip");
        assert_eq!(
            bad("schedule = [{ kind = \"linear\" }]", &[], None),
            "schedule: unknown variant `linear`, expected one of `constant`, `step`, `cosine`, `onecycle`"
        );
        assert_eq!(
            bad("\"model.batch_norm\" = [true]", &[], None),
            "model.batch_norm: the sweep's model is a CNN, which has no such field"
        );
        assert_eq!(
            bad("label_smoothing = [1.5]", &[], None),
            "run \"s label_smoothing=1.5\": label_smoothing must be in [0, 1), found 1.5"
        );
        assert_eq!(
            bad("epochs = []", &[], None),
            "grid.epochs: the list is empty; give at least one value"
        );
        assert_eq!(
            bad("epochs = 3", &[], None),
            "grid.epochs: expected a list of values, found 3"
        );
        assert_eq!(
            bad("epochs = [\"many\"]", &[], None),
            "epochs: expected a whole number ≥ 1, found \"many\""
        );
        assert_eq!(
            bad("learning_rate = [true]", &[], None),
            "learning_rate: expected a number, found true"
        );
        assert_eq!(
            bad("learning_rate = [-1.0]", &[], None),
            "run \"s lr=-1\": learning_rate must be a positive number, found -1"
        );
        assert_eq!(
            bad("\"model.hidden\" = [[8]]", &[], None),
            "model.hidden: the sweep's model is a CNN, which has no such field"
        );
        assert_eq!(
            bad("\"model.dropout\" = [1]", &[], None),
            "model.dropout: expected true or false, found 1"
        );
        assert_eq!(
            bad("precision = [\"fp8\"]", &[], None),
            "precision: expected \"fp32\" or \"bf16\", found \"fp8\""
        );
        assert_eq!(
            bad("seed = [1, 2]", &[], None),
            "seed: a seed is not swept in the grid: use seeds = N or seeds = [...]"
        );
        assert!(bad("\"model.conv\" = [[8, 8, 8, 8]]", &[], None)
            .starts_with("run \"s conv=[8,8,8,8]\": conv[3] = 8: the feature map vanishes"));
        assert_eq!(bad("epochs = [1]", &[""], None), "points[0] is empty");
        assert_eq!(
            bad("epochs = [1]", &[], Some(0.into())),
            "seeds = 0: a count must be between 1 and 10000"
        );
        assert_eq!(
            bad("epochs = [1]", &[], Some(toml::Value::Array(vec![]))),
            "seeds = []: give at least one seed"
        );
        assert_eq!(
            bad(
                "epochs = [1]",
                &[],
                Some(toml::Value::Array(vec![1.into(), 1.into()]))
            ),
            "seeds: 1 is listed twice"
        );
        assert_eq!(
            bad("epochs = [1]", &[], Some("five".into())),
            "seeds: expected a count (e.g. 5) or a list of seeds (e.g. [1, 2, 3]), found \"five\""
        );
        let twenty: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
        let twenty = twenty.join(", ");
        let huge = format!("epochs = [{twenty}]\nbatch_size = [{twenty}]\nlimit_train = [{twenty}]\n\"model.dense\" = [{twenty}]");
        assert_eq!(
            bad(&huge, &[], None),
            "the grid expands to more than 100000 runs"
        );
    }

    #[test]
    fn points_alone_and_shortest_values() {
        let points = [
            table("learning_rate = 0.0003"),
            table("learning_rate = 0.5"),
        ];
        let runs = expand("p", &base(), None, &points, None).unwrap();
        assert_eq!(names(&runs), ["p lr=3e-4", "p lr=0.5"]);
        let empty_grid = toml::Table::new();
        let runs = expand("p", &base(), Some(&empty_grid), &points, None).unwrap();
        assert_eq!(runs.len(), 2, "an empty grid beside points adds nothing");
    }
}
