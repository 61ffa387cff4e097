//! A plan's `[alerts]` table: the thresholds of the alert rules for its
//! runs, where the defaults do not fit (a long plateau is normal for a
//! run with a long warm-up; a slow validation pass on a big model looks
//! like a stall). Flags override them; unset keys keep the defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The thresholds a plan sets; `None` keeps the default (or the flag's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertSettings {
    pub stall_after: Option<Duration>,
    pub diverge_factor: Option<f64>,
    pub diverge_steps: Option<u64>,
    pub plateau_epochs: Option<u32>,
}

/// The `[alerts]` table as a plan file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    /// A duration as people write it: `"10m"`, `"90s"`.
    stall_after: Option<String>,
    diverge_factor: Option<f64>,
    diverge_steps: Option<u64>,
    plateau_epochs: Option<u32>,
}

/// An `[alerts]` value out of range.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum AlertsError {
    #[error(
        "[alerts] stall_after: expected a duration such as \"10m\", found {found:?} ({problem})"
    )]
    StallAfter { found: String, problem: String },
    #[error("[alerts] diverge_factor: expected a number above 1, found {0}")]
    DivergeFactor(f64),
    #[error("[alerts] diverge_steps: expected 1 or more, found 0")]
    DivergeSteps,
    #[error("[alerts] plateau_epochs: expected 1 or more, found 0")]
    PlateauEpochs,
}

impl RawAlerts {
    pub(crate) fn resolve(self) -> Result<AlertSettings, AlertsError> {
        let stall_after = self
            .stall_after
            .map(|text| {
                humantime::parse_duration(&text).map_err(|error| AlertsError::StallAfter {
                    found: text.clone(),
                    problem: error.to_string(),
                })
            })
            .transpose()?;
        if let Some(factor) = self.diverge_factor.filter(|k| !(k.is_finite() && *k > 1.0)) {
            return Err(AlertsError::DivergeFactor(factor));
        }
        if self.diverge_steps == Some(0) {
            return Err(AlertsError::DivergeSteps);
        }
        if self.plateau_epochs == Some(0) {
            return Err(AlertsError::PlateauEpochs);
        }
        Ok(AlertSettings {
            stall_after,
            diverge_factor: self.diverge_factor,
            diverge_steps: self.diverge_steps,
            plateau_epochs: self.plateau_epochs,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::plan::parse_plan;

    const RUN: &str = "[[run]]\nname = \"M1\"\nmodel = { kind = \"mlp\", hidden = [8] }\n";

    fn parse(alerts: &str) -> Result<AlertSettings, String> {
        parse_plan(
            &format!("{RUN}\n[alerts]\n{alerts}"),
            "p",
            Path::new("p.toml"),
        )
        .map(|plan| plan.alerts)
        .map_err(|error| error.to_string())
    }

    #[test]
    fn a_plan_sets_the_thresholds_it_names_and_keeps_the_others() {
        let settings = parse("stall_after = \"10m\"\nplateau_epochs = 8").unwrap();
        assert_eq!(
            settings,
            AlertSettings {
                stall_after: Some(Duration::from_secs(600)),
                plateau_epochs: Some(8),
                ..AlertSettings::default()
            }
        );
        let none = parse_plan(RUN, "p", Path::new("p.toml")).unwrap();
        assert_eq!(none.alerts, AlertSettings::default());
    }

    #[test]
    fn bad_thresholds_name_the_key_and_what_was_found() {
        for (text, expected) in [
            (
                "stall_after = \"soon\"",
                "[alerts] stall_after: expected a duration such as \"10m\", found \"soon\"",
            ),
            (
                "diverge_factor = 0.5",
                "[alerts] diverge_factor: expected a number above 1, found 0.5",
            ),
            (
                "diverge_steps = 0",
                "[alerts] diverge_steps: expected 1 or more",
            ),
            (
                "plateau_epochs = 0",
                "[alerts] plateau_epochs: expected 1 or more",
            ),
            ("bell = true", "unknown field `bell`"),
        ] {
            let message = parse(text).unwrap_err();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains("p.toml"), "{message}");
        }
    }
}
