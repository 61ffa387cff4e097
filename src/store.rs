//! The run store: one folder per run under a runs folder.
//!
//! Each run folder holds `run.json` (a [`RunRecord`], replaced atomically),
//! `events.jsonl` (every [`crate::protocol::Event`], append-only), the
//! checkpoints `best.safetensors` and `final.safetensors`, and, once the run
//! is evaluated, its test predictions `predictions.safetensors`.

pub mod alerts;
pub mod error;
pub mod fold;
pub mod follow;
pub mod groups;
pub mod history;
pub mod holder;
pub mod liveness;
pub mod lock;
pub mod log;
pub mod naming;
pub mod predictions;
pub mod process;
pub mod record;
pub mod remove;
pub mod status;
pub mod writer;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

pub use alerts::{Alert, AlertKind, AlertRules, Sentinel};
pub use error::{PredictionsProblem, StoreError};
pub use fold::{Best, RunState};
pub use follow::{Follower, Update};
pub use groups::{group_runs, GroupRuns, GroupStats};
pub use history::{EpochRow, History, TestResult};
pub use holder::Holder;
pub use liveness::Liveness;
pub use lock::DeviceLock;
pub use log::{parse_events, read_events, EventLog};
pub use naming::{Named, Target};
pub use predictions::{Predictions, PREDICTIONS_FILE};
pub use process::WriterProcess;
pub use record::RunRecord;
pub use status::RunStatus;
pub use writer::RunWriter;

use crate::protocol::{Event, RunId, RunRequest};

/// Environment variable naming the runs folder.
pub const RUNS_ENV: &str = "ATELIER_RUNS";
/// File names inside a run folder.
pub const RECORD_FILE: &str = crate::edge::output::RUN_RECORD_FILE;
pub const EVENTS_FILE: &str = "events.jsonl";
/// The folder of Slurm submissions in a runs folder (see `crate::slurm`):
/// atelier's own, never a run.
pub const SLURM_DIR: &str = "slurm";

/// A runs folder.
#[derive(Clone, Debug)]
pub struct RunStore {
    dir: PathBuf,
    /// Ids handed out by [`RunStore::new_id`] in this process (shared by
    /// clones): a run's folder appears only when the trainer takes the
    /// request, so the folder alone cannot tell two ids of one second apart.
    issued: Arc<Mutex<HashSet<String>>>,
}

impl PartialEq for RunStore {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir
    }
}

impl Eq for RunStore {}

impl RunStore {
    /// Opens (creating if needed) the runs folder `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::io(&dir, "cannot create the runs folder", e))?;
        Ok(Self {
            dir,
            issued: Arc::default(),
        })
    }

    /// A handle on the runs folder `dir` that reads nothing and creates
    /// nothing: for a viewer of remote runs only, which names the local
    /// folder (screenshots stay out of it) but never reads it.
    pub fn unopened(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            issued: Arc::default(),
        }
    }

    /// The runs folder for this process: `--runs-dir`, else `ATELIER_RUNS`,
    /// else `runs/` in the per-user data folder; created if needed, for
    /// commands that write runs.
    pub fn resolve(flag: Option<&Path>) -> Result<Self, StoreError> {
        Self::open(Self::chosen_dir(flag)?)
    }

    /// The runs folder [`RunStore::resolve`] would open, opened only if it
    /// exists: a dry run reads what is there and creates nothing.
    pub fn if_exists(flag: Option<&Path>) -> Result<Self, StoreError> {
        let dir = Self::chosen_dir(flag)?;
        if dir.exists() {
            Self::open(dir)
        } else {
            Ok(Self::unopened(dir))
        }
    }

    /// The runs folder for this process, as [`RunStore::resolve`] finds it,
    /// for commands that only read: it must exist and be readable, and
    /// nothing is created (a mistyped `--runs-dir` is an error, not an
    /// empty store).
    pub fn existing(flag: Option<&Path>) -> Result<Self, StoreError> {
        let dir = Self::chosen_dir(flag)?;
        match std::fs::metadata(&dir) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoRunsFolder { dir })
            }
            Err(error) => return Err(StoreError::io(&dir, "cannot read the runs folder", error)),
            Ok(metadata) if !metadata.is_dir() => {
                return Err(StoreError::io(
                    &dir,
                    "not a runs folder",
                    std::io::Error::other("it is a file, not a folder"),
                ))
            }
            Ok(_) => {}
        }
        std::fs::read_dir(&dir)
            .map_err(|error| StoreError::io(&dir, "cannot read the runs folder", error))?;
        Ok(Self {
            dir,
            issued: Arc::default(),
        })
    }

    fn chosen_dir(flag: Option<&Path>) -> Result<PathBuf, StoreError> {
        flag.map(Path::to_path_buf)
            .or_else(Self::default_dir)
            .ok_or(StoreError::NoHome)
    }

    /// The runs folder used without `--runs-dir`: `ATELIER_RUNS`, else the
    /// per-user one; `None` without a home folder. Creates nothing.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os(RUNS_ENV)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| crate::paths::user_data_dir().map(|dir| dir.join("runs")))
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
    pub fn new_id(&self, name: &str) -> RunId {
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
        let base = format!("{}-{name}", crate::units::utc_stamp());
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        let mut id = base.clone();
        let mut suffix = 2;
        while issued.contains(&id) || self.run_dir(&id).exists() {
            id = format!("{base}-{suffix}");
            suffix += 1;
        }
        issued.insert(id.clone());
        RunId::from(id)
    }

    /// Creates the run's folder and its `run.json` (status queued); refused
    /// when the folder exists, so no run is ever written over.
    pub fn create(&self, request: &RunRequest) -> Result<RunWriter, StoreError> {
        RunWriter::create(self.run_dir(&request.id), RunRecord::new(request))
    }

    /// Creates the run as queued for another process to train (see
    /// [`RunWriter::hand_over`]): `train --jobs`' workers, a Slurm array.
    pub fn create_queued(&self, request: &RunRequest) -> Result<(), StoreError> {
        let mut writer = self.create(request)?;
        writer.record(&Event::Queued {
            run: request.id.clone(),
            spec: Box::new(request.spec.clone()),
        })?;
        writer.hand_over()
    }

    /// Stores a run that no process took up (still queued) as interrupted,
    /// to resume or resubmit later; false for any other run (one a process
    /// is writing is left to it).
    pub fn interrupt_if_queued(&self, id: &RunId) -> bool {
        let queued = self
            .load(id)
            .is_ok_and(|record| record.status == RunStatus::Queued);
        let Some(mut writer) = queued.then(|| self.reopen(id).ok()).flatten() else {
            return false;
        };
        let event = Event::Cancelled {
            run: id.clone(),
            epochs_done: writer.run_record().epochs_done,
        };
        writer.record(&event).is_ok()
    }

    /// Takes over the unfinished run `id` to continue it (see
    /// [`RunWriter::reopen`]); refused for a finished run and for one that
    /// another process is writing.
    pub fn reopen(&self, id: &str) -> Result<RunWriter, StoreError> {
        let record = self.load(id)?;
        if record.status == RunStatus::Done {
            return Err(StoreError::NotResumable {
                run: id.to_string(),
                reason: "it finished every epoch".into(),
            });
        }
        RunWriter::reopen(self.run_dir(id))
    }

    /// Checks that the runs folder can take `bytes` more (checkpoints and
    /// logs of a run described by `what`), so training does not start only
    /// to fail at its first checkpoint.
    pub fn check_room(&self, bytes: u64, what: &str) -> Result<(), StoreError> {
        let Some(available) = available_bytes(&self.dir) else {
            return Ok(());
        };
        if available >= bytes {
            return Ok(());
        }
        let megabytes = |bytes: u64| bytes.div_ceil(1 << 20);
        Err(StoreError::NoRoom {
            dir: self.dir.clone(),
            what: what.to_string(),
            needed: megabytes(bytes),
            available: available >> 20,
        })
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
            .filter(|entry| !is_atelier_folder(&entry.file_name()))
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            match load_in(&dir) {
                Ok(record) => records.push(record),
                Err(error) => errors.push(error),
            }
        }
        (records, errors)
    }

    /// The record of run `id`.
    pub fn load(&self, id: &str) -> Result<RunRecord, StoreError> {
        load_in(&self.run_dir(id))
    }

    /// The event log of run `id`.
    pub fn events(&self, id: &str) -> Result<EventLog, StoreError> {
        read_events(&self.run_dir(id).join(EVENTS_FILE))
    }
}

/// The record in the run folder `dir`, whose id must name that folder: a
/// record copied or renamed into another folder would send every command
/// that follows its id to the wrong place.
fn load_in(dir: &Path) -> Result<RunRecord, StoreError> {
    let path = dir.join(RECORD_FILE);
    let record = RunRecord::load(&path)?;
    match dir.file_name() {
        Some(folder) if folder != record.id.as_str() => Err(StoreError::BadRecord {
            path,
            problem: format!(
                "\"id\" is {:?}, but the run's folder is {:?}",
                record.id.as_str(),
                folder
            ),
        }),
        _ => Ok(record),
    }
}

/// The error of the runs folder itself, if listing it failed.
pub(crate) fn take_folder_error(
    dir: &Path,
    unreadable: &mut Vec<StoreError>,
) -> Option<StoreError> {
    let at = unreadable
        .iter()
        .position(|error| error.path() == Some(dir))?;
    Some(unreadable.swap_remove(at))
}

/// The error of a damaged run folder that `query` could mean: a query
/// that no readable run answers is answered with what is wrong there.
pub(crate) fn damaged_match(query: &str, unreadable: &mut Vec<StoreError>) -> Option<StoreError> {
    let at = unreadable.iter().position(|error| {
        error
            .run_folder_name()
            .is_some_and(|name| could_name(query, &name))
    })?;
    Some(unreadable.swap_remove(at))
}

/// Folders in a runs folder that are atelier's own and not runs: Slurm
/// submissions, and hidden ones.
fn is_atelier_folder(name: &std::ffi::OsStr) -> bool {
    name == SLURM_DIR || name.as_encoded_bytes().starts_with(b".")
}

/// Whether `query` (an id, an id's prefix, or a run name) could mean the
/// run folder `folder` (`YYYYMMDD-HHMMSS-name`, maybe `-2`).
fn could_name(query: &str, folder: &str) -> bool {
    if query.is_empty() {
        return false;
    }
    let name = folder.splitn(3, '-').nth(2).unwrap_or("");
    let name = name
        .rsplit_once('-')
        .filter(|(_, suffix)| suffix.chars().all(|c| c.is_ascii_digit()))
        .map_or(name, |(name, _)| name);
    folder.starts_with(query) || name.eq_ignore_ascii_case(query)
}

/// Bytes an unprivileged process may still write under `dir`; `None` where
/// the system cannot tell.
fn available_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::{ffi::CString, os::unix::ffi::OsStrExt};
        let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `path` is NUL-terminated and `stats` is a valid place for
        // statvfs to fill; it is read only when the call succeeds.
        let stats = unsafe {
            if libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) != 0 {
                return None;
            }
            stats.assume_init()
        };
        Some(stats.f_bavail.saturating_mul(stats.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::{
        model::ModelSpec,
        plan::{DevicePref, RunSpec},
        protocol::Event,
    };

    fn request(store: &RunStore, name: &str) -> RunRequest {
        RunRequest {
            id: store.new_id(name),
            plan: "test".into(),
            spec: RunSpec {
                label: Some("MLP [8]".into()),
                epochs: 2,
                seed: 1,
                device: DevicePref::Cpu,
                ..RunSpec::new(name, ModelSpec::tiny_mlp())
            },
        }
    }

    fn epoch_end(run: &str, epoch: u32, val_accuracy: f64) -> Event {
        Event::EpochEnd {
            run: run.into(),
            epoch,
            epochs: 2,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy,
            seconds: 1.5,
        }
    }

    fn full_run(run: &str) -> Vec<Event> {
        let mut confusion = [[0; 10]; 10];
        confusion[6][0] = 3;
        confusion[0][0] = 7;
        vec![
            crate::testing::started(run)
                .samples(48_000, 12_000)
                .steps(1_500)
                .epochs(2)
                .event(),
            Event::Progress {
                run: run.into(),
                epoch: 1,
                step: 10,
                steps: 1_500,
                loss: 1.0,
                accuracy: 0.5,
                recent_loss: 0.9,
                recent_accuracy: 0.6,
                samples_per_sec: 3_000.0,
                elapsed_secs: 0.1,
                learning_rate: None,
            },
            epoch_end(run, 1, 0.85),
            epoch_end(run, 2, 0.84),
            Event::Evaluated {
                run: run.into(),
                test_loss: 0.41,
                test_accuracy: 0.7,
                confusion: Box::new(confusion),
            },
            Event::Finished {
                run: run.into(),
                seconds: 3.0,
                best_val_accuracy: 0.85,
                best_epoch: 1,
            },
        ]
    }

    #[test]
    fn a_full_run_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path().join("runs")).unwrap();
        let request = request(&store, "tiny");
        let mut writer = store.create(&request).unwrap();
        assert_eq!(store.load(&request.id).unwrap().status, RunStatus::Queued);
        for event in full_run(&request.id) {
            writer.record(&event).unwrap();
        }
        drop(writer);
        let record = store.load(&request.id).unwrap();
        assert_eq!(record.status, RunStatus::Done);
        assert_eq!(
            (record.device.as_deref(), record.params),
            (Some("cpu"), Some(6_370))
        );
        assert_eq!(
            (
                record.epochs_done,
                record.best_epoch,
                record.best_val_accuracy
            ),
            (2, Some(1), Some(0.85))
        );
        assert_eq!(
            (record.test_accuracy, record.test_loss, record.seconds),
            (Some(0.7), Some(0.41), Some(3.0))
        );
        let log = store.events(&request.id).unwrap();
        assert!(!log.torn_tail);
        assert_eq!(log.events, full_run(&request.id));
        let history = History::from_events(&log.events);
        assert_eq!(history.epochs.len(), 2);
        assert_eq!(history.test.unwrap().confusion[6][0], 3);
        let leftovers: Vec<_> = fs::read_dir(store.run_dir(&request.id))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with('.') && name != writer::WRITER_LOCK_FILE)
            .collect();
        assert!(
            leftovers.is_empty(),
            "atomic replace leaves no temp files: {leftovers:?}"
        );
    }

    #[test]
    fn torn_last_line_is_skipped_and_a_bad_middle_line_is_named_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENTS_FILE);
        let good = serde_json::to_string(&epoch_end("r", 1, 0.5)).unwrap();
        fs::write(&path, format!("{good}\n{}", &good[..good.len() / 2])).unwrap();
        let log = read_events(&path).unwrap();
        assert_eq!((log.events.len(), log.torn_tail), (1, true));
        assert!(log.skipped.is_empty());
        let mut damaged = format!("{good}\n{{not json\n").into_bytes();
        damaged.extend_from_slice(&[0xff, 0xfe, b'\n']);
        damaged.extend_from_slice(format!("{good}\n").as_bytes());
        fs::write(&path, damaged).unwrap();
        let log = read_events(&path).unwrap();
        assert_eq!((log.events.len(), log.torn_tail), (2, false));
        let messages: Vec<String> = log.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].contains("events.jsonl: line 2: not a valid event"),
            "{messages:?}"
        );
        assert!(messages[1].contains("line 3"), "{messages:?}");
    }

    #[test]
    fn list_skips_a_corrupt_record_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let good = request(&store, "good");
        drop(store.create(&good).unwrap());
        fs::create_dir(dir.path().join("broken")).unwrap();
        fs::write(dir.path().join("broken").join(RECORD_FILE), "{\"id\": 3").unwrap();
        let (records, errors) = store.list();
        assert_eq!(records.len(), 1);
        assert_eq!(errors.len(), 1);
        let message = errors[0].to_string();
        assert!(
            message.contains("broken/run.json: not a valid run record"),
            "{message}"
        );
    }

    #[test]
    fn ids_are_unique_and_found_by_id_prefix_or_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let first = request(&store, "M1 wide/odd");
        assert!(first.id.ends_with("-M1_wide_odd"), "{}", first.id);
        drop(store.create(&first).unwrap());
        let second = request(&store, "M1 wide/odd");
        assert_ne!(first.id, second.id);
        drop(store.create(&second).unwrap());
        assert_eq!(store.find(&first.id).unwrap(), first.id);
        assert_eq!(
            store.find("m1 WIDE/odd").unwrap(),
            second.id,
            "a name finds its latest run"
        );
        let latest = request(&store, "MLP");
        drop(store.create(&latest).unwrap());
        assert_eq!(store.find("mlp").unwrap(), latest.id);
        assert_eq!(
            store.find(&latest.id[..latest.id.len() - 1]).unwrap(),
            latest.id
        );
        let message = store.find("nope").unwrap_err().to_string();
        assert!(
            message.starts_with("no run matches \"nope\" in "),
            "{message}"
        );
        assert!(message.contains(latest.id.as_str()), "{message}");
    }

    #[test]
    fn ids_issued_before_their_folders_exist_still_differ_and_no_run_is_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        // A plan with one name twice: all ids are issued before any folder exists.
        let clone = store.clone();
        let ids: Vec<RunId> = (0..3)
            .map(|i| if i == 1 { &clone } else { &store }.new_id("M1"))
            .collect();
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
        assert_ne!(ids[0], ids[2]);

        // Another process took an id's folder meanwhile: refused, its files untouched.
        let first = request(&store, "MLP");
        drop(store.create(&first).unwrap());
        let before = fs::read(store.run_dir(&first.id).join(RECORD_FILE)).unwrap();
        let again = RunRequest {
            plan: "other".into(),
            ..first.clone()
        };
        let message = store.create(&again).err().unwrap().to_string();
        assert!(
            message.ends_with("a run folder of that name already exists; not writing over it"),
            "{message}"
        );
        assert_eq!(
            fs::read(store.run_dir(&first.id).join(RECORD_FILE)).unwrap(),
            before
        );
    }
    #[test]
    fn progress_is_thinned_in_the_log_but_epoch_ends_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let request = request(&store, "busy");
        let mut writer = store.create(&request).unwrap();
        let progress = |step| Event::Progress {
            run: request.id.clone(),
            epoch: 1,
            step,
            steps: 100,
            loss: 1.0,
            accuracy: 0.5,
            recent_loss: 1.0,
            recent_accuracy: 0.5,
            samples_per_sec: 1.0,
            elapsed_secs: 0.0,
            learning_rate: None,
        };
        for step in 1..=100 {
            writer.record(&progress(step)).unwrap();
        }
        writer.record(&epoch_end(&request.id, 1, 0.5)).unwrap();
        drop(writer);
        let steps: Vec<usize> = store
            .events(&request.id)
            .unwrap()
            .events
            .iter()
            .filter_map(|event| match event {
                Event::Progress { step, .. } => Some(*step),
                _ => None,
            })
            .collect();
        assert_eq!(steps, [1, 100], "a burst keeps its first and last step");
    }

    #[test]
    fn dropping_a_running_writer_marks_the_run_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let request = request(&store, "crash");
        let mut writer = store.create(&request).unwrap();
        writer.record(&full_run(&request.id)[0]).unwrap();
        assert_eq!(store.load(&request.id).unwrap().status, RunStatus::Running);
        drop(writer);
        assert_eq!(
            store.load(&request.id).unwrap().status,
            RunStatus::Interrupted
        );
    }

    #[test]
    fn an_unwritable_runs_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        fs::write(&file, "x").unwrap();
        let message = RunStore::open(file.join("runs")).unwrap_err().to_string();
        assert!(
            message.contains("not-a-folder/runs: cannot create the runs folder"),
            "{message}"
        );
    }
}
