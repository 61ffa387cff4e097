//! `run.json`: what a run is and how it ended, replaced atomically.

use std::{io::Write, path::Path};

use serde::{Deserialize, Serialize};

use super::{
    fold::RunState, log::read_events, process::WriterProcess, status::RunStatus, StoreError,
};
use crate::{
    plan::{Group, RunSpec},
    protocol::{Event, RunId, RunRequest, ThreadReason},
};

/// A `run.json` value out of the range a run can have.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
enum RecordProblem {
    #[error("\"{key}\" is {found}, expected an accuracy in [0, 1]")]
    NotAnAccuracy { key: &'static str, found: f64 },
    #[error("\"{key}\" is {found}, expected a finite number ≥ 0")]
    Negative { key: &'static str, found: f64 },
    #[error("\"epochs_done\" is {done}, but the run has {}", crate::units::count(*.epochs, "epoch"))]
    PastTheEnd { done: u32, epochs: u32 },
    #[error("\"best_epoch\" is {best}, expected one of the {} done", crate::units::count(*.done, "epoch"))]
    BestNotDone { best: u32, done: u32 },
}

/// The content of `run.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: RunId,
    pub plan: String,
    pub spec: RunSpec,
    /// Runs that differ only in their seed share it. Records written
    /// before groups get theirs from the spec when read.
    #[serde(default)]
    pub group: Option<Group>,
    pub status: RunStatus,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// atelier's version that wrote the run.
    pub version: String,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub params: Option<u64>,
    /// The libtorch CPU threads it trains with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u16>,
    /// Why that many ([`ThreadReason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_reason: Option<ThreadReason>,
    #[serde(default)]
    pub epochs_done: u32,
    #[serde(default)]
    pub best_val_accuracy: Option<f64>,
    #[serde(default)]
    pub best_epoch: Option<u32>,
    #[serde(default)]
    pub test_accuracy: Option<f64>,
    #[serde(default)]
    pub test_loss: Option<f64>,
    /// Training time in seconds, once finished.
    #[serde(default)]
    pub seconds: Option<f64>,
    #[serde(default)]
    pub error: Option<String>,
    /// The process that writes the run, to tell a crashed run from a live one.
    #[serde(default)]
    pub writer: Option<WriterProcess>,
    /// The events folded into the fields above, by this process.
    #[serde(skip)]
    folded: Folded,
}

/// The fold behind a record's summary. It lives only in the process that
/// writes the run (`events.jsonl` holds it on disk), so it is no part of a
/// record's equality: two records are equal when they store the same
/// `run.json`.
#[derive(Clone, Debug, Default)]
struct Folded(RunState);

impl PartialEq for Folded {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Sets `slot` to `value`; returns whether that changed it.
fn replace<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        return false;
    }
    *slot = value;
    true
}

impl RunRecord {
    /// A queued run's record.
    pub fn new(request: &RunRequest) -> Self {
        Self {
            id: request.id.clone(),
            plan: request.plan.clone(),
            spec: request.spec.clone(),
            group: Some(request.spec.group()),
            status: RunStatus::Queued,
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            device: None,
            params: None,
            threads: None,
            thread_reason: None,
            epochs_done: 0,
            best_val_accuracy: None,
            best_epoch: None,
            test_accuracy: None,
            test_loss: None,
            seconds: None,
            error: None,
            writer: Some(WriterProcess::current()),
            folded: Folded::default(),
        }
    }

    /// Folds an event into the record (by the rules of [`super::fold`]);
    /// returns whether `run.json` should be written again. The record's
    /// fields become the summary of every event folded so far, so a record
    /// read from disk must first [`follow_log`](Self::follow_log) its log.
    pub fn apply(&mut self, event: &Event) -> bool {
        self.folded.0.apply(event);
        let mut changed = self.summarize();
        if matches!(event, Event::Started { .. }) {
            // Whoever starts the run writes it from now on.
            self.writer = Some(WriterProcess::current());
            changed = true;
        }
        changed
    }

    /// Folds the events already in the run's log at `path` (a missing log
    /// holds none), so that the events applied next continue its story: a
    /// continued run's best epoch is judged over all its kept epochs, not
    /// only those of this attempt. The summary fields are left as read
    /// until the next event: the record, not the log, says a run was
    /// interrupted. Lines that do not parse are skipped, as every reader does.
    pub fn follow_log(&mut self, path: &Path) -> Result<(), StoreError> {
        let events = match read_events(path) {
            Ok(log) => log.events,
            Err(StoreError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
                Vec::new()
            }
            Err(error) => return Err(error),
        };
        self.folded = Folded(RunState::from_events(&events));
        Ok(())
    }

    /// Copies the fold's summary into the record's fields; returns whether any changed.
    fn summarize(&mut self) -> bool {
        let state = &self.folded.0;
        let best = state.best();
        let test = state.test.as_ref();
        [
            replace(&mut self.status, state.status),
            replace(&mut self.device, state.device.clone()),
            replace(&mut self.params, state.params),
            replace(&mut self.threads, state.threads.as_ref().map(|t| t.0)),
            replace(
                &mut self.thread_reason,
                state.threads.as_ref().map(|t| t.1.clone()),
            ),
            replace(&mut self.epochs_done, state.epochs_done),
            replace(&mut self.best_val_accuracy, best.map(|b| b.val_accuracy)),
            replace(&mut self.best_epoch, best.map(|b| b.epoch)),
            replace(&mut self.test_accuracy, test.map(|t| t.accuracy)),
            replace(&mut self.test_loss, test.map(|t| t.loss)),
            replace(&mut self.seconds, state.seconds),
            replace(&mut self.error, state.error.clone()),
        ]
        .contains(&true)
    }

    /// Reads `run.json`.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let bad = |problem: String| StoreError::BadRecord {
            path: path.to_path_buf(),
            problem,
        };
        let text =
            crate::edge::read::text(path, crate::edge::read::RECORD_LIMIT).map_err(|error| {
                match error {
                    crate::edge::read::ReadError::Io { error, .. } => {
                        StoreError::io(path, "cannot read", error)
                    }
                    other => bad(other.to_string()),
                }
            })?;
        let mut record: Self = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        record.check().map_err(|problem| bad(problem.to_string()))?;
        record.group.get_or_insert_with(|| record.spec.group());
        Ok(record)
    }

    /// The values a run can have: accuracies in [0, 1], losses and seconds
    /// that are finite and not negative, a best epoch among the epochs done.
    fn check(&self) -> Result<(), RecordProblem> {
        for (key, value) in [
            ("best_val_accuracy", self.best_val_accuracy),
            ("test_accuracy", self.test_accuracy),
        ] {
            if let Some(found) = value.filter(|v| !(0.0..=1.0).contains(v)) {
                return Err(RecordProblem::NotAnAccuracy { key, found });
            }
        }
        for (key, value) in [("test_loss", self.test_loss), ("seconds", self.seconds)] {
            if let Some(found) = value.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(RecordProblem::Negative { key, found });
            }
        }
        let done = self.epochs_done;
        if done > self.spec.epochs {
            return Err(RecordProblem::PastTheEnd {
                done,
                epochs: self.spec.epochs,
            });
        }
        if let Some(best) = self.best_epoch.filter(|&best| best == 0 || best > done) {
            return Err(RecordProblem::BestNotDone { best, done });
        }
        Ok(())
    }

    /// The run's group, as stored or derived from its spec.
    pub fn group(&self) -> Group {
        self.group.clone().unwrap_or_else(|| self.spec.group())
    }

    /// Replaces `path` atomically: a temp file in the same folder, fsync'd, renamed.
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut builder = tempfile::Builder::new();
        // tempfile's default 0600 would hide the record from other users' watchers.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let mut file = builder
            .prefix(".run.json.")
            .tempfile_in(dir)
            .map_err(|e| StoreError::io(dir, "cannot create a temporary file", e))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| StoreError::BadRecord {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        file.write_all(&json)
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| StoreError::io(file.path(), "cannot write", e))?;
        file.persist(path)
            .map_err(|e| StoreError::io(path, "cannot replace", e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSpec;

    fn record() -> RunRecord {
        RunRecord::new(&RunRequest {
            id: "r".into(),
            plan: "test".into(),
            spec: RunSpec::new("r", ModelSpec::tiny_mlp()),
        })
    }

    fn started(resumed_after: u32) -> Event {
        crate::testing::started("r")
            .resumed(resumed_after, 0)
            .event()
    }

    fn epoch_end(epoch: u32, val_accuracy: f64) -> Event {
        Event::EpochEnd {
            run: "r".into(),
            epoch,
            epochs: 3,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy,
            seconds: 1.0,
        }
    }

    #[test]
    fn the_summary_is_the_fold_of_the_events() {
        let mut record = record();
        assert!(record.apply(&started(0)), "a start names its writer");
        assert!(record.apply(&epoch_end(1, 0.7)));
        assert!(record.apply(&epoch_end(2, 0.9)));
        let progress = Event::Progress {
            run: "r".into(),
            epoch: 3,
            step: 1,
            steps: 10,
            loss: 1.0,
            accuracy: 0.5,
            recent_loss: 1.0,
            recent_accuracy: 0.5,
            samples_per_sec: 1.0,
            elapsed_secs: 0.0,
            learning_rate: None,
        };
        assert!(!record.apply(&progress), "progress leaves run.json alone");
        assert!(!record.apply(&Event::Paused { run: "r".into() }));
        assert_eq!(
            (
                record.epochs_done,
                record.best_epoch,
                record.best_val_accuracy
            ),
            (2, Some(2), Some(0.9))
        );
        // Epoch 2 was logged but its checkpoint never written: continued after 1.
        assert!(record.apply(&started(1)));
        assert_eq!(
            (
                record.epochs_done,
                record.best_epoch,
                record.best_val_accuracy
            ),
            (1, Some(1), Some(0.7)),
            "the voided epoch is no longer the best"
        );
        assert_eq!(record.status, RunStatus::Running);
    }

    #[test]
    fn a_reopened_record_continues_the_story_of_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(super::super::EVENTS_FILE);
        let lines: String = [started(0), epoch_end(1, 0.9), epoch_end(2, 0.8)]
            .iter()
            .map(|event| serde_json::to_string(event).unwrap() + "\n")
            .collect();
        std::fs::write(&log, lines).unwrap();
        let mut record = record();
        record.status = RunStatus::Interrupted;
        record.follow_log(&log).unwrap();
        assert_eq!(
            record.status,
            RunStatus::Interrupted,
            "reading the log leaves the record's word until the next event"
        );
        record.apply(&started(2));
        record.apply(&epoch_end(3, 0.85));
        assert_eq!(
            (
                record.epochs_done,
                record.best_epoch,
                record.best_val_accuracy
            ),
            (3, Some(1), Some(0.9)),
            "the best epoch of the first attempt still counts"
        );
        record
            .follow_log(&dir.path().join("missing.jsonl"))
            .unwrap();
        assert_eq!(
            record.folded.0,
            RunState::default(),
            "a missing log holds no events"
        );
    }

    #[test]
    fn a_record_with_fields_this_version_does_not_know_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let written = record();
        let mut json = serde_json::to_value(&written).unwrap();
        json["from_the_future"] = serde_json::json!({ "any": [1, 2] });
        json["spec"]["new_setting"] = serde_json::json!(true);
        json["spec"]["model"]["new_layer"] = serde_json::json!("norm");
        json["writer"]["user"] = serde_json::json!("someone");
        std::fs::write(&path, json.to_string()).unwrap();
        assert_eq!(RunRecord::load(&path).unwrap(), written);
    }
}
