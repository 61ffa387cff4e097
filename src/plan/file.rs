//! Plan files: TOML with `[defaults]` and `[[run]]` tables (documented in
//! `assets/plans/seed.toml`), resolved into [`RunSpec`]s and checked.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use thiserror::Error;

use super::DevicePref;
use super::{Plan, Reference, RunSpec};
use crate::model::{ModelSpec, Precision};

/// The built-in plan, also shipped as an example file.
pub const SEED_PLAN_TOML: &str = include_str!("../../assets/plans/seed.toml");

/// What is wrong with a plan; each names the file and, where it applies, the run.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("{path}: cannot read the plan: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: run {name:?} (#{index}): {problem}")]
    Run {
        path: PathBuf,
        name: String,
        index: usize,
        problem: String,
    },
    #[error("{path}: {problem}")]
    Plan { path: PathBuf, problem: String },
    #[error("plan {plan:?} has no run named {name:?}; it has {}", .available.join(", "))]
    UnknownRun {
        plan: String,
        name: String,
        available: Vec<String>,
    },
}

/// Settings a run may take from `[defaults]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    epochs: Option<u32>,
    batch_size: Option<u32>,
    learning_rate: Option<f64>,
    seed: Option<u64>,
    validation_split: Option<f64>,
    device: Option<DevicePref>,
    precision: Option<Precision>,
    limit_train: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    name: String,
    label: Option<String>,
    model: RawModel,
    reference: Option<RawReference>,
    #[serde(flatten)]
    settings: Settings,
}

/// [`ModelSpec`] as a plan file writes it. The stored type reads fields it
/// does not know (run folders of newer versions); a plan file's unknown key
/// is a typo, refused here.
#[derive(Debug, Deserialize)]
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
}

impl From<RawModel> for ModelSpec {
    fn from(raw: RawModel) -> Self {
        match raw {
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
#[derive(Debug, Deserialize)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    defaults: Settings,
    #[serde(default, rename = "run")]
    runs: Vec<RawRun>,
}

/// What `atelier train`'s flags may change in every run.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub epochs: Option<u32>,
    pub limit_train: Option<usize>,
    pub device: Option<DevicePref>,
    pub batch_size: Option<u32>,
    pub precision: Option<Precision>,
}

/// The built-in `seed` plan: the original notebook's six models.
pub fn seed_plan() -> Plan {
    parse_plan(SEED_PLAN_TOML, "seed", Path::new("assets/plans/seed.toml"))
        .unwrap_or_else(|error| unreachable!("the built-in plan is tested to parse: {error}"))
}

/// Reads a plan file; the plan is named after the file's stem.
pub fn load_plan(path: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|error| PlanError::Io {
        path: path.to_path_buf(),
        error,
    })?;
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
    let plan_error = |problem: String| PlanError::Plan {
        path: origin.to_path_buf(),
        problem,
    };
    if raw.runs.is_empty() {
        return Err(plan_error("the plan has no [[run]] tables".into()));
    }
    let mut names = HashSet::new();
    let mut runs = Vec::with_capacity(raw.runs.len());
    for (index, run) in raw.runs.into_iter().enumerate() {
        let run_error = |problem: String| PlanError::Run {
            path: origin.to_path_buf(),
            name: run.name.clone(),
            index: index + 1,
            problem,
        };
        if run.name.trim().is_empty() {
            return Err(run_error("name must not be empty".into()));
        }
        if !names.insert(run.name.to_ascii_lowercase()) {
            return Err(run_error("another run already has this name".into()));
        }
        let pick = |own: &Settings, defaults: &Settings| Settings {
            epochs: own.epochs.or(defaults.epochs),
            batch_size: own.batch_size.or(defaults.batch_size),
            learning_rate: own.learning_rate.or(defaults.learning_rate),
            seed: own.seed.or(defaults.seed),
            validation_split: own.validation_split.or(defaults.validation_split),
            device: own.device.or(defaults.device),
            precision: own.precision.or(defaults.precision),
            limit_train: own.limit_train.or(defaults.limit_train),
        };
        let settings = pick(&run.settings, &raw.defaults);
        let base = RunSpec::new(run.name.clone(), ModelSpec::from(run.model));
        let spec = RunSpec {
            label: run.label.clone(),
            epochs: settings.epochs.unwrap_or(base.epochs),
            batch_size: settings.batch_size.unwrap_or(base.batch_size),
            learning_rate: settings.learning_rate.unwrap_or(base.learning_rate),
            seed: settings.seed.unwrap_or(base.seed),
            validation_split: settings.validation_split.unwrap_or(base.validation_split),
            device: settings.device.unwrap_or(base.device),
            precision: settings.precision.unwrap_or(base.precision),
            limit_train: settings.limit_train,
            reference: run.reference.map(Reference::from),
            ..base
        };
        check_run(&spec).map_err(run_error)?;
        runs.push(spec);
    }
    Ok(Plan {
        name: name.to_string(),
        runs,
    })
}

/// Range checks that serde cannot express.
fn check_run(spec: &RunSpec) -> Result<(), String> {
    spec.model.validate().map_err(|error| error.to_string())?;
    if spec.epochs == 0 {
        return Err("epochs must be at least 1, found 0".into());
    }
    if spec.batch_size == 0 {
        return Err("batch_size must be at least 1, found 0".into());
    }
    if !(spec.learning_rate.is_finite() && spec.learning_rate > 0.0) {
        return Err(format!(
            "learning_rate must be a positive number, found {}",
            spec.learning_rate
        ));
    }
    // Validation drives the best checkpoint and the epoch lines: keep some.
    if !(spec.validation_split > 0.0 && spec.validation_split < 1.0) {
        return Err(format!(
            "validation_split must be between 0 and 1 (exclusive), found {}",
            spec.validation_split
        ));
    }
    if spec.limit_train == Some(0) {
        return Err("limit_train must be at least 1, found 0".into());
    }
    Ok(())
}

impl Plan {
    /// Only the runs named (case-insensitive), in plan order.
    pub fn only(&self, names: &[String]) -> Result<Plan, PlanError> {
        for name in names {
            if !self
                .runs
                .iter()
                .any(|run| run.name.eq_ignore_ascii_case(name.trim()))
            {
                return Err(PlanError::UnknownRun {
                    plan: self.name.clone(),
                    name: name.clone(),
                    available: self.runs.iter().map(|run| run.name.clone()).collect(),
                });
            }
        }
        let runs = self
            .runs
            .iter()
            .filter(|run| {
                names
                    .iter()
                    .any(|name| run.name.eq_ignore_ascii_case(name.trim()))
            })
            .cloned()
            .collect();
        Ok(Plan {
            name: self.name.clone(),
            runs,
        })
    }

    /// Every run with the given settings replaced.
    pub fn with_overrides(mut self, overrides: &Overrides) -> Plan {
        for run in &mut self.runs {
            run.epochs = overrides.epochs.unwrap_or(run.epochs);
            run.batch_size = overrides.batch_size.unwrap_or(run.batch_size);
            run.device = overrides.device.unwrap_or(run.device);
            run.precision = overrides.precision.unwrap_or(run.precision);
            run.limit_train = overrides.limit_train.or(run.limit_train);
        }
        self
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
        assert_eq!(error(""), "plans/mine.toml: the plan has no [[run]] tables");
        let message = error(&format!("{ONE_RUN}{}", ONE_RUN.replace("\"A\"", "\"a\"")));
        assert_eq!(
            message,
            "plans/mine.toml: run \"a\" (#2): another run already has this name"
        );
        let message = load_plan(Path::new("/nonexistent/plan.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("/nonexistent/plan.toml: cannot read the plan"),
            "{message}"
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
}
