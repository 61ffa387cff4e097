//! The run store's errors: each names the file and the problem.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::data::NUM_CLASSES;

/// What can go wrong reading or writing the run store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: {what}: {error}")]
    Io {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
    #[error("{path}: not a valid run record: {problem}")]
    BadRecord { path: PathBuf, problem: String },
    #[error("{path}: line {line}: not a valid event: {problem}")]
    BadEvent {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("{path}: no test predictions: the run predates them or did not finish; run it again to see its images")]
    NoPredictions { path: PathBuf },
    #[error("{path}: not valid test predictions: {problem}")]
    BadPredictions {
        path: PathBuf,
        problem: PredictionsProblem,
    },
    /// A query that names nothing (see `store::naming`).
    #[error("no {what} matches {query:?} in {dir}{}{}", unreadable_text(*.unreadable), listing(.candidates, *.more))]
    UnknownRun {
        query: String,
        dir: PathBuf,
        /// What the command takes: `run`, or `run, group or sweep`.
        what: &'static str,
        /// The closest runs (groups, sweeps), one line each, closest first.
        candidates: Vec<String>,
        /// How many more there are.
        more: usize,
        /// Run folders that could not be read (`atelier runs` names them).
        unreadable: usize,
    },
    /// A query that stands for several runs (or groups) where one is wanted.
    #[error("{query:?} {what} in {dir}; {wanted}{}", listing(.candidates, *.more))]
    NotOneRun {
        query: String,
        dir: PathBuf,
        /// `names group "M1" of 5 runs`, `is the start of 36 run ids`.
        what: String,
        /// What the command wants instead.
        wanted: &'static str,
        /// Its closest runs (or groups), one line each, closest first.
        candidates: Vec<String>,
        more: usize,
    },
    /// `runs rm` of a run that is not to be removed (active, or not a plain folder).
    #[error("run {run} is not removed: {reason}")]
    NotRemovable { run: String, reason: String },
    #[error("{dir}: no such runs folder; check --runs-dir or ATELIER_RUNS, or train a run first (`atelier train`)")]
    NoRunsFolder { dir: PathBuf },
    #[error("this system has no home folder; pass --runs-dir DIR or set ATELIER_RUNS")]
    NoHome,
    #[error("run {run} is being written by another atelier process{}; stop it first, or follow it with `atelier watch`", .pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default())]
    RunBusy { run: String, pid: Option<u32> },
    #[error("{dir}: a run folder of that name already exists; not writing over it")]
    RunExists { dir: PathBuf },
    #[error("run {run} cannot continue: {reason}")]
    NotResumable { run: String, reason: String },
    #[error("{dir}: not enough free space to train {what}: it needs about {needed} MB for checkpoints and logs, {available} MB are free")]
    NoRoom {
        dir: PathBuf,
        what: String,
        needed: u64,
        available: u64,
    },
    #[error("another atelier process is already training on {device}{}; wait for it, or follow it with `atelier watch` (lock file {path})", holder_text(.holder.as_deref()))]
    DeviceBusy {
        device: String,
        holder: Option<Box<super::holder::Holder>>,
        path: PathBuf,
    },
}

fn holder_text(holder: Option<&super::holder::Holder>) -> String {
    let Some(holder) = holder else {
        return String::new();
    };
    let mut text = format!(" (pid {}", holder.pid);
    if !holder.runs.is_empty() {
        text.push_str(&format!("; runs {}", holder.runs.join(", ")));
    }
    if let Some(log) = &holder.log {
        text.push_str(&format!("; log {}", log.display()));
    }
    text.push(')');
    text
}

fn unreadable_text(unreadable: usize) -> String {
    match unreadable {
        0 => String::new(),
        n => format!(
            "; {} could not be read (see `atelier runs`)",
            crate::units::count(n, "run folder")
        ),
    }
}

impl StoreError {
    /// The file or folder the error is about, if it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. }
            | Self::BadRecord { path, .. }
            | Self::BadEvent { path, .. }
            | Self::NoPredictions { path }
            | Self::BadPredictions { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The folder holding the file the error is about.
    pub fn folder(&self) -> Option<&Path> {
        self.path().and_then(Path::parent)
    }

    /// The name of the run folder the error is about (the folder of the
    /// file it names).
    pub fn run_folder_name(&self) -> Option<String> {
        self.folder()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
    }

    pub(crate) fn io(path: &Path, what: &'static str, error: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            what,
            error,
        }
    }
}

/// The candidates of a query, one indented line each, and how many more
/// there are.
fn listing(candidates: &[String], more: usize) -> String {
    if candidates.is_empty() {
        return "; it holds no runs".to_string();
    }
    let mut text = String::from(". The closest:");
    for line in candidates {
        text.push_str("\n  ");
        text.push_str(line);
    }
    if more > 0 {
        text.push_str(&format!(
            "\n  … and {more} more (`atelier runs` and `atelier runs groups` list them all)"
        ));
    }
    text
}

/// What makes stored predictions unreadable or inconsistent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PredictionsProblem {
    #[error(
        "expected {count} predictions and {} probabilities for {count} labels, found {predicted} \
         and {probabilities}",
        .count * NUM_CLASSES
    )]
    Lengths {
        count: usize,
        predicted: usize,
        probabilities: usize,
    },
    #[error("{name}[{at}] is {found}, expected a class below {NUM_CLASSES}")]
    NotAClass {
        name: &'static str,
        at: usize,
        found: u8,
    },
    #[error("expected an 8-byte header size, found {0} bytes")]
    NoHeaderSize(usize),
    #[error("the header claims {size} bytes, the file has {available} after the size")]
    HeaderTooLong { size: u64, available: usize },
    #[error("the header is not valid JSON: {0}")]
    Header(String),
    #[error("expected __metadata__.format {expected:?}, found {found:?}")]
    Format {
        expected: &'static str,
        found: Option<String>,
    },
    #[error("the tensor {0:?} is missing")]
    Missing(&'static str),
    #[error("the entry of {name:?} is malformed: {problem}")]
    Entry { name: &'static str, problem: String },
    #[error("expected {name:?} of dtype U8, found {found}")]
    Dtype { name: &'static str, found: String },
    #[error("expected {name:?} of shape {expected}, found {found:?}")]
    Shape {
        name: &'static str,
        expected: String,
        found: Vec<usize>,
    },
    #[error(
        "{name:?} claims bytes {start}..{end} for {len} values; the data has {available} bytes"
    )]
    Offsets {
        name: &'static str,
        start: usize,
        end: usize,
        len: usize,
        available: usize,
    },
}
