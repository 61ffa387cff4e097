//! Writing one run: its events appended to `events.jsonl`, its record kept current.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use super::{RunRecord, RunStatus, StoreError, EVENTS_FILE, RECORD_FILE};
use crate::train::Event;

/// Progress reaches the log at most this often (the channel gets up to 20 a
/// second): enough for history charts, and a 15-epoch wide CNN on a CPU
/// keeps a log of about a megabyte instead of tens.
pub const LOGGED_PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// The open log of one run. Every line reaches the OS at once (watchers
/// follow the file); epoch ends and the run's end are also fsync'd, so a
/// power loss loses at most the
/// progress of the epoch in flight.
#[derive(Debug)]
pub struct RunWriter {
    dir: PathBuf,
    record: RunRecord,
    events: BufWriter<File>,
    last_progress: Option<Instant>,
}

impl RunWriter {
    /// Creates the run folder with its record and an empty log.
    pub fn create(dir: PathBuf, record: RunRecord) -> Result<Self, StoreError> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::io(&dir, "cannot create the run folder", e))?;
        record.save(&dir.join(RECORD_FILE))?;
        let path = dir.join(EVENTS_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, "cannot open", e))?;
        Ok(Self {
            dir,
            record,
            events: BufWriter::new(file),
            last_progress: None,
        })
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record as last saved.
    pub fn run_record(&self) -> &RunRecord {
        &self.record
    }

    /// Appends `event`; on lifecycle events also flushes and updates `run.json`.
    pub fn record(&mut self, event: &Event) -> Result<(), StoreError> {
        if let Event::Progress { step, steps, .. } = event {
            let recent = self
                .last_progress
                .is_some_and(|last| last.elapsed() < LOGGED_PROGRESS_INTERVAL);
            // An epoch's last step is always kept: it closes the epoch's curve.
            if recent && step != steps {
                return Ok(());
            }
            self.last_progress = Some(Instant::now());
        }
        let path = self.dir.join(EVENTS_FILE);
        let mut line = serde_json::to_vec(event).map_err(|e| StoreError::BadEvent {
            path: path.clone(),
            line: 0,
            problem: e.to_string(),
        })?;
        line.push(b'\n');
        self.events
            .write_all(&line)
            .map_err(|e| StoreError::io(&path, "cannot append to", e))?;
        let durable = matches!(event, Event::EpochEnd { .. }) || event.is_terminal();
        if durable {
            self.flush()?;
        } else {
            // To the OS, not the disk: watchers in other processes see it live.
            self.events
                .flush()
                .map_err(|e| StoreError::io(&path, "cannot append to", e))?;
        }
        if self.record.apply(event) {
            self.record.save(&self.dir.join(RECORD_FILE))?;
        }
        Ok(())
    }

    /// Flushes the log to disk.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let path = self.dir.join(EVENTS_FILE);
        self.events
            .flush()
            .and_then(|()| self.events.get_ref().sync_data())
            .map_err(|e| StoreError::io(&path, "cannot flush", e))
    }
}

impl Drop for RunWriter {
    /// A writer dropped before its run ended means the run will not go on:
    /// say so in the record rather than leave it "running" forever.
    fn drop(&mut self) {
        let _ = self.flush();
        if matches!(self.record.status, RunStatus::Queued | RunStatus::Running) {
            self.record.status = RunStatus::Interrupted;
            let _ = self.record.save(&self.dir.join(RECORD_FILE));
        }
    }
}
