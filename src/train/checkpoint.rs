//! Checkpoint files in a run folder, each written whole or not at all.
//!
//! `best.safetensors` and `final.safetensors` hold weights only, under the
//! network's variable names. `last.safetensors`, replaced after every
//! epoch, holds what a resumed run needs to continue exactly: the weights,
//! Adam's moments and step count, and the bookkeeping of the epochs done.
//! Every file is written to a temporary name in the same folder, fsync'd and
//! renamed over the old one, and the folder is fsync'd, so a crash or power
//! loss leaves either the previous checkpoint or the new one.

use std::{
    collections::BTreeMap,
    fs::File,
    path::{Path, PathBuf},
};

use tch::{nn::VarStore, Device, Kind, Tensor};
use thiserror::Error;

use super::{optimizer::Optimizer, state::StateError};
use crate::model::weights::WeightsError;

/// Weights of the epoch with the best validation accuracy.
pub const BEST_FILE: &str = "best.safetensors";
/// Weights after the last epoch.
pub const FINAL_FILE: &str = "final.safetensors";
/// Everything needed to resume after the last complete epoch.
pub const LAST_FILE: &str = "last.safetensors";

const EPOCHS_DONE: &str = "resume.epochs_done";
const BEST_ACCURACY: &str = "resume.best_val_accuracy";
const BEST_EPOCH: &str = "resume.best_epoch";
const SECONDS: &str = "resume.seconds";
const WITHIN_STEP: &str = "resume.within.step";
const WITHIN_LOSS_SUM: &str = "resume.within.loss_sum";
const WITHIN_CORRECT: &str = "resume.within.correct";
const WITHIN_SAMPLES: &str = "resume.within.samples";
const WITHIN_DROPOUT: &str = "resume.within.dropout_state";
const WITHIN_SECONDS: &str = "resume.within.seconds";

/// A checkpoint that could not be written or read back.
#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("{path}: cannot {action}: {problem}")]
    Io {
        path: PathBuf,
        action: &'static str,
        problem: String,
    },
    #[error("{path}: not a checkpoint of this run: {problem}")]
    Mismatch {
        path: PathBuf,
        problem: CheckpointProblem,
    },
}

/// What makes a file not a checkpoint of the run it is read for.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum CheckpointProblem {
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} should be one number")]
    NotOneNumber(&'static str),
    #[error("{0} is negative or too large")]
    OutOfRange(&'static str),
    #[error("{0} is negative")]
    Negative(&'static str),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    OptimizerState(#[from] StateError),
    #[error("{EPOCHS_DONE} is {done}, but the run has only {}", crate::units::count(*.epochs, "epoch"))]
    PastTheEnd { done: u32, epochs: u32 },
    #[error("{BEST_EPOCH} is {best}, after the {} done", crate::units::count(*.done, "epoch"))]
    BestAfterDone { best: u32, done: u32 },
    #[error("it holds a place inside epoch {}, but the run has only {}", .epochs + 1, crate::units::count(*.epochs, "epoch"))]
    PlaceAfterTheEnd { epochs: u32 },
    #[error("{WITHIN_STEP} is {step}, but an epoch of this run has {}", crate::units::count(*.steps, "step"))]
    StepPastTheEpoch { step: usize, steps: usize },
}

/// Where a run stands after its last complete epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResumePoint {
    pub epochs_done: u32,
    /// Best validation accuracy so far and its epoch.
    pub best: Option<(f64, u32)>,
    /// Training seconds spent so far, over every attempt.
    pub seconds: f64,
    /// Where the run stopped inside the next epoch, when it stopped mid-epoch.
    pub within: Option<MidEpoch>,
}

impl ResumePoint {
    /// Checks the point against the run it continues (`epochs` in all,
    /// `steps` in each): a point past its end would "resume" nothing and
    /// store the run as done with old results.
    pub fn check(&self, epochs: u32, steps: usize) -> Result<(), CheckpointProblem> {
        let done = self.epochs_done;
        if done > epochs {
            return Err(CheckpointProblem::PastTheEnd { done, epochs });
        }
        if let Some((_, best)) = self.best.filter(|&(_, best)| best > done) {
            return Err(CheckpointProblem::BestAfterDone { best, done });
        }
        match self.within {
            Some(_) if done == epochs => Err(CheckpointProblem::PlaceAfterTheEnd { epochs }),
            Some(within) if within.step >= steps => Err(CheckpointProblem::StepPastTheEpoch {
                step: within.step,
                steps,
            }),
            _ => Ok(()),
        }
    }
}

/// A place inside an epoch: the steps done and what they leave behind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MidEpoch {
    /// Steps of the epoch already taken.
    pub step: usize,
    /// The epoch's running sums: loss × images, correct predictions, images.
    pub loss_sum: f64,
    pub correct: i64,
    pub samples: usize,
    /// The dropout mask generator's state after those steps.
    pub dropout_state: u64,
    /// Seconds the epoch has run so far.
    pub seconds: f64,
}

/// Writes the weights of `store` to `path`.
pub fn save_weights(store: &VarStore, path: &Path) -> Result<(), CheckpointError> {
    let named: Vec<(String, Tensor)> = store.variables().into_iter().collect();
    write_atomically(&named, path)
}

/// Writes `last.safetensors` into `dir`: weights, optimizer and `point`.
pub fn save_last(
    dir: &Path,
    store: &VarStore,
    optimizer: &Optimizer,
    point: &ResumePoint,
) -> Result<(), CheckpointError> {
    let mut named: Vec<(String, Tensor)> = store.variables().into_iter().collect();
    named.extend(optimizer.state());
    let (best_accuracy, best_epoch) = point.best.unwrap_or((f64::NAN, 0));
    named.push((
        EPOCHS_DONE.into(),
        Tensor::from(i64::from(point.epochs_done)),
    ));
    named.push((BEST_ACCURACY.into(), Tensor::from(best_accuracy)));
    named.push((BEST_EPOCH.into(), Tensor::from(i64::from(best_epoch))));
    named.push((SECONDS.into(), Tensor::from(point.seconds)));
    if let Some(within) = &point.within {
        named.extend(within_tensors(within));
    }
    write_atomically(&named, &dir.join(LAST_FILE))
}

/// Restores `dir/last.safetensors` into `store` and `optimizer`; `None` when
/// the run has no such file (it stopped before its first epoch ended).
/// Everything is checked before anything is changed.
pub fn load_last(
    dir: &Path,
    store: &VarStore,
    optimizer: &mut Optimizer,
) -> Result<Option<ResumePoint>, CheckpointError> {
    let path = dir.join(LAST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let mismatch = |problem: CheckpointProblem| CheckpointError::Mismatch {
        path: path.clone(),
        problem,
    };
    let tensors: BTreeMap<String, Tensor> = Tensor::read_safetensors(&path)
        .map_err(|e| CheckpointError::Io {
            path: path.clone(),
            action: "read",
            problem: e.to_string(),
        })?
        .into_iter()
        .collect();
    let scalar = |key: &'static str| one_number(&tensors, key).map_err(mismatch);
    let epochs_done = u32::try_from(scalar(EPOCHS_DONE)?.int64_value(&[]))
        .map_err(|_| mismatch(CheckpointProblem::OutOfRange(EPOCHS_DONE)))?;
    let best_accuracy = scalar(BEST_ACCURACY)?.double_value(&[]);
    let best_epoch = u32::try_from(scalar(BEST_EPOCH)?.int64_value(&[]))
        .map_err(|_| mismatch(CheckpointProblem::OutOfRange(BEST_EPOCH)))?;
    let seconds = scalar(SECONDS)?.double_value(&[]);
    let within = if tensors.contains_key(WITHIN_STEP) {
        Some(read_within(&tensors).map_err(mismatch)?)
    } else {
        None
    };
    if let Some(problem) =
        crate::model::weights::mismatch(store, |name| tensors.get(name).map(Tensor::size))
    {
        return Err(mismatch(problem.into()));
    }
    let weights: Vec<(Tensor, &Tensor)> = store
        .variables()
        .into_iter()
        .filter_map(|(name, variable)| tensors.get(&name).map(|saved| (variable, saved)))
        .collect();
    optimizer
        .load_state(&tensors)
        .map_err(|error: StateError| mismatch(error.into()))?;
    tch::no_grad(|| {
        for (mut variable, saved) in weights {
            variable.copy_(&saved.to_kind(variable.kind()).to_device(variable.device()));
        }
    });
    Ok(Some(ResumePoint {
        epochs_done,
        best: (best_epoch > 0 && best_accuracy.is_finite()).then_some((best_accuracy, best_epoch)),
        seconds: if seconds.is_finite() { seconds } else { 0.0 },
        within,
    }))
}

fn within_tensors(within: &MidEpoch) -> Vec<(String, Tensor)> {
    let step = i64::try_from(within.step).unwrap_or(i64::MAX);
    let samples = i64::try_from(within.samples).unwrap_or(i64::MAX);
    vec![
        (WITHIN_STEP.into(), Tensor::from(step)),
        (WITHIN_LOSS_SUM.into(), Tensor::from(within.loss_sum)),
        (WITHIN_CORRECT.into(), Tensor::from(within.correct)),
        (WITHIN_SAMPLES.into(), Tensor::from(samples)),
        // The generator's 64 bits, kept exactly in an i64.
        (
            WITHIN_DROPOUT.into(),
            Tensor::from(i64::from_ne_bytes(within.dropout_state.to_ne_bytes())),
        ),
        (WITHIN_SECONDS.into(), Tensor::from(within.seconds)),
    ]
}

/// The one-number tensor stored under `key`.
fn one_number<'a>(
    tensors: &'a BTreeMap<String, Tensor>,
    key: &'static str,
) -> Result<&'a Tensor, CheckpointProblem> {
    match tensors.get(key) {
        Some(tensor) if tensor.numel() == 1 => Ok(tensor),
        Some(_) => Err(CheckpointProblem::NotOneNumber(key)),
        None => Err(CheckpointProblem::Missing(key)),
    }
}

/// The mid-epoch place, every key present and in range, or what is wrong.
fn read_within(tensors: &BTreeMap<String, Tensor>) -> Result<MidEpoch, CheckpointProblem> {
    let number = |key: &'static str| one_number(tensors, key);
    let count = |key: &'static str| -> Result<usize, CheckpointProblem> {
        usize::try_from(number(key)?.int64_value(&[])).map_err(|_| CheckpointProblem::Negative(key))
    };
    let seconds = number(WITHIN_SECONDS)?.double_value(&[]);
    let dropout_bits = number(WITHIN_DROPOUT)?.int64_value(&[]);
    Ok(MidEpoch {
        step: count(WITHIN_STEP)?,
        loss_sum: number(WITHIN_LOSS_SUM)?.double_value(&[]),
        correct: number(WITHIN_CORRECT)?.int64_value(&[]),
        samples: count(WITHIN_SAMPLES)?,
        dropout_state: u64::from_ne_bytes(dropout_bits.to_ne_bytes()),
        seconds: if seconds.is_finite() { seconds } else { 0.0 },
    })
}

/// Writes `named` to a temporary file beside `path`, fsyncs it, renames it
/// over `path` and fsyncs the folder.
fn write_atomically(named: &[(String, Tensor)], path: &Path) -> Result<(), CheckpointError> {
    let io = |action, error: &dyn std::fmt::Display| CheckpointError::Io {
        path: path.to_path_buf(),
        action,
        problem: error.to_string(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("checkpoint");
    let temporary = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    // Safetensors wants host tensors; CUDA ones are copied down once here.
    let host: Vec<(&str, Tensor)> = named
        .iter()
        .map(|(name, tensor)| (name.as_str(), host_copy(tensor)))
        .collect();
    let result = Tensor::write_safetensors(&host, &temporary)
        .map_err(|e| io("write", &e))
        .and_then(|()| {
            File::open(&temporary)
                .and_then(|file| file.sync_all())
                .map_err(|e| io("flush to disk", &e))
        })
        .and_then(|()| std::fs::rename(&temporary, path).map_err(|e| io("replace", &e)))
        .and_then(|()| {
            File::open(dir)
                .and_then(|folder| folder.sync_all())
                .map_err(|e| io("flush the folder of", &e))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

fn host_copy(tensor: &Tensor) -> Tensor {
    let tensor = tensor.detach();
    if tensor.device() == Device::Cpu {
        tensor
    } else {
        tensor.to_device(Device::Cpu)
    }
}

/// The size in bytes of the checkpoints of a model with `params` float
/// parameters: best and final weights, and the last checkpoint with Adam's
/// two moments; a temporary copy of the largest exists while it is replaced.
pub fn bytes_needed(params: u64) -> u64 {
    let weights = params.saturating_mul(Kind::Float.elt_size_in_bytes() as u64);
    weights.saturating_mul(2 + 3 + 3)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use tch::nn;

    use super::*;
    use crate::train::adam::{Adam, AdamConfig};

    const CONFIG: AdamConfig = AdamConfig::keras(1e-2);

    fn model(fill: f64) -> (VarStore, Tensor, Optimizer) {
        let store = VarStore::new(Device::Cpu);
        let weight = store.root().var("weight", &[3, 4], nn::Init::Const(fill));
        let optimizer = Adam::new(&store, CONFIG).into();
        (store, weight, optimizer)
    }

    #[test]
    fn last_round_trips_weights_optimizer_and_point() {
        let dir = tempfile::tempdir().unwrap();
        let (store, weight, mut optimizer) = model(0.5);
        optimizer.backward_step(&(&weight * &weight).sum(Kind::Float));
        let point = ResumePoint {
            epochs_done: 3,
            best: Some((0.875, 2)),
            seconds: 12.5,
            within: None,
        };
        save_last(dir.path(), &store, &optimizer, &point).unwrap();

        let (restored_store, restored_weight, mut restored_optimizer) = model(-1.0);
        let loaded = load_last(dir.path(), &restored_store, &mut restored_optimizer).unwrap();
        assert_eq!(loaded, Some(point));
        assert!(restored_weight.equal(&weight));
        assert_eq!(restored_optimizer.steps(), 1);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .filter(|name| name.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_mid_epoch_place_round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, optimizer) = model(0.5);
        let point = ResumePoint {
            epochs_done: 2,
            best: Some((0.5, 1)),
            seconds: 3.0,
            within: Some(MidEpoch {
                step: 17,
                loss_sum: 0.1 + 0.2,
                correct: 1234,
                samples: 17 * 32,
                dropout_state: u64::MAX - 5,
                seconds: 1.25,
            }),
        };
        save_last(dir.path(), &store, &optimizer, &point).unwrap();
        let (restored, _, mut restored_optimizer) = model(0.0);
        let loaded = load_last(dir.path(), &restored, &mut restored_optimizer).unwrap();
        assert_eq!(loaded, Some(point));
    }

    #[test]
    fn a_point_past_the_runs_end_is_refused() {
        let within = MidEpoch {
            step: 9,
            loss_sum: 0.0,
            correct: 0,
            samples: 0,
            dropout_state: 0,
            seconds: 0.0,
        };
        let point = |epochs_done, best, within| ResumePoint {
            epochs_done,
            best,
            seconds: 0.0,
            within,
        };
        assert_eq!(point(4, Some((0.9, 4)), None).check(4, 10), Ok(()));
        assert_eq!(point(2, None, Some(within)).check(4, 10), Ok(()));
        let refused = [
            point(7, None, None).check(4, 10),
            point(2, Some((0.9, 3)), None).check(4, 10),
            point(4, None, Some(within)).check(4, 10),
            point(2, None, Some(within)).check(4, 9),
        ];
        let problems: Vec<String> = refused
            .into_iter()
            .map(|refused| refused.unwrap_err().to_string())
            .collect();
        assert_eq!(
            problems,
            [
                "resume.epochs_done is 7, but the run has only 4 epochs",
                "resume.best_epoch is 3, after the 2 epochs done",
                "it holds a place inside epoch 5, but the run has only 4 epochs",
                "resume.within.step is 9, but an epoch of this run has 9 steps",
            ]
        );
    }

    #[test]
    fn no_checkpoint_means_start_from_scratch() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, mut optimizer) = model(0.0);
        assert_eq!(load_last(dir.path(), &store, &mut optimizer).unwrap(), None);
    }

    #[test]
    fn a_damaged_or_foreign_checkpoint_is_named_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(LAST_FILE),
            b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage",
        )
        .unwrap();
        let (store, weight, mut optimizer) = model(0.25);
        let message = load_last(dir.path(), &store, &mut optimizer)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("last.safetensors: cannot read"),
            "{message}"
        );

        let other = VarStore::new(Device::Cpu);
        let _ = other.root().var("weight", &[5], nn::Init::Const(1.0));
        let other_optimizer = Adam::new(&other, CONFIG).into();
        let point = ResumePoint {
            epochs_done: 1,
            best: None,
            seconds: 1.0,
            within: None,
        };
        save_last(dir.path(), &other, &other_optimizer, &point).unwrap();
        let message = load_last(dir.path(), &store, &mut optimizer)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("not a checkpoint of this run"),
            "{message}"
        );
        assert!(
            message.contains("[5]") && message.contains("[3, 4]"),
            "{message}"
        );
        assert!(weight.equal(&Tensor::full([3, 4], 0.25, (Kind::Float, Device::Cpu))));
    }

    #[test]
    fn a_failed_write_keeps_the_previous_file() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, _) = model(1.0);
        let path = dir.path().join(BEST_FILE);
        save_weights(&store, &path).unwrap();
        let before = fs::read(&path).unwrap();
        let missing = dir.path().join("gone").join(BEST_FILE);
        let message = save_weights(&store, &missing).unwrap_err().to_string();
        assert!(
            message.contains("gone/best.safetensors: cannot write"),
            "{message}"
        );
        assert_eq!(fs::read(&path).unwrap(), before);
    }
}
