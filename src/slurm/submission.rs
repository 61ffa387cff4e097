//! The record of one submission, `<runs_dir>/slurm/<id>/submission.json`:
//! which runs the array's task indices stand for, and which Slurm jobs ran
//! them. The job script (`job.sh`) and the tasks' logs (`logs/`) sit beside it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SlurmError;
use crate::protocol::RunId;

/// The folder in a runs folder that holds the submissions.
pub const SUBMISSIONS_DIR: &str = crate::store::SLURM_DIR;
/// The record's file name in a submission folder.
pub const SUBMISSION_FILE: &str = "submission.json";
/// The job script's file name in a submission folder.
pub const SCRIPT_FILE: &str = "job.sh";
/// The folder of the tasks' Slurm output in a submission folder.
pub const LOGS_DIR: &str = "logs";
/// How often a run is requeued after a time limit or preemption, unless told.
pub const DEFAULT_MAX_REQUEUES: u32 = 3;

/// One sweep sent to Slurm as a job array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// `<utc stamp>-<sweep>`, e.g. `20261202-063000-sweep`; names the folder.
    pub id: String,
    /// The sweep's name.
    pub sweep: String,
    /// The plan the runs came from.
    pub plan: String,
    /// The runs; a run's position is its array task index.
    pub runs: Vec<RunId>,
    /// Every `sbatch` of this submission, the first and each resubmission.
    #[serde(default)]
    pub jobs: Vec<SubmittedJob>,
    /// How often a run's task may be requeued before it is left failed.
    #[serde(default = "default_max_requeues")]
    pub max_requeues: u32,
}

/// One job array submitted for some of a submission's task indices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedJob {
    /// The array's job id, as `sbatch --parsable` gave it.
    pub job_id: String,
    /// The task indices it covers.
    pub indices: Vec<usize>,
    /// When it was submitted (RFC 3339, UTC).
    pub submitted_at: String,
}

fn default_max_requeues() -> u32 {
    DEFAULT_MAX_REQUEUES
}

impl Submission {
    /// A new submission of `runs`, not yet saved nor submitted.
    pub fn new(sweep: &str, plan: &str, runs: Vec<RunId>) -> Self {
        Self {
            id: format!("{}-{}", crate::units::utc_stamp(), folder_name(sweep)),
            sweep: sweep.to_string(),
            plan: plan.to_string(),
            runs,
            jobs: Vec::new(),
            max_requeues: DEFAULT_MAX_REQUEUES,
        }
    }

    /// Its folder in `runs_dir`.
    pub fn dir(&self, runs_dir: &Path) -> PathBuf {
        runs_dir.join(SUBMISSIONS_DIR).join(&self.id)
    }

    /// Its job script in `runs_dir`.
    pub fn script_path(&self, runs_dir: &Path) -> PathBuf {
        self.dir(runs_dir).join(SCRIPT_FILE)
    }

    /// Its log folder in `runs_dir`.
    pub fn log_dir(&self, runs_dir: &Path) -> PathBuf {
        self.dir(runs_dir).join(LOGS_DIR)
    }

    /// The Slurm output of task `index` in its latest job (`--output=%A_%a.out`).
    pub fn log_path(&self, runs_dir: &Path, index: usize) -> Option<PathBuf> {
        let job = self.job_of(index)?;
        Some(
            self.log_dir(runs_dir)
                .join(format!("{}_{index}.out", job.job_id)),
        )
    }

    /// Creates its folder and log folder, first making the id unique (`-2`,
    /// `-3`, …) if a submission of the same sweep in the same second has it.
    pub fn create_dir(&mut self, runs_dir: &Path) -> Result<PathBuf, SlurmError> {
        let parent = runs_dir.join(SUBMISSIONS_DIR);
        std::fs::create_dir_all(&parent)
            .map_err(|e| SlurmError::io(&parent, "cannot create the submissions folder", e))?;
        let base = self.id.clone();
        let mut attempt = 1;
        let dir = loop {
            let dir = self.dir(runs_dir);
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    attempt += 1;
                    self.id = format!("{base}-{attempt}");
                }
                Err(e) => return Err(SlurmError::io(&dir, "cannot create", e)),
            }
        };
        let logs = self.log_dir(runs_dir);
        std::fs::create_dir(&logs)
            .map_err(|e| SlurmError::io(&logs, "cannot create the log folder", e))?;
        Ok(dir)
    }

    /// Writes the record into its folder (which must exist), atomically:
    /// tasks and watchers read it while it is rewritten.
    pub fn save(&self, runs_dir: &Path) -> Result<(), SlurmError> {
        let dir = self.dir(runs_dir);
        let path = dir.join(SUBMISSION_FILE);
        let json = serde_json::to_vec_pretty(self).map_err(|e| SlurmError::BadRecord {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        let mut builder = tempfile::Builder::new();
        // tempfile's default 0600 would hide the record from other users' watchers.
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let mut file = builder
            .prefix(".submission.json.")
            .tempfile_in(&dir)
            .map_err(|e| SlurmError::io(&dir, "cannot create a temporary file", e))?;
        file.write_all(&json)
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| SlurmError::io(file.path(), "cannot write", e))?;
        file.persist(&path)
            .map_err(|e| SlurmError::io(&path, "cannot replace", e.error))?;
        Ok(())
    }

    /// Reads the record in the submission folder `dir`.
    pub fn load(dir: &Path) -> Result<Self, SlurmError> {
        let path = dir.join(SUBMISSION_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SlurmError::io(&path, "cannot read the submission record", e))?;
        serde_json::from_str(&text).map_err(|e| SlurmError::BadRecord {
            path,
            problem: e.to_string(),
        })
    }

    /// Every submission in `runs_dir`, oldest first (ids start with their
    /// time). Folders without a record yet (being created) are left out.
    pub fn list(runs_dir: &Path) -> Result<Vec<Self>, SlurmError> {
        let parent = runs_dir.join(SUBMISSIONS_DIR);
        let entries = match std::fs::read_dir(&parent) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(SlurmError::io(&parent, "cannot list", e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let dir = entry
                .map_err(|e| SlurmError::io(&parent, "cannot list", e))?
                .path();
            if dir.join(SUBMISSION_FILE).exists() {
                found.push(Self::load(&dir)?);
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// The submission `query` names: its exact id, else the latest of the
    /// sweep of that name, else the one id it begins.
    pub fn find(runs_dir: &Path, query: &str) -> Result<Self, SlurmError> {
        let all = Self::list(runs_dir)?;
        let dir = runs_dir.join(SUBMISSIONS_DIR);
        if let Some(exact) = all.iter().find(|s| s.id == query) {
            return Ok(exact.clone());
        }
        if let Some(latest) = all.iter().rev().find(|s| s.sweep == query) {
            return Ok(latest.clone());
        }
        let mut prefixed: Vec<&Self> = all.iter().filter(|s| s.id.starts_with(query)).collect();
        match prefixed.len() {
            1 => Ok(prefixed.remove(0).clone()),
            0 => Err(SlurmError::UnknownSubmission {
                query: query.to_string(),
                dir,
                candidates: all.iter().rev().take(10).map(Self::label).collect(),
            }),
            _ => Err(SlurmError::AmbiguousSubmission {
                query: query.to_string(),
                dir,
                candidates: prefixed.iter().map(|s| s.label()).collect(),
            }),
        }
    }

    /// `id (sweep)`, as listed in errors.
    fn label(&self) -> String {
        format!("{} ({})", self.id, self.sweep)
    }

    /// The latest job that covers task `index`.
    pub fn job_of(&self, index: usize) -> Option<&SubmittedJob> {
        self.jobs
            .iter()
            .rev()
            .find(|job| job.indices.contains(&index))
    }

    /// Slurm's id of task `index` in its latest job, `<job>_<index>`.
    pub fn job_task_id(&self, index: usize) -> Option<String> {
        self.job_of(index)
            .map(|job| format!("{}_{index}", job.job_id))
    }

    /// The task index of `run`.
    pub fn index_of(&self, run: &RunId) -> Option<usize> {
        self.runs.iter().position(|id| id == run)
    }

    /// Notes that `job_id` was submitted for `indices`, now.
    pub fn record_job(&mut self, job_id: &str, indices: Vec<usize>) {
        self.jobs.push(SubmittedJob {
            job_id: job_id.to_string(),
            indices,
            submitted_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
        });
    }

    /// The ids of all its jobs, oldest first.
    pub fn job_ids(&self) -> Vec<String> {
        self.jobs.iter().map(|job| job.job_id.clone()).collect()
    }
}

/// A sweep name as part of a folder name: path separators and other odd
/// characters become `-`.
fn folder_name(sweep: &str) -> String {
    let cleaned: String = sweep
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() {
        "sweep".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submission(id: &str, sweep: &str) -> Submission {
        Submission {
            id: id.into(),
            ..Submission::new(sweep, "seed", vec!["r0".into(), "r1".into(), "r2".into()])
        }
    }

    fn saved(runs: &Path, id: &str, sweep: &str) -> Submission {
        let mut sub = submission(id, sweep);
        sub.create_dir(runs).unwrap();
        sub.save(runs).unwrap();
        sub
    }

    #[test]
    fn a_new_id_is_the_time_then_a_folder_safe_sweep_name() {
        let sub = Submission::new("a b/c", "seed", vec![]);
        assert_eq!(sub.id.len(), "20261202-063000-".len() + "a-b-c".len());
        assert!(sub.id.ends_with("-a-b-c"), "{}", sub.id);
        assert_eq!(folder_name(".."), "sweep");
        assert_eq!(sub.max_requeues, DEFAULT_MAX_REQUEUES);
    }

    #[test]
    fn a_record_survives_saving_and_loading() {
        let runs = tempfile::tempdir().unwrap();
        let mut sub = saved(runs.path(), "20261202-063000-sw", "sw");
        sub.record_job("41", vec![0, 1, 2]);
        sub.save(runs.path()).unwrap();
        assert_eq!(Submission::load(&sub.dir(runs.path())).unwrap(), sub);
        assert!(sub.log_dir(runs.path()).is_dir());
    }

    #[test]
    fn old_records_without_the_newer_fields_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let json = r#"{"id":"x","sweep":"s","plan":"p","runs":["a"],"later":1}"#;
        std::fs::write(dir.path().join(SUBMISSION_FILE), json).unwrap();
        let sub = Submission::load(dir.path()).unwrap();
        assert!(sub.jobs.is_empty());
        assert_eq!(sub.max_requeues, DEFAULT_MAX_REQUEUES);
    }

    #[test]
    fn a_second_submission_in_the_same_second_gets_its_own_folder() {
        let runs = tempfile::tempdir().unwrap();
        let first = saved(runs.path(), "20261202-063000-sw", "sw");
        let second = saved(runs.path(), "20261202-063000-sw", "sw");
        assert_eq!(second.id, "20261202-063000-sw-2");
        assert_ne!(first.dir(runs.path()), second.dir(runs.path()));
    }

    #[test]
    fn listing_is_oldest_first_and_tolerates_no_folder() {
        let runs = tempfile::tempdir().unwrap();
        assert!(Submission::list(runs.path()).unwrap().is_empty());
        saved(runs.path(), "20261202-070000-b", "b");
        saved(runs.path(), "20261202-060000-a", "a");
        std::fs::create_dir(runs.path().join("slurm/half-made")).unwrap();
        let ids: Vec<String> = Submission::list(runs.path())
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["20261202-060000-a", "20261202-070000-b"]);
    }

    #[test]
    fn an_unreadable_record_is_named() {
        let runs = tempfile::tempdir().unwrap();
        let dir = runs.path().join("slurm/broken");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(SUBMISSION_FILE), "{").unwrap();
        let message = Submission::list(runs.path()).unwrap_err().to_string();
        assert!(message.contains("broken/submission.json"), "{message}");
    }

    #[test]
    fn find_takes_an_id_a_sweep_or_a_unique_prefix() {
        let runs = tempfile::tempdir().unwrap();
        let path = runs.path();
        saved(path, "20261201-060000-sw", "sw");
        saved(path, "20261202-060000-sw", "sw");
        saved(path, "20261202-070000-other", "other");
        assert_eq!(
            Submission::find(path, "sw").unwrap().id,
            "20261202-060000-sw"
        );
        let exact = Submission::find(path, "20261201-060000-sw").unwrap();
        assert_eq!(exact.id, "20261201-060000-sw");
        assert_eq!(
            Submission::find(path, "20261202-07").unwrap().sweep,
            "other"
        );
        let ambiguous = Submission::find(path, "20261202").unwrap_err().to_string();
        assert!(ambiguous.contains("20261202-060000-sw (sw), 20261202-070000-other"));
        let unknown = Submission::find(path, "nope").unwrap_err().to_string();
        assert!(
            unknown.contains("20261202-070000-other (other)"),
            "{unknown}"
        );
    }

    #[test]
    fn a_resubmitted_index_belongs_to_its_latest_job() {
        let mut sub = submission("x", "sw");
        sub.record_job("41", vec![0, 1, 2]);
        sub.record_job("57", vec![1]);
        assert_eq!(sub.job_task_id(0).as_deref(), Some("41_0"));
        assert_eq!(sub.job_task_id(1).as_deref(), Some("57_1"));
        assert_eq!(sub.job_of(3), None);
        assert_eq!(sub.job_ids(), ["41", "57"]);
        assert_eq!(sub.index_of(&"r2".into()), Some(2));
        assert_eq!(sub.index_of(&"r9".into()), None);
        let logs = sub.log_path(Path::new("/runs"), 1).unwrap();
        assert_eq!(logs, Path::new("/runs/slurm/x/logs/57_1.out"));
    }
}
