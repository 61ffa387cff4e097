//! Which plan a session trains: a built-in plan or a file, some of its
//! runs, the command line's changes applied, every run checked again, and
//! the data and the run store found, all before anything starts.

use std::path::Path;

use super::SessionError;
use crate::{
    data::{self, DataSource},
    plan::{self, Overrides, Plan},
    store::RunStore,
    train::ResolveDevice,
};

/// Which plan, which of its runs, and what the command line changes.
#[derive(Clone, Debug, Default)]
pub struct PlanChoice {
    /// `seed` or `beyond` (built in), or a plan file.
    pub plan: String,
    /// Runs, groups or sweeps by name; all when empty.
    pub only: Vec<String>,
    pub overrides: Overrides,
    /// A plan that expands beyond its `max_runs` is meant (`--yes`).
    pub confirmed: bool,
}

impl PlanChoice {
    /// The plan with `only` and the overrides applied, its runs and size checked.
    pub fn resolve(&self) -> Result<Plan, SessionError> {
        let plan = match plan::builtin_plan(&self.plan) {
            Some(plan) => plan,
            None => plan::load_plan(Path::new(&self.plan))?,
        };
        let plan = if self.only.is_empty() {
            plan
        } else {
            plan.only(&self.only)?
        };
        let plan = plan.with_overrides(&self.overrides);
        plan.check_runs()?;
        plan.check_size(self.confirmed)?;
        Ok(plan)
    }
}

/// What a session needs, each checked before anything starts.
#[derive(Debug)]
pub struct Prepared {
    pub plan: Plan,
    pub source: DataSource,
    pub store: RunStore,
}

/// The plan (its devices too), the dataset's location and the run store.
pub fn prepare(
    choice: &PlanChoice,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> Result<Prepared, SessionError> {
    let plan = choice.resolve()?;
    for spec in &plan.runs {
        spec.device
            .resolve()
            .map_err(|error| SessionError::Device {
                run: spec.name.clone(),
                error,
            })?;
    }
    Ok(Prepared {
        plan,
        source: data::discover(data_dir)?,
        store: RunStore::resolve(runs_dir)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_applies_only_and_overrides_and_checks_the_size() {
        let choice = PlanChoice {
            plan: "seed".into(),
            only: vec!["M1".into()],
            overrides: Overrides {
                epochs: Some(2),
                seeds: Some(3),
                ..Overrides::default()
            },
            confirmed: false,
        };
        let plan = choice.resolve().unwrap();
        assert_eq!(plan.runs.len(), 3);
        assert!(plan.runs.iter().all(|run| run.epochs == 2));
        let error = PlanChoice {
            plan: "no-such-plan.toml".into(),
            ..PlanChoice::default()
        }
        .resolve()
        .unwrap_err();
        assert!(error.to_string().contains("no-such-plan.toml"), "{error}");
        let too_many = PlanChoice {
            plan: "seed".into(),
            overrides: Overrides {
                seeds: Some(10),
                ..Overrides::default()
            },
            ..PlanChoice::default()
        };
        assert!(too_many.resolve().is_err(), "60 runs need --yes");
        let confirmed = PlanChoice {
            confirmed: true,
            ..too_many
        };
        assert_eq!(confirmed.resolve().unwrap().runs.len(), 60);
    }
}
