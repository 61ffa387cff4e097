//! A training session, from a plan to an exit code: the plan with the
//! command line's changes ([`choice`]), a request per run ([`requests`]),
//! the devices locked and signed ([`locks`]), the runs trained in this
//! process ([`local`]), by worker processes on slots ([`slots`],
//! [`workers`]), by a background process ([`detach`]) or as a Slurm array
//! task ([`task`]; a plan as an array: [`array`]), said as they go
//! ([`printer`], [`tally`]), and what they came to ([`outcome`]); the
//! alerts a watcher tells once, by bell, terminal or command ([`notify`]).
//! The command line parses flags into these and prints what they return.

pub mod array;
pub mod at_once;
pub mod batch;
pub mod choice;
pub mod control;
pub mod detach;
pub mod local;
pub mod locks;
pub mod notify;
pub mod outcome;
pub mod printer;
pub mod requests;
pub mod signals;
pub mod slots;
pub mod tally;
pub mod task;
pub mod workers;

/// Why a session could not start or go on, naming the run, flag or file.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// A run asks for a device this machine does not have.
    #[error("run {run}: {error}")]
    Device {
        run: String,
        error: crate::plan::DeviceError,
    },
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Slots(#[from] slots::SlotError),
    /// A run that `resume` was asked to continue has nothing left.
    #[error("run {0} finished every epoch; there is nothing to resume")]
    NothingToResume(crate::protocol::RunId),
    /// A group or sweep that `resume` was asked to continue has no run to
    /// continue: each finished, or is still queued or running.
    #[error("{0} has no run to resume: each finished every epoch or is still queued or running")]
    NothingToResumeIn(String),
    /// A process, thread, file or handler that could not be had.
    #[error("{what}: {error}")]
    System { what: String, error: std::io::Error },
    #[error(transparent)]
    Slurm(#[from] crate::slurm::SlurmError),
    /// A Slurm array task with no run of its submission.
    #[error("SLURM_ARRAY_TASK_ID is {index}, but {submission} has {} (tasks 0–{last})", crate::units::count(*.runs, "run"), last = .runs.saturating_sub(1))]
    NoSuchTask {
        index: usize,
        submission: std::path::PathBuf,
        runs: usize,
    },
    /// `sbatch` refused a new submission; its runs stay, interrupted.
    #[error("{error}\n{dir} keeps the {} as interrupted; once it is fixed: `atelier slurm resubmit {id}`", crate::units::count(*.runs, "run"))]
    NotSubmitted {
        /// Boxed: a Slurm error is large, and this one is rare.
        error: Box<crate::slurm::SlurmError>,
        runs: usize,
        dir: std::path::PathBuf,
        id: String,
    },
    /// `sbatch` refused a new submission: what it had created is removed.
    #[error("{error}\nnothing was submitted; the {} and the submission record made for it were removed from {dir}", crate::units::count(*.runs, "run"))]
    SubmitRefused {
        /// Boxed: a Slurm error is large, and this one is rare.
        error: Box<crate::slurm::SlurmError>,
        runs: usize,
        dir: std::path::PathBuf,
    },
    #[error("{0} was never submitted: it has no job to cancel")]
    NeverSubmitted(String),
    /// A run that Slurm still trains, which a resubmission would train twice.
    #[error("task {index} ({run}) is still {state} in Slurm as {job}_{index}; wait for it or `atelier slurm cancel {id}` first")]
    TaskActive {
        index: usize,
        run: crate::protocol::RunId,
        state: String,
        job: String,
        id: String,
    },
    /// The background training of `--detach` did not get going.
    #[error("{0}")]
    Detach(String),
}

impl SessionError {
    /// An OS failure, saying what was being done.
    pub fn system(what: impl Into<String>, error: std::io::Error) -> Self {
        Self::System {
            what: what.into(),
            error,
        }
    }
}
