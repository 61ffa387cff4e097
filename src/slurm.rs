//! Running a sweep on a Slurm cluster: the pieces `atelier slurm …` and
//! `atelier watch` are built from. Nothing here trains.
//!
//! A submission is ONE job array with one task per run, the way submitit
//! does it: one `sbatch`, one job id to cancel, and the scheduler (not
//! atelier) decides how many runs go at once (`--array=…%K`). Every task runs
//! `atelier slurm task --submission DIR`, which finds its run by
//! `SLURM_ARRAY_TASK_ID` in the submission record, so the job script stays
//! the same for every task and the record is the one source of truth.
//!
//! Time limits and preemption are met with a signal and a requeue:
//! `--signal=B:USR1@120` has Slurm send USR1 to the batch shell two minutes
//! before the limit, the script `exec`s atelier so that atelier *is* that
//! shell, atelier checkpoints, and the task is requeued (`--requeue`) to
//! continue its run from the checkpoint, up to a few times per run.
//!
//! - [`script`]: the job script, rendered from resources and paths;
//! - [`submission`]: the record of one submission (`slurm/<id>/submission.json`);
//! - [`queue`]: reading `squeue`'s output into task states;
//! - [`command`]: running `sbatch`, `squeue`, `scancel` and `scontrol`;
//! - [`env`]: what a task learns from its environment;
//! - [`watch`]: each submitted run's label from one `squeue`, polled for the app.

pub mod command;
pub mod env;
pub mod queue;
pub mod script;
pub mod submission;
pub mod watch;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use command::{requeue, sbatch, sbatch_array, scancel, squeue, Tools, BIN_ENV};
pub use env::{inside_slurm, node_local_warning, SlurmEnv};
pub use queue::{parse_squeue, summary, task_of, JobState, TaskState, SQUEUE_FORMAT};
pub use script::{array_ranges, array_spec, render, Resources, ScriptSpec};
pub use submission::{Submission, SubmittedJob};

/// Seconds before the time limit at which Slurm sends a task USR1: enough to
/// finish a batch and write a checkpoint, little enough to waste.
pub const TASK_SIGNAL_LEAD_SECS: u32 = 120;

/// What can go wrong preparing, submitting or following a Slurm job.
#[derive(Debug, Error)]
pub enum SlurmError {
    #[error("{tool} is not on PATH: run this on a Slurm login node (or `module load slurm`)")]
    NotOnPath { tool: String },
    #[error("{program} does not exist: {BIN_ENV} names a folder without {tool}")]
    NotInBin { tool: String, program: PathBuf },
    #[error("cannot run {tool}: {error}")]
    Spawn { tool: String, error: std::io::Error },
    #[error("`{command}` failed ({}): {stderr}", exit_text(*.code))]
    Refused {
        command: String,
        code: Option<i32>,
        stderr: String,
    },
    #[error("{tool} printed {found:?}; expected {expected}")]
    BadOutput {
        tool: String,
        expected: &'static str,
        found: String,
    },
    #[error("squeue printed a line atelier cannot read: {line:?}: {problem} (expected `{SQUEUE_FORMAT}`)")]
    BadSqueueLine { line: String, problem: String },
    #[error("no runs to submit: a job array needs at least one task index")]
    NoTasks,
    #[error("--time {value:?} is not a Slurm time limit: expected M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (e.g. 2:00:00)")]
    BadTime { value: String },
    #[error("--max-parallel 0 would never start a task: expected 1 or more")]
    ZeroMaxParallel,
    #[error("{path}: the log folder cannot be named in an #SBATCH line: expected a UTF-8 path without newlines or double quotes")]
    UnsafeLogDir { path: PathBuf },
    #[error("{var} is {value:?}; expected {expected}")]
    BadEnv {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{var} is not set; expected {expected}")]
    MissingEnv {
        var: &'static str,
        expected: &'static str,
    },
    #[error("{path}: {what}: {error}")]
    Io {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
    #[error("{path}: not a valid submission record: {problem}")]
    BadRecord { path: PathBuf, problem: String },
    #[error("no submission matches {query:?} in {dir}{}", candidates_text(.candidates))]
    UnknownSubmission {
        query: String,
        dir: PathBuf,
        candidates: Vec<String>,
    },
    #[error("{query:?} names more than one submission in {dir}: {}; give more of the id", .candidates.join(", "))]
    AmbiguousSubmission {
        query: String,
        dir: PathBuf,
        candidates: Vec<String>,
    },
}

impl SlurmError {
    pub(crate) fn io(path: &Path, what: &'static str, error: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            what,
            error,
        }
    }
}

fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(
        || "killed by a signal".to_string(),
        |code| format!("exit code {code}"),
    )
}

fn candidates_text(candidates: &[String]) -> String {
    if candidates.is_empty() {
        "; it holds no submissions".to_string()
    } else {
        format!("; submissions: {}", candidates.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_show_the_command_its_exit_and_its_words() {
        let error = SlurmError::Refused {
            command: "sbatch --parsable job.sh".into(),
            code: Some(1),
            stderr: "sbatch: error: Invalid --time specification".into(),
        };
        assert_eq!(
            error.to_string(),
            "`sbatch --parsable job.sh` failed (exit code 1): sbatch: error: Invalid --time specification"
        );
        let killed = SlurmError::Refused {
            command: "squeue".into(),
            code: None,
            stderr: String::new(),
        };
        assert!(killed.to_string().contains("killed by a signal"));
    }

    #[test]
    fn unknown_submissions_list_what_there_is() {
        let none = SlurmError::UnknownSubmission {
            query: "sw".into(),
            dir: "/r/slurm".into(),
            candidates: vec![],
        };
        assert!(none.to_string().ends_with("it holds no submissions"));
        let some = SlurmError::UnknownSubmission {
            query: "sw".into(),
            dir: "/r/slurm".into(),
            candidates: vec!["a".into(), "b".into()],
        };
        assert!(some.to_string().ends_with("submissions: a, b"));
    }
}
