//! One run's settings checked before anything trains: ranges serde cannot
//! express, names a terminal and a file system can take, and what the data
//! and the model allow.

use super::RunSpec;
use crate::model::{ModelSpec, Precision, SpecError};

/// The longest run name: its folder, `YYYYMMDD-HHMMSS-` + name (each
/// character one byte there) + a `-N` to tell apart runs of one second, must
/// stay under the 255 bytes file systems allow.
pub const MAX_NAME_CHARS: usize = 200;

/// A run setting out of its range, naming the key, what it takes and what it found.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SettingError {
    #[error(transparent)]
    Model(#[from] SpecError),
    #[error("{key} must be at least 1, found 0")]
    Zero { key: &'static str },
    #[error("{key} must be a positive number, found {found}")]
    NotPositive { key: &'static str, found: f64 },
    #[error("validation_split must be between 0 and 1 (exclusive), found {0}")]
    ValidationSplit(f64),
    #[error("{key} must be in [{low}, {high}{}, found {found}", if *.closed { "]" } else { ")" })]
    OutOfRange {
        key: &'static str,
        low: f64,
        high: f64,
        /// Whether `high` itself is allowed.
        closed: bool,
        found: f64,
    },
    #[error("{key} must be above 0, found 0")]
    NotAboveZero { key: &'static str },
    #[error("augment.crop must be at most 8 pixels, found {0}")]
    CropTooLarge(u32),
    #[error("{key} applies to optimizer = \"sgd\" only")]
    SgdOnly { key: &'static str },
    #[error(
        "{key} {text:?} holds a control character (an escape, a newline, …); names and labels \
         are printed to terminals, so they may not"
    )]
    ControlCharacter { key: &'static str, text: String },
    #[error(
        "name is {0} characters long, more than {MAX_NAME_CHARS}: a run's folder (its start \
         time, then its name) must fit the file system's 255 bytes"
    )]
    NameTooLong(usize),
    #[error(
        "limit_train is {limit}, more than the {available} training images Fashion-MNIST has \
         after validation_split {validation_split}; give at most {available}, or leave it out \
         for all"
    )]
    MoreThanTheData {
        limit: usize,
        available: usize,
        validation_split: f64,
    },
    #[error("precision: convnet models compute in fp32 only for now; found bf16")]
    Bf16ConvNet,
}

/// `value` within `[low, high)` (or `[low, high]` when `closed`).
pub(super) fn within(
    key: &'static str,
    value: f64,
    (low, high): (f64, f64),
    closed: bool,
) -> Result<(), SettingError> {
    let fits =
        value.is_finite() && value >= low && if closed { value <= high } else { value < high };
    if fits {
        Ok(())
    } else {
        Err(SettingError::OutOfRange {
            key,
            low,
            high,
            closed,
            found: value,
        })
    }
}

/// Range checks that serde cannot express.
pub(super) fn check_run(spec: &RunSpec) -> Result<(), SettingError> {
    spec.model.validate()?;
    if spec.epochs == 0 {
        return Err(SettingError::Zero { key: "epochs" });
    }
    if spec.batch_size == 0 {
        return Err(SettingError::Zero { key: "batch_size" });
    }
    if !(spec.learning_rate.is_finite() && spec.learning_rate > 0.0) {
        return Err(SettingError::NotPositive {
            key: "learning_rate",
            found: spec.learning_rate,
        });
    }
    // Validation drives the best checkpoint and the epoch lines: keep some.
    if !(spec.validation_split > 0.0 && spec.validation_split < 1.0) {
        return Err(SettingError::ValidationSplit(spec.validation_split));
    }
    for (key, text) in [("name", Some(&spec.name)), ("label", spec.label.as_ref())] {
        if let Some(text) = text.filter(|text| crate::edge::has_control(text)) {
            return Err(SettingError::ControlCharacter {
                key,
                text: text.clone(),
            });
        }
    }
    let name_chars = spec.name.chars().count();
    if name_chars > MAX_NAME_CHARS {
        return Err(SettingError::NameTooLong(name_chars));
    }
    if spec.limit_train == Some(0) {
        return Err(SettingError::Zero { key: "limit_train" });
    }
    let available = crate::data::split::keras_train_count(
        crate::data::verify::TRAIN_COUNT,
        spec.validation_split,
    );
    if let Some(limit) = spec.limit_train.filter(|&limit| limit > available) {
        return Err(SettingError::MoreThanTheData {
            limit,
            available,
            validation_split: spec.validation_split,
        });
    }
    if matches!(spec.model, ModelSpec::ConvNet { .. }) && spec.precision != Precision::Fp32 {
        return Err(SettingError::Bf16ConvNet);
    }
    spec.recipe.check(spec.epochs)
}

/// A margin of equivalence that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected accuracy points between 0 and 100 (exclusive, e.g. 0.5), found {0}")]
pub struct BadMargin(pub String);

/// A margin of equivalence in accuracy points: a share of 100 that is more than none.
pub fn check_margin(points: f64) -> Result<f64, BadMargin> {
    if points.is_finite() && points > 0.0 && points < 100.0 {
        Ok(points)
    } else {
        Err(BadMargin(points.to_string()))
    }
}

/// [`check_margin`] of a flag's text (`--margin 0.5`).
pub fn parse_margin(text: &str) -> Result<f64, BadMargin> {
    text.parse::<f64>()
        .ok()
        .and_then(|points| check_margin(points).ok())
        .ok_or_else(|| BadMargin(format!("{text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_are_points_between_none_and_all() {
        assert_eq!(parse_margin("0.5"), Ok(0.5));
        assert_eq!(check_margin(99.0), Ok(99.0));
        for bad in ["0", "100", "-1", "NaN", "inf", "half"] {
            let error = parse_margin(bad).unwrap_err().to_string();
            assert!(error.ends_with(&format!("found {bad:?}")), "{error}");
        }
    }
}
