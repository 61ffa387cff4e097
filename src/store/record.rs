//! `run.json`: what a run is and how it ended, replaced atomically.

use std::{io::Write, path::Path};

use serde::{Deserialize, Serialize};

use super::{liveness::WriterProcess, StoreError};
use crate::{
    plan::RunSpec,
    protocol::{Event, RunRequest},
};

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Done,
    Failed,
    Interrupted,
}

/// The content of `run.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub plan: String,
    pub spec: RunSpec,
    pub status: RunStatus,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// atelier's version that wrote the run.
    pub version: String,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub params: Option<u64>,
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
}

impl RunRecord {
    /// A queued run's record.
    pub fn new(request: &RunRequest) -> Self {
        Self {
            id: request.id.clone(),
            plan: request.plan.clone(),
            spec: request.spec.clone(),
            status: RunStatus::Queued,
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            device: None,
            params: None,
            epochs_done: 0,
            best_val_accuracy: None,
            best_epoch: None,
            test_accuracy: None,
            test_loss: None,
            seconds: None,
            error: None,
            writer: Some(WriterProcess::current()),
        }
    }

    /// Folds a lifecycle event into the record; returns whether it changed.
    pub fn apply(&mut self, event: &Event) -> bool {
        match event {
            Event::Started {
                device,
                params,
                resumed_after,
                ..
            } => {
                self.status = RunStatus::Running;
                self.error = None;
                self.writer = Some(WriterProcess::current());
                if *resumed_after > 0 {
                    self.epochs_done = *resumed_after;
                    self.test_accuracy = None;
                    self.test_loss = None;
                    self.seconds = None;
                }
                self.device = Some(device.clone());
                self.params = Some(*params);
            }
            Event::EpochEnd {
                epoch,
                val_accuracy,
                ..
            } => {
                self.epochs_done = *epoch;
                if self
                    .best_val_accuracy
                    .is_none_or(|best| *val_accuracy > best)
                {
                    self.best_val_accuracy = Some(*val_accuracy);
                    self.best_epoch = Some(*epoch);
                }
            }
            Event::Evaluated {
                test_loss,
                test_accuracy,
                ..
            } => {
                self.test_loss = Some(*test_loss);
                self.test_accuracy = Some(*test_accuracy);
            }
            Event::Finished { seconds, .. } => {
                self.status = RunStatus::Done;
                self.seconds = Some(*seconds);
            }
            Event::Cancelled { .. } => self.status = RunStatus::Interrupted,
            Event::Failed { message, .. } => {
                self.status = RunStatus::Failed;
                self.error = Some(message.clone());
            }
            Event::Queued { .. }
            | Event::Phase { .. }
            | Event::Progress { .. }
            | Event::Paused { .. }
            | Event::Resumed { .. } => return false,
        }
        true
    }

    /// Reads `run.json`.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| StoreError::io(path, "cannot read", e))?;
        serde_json::from_str(&text).map_err(|e| StoreError::BadRecord {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })
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
