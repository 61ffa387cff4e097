//! Experiment plans: which runs to train, each with its model and settings.
//!
//! A plan is data: a TOML file (format in `assets/plans/seed.toml`, which is
//! also the built-in `seed` plan reproducing the original notebook).

mod alerts;
mod check;
mod device;
pub mod file;
pub mod group;
pub mod recipe;
pub mod settings;
pub mod sweep;
pub mod workers;

use serde::{Deserialize, Serialize};

use crate::model::{ModelSpec, Precision};

pub use alerts::{AlertSettings, AlertsError};
pub use check::{parse_margin, BadMargin, SettingError};
pub use device::{DeviceError, DevicePref};
pub use file::{
    beyond_plan, builtin_plan, builtin_runs, load_plan, parse_plan, seed_plan, Overrides,
    PlanError, BEYOND_PLAN_TOML, BUILTIN_PLANS, SEED_PLAN_TOML,
};
pub use group::Group;
pub use recipe::{Augment, OptimizerKind, Recipe, Schedule};
pub use settings::Differences;
pub use sweep::{SweepLimit, DEFAULT_MAX_RUNS, MAX_SEEDS};
pub use workers::{Jobs, Workers};

/// A named list of runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `seed` for the built-in plan, else the file's stem.
    pub name: String,
    pub runs: Vec<RunSpec>,
    /// Each sweep's `max_runs`, for [`Plan::check_size`].
    #[serde(default)]
    pub limits: Vec<SweepLimit>,
    /// How many runs train at once (`[workers]`), unless the command line says.
    #[serde(default)]
    pub workers: Workers,
    /// The alert rules' thresholds (`[alerts]`), unless the command line says.
    #[serde(default)]
    pub alerts: AlertSettings,
}

/// Everything needed to train one model, with every default filled in.
///
/// Stored in every `run.json` and `Queued` event, so it reads fields it does
/// not know (a newer version's); plan files are checked for typos by their
/// own types in [`file`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Short id within the plan, e.g. `M1`.
    pub name: String,
    /// The original notebook's label, e.g. `CNN [64,32,16]`, shown beside the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub model: ModelSpec,
    pub epochs: u32,
    pub batch_size: u32,
    pub learning_rate: f64,
    pub seed: u64,
    /// Fraction of the training file held out for validation, from its end.
    pub validation_split: f64,
    pub device: DevicePref,
    /// fp32, or bf16 mixed precision (faster, slightly less accurate).
    #[serde(default, skip_serializing_if = "Precision::is_fp32")]
    pub precision: Precision,
    /// Train on only the first N images of the training split (quick runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_train: Option<usize>,
    /// What the original notebook reported for this model, for comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// The readable name of the run's group (`M2 lr=3e-4`) when a sweep or
    /// `--seeds` made it; see [`RunSpec::group`] for the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The plan's sweep that made this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<String>,
    /// The practical margin (accuracy points) its sweep's plan gave, for reading the sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// Optimizer, schedule, augmentation…: the original's unless the plan says.
    #[serde(default, skip_serializing_if = "Recipe::is_original")]
    pub recipe: Recipe,
}

/// Published results to compare a run with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub test_accuracy: f64,
    pub test_loss: f64,
}

impl RunSpec {
    /// A run with the original notebook's settings: 15 epochs, batch 32,
    /// Adam at 1e-3, seed 42, the last 20% held out, device `auto`.
    pub fn new(name: impl Into<String>, model: ModelSpec) -> Self {
        Self {
            name: name.into(),
            label: None,
            model,
            epochs: 15,
            batch_size: 32,
            learning_rate: 1e-3,
            seed: 42,
            validation_split: 0.2,
            device: DevicePref::Auto,
            precision: Precision::Fp32,
            limit_train: None,
            reference: None,
            group: None,
            sweep: None,
            margin: None,
            recipe: Recipe::default(),
        }
    }

    /// `M1 · CNN [64,32,16]`, or the name alone when there is no label;
    /// ` · bf16` after it when the run computes in bf16.
    pub fn title(&self) -> String {
        let title = match &self.label {
            Some(label) => format!("{} · {label}", self.name),
            None => self.name.clone(),
        };
        match self.precision {
            Precision::Fp32 => title,
            Precision::Bf16 => format!("{title} · bf16"),
        }
    }
}
