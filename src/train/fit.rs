//! The training loop of one run, Keras' `fit` on tch: epochs of steps
//! ([`super::epoch`], [`super::step`]), validation after each epoch and the
//! test set after the last ([`super::evaluate`]), checkpoints, and events
//! for whoever supervises the run.
//!
//! What a step does is the run's recipe (`plan::Recipe`): by default the
//! original's (Glorot init, Adam with Keras' betas and epsilon, mean sparse
//! categorical cross-entropy, a fresh seeded shuffle each epoch, dropout
//! only while training); a recipe may change the optimizer, the
//! learning-rate schedule, label smoothing and augmentation, and add a
//! test-time flipped pass.

use std::{path::Path, time::Instant};

use thiserror::Error;

use super::{
    augment,
    checkpoint::{self, CheckpointError, MidEpoch, ResumePoint},
    device::device_name,
    epoch::{augment_seed, epoch_seed, shuffled, Meter},
    evaluate::{evaluate, evaluate_flipped, evaluate_with_predictions, PredictionsError},
    step::{train_step, Model},
    tensors::DeviceData,
};
use crate::{
    model::SpecError,
    plan::RunSpec,
    protocol::{Event, Phase, RunId},
};

/// Whether the loop should go on, asked between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Stop now; the epoch in progress is redone when the run continues.
    Stop,
    /// Save the place inside the epoch, then stop: a continue starts there.
    Suspend,
}

/// What `fit` talks to: where its events go and who may stop it.
pub trait Supervisor {
    /// Reports an event (to the store, the UI, a log).
    fn emit(&mut self, event: Event);
    /// Called between steps; may block while the run is paused.
    fn poll(&mut self) -> Flow;
}

/// How a run ended, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitOutcome {
    Finished,
    Cancelled {
        epochs_done: u32,
    },
    /// Stopped after `step` steps of epoch `epochs_done + 1`, that place saved.
    Suspended {
        epochs_done: u32,
        step: usize,
    },
}

/// Why a run failed.
#[derive(Debug, Error)]
pub enum FitError {
    #[error("invalid model: {0}")]
    Spec(#[from] SpecError),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("checkpoint {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error(
        "need at least one epoch, batch and training image; found epochs {epochs}, batch size \
         {batch_size}, {images} images"
    )]
    Empty {
        epochs: u32,
        batch_size: u32,
        images: usize,
    },
    #[error(transparent)]
    Predictions(#[from] PredictionsError),
    #[error("cannot save the test predictions: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error(
        "training diverged: the loss became {loss} in epoch {epoch} by step {step}; \
         try a lower learning_rate"
    )]
    Diverged { epoch: u32, step: usize, loss: f64 },
}

/// How a run begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From freshly initialised weights.
    Fresh,
    /// From the run folder's `last.safetensors` (from scratch when the run
    /// never finished an epoch).
    Resume,
}

/// Trains `spec` on `data`, emitting events as it goes. With a run folder,
/// checkpoints go there (`best`, `final`, and `last` after every epoch, see
/// [`checkpoint`]) and `Start::Resume` continues from `last`.
pub fn fit(
    run: &RunId,
    spec: &RunSpec,
    data: &DeviceData,
    checkpoints: Option<&Path>,
    start: Start,
    supervisor: &mut dyn Supervisor,
) -> Result<FitOutcome, FitError> {
    check_settings(spec, data)?;
    let mut training = RunInProgress::begin(run, spec, data, checkpoints, start, supervisor)?;
    for epoch in training.resumed_after + 1..=spec.epochs {
        let within = training.within.take();
        let epoch_started = Instant::now();
        let (train_loss, train_accuracy) = match training.train_epoch(epoch, within, supervisor)? {
            PassEnd::Done(means) => means,
            PassEnd::Stopped => {
                return Ok(FitOutcome::Cancelled {
                    epochs_done: epoch - 1,
                })
            }
            PassEnd::Suspended { step } => {
                return Ok(FitOutcome::Suspended {
                    epochs_done: epoch - 1,
                    step,
                })
            }
        };
        let seconds_before = within.map_or(0.0, |within| within.seconds);
        training.end_epoch(
            epoch,
            seconds_before + epoch_started.elapsed().as_secs_f64(),
            (train_loss, train_accuracy),
            supervisor,
        )?;
    }
    training.finish(supervisor)?;
    Ok(FitOutcome::Finished)
}

fn check_settings(spec: &RunSpec, data: &DeviceData) -> Result<(), FitError> {
    if spec.batch_size < 1 || spec.epochs < 1 || data.train.is_empty() {
        return Err(FitError::Empty {
            epochs: spec.epochs,
            batch_size: spec.batch_size,
            images: data.train.len(),
        });
    }
    Ok(())
}

/// How a pass over the training split ended.
enum PassEnd {
    /// Every step was taken: the epoch's mean loss and accuracy.
    Done((f64, f64)),
    /// Stopped on request; the partial epoch is dropped.
    Stopped,
    /// Stopped after `step` steps, with that place saved.
    Suspended { step: usize },
}

/// One run in progress: its model, where it stands, where it writes.
struct RunInProgress<'a> {
    run: &'a RunId,
    spec: &'a RunSpec,
    data: &'a DeviceData,
    checkpoints: Option<&'a Path>,
    model: Model,
    resumed_after: u32,
    /// Where to start inside the first epoch, when resuming mid-epoch.
    within: Option<MidEpoch>,
    /// Best validation accuracy so far and its epoch.
    best: Option<(f64, u32)>,
    /// Training time before this process took the run over (a resume).
    seconds_before: f64,
    started: Instant,
    steps: usize,
    /// The rate of the latest step.
    learning_rate: f64,
}

impl<'a> RunInProgress<'a> {
    /// Builds the model (from the last checkpoint when resuming) and
    /// announces the run.
    fn begin(
        run: &'a RunId,
        spec: &'a RunSpec,
        data: &'a DeviceData,
        checkpoints: Option<&'a Path>,
        start: Start,
        supervisor: &mut dyn Supervisor,
    ) -> Result<Self, FitError> {
        let device = data.key.device;
        supervisor.emit(Event::Phase {
            run: run.clone(),
            phase: Phase::BuildingModel,
        });
        super::allocator::keep_freed_memory();
        super::denormals::flush();
        tch::manual_seed(spec.seed as i64);
        let mut model = Model::build(spec, device)?;
        let steps = data.train.len().div_ceil(spec.batch_size as usize);
        let resumed = match (start, checkpoints) {
            (Start::Resume, Some(dir)) => {
                let point = checkpoint::load_last(dir, &model.store, &mut model.optimizer)?;
                if let Some(problem) = point.and_then(|p| p.check(spec.epochs, steps).err()) {
                    return Err(checkpoint::CheckpointError::Mismatch {
                        path: dir.join(checkpoint::LAST_FILE),
                        problem,
                    }
                    .into());
                }
                point
            }
            _ => None,
        };
        let point = resumed.unwrap_or(ResumePoint {
            epochs_done: 0,
            best: None,
            seconds: 0.0,
            within: None,
        });
        supervisor.emit(Event::Phase {
            run: run.clone(),
            phase: Phase::WarmingUp,
        });
        supervisor.emit(Event::Started {
            run: run.clone(),
            device: device_name(device),
            params: spec.model.param_count()?,
            train_samples: data.train.len(),
            validation_samples: data.validation.len(),
            steps_per_epoch: steps,
            epochs: spec.epochs,
            resumed_after: point.epochs_done,
            resumed_at_step: point.within.map_or(0, |within| within.step),
        });
        Ok(Self {
            run,
            spec,
            data,
            checkpoints,
            model,
            resumed_after: point.epochs_done,
            within: point.within,
            best: point.best,
            seconds_before: point.seconds,
            started: Instant::now(),
            steps,
            learning_rate: spec.learning_rate,
        })
    }

    /// Training seconds over every process that worked on the run.
    fn total_seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }

    /// One pass over the shuffled training split, from the start or from
    /// `within` it; stops or suspends when the supervisor says so.
    fn train_epoch(
        &mut self,
        epoch: u32,
        within: Option<MidEpoch>,
        supervisor: &mut dyn Supervisor,
    ) -> Result<PassEnd, FitError> {
        let (spec, device) = (self.spec, self.data.key.device);
        let epoch_started = Instant::now();
        // Dropout draws from its own generator (libtorch's off the CPU);
        // reseeding both per epoch makes every epoch reproducible on its
        // own, which is what lets a resumed run continue exactly as an
        // uninterrupted one. Mid-epoch, the generator goes on from where
        // the saved steps left it.
        tch::manual_seed(epoch_seed(spec.seed, epoch) as i64);
        self.model.net.reseed_dropout(epoch_seed(spec.seed, epoch));
        let (images, labels) = shuffled(&self.data.train, spec.seed, epoch, device);
        let samples = self.data.train.len() as i64;
        let batch = i64::from(spec.batch_size);
        let mut meter = Meter::new(device);
        if let Some(within) = &within {
            meter.restore(within);
            self.model.net.set_dropout_state(within.dropout_state);
        }
        let first = within.map_or(0, |within| within.step);
        for step in first..self.steps {
            match supervisor.poll() {
                Flow::Continue => {}
                Flow::Stop => return Ok(PassEnd::Stopped),
                Flow::Suspend => {
                    let seconds_before = within.map_or(0.0, |within| within.seconds);
                    let seconds = seconds_before + epoch_started.elapsed().as_secs_f64();
                    return self.suspend(epoch, step, &meter, seconds, supervisor);
                }
            }
            let start = step as i64 * batch;
            let len = batch.min(samples - start);
            let batch_labels = labels.narrow(0, start, len);
            let recipe = &spec.recipe;
            // The rate and the augmentation are functions of the step, so
            // a resumed run takes them up where it stopped.
            let run_step = (epoch as usize - 1) * self.steps + step;
            let learning_rate = recipe.schedule.learning_rate(
                spec.learning_rate,
                run_step,
                self.steps,
                self.steps * spec.epochs as usize,
            );
            self.model.optimizer.set_learning_rate(learning_rate);
            self.learning_rate = learning_rate;
            let batch_images = augment::augment(
                &images.narrow(0, start, len),
                &recipe.augment,
                augment_seed(spec.seed, epoch, step),
            );
            let (loss, logits) = train_step(
                &self.model.net,
                &mut self.model.optimizer,
                &batch_images,
                &batch_labels,
                recipe.label_smoothing,
            );
            meter.add(&loss, &logits, &batch_labels, len);
            if step + 1 == self.steps || meter.due() {
                self.report_progress(epoch, step + 1, &mut meter, epoch_started, supervisor)?;
            }
        }
        let (loss, accuracy, _, _) = meter.read();
        Ok(PassEnd::Done((loss, accuracy)))
    }

    /// Saves the place after `step` steps of `epoch` into `last` (nothing
    /// to save without a run folder: the run is simply stopped).
    fn suspend(
        &self,
        epoch: u32,
        step: usize,
        meter: &Meter,
        seconds: f64,
        supervisor: &mut dyn Supervisor,
    ) -> Result<PassEnd, FitError> {
        let Some(dir) = self.checkpoints else {
            return Ok(PassEnd::Stopped);
        };
        let point = ResumePoint {
            epochs_done: epoch - 1,
            best: self.best,
            seconds: self.total_seconds(),
            within: Some(meter.mid_epoch(step, self.model.net.dropout_state(), seconds)),
        };
        checkpoint::save_last(dir, &self.model.store, &self.model.optimizer, &point)?;
        supervisor.emit(Event::Checkpointed {
            run: self.run.clone(),
            epoch,
            step,
            steps: self.steps,
        });
        Ok(PassEnd::Suspended { step })
    }

    /// A progress event from the meter's sums, or the divergence error.
    fn report_progress(
        &self,
        epoch: u32,
        step: usize,
        meter: &mut Meter,
        epoch_started: Instant,
        supervisor: &mut dyn Supervisor,
    ) -> Result<(), FitError> {
        let (loss, accuracy, recent_loss, recent_accuracy) = meter.read();
        // JSON has no NaN or infinity, and nothing useful follows them.
        if !loss.is_finite() {
            return Err(FitError::Diverged { epoch, step, loss });
        }
        let elapsed = epoch_started.elapsed().as_secs_f64();
        supervisor.emit(Event::Progress {
            run: self.run.clone(),
            epoch,
            step,
            steps: self.steps,
            loss,
            accuracy,
            recent_loss,
            recent_accuracy,
            samples_per_sec: meter.samples as f64 / elapsed.max(1e-9),
            elapsed_secs: self.total_seconds(),
            // Logged only where a schedule moves it; the original's is in its spec.
            learning_rate: (!self.spec.recipe.schedule.is_constant()).then_some(self.learning_rate),
        });
        Ok(())
    }

    /// Validation, the best checkpoint, the epoch's log line, then `last`.
    fn end_epoch(
        &mut self,
        epoch: u32,
        seconds: f64,
        (train_loss, train_accuracy): (f64, f64),
        supervisor: &mut dyn Supervisor,
    ) -> Result<(), FitError> {
        let validation_started = Instant::now();
        let validation = evaluate(&self.model.net, &self.data.validation);
        if self
            .best
            .is_none_or(|(accuracy, _)| validation.accuracy > accuracy)
        {
            self.best = Some((validation.accuracy, epoch));
            if let Some(dir) = self.checkpoints {
                checkpoint::save_weights(&self.model.store, &dir.join(checkpoint::BEST_FILE))?;
            }
        }
        // The log first: should the process die before `last` is replaced,
        // resuming redoes this epoch (to the same numbers) and its second
        // `EpochEnd` replaces the first.
        supervisor.emit(Event::EpochEnd {
            run: self.run.clone(),
            epoch,
            epochs: self.spec.epochs,
            train_loss,
            train_accuracy,
            val_loss: validation.loss,
            val_accuracy: validation.accuracy,
            // Validation included, as Keras counts it.
            seconds: seconds + validation_started.elapsed().as_secs_f64(),
        });
        if let Some(dir) = self.checkpoints {
            let point = ResumePoint {
                epochs_done: epoch,
                best: self.best,
                seconds: self.total_seconds(),
                within: None,
            };
            checkpoint::save_last(dir, &self.model.store, &self.model.optimizer, &point)?;
        }
        Ok(())
    }

    /// The final weights, the test set (predictions saved before the
    /// result is logged, so whoever sees it can open its images), the end.
    fn finish(self, supervisor: &mut dyn Supervisor) -> Result<(), FitError> {
        if let Some(dir) = self.checkpoints {
            checkpoint::save_weights(&self.model.store, &dir.join(checkpoint::FINAL_FILE))?;
        }
        supervisor.emit(Event::Phase {
            run: self.run.clone(),
            phase: Phase::Evaluating,
        });
        let (test, predictions) = evaluate_with_predictions(&self.model.net, &self.data.test)?;
        if let Some(dir) = self.checkpoints {
            predictions.save(dir)?;
        }
        supervisor.emit(Event::Evaluated {
            run: self.run.clone(),
            test_loss: test.loss,
            test_accuracy: test.accuracy,
            confusion: Box::new(test.confusion),
        });
        if self.spec.recipe.tta_flip {
            let flipped = evaluate_flipped(&self.model.net, &self.data.test);
            supervisor.emit(Event::FlipEvaluated {
                run: self.run.clone(),
                test_loss: flipped.loss,
                test_accuracy: flipped.accuracy,
            });
        }
        let (best_val_accuracy, best_epoch) = self.best.unwrap_or((0.0, 0));
        supervisor.emit(Event::Finished {
            run: self.run.clone(),
            seconds: self.total_seconds(),
            best_val_accuracy,
            best_epoch,
        });
        Ok(())
    }
}
