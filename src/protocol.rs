//! The contracts between threads and the on-disk log format.
//!
//! [`Command`]s go into the trainer thread; [`Event`]s come out of it and are
//! also, one JSON object per line, the content of each run's `events.jsonl`.
//! Change these types only compatibly: old logs must still read (a renamed
//! variant keeps its old name as a serde alias, a new field has a default,
//! and no type read from disk denies fields it does not know, which a newer
//! version may add). `tests/it/golden.rs` reads a runs folder written by 0.1.

use serde::{Deserialize, Serialize};

use crate::{
    data::NUM_CLASSES,
    plan::{DevicePref, RunSpec},
};

/// A run's unique id, also its folder name in the run store
/// (`20261128-193301-M1`: start time, then the plan's run name). Written as
/// a plain string in logs and records.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for RunId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for RunId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for RunId {
    fn from(id: &str) -> Self {
        Self(id.to_string())
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> Self {
        id.0
    }
}

impl AsRef<str> for RunId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for RunId {
    fn as_ref(&self) -> &std::path::Path {
        self.0.as_ref()
    }
}

impl std::borrow::Borrow<str> for RunId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for RunId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for RunId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<RunId> for String {
    fn eq(&self, other: &RunId) -> bool {
        self == &other.0
    }
}

impl PartialEq<&str> for RunId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A row-major confusion matrix: `matrix[true_class][predicted_class]` counts.
pub type ConfusionMatrix = [[u32; NUM_CLASSES]; NUM_CLASSES];

/// One run to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    pub id: RunId,
    /// The plan the run came from (`seed`, or a plan file's stem).
    pub plan: String,
    pub spec: RunSpec,
}

/// What the trainer is told to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Add a run to the queue; it starts when the runs before it are done.
    Queue(Box<RunRequest>),
    /// Hold the running run after its current step.
    Pause,
    /// Let a paused run go on. (Continuing a stored run from its checkpoint
    /// is [`Command::Continue`].) Called `resume` up to atelier 0.1.0.
    #[serde(alias = "resume")]
    Unpause,
    /// Stop the given run (running or queued), or the running one when `None`.
    Cancel { run: Option<RunId> },
    /// Stop the running run (stored as interrupted), drop the queue, end the thread.
    Shutdown,
    /// Queue a stored, unfinished run to continue after its last complete
    /// epoch (or its saved place mid-epoch), on `device` when given.
    Continue {
        run: RunId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<DevicePref>,
    },
    /// Save the running run's place mid-epoch and stop it (stored as
    /// interrupted, to continue from that step), drop the queue, end the thread.
    Suspend,
}

/// What a run is doing before its first training step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading Fashion-MNIST from disk.
    LoadingData,
    /// Moving the dataset onto the device.
    UploadingData,
    /// Creating layers and optimizer.
    BuildingModel,
    /// Timing a few steps at each CPU thread count, to train with the fastest.
    ChoosingThreads,
    /// Running the first steps (kernel selection, allocator warm-up).
    WarmingUp,
    /// Measuring the test set after the last epoch.
    Evaluating,
}

/// What people read while a run is in a phase (the app's live pane, `train`'s output).
impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::LoadingData => "loading Fashion-MNIST…",
            Self::UploadingData => "moving the dataset to the device…",
            Self::BuildingModel => "building the model…",
            Self::ChoosingThreads => "timing a few steps at each thread count…",
            Self::WarmingUp => "warming up (first steps)…",
            Self::Evaluating => "evaluating on the test set…",
        })
    }
}

/// What the trainer reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The run was accepted and waits its turn.
    Queued { run: RunId, spec: Box<RunSpec> },
    /// The run is preparing or evaluating rather than training.
    Phase { run: RunId, phase: Phase },
    /// Training begins on `device` with a model of `params` parameters.
    Started {
        run: RunId,
        device: String,
        params: u64,
        train_samples: usize,
        validation_samples: usize,
        steps_per_epoch: usize,
        epochs: u32,
        /// Epochs already done when this start resumes an interrupted run
        /// (0 for a fresh start): later events replace any logged after them.
        #[serde(default, skip_serializing_if = "is_zero")]
        resumed_after: u32,
        /// Steps of epoch `resumed_after + 1` already taken, when the run
        /// continues from a mid-epoch checkpoint (0 otherwise).
        #[serde(default, skip_serializing_if = "is_zero_usize")]
        resumed_at_step: usize,
    },
    /// The libtorch CPU threads the run trains with from here on, and why
    /// (logged before its `Started`; a resumed run reuses the first choice).
    Threads {
        run: RunId,
        threads: u16,
        reason: ThreadReason,
    },
    /// Within-epoch progress (epoch is 1-based), at most about 20 a second.
    Progress {
        run: RunId,
        epoch: u32,
        step: usize,
        steps: usize,
        /// Mean loss and accuracy over the epoch so far (what Keras prints).
        loss: f64,
        accuracy: f64,
        /// Mean loss and accuracy over the steps since the previous progress event.
        recent_loss: f64,
        recent_accuracy: f64,
        samples_per_sec: f64,
        elapsed_secs: f64,
        /// The learning rate of the latest step; absent before schedules existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        learning_rate: Option<f64>,
    },
    /// The run holds after a step until unpaused.
    Paused { run: RunId },
    /// The paused run goes on. (A run continued from its checkpoint logs a
    /// `Started` with `resumed_after` instead.) Logged as `resumed` up to
    /// atelier 0.1.0; those logs still read.
    #[serde(alias = "resumed")]
    Unpaused { run: RunId },
    /// An epoch ended: its training means and the validation metrics.
    EpochEnd {
        run: RunId,
        epoch: u32,
        epochs: u32,
        train_loss: f64,
        train_accuracy: f64,
        val_loss: f64,
        val_accuracy: f64,
        seconds: f64,
    },
    /// Test-set results of the final weights.
    Evaluated {
        run: RunId,
        test_loss: f64,
        test_accuracy: f64,
        /// Boxed: 400 bytes would make every event that large.
        confusion: Box<ConfusionMatrix>,
    },
    /// Test-set results of the final weights with test-time flipping: each
    /// image's probabilities averaged with its mirror's. Beside `Evaluated`,
    /// never instead of it.
    FlipEvaluated {
        run: RunId,
        test_loss: f64,
        test_accuracy: f64,
    },
    /// The run completed every epoch and its evaluation.
    Finished {
        run: RunId,
        seconds: f64,
        best_val_accuracy: f64,
        best_epoch: u32,
    },
    /// The run saved its place after `step` of `steps` steps of `epoch`
    /// before stopping; continuing it starts there.
    Checkpointed {
        run: RunId,
        epoch: u32,
        step: usize,
        steps: usize,
    },
    /// A Slurm array task took the run up (one event per attempt).
    Attempt {
        run: RunId,
        /// `<array job>_<task>`, what `squeue` and `scontrol` name it by.
        job: String,
        /// `SLURM_RESTART_COUNT`: 0 first, 1 after the first requeue, …
        restart: u32,
        host: String,
        /// The GPUs Slurm gave the task, as it named them (empty for none).
        #[serde(default)]
        gpus: String,
    },
    /// The run's Slurm task asked to be requeued, to continue where it stopped.
    Requeued { run: RunId, job: String },
    /// The run was stopped on request after `epochs_done` complete epochs.
    Cancelled { run: RunId, epochs_done: u32 },
    /// The run failed; nothing after this event.
    Failed { run: RunId, message: String },
}

/// Why a run trains with the CPU threads it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ThreadReason {
    /// `--threads`, or a plan's `[workers] threads`.
    Asked,
    /// Its share of the cores while `jobs` runs train at once (`--jobs`, or
    /// chosen for the queue by measurement).
    Shared { jobs: u16 },
    /// The CPUs Slurm gave its task.
    Slurm,
    /// The fastest of a few timed training steps at each candidate count.
    Measured { rates: Vec<ThreadRate> },
    /// Too short for measuring to pay: every core.
    Short,
    /// Continued with the count it started with (every core for runs
    /// logged before the choice was recorded).
    Resumed,
    /// On a GPU: the threads only feed it; every core.
    Gpu,
}

/// Training images a second at one thread count, from a short measurement.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadRate {
    pub threads: u16,
    pub images_per_sec: f64,
}

impl std::fmt::Display for ThreadReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Asked => f.write_str("as asked"),
            Self::Shared { jobs } => write!(f, "its share while {jobs} train at once"),
            Self::Slurm => f.write_str("the CPUs Slurm gave"),
            Self::Measured { rates } => {
                f.write_str("measured: ")?;
                let parts: Vec<String> = rates
                    .iter()
                    .map(|rate| {
                        format!(
                            "{} → {} images/s",
                            crate::units::count(usize::from(rate.threads), "thread"),
                            crate::units::thousands(rate.images_per_sec.round() as u64)
                        )
                    })
                    .collect();
                f.write_str(&parts.join(", "))
            }
            Self::Short => f.write_str("every core: too short a run to measure"),
            Self::Resumed => f.write_str("as when it started"),
            Self::Gpu => f.write_str("every core, feeding the GPU"),
        }
    }
}

// serde's `skip_serializing_if` hands its test a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(value: &u32) -> bool {
    *value == 0
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero_usize(value: &usize) -> bool {
    *value == 0
}

impl Event {
    /// The run this event is about.
    pub fn run(&self) -> &RunId {
        match self {
            Self::Queued { run, .. }
            | Self::Phase { run, .. }
            | Self::Started { run, .. }
            | Self::Threads { run, .. }
            | Self::Progress { run, .. }
            | Self::Paused { run }
            | Self::Unpaused { run }
            | Self::EpochEnd { run, .. }
            | Self::Evaluated { run, .. }
            | Self::FlipEvaluated { run, .. }
            | Self::Finished { run, .. }
            | Self::Checkpointed { run, .. }
            | Self::Attempt { run, .. }
            | Self::Requeued { run, .. }
            | Self::Cancelled { run, .. }
            | Self::Failed { run, .. } => run,
        }
    }

    /// Whether this event ends its run.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Finished { .. } | Self::Cancelled { .. } | Self::Failed { .. }
        )
    }
}
