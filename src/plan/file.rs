//! PLACEHOLDER: the TOML plan format; filled in by the plan work.
use std::path::Path;

use thiserror::Error;

use super::Plan;

/// The built-in plan, also shipped as an example file.
pub const SEED_PLAN_TOML: &str = "";

/// Errors in plan files.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("{0}")]
    Invalid(String),
}

pub fn parse_plan(_text: &str, _name: &str, _origin: &Path) -> Result<Plan, PlanError> {
    Err(PlanError::Invalid("not yet implemented".into()))
}

pub fn load_plan(path: &Path) -> Result<Plan, PlanError> {
    parse_plan("", "", path)
}

pub fn seed_plan() -> Plan {
    Plan {
        name: "seed".into(),
        runs: Vec::new(),
    }
}
