//! The run store's errors: each names the file and the problem.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// What can go wrong reading or writing the run store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: not a valid run record: {problem}")]
    BadRecord { path: PathBuf, problem: String },
    #[error("{path}: line {line}: not a valid event: {problem}")]
    BadEvent {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("no run matches {query:?} in {dir}{}", candidates_text(.candidates))]
    UnknownRun {
        query: String,
        dir: PathBuf,
        candidates: Vec<String>,
    },
    #[error("this system has no home folder; pass --runs-dir DIR or set ATELIER_RUNS")]
    NoHome,
}

impl StoreError {
    pub(crate) fn io(path: &Path, what: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}

fn candidates_text(candidates: &[String]) -> String {
    if candidates.is_empty() {
        "; it holds no runs".to_string()
    } else {
        format!("; recent runs: {}", candidates.join(", "))
    }
}
