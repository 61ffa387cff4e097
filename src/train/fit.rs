//! The training loop of one run: Keras' `fit` and `evaluate`, on tch.
//!
//! By default faithful to the original: Glorot init (see `model::init`),
//! Adam with Keras' defaults, mean sparse categorical cross-entropy, a
//! fresh seeded shuffle each epoch, dropout only while training, validation
//! after each epoch and the test set after the last. A run's recipe
//! (`plan::Recipe`) may change the optimizer, the learning-rate schedule,
//! label smoothing and augmentation, and add a test-time flipped pass.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use tch::{
    nn::{self, ModuleT},
    Device, Kind, Tensor,
};
use thiserror::Error;

use super::{
    augment,
    checkpoint::{self, CheckpointError, MidEpoch, ResumePoint},
    device::device_name,
    optimizer::Optimizer,
    tensors::{DeviceData, Pair},
};
use crate::{
    data::NUM_CLASSES,
    model::{Net, SpecError},
    plan::RunSpec,
    protocol::{ConfusionMatrix, Event, Phase, RunId},
    store::Predictions,
};

/// At most this many progress events a second; each costs one device readback.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);
/// Images per forward pass when evaluating (no gradients, so larger is fine).
const EVAL_BATCH: i64 = 1000;

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
    #[error("{0}")]
    Settings(String),
    #[error("cannot save the test predictions: {0}")]
    Predictions(#[from] crate::store::StoreError),
    #[error(
        "training diverged: the loss became {loss} in epoch {epoch} by step {step}; \
         try a lower learning_rate"
    )]
    Diverged { epoch: u32, step: usize, loss: f64 },
}

/// Loss, accuracy and confusion matrix of one pass over a split.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
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
            EpochEnd::Done(means) => means,
            EpochEnd::Stopped => {
                return Ok(FitOutcome::Cancelled {
                    epochs_done: epoch - 1,
                })
            }
            EpochEnd::Suspended { step } => {
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
        return Err(FitError::Settings(format!(
            "need at least one epoch, batch and training image; found epochs {}, batch size {}, {} images",
            spec.epochs,
            spec.batch_size,
            data.train.len()
        )));
    }
    Ok(())
}

/// How a pass over the training split ended.
enum EpochEnd {
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
    ) -> Result<EpochEnd, FitError> {
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
                Flow::Stop => return Ok(EpochEnd::Stopped),
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
        Ok(EpochEnd::Done((loss, accuracy)))
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
    ) -> Result<EpochEnd, FitError> {
        let Some(dir) = self.checkpoints else {
            return Ok(EpochEnd::Stopped);
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
        Ok(EpochEnd::Suspended { step })
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

/// A network with its variables and its optimizer.
pub struct Model {
    pub store: nn::VarStore,
    pub net: Net,
    pub optimizer: Optimizer,
}

impl Model {
    /// Builds the run's model on `device`, computing in its precision, with
    /// its recipe's optimizer (the original's: Adam with Keras' betas and
    /// epsilon) at its learning rate.
    pub fn build(spec: &RunSpec, device: Device) -> Result<Self, FitError> {
        let store = nn::VarStore::new(device);
        let mut net = Net::new(&store.root(), &spec.model)?;
        net.set_precision(spec.precision);
        let optimizer = Optimizer::new(&store, &spec.recipe, spec.learning_rate);
        Ok(Self {
            store,
            net,
            optimizer,
        })
    }
}

/// One optimisation step on a batch; returns the batch's mean loss (with
/// `label_smoothing`, against the smoothed targets) and its logits.
pub fn train_step(
    net: &Net,
    optimizer: &mut Optimizer,
    images: &Tensor,
    labels: &Tensor,
    label_smoothing: f64,
) -> (Tensor, Tensor) {
    let logits = net.forward_t(images, true);
    let loss = training_loss(&logits, labels, label_smoothing);
    optimizer.backward_step(&loss);
    (loss, logits)
}

/// Mean cross-entropy; with smoothing, against targets that give
/// `smoothing / 10` to every class and the rest to the true one.
pub fn training_loss(logits: &Tensor, labels: &Tensor, smoothing: f64) -> Tensor {
    if smoothing == 0.0 {
        return logits.cross_entropy_for_logits(labels);
    }
    logits.cross_entropy_loss::<Tensor>(labels, None, tch::Reduction::Mean, -100, smoothing)
}

/// Loss and accuracy of each image's probabilities averaged with its mirror's.
pub fn evaluate_flipped(net: &Net, split: &Pair) -> Evaluation {
    let averaged = |images: &Tensor| {
        (net.forward_t(images, false).softmax(-1, Kind::Float)
            + net
                .forward_t(&augment::mirrored(images), false)
                .softmax(-1, Kind::Float))
            / 2.0
    };
    let loss = |probabilities: &Tensor, labels: &Tensor| {
        probabilities.clamp_min(1e-12).log().nll_loss(labels)
    };
    evaluate_pass(split, averaged, loss, |_, _, _| {})
}

/// A confusion matrix from its flattened counts on the device.
fn confusion_from(cells: &Tensor) -> ConfusionMatrix {
    let cells = Vec::<i64>::try_from(cells.to_device(Device::Cpu)).unwrap_or_default();
    let mut confusion = [[0u32; NUM_CLASSES]; NUM_CLASSES];
    for (index, count) in cells.into_iter().enumerate() {
        confusion[index / NUM_CLASSES][index % NUM_CLASSES] =
            u32::try_from(count).unwrap_or(u32::MAX);
    }
    confusion
}

/// Loss (mean), accuracy and confusion matrix of `net` on `split`, in eval mode.
pub fn evaluate(net: &Net, split: &Pair) -> Evaluation {
    evaluate_logits(net, split, |_, _, _| {})
}

/// One eval-mode pass of `net`'s logits over `split`, each batch's labels,
/// predictions and logits handed to `keep`.
fn evaluate_logits(
    net: &Net,
    split: &Pair,
    keep: impl FnMut(&Tensor, &Tensor, &Tensor),
) -> Evaluation {
    let logits = |images: &Tensor| net.forward_t(images, false);
    let loss = |logits: &Tensor, labels: &Tensor| logits.cross_entropy_for_logits(labels);
    evaluate_pass(split, logits, loss, keep)
}

/// [`evaluate`], and what the net predicted for each image (the test set's
/// gallery and diff need them; validation passes do not pay for them).
pub fn evaluate_with_predictions(
    net: &Net,
    split: &Pair,
) -> Result<(Evaluation, Predictions), FitError> {
    let mut kept = Kept::default();
    let evaluation = evaluate_logits(net, split, |labels, predicted, logits| {
        // Quantized on the device: one byte per probability comes back.
        let probabilities = logits.to_kind(Kind::Float).softmax(-1, Kind::Float);
        kept.labels.push(labels.to_kind(Kind::Uint8));
        kept.predicted.push(predicted.to_kind(Kind::Uint8));
        kept.probabilities
            .push((probabilities * 255.0).round().to_kind(Kind::Uint8));
    });
    let host = |parts: &[Tensor]| -> Result<Vec<u8>, FitError> {
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(Vec::<u8>::try_from(
            Tensor::cat(parts, 0).flatten(0, -1).to_device(Device::Cpu),
        )?)
    };
    let predictions = Predictions::new(
        host(&kept.labels)?,
        host(&kept.predicted)?,
        host(&kept.probabilities)?,
    )
    .map_err(|problem| FitError::Settings(format!("bad test predictions: {problem}")))?;
    Ok((evaluation, predictions))
}

/// Per-batch predictions of a pass, as u8 tensors on the device.
#[derive(Default)]
struct Kept {
    labels: Vec<Tensor>,
    predicted: Vec<Tensor>,
    probabilities: Vec<Tensor>,
}

/// One eval-mode pass over `split` in batches: `scores` gives a batch's
/// per-class scores (logits, or averaged probabilities), `loss` their mean
/// loss against the labels, and `keep` sees each batch's labels,
/// predictions and scores. Loss and confusion counts stay on the device:
/// one readback for the whole pass.
fn evaluate_pass(
    split: &Pair,
    scores: impl Fn(&Tensor) -> Tensor,
    loss: impl Fn(&Tensor, &Tensor) -> Tensor,
    mut keep: impl FnMut(&Tensor, &Tensor, &Tensor),
) -> Evaluation {
    tch::no_grad(|| {
        let device = split.images.device();
        let classes = NUM_CLASSES as i64;
        let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
        let mut cells = Tensor::zeros([classes * classes], (Kind::Int64, device));
        let total = split.len() as i64;
        let mut start = 0;
        while start < total {
            let len = EVAL_BATCH.min(total - start);
            let images = split.images.narrow(0, start, len);
            let labels = split.labels.narrow(0, start, len);
            let batch = scores(&images);
            loss_sum += loss(&batch, &labels).to_kind(Kind::Double) * len as f64;
            let predicted = batch.argmax(-1, false);
            keep(&labels, &predicted, &batch);
            cells += (labels * classes + predicted).bincount::<Tensor>(None, classes * classes);
            start += len;
        }
        let confusion = confusion_from(&cells);
        Evaluation {
            loss: loss_sum.double_value(&[]) / total.max(1) as f64,
            accuracy: crate::stats::confusion::accuracy(&confusion),
            confusion,
        }
    })
}

/// The training split in this epoch's order: a permutation drawn from a
/// generator seeded by (run seed, epoch), so any epoch's order can be
/// reproduced on its own. One gather on the device; batches are then slices.
fn shuffled(train: &Pair, seed: u64, epoch: u32, device: Device) -> (Tensor, Tensor) {
    let mut order: Vec<i64> = (0..train.len() as i64).collect();
    fastrand::Rng::with_seed(epoch_seed(seed, epoch)).shuffle(&mut order);
    let order = Tensor::from_slice(&order).to_device(device);
    (
        train.images.index_select(0, &order),
        train.labels.index_select(0, &order),
    )
}

/// The seed of one epoch's shuffle and dropout, from the run's seed.
fn epoch_seed(seed: u64, epoch: u32) -> u64 {
    seed ^ u64::from(epoch).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The seed of one step's augmentation: its own stream, not the dropout's.
fn augment_seed(seed: u64, epoch: u32, step: usize) -> u64 {
    epoch_seed(seed, epoch)
        ^ (step as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ 0xA076_1D64_78BD_642F
}

/// Running sums of loss and correct predictions, kept on the device and
/// read back only when a progress event is due.
struct Meter {
    loss_sum: Tensor,
    correct: Tensor,
    samples: usize,
    last_read: Instant,
    read_loss: f64,
    read_correct: f64,
    read_samples: usize,
}

impl Meter {
    fn new(device: Device) -> Self {
        Self {
            loss_sum: Tensor::zeros([], (Kind::Double, device)),
            correct: Tensor::zeros([], (Kind::Int64, device)),
            samples: 0,
            last_read: Instant::now(),
            read_loss: 0.0,
            read_correct: 0.0,
            read_samples: 0,
        }
    }

    fn add(&mut self, loss: &Tensor, logits: &Tensor, labels: &Tensor, len: i64) {
        tch::no_grad(|| {
            self.loss_sum += loss.detach().to_kind(Kind::Double) * len as f64;
            self.correct += logits.argmax(-1, false).eq_tensor(labels).sum(Kind::Int64);
        });
        self.samples += len as usize;
    }

    /// Picks up the sums of the steps a suspended epoch already took.
    fn restore(&mut self, within: &MidEpoch) {
        let device = self.loss_sum.device();
        self.loss_sum = Tensor::from(within.loss_sum).to_device(device);
        self.correct = Tensor::from(within.correct).to_device(device);
        self.samples = within.samples;
        self.read_loss = within.loss_sum;
        self.read_correct = within.correct as f64;
        self.read_samples = within.samples;
    }

    /// The place after `step` steps, for a mid-epoch checkpoint.
    fn mid_epoch(&self, step: usize, dropout_state: u64, seconds: f64) -> MidEpoch {
        MidEpoch {
            step,
            loss_sum: self.loss_sum.double_value(&[]),
            correct: self.correct.int64_value(&[]),
            samples: self.samples,
            dropout_state,
            seconds,
        }
    }

    fn due(&self) -> bool {
        self.last_read.elapsed() >= PROGRESS_INTERVAL
    }

    /// Epoch means and the means since the previous read.
    fn read(&mut self) -> (f64, f64, f64, f64) {
        let loss = self.loss_sum.double_value(&[]);
        let correct = self.correct.double_value(&[]);
        let samples = self.samples.max(1) as f64;
        let recent_samples = (self.samples - self.read_samples).max(1) as f64;
        let result = (
            loss / samples,
            correct / samples,
            (loss - self.read_loss) / recent_samples,
            (correct - self.read_correct) / recent_samples,
        );
        self.read_loss = loss;
        self.read_correct = correct;
        self.read_samples = self.samples;
        self.last_read = Instant::now();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_smoothing_is_cross_entropy_against_smoothed_targets() {
        let logits = Tensor::from_slice(&[2.0f32, 0.5, -1.0, 0.0, 1.0, 3.0]).view([2, 3]);
        let labels = Tensor::from_slice(&[0i64, 2]);
        let smoothing = 0.3;
        // By hand: targets (1 − ε) on the label plus ε/3 on every class.
        let rows = [[2.0f64, 0.5, -1.0], [0.0, 1.0, 3.0]];
        let mut expected = 0.0;
        for (row, label) in rows.iter().zip([0usize, 2]) {
            let log_sum = row.iter().map(|x| x.exp()).sum::<f64>().ln();
            for (class, value) in row.iter().enumerate() {
                let target = smoothing / 3.0 + if class == label { 1.0 - smoothing } else { 0.0 };
                expected -= target * (value - log_sum);
            }
        }
        expected /= 2.0;
        let ours = training_loss(&logits, &labels, smoothing).double_value(&[]);
        assert!((ours - expected).abs() < 1e-6, "{ours} vs {expected}");
        let plain = training_loss(&logits, &labels, 0.0).double_value(&[]);
        let by_hand = -((2.0 - rows[0].iter().map(|x: &f64| x.exp()).sum::<f64>().ln())
            + (3.0 - rows[1].iter().map(|x: &f64| x.exp()).sum::<f64>().ln()))
            / 2.0;
        assert!((plain - by_hand).abs() < 1e-6);
    }
}
