//! The run store: one folder per run under a runs folder.
//!
//! Each run folder holds `run.json` (a [`RunRecord`], replaced atomically),
//! `events.jsonl` (every [`crate::train::Event`], append-only) and the
//! checkpoints `best.safetensors` and `final.safetensors`.

pub mod error;
pub mod history;
pub mod log;
pub mod record;
pub mod writer;

use std::path::{Path, PathBuf};

pub use error::StoreError;
pub use history::{EpochRow, History};
pub use log::{read_events, EventLog};
pub use record::{RunRecord, RunStatus};
pub use writer::RunWriter;

use crate::train::RunRequest;

/// Environment variable naming the runs folder.
pub const RUNS_ENV: &str = "ATELIER_RUNS";
/// File names inside a run folder.
pub const RECORD_FILE: &str = "run.json";
pub const EVENTS_FILE: &str = "events.jsonl";

/// A runs folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStore {
    dir: PathBuf,
}

impl RunStore {
    /// Opens (creating if needed) the runs folder `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::io(&dir, "cannot create the runs folder", e))?;
        Ok(Self { dir })
    }

    /// The runs folder for this process: `--runs-dir`, else `ATELIER_RUNS`,
    /// else `runs/` in the per-user data folder.
    pub fn resolve(flag: Option<&Path>) -> Result<Self, StoreError> {
        let env = std::env::var_os(RUNS_ENV)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from);
        let dir = flag
            .map(Path::to_path_buf)
            .or(env)
            .or_else(|| crate::paths::user_data_dir().map(|dir| dir.join("runs")))
            .ok_or(StoreError::NoHome)?;
        Self::open(dir)
    }

    /// The runs folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of run `id`.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// A fresh id: `YYYYMMDD-HHMMSS-name` (UTC), with `-2`, `-3`… if taken.
    pub fn new_id(&self, name: &str) -> String {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let stamp: String = stamp.chars().filter(char::is_ascii_digit).collect();
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let base = format!("{}-{}-{name}", &stamp[..8], &stamp[8..14]);
        let mut id = base.clone();
        let mut suffix = 2;
        while self.run_dir(&id).exists() {
            id = format!("{base}-{suffix}");
            suffix += 1;
        }
        id
    }

    /// Creates the run's folder and its `run.json` (status queued).
    pub fn create(&self, request: &RunRequest) -> Result<RunWriter, StoreError> {
        RunWriter::create(self.run_dir(&request.id), RunRecord::new(request))
    }

    /// Every run, sorted by id; unreadable runs are skipped and reported.
    pub fn list(&self) -> (Vec<RunRecord>, Vec<StoreError>) {
        let mut records = Vec::new();
        let mut errors = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) => {
                return (
                    records,
                    vec![StoreError::io(&self.dir, "cannot list the runs folder", e)],
                )
            }
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            match RunRecord::load(&dir.join(RECORD_FILE)) {
                Ok(record) => records.push(record),
                Err(error) => errors.push(error),
            }
        }
        (records, errors)
    }

    /// The record of run `id`.
    pub fn load(&self, id: &str) -> Result<RunRecord, StoreError> {
        RunRecord::load(&self.run_dir(id).join(RECORD_FILE))
    }

    /// The event log of run `id`.
    pub fn events(&self, id: &str) -> Result<EventLog, StoreError> {
        read_events(&self.run_dir(id).join(EVENTS_FILE))
    }

    /// Finds a run by exact id, unique id prefix, or (latest) run name.
    pub fn find(&self, query: &str) -> Result<String, StoreError> {
        let (records, _) = self.list();
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        if ids.contains(&query) {
            return Ok(query.to_string());
        }
        let prefixed: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| id.starts_with(query))
            .collect();
        if prefixed.len() == 1 {
            return Ok(prefixed[0].to_string());
        }
        if let Some(record) = records
            .iter()
            .rev()
            .find(|record| record.spec.name.eq_ignore_ascii_case(query))
        {
            return Ok(record.id.clone());
        }
        let candidates = if prefixed.is_empty() { ids } else { prefixed };
        Err(StoreError::UnknownRun {
            query: query.to_string(),
            dir: self.dir.clone(),
            candidates: candidates
                .iter()
                .rev()
                .take(8)
                .map(ToString::to_string)
                .collect(),
        })
    }
}
