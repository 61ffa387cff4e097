//! One run's settings checked before anything trains: ranges serde cannot
//! express, names a terminal and a file system can take, and what the data
//! and the model allow.

use super::RunSpec;
use crate::model::{ModelSpec, Precision};

/// The longest run name: its folder, `YYYYMMDD-HHMMSS-` + name (each
/// character one byte there) + a `-N` to tell apart runs of one second, must
/// stay under the 255 bytes file systems allow.
pub const MAX_NAME_CHARS: usize = 200;

/// Range checks that serde cannot express.
pub(super) fn check_run(spec: &RunSpec) -> Result<(), String> {
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
    for (key, text) in [("name", Some(&spec.name)), ("label", spec.label.as_ref())] {
        if text.is_some_and(|text| crate::edge::has_control(text)) {
            return Err(format!(
                "{key} {:?} holds a control character (an escape, a newline, …); \
                 names and labels are printed to terminals, so they may not",
                text.map_or("", String::as_str)
            ));
        }
    }
    let name_chars = spec.name.chars().count();
    if name_chars > MAX_NAME_CHARS {
        return Err(format!(
            "name is {name_chars} characters long, more than {MAX_NAME_CHARS}: a run's folder \
             (its start time, then its name) must fit the file system's 255 bytes"
        ));
    }
    if spec.limit_train == Some(0) {
        return Err("limit_train must be at least 1, found 0".into());
    }
    let available = crate::data::split::keras_train_count(
        crate::data::verify::TRAIN_COUNT,
        spec.validation_split,
    );
    if let Some(limit) = spec.limit_train.filter(|&limit| limit > available) {
        return Err(format!(
            "limit_train is {limit}, more than the {available} training images Fashion-MNIST \
             has after validation_split {}; give at most {available}, or leave it out for all",
            spec.validation_split
        ));
    }
    if matches!(spec.model, ModelSpec::ConvNet { .. }) && spec.precision != Precision::Fp32 {
        return Err("precision: convnet models compute in fp32 only for now; found bf16".into());
    }
    spec.recipe.check(spec.epochs)
}
