//! Writing one run: its events appended to `events.jsonl`, its record kept current.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use super::{RunRecord, RunStatus, StoreError, EVENTS_FILE, RECORD_FILE};
use crate::train::Event;

/// The open log of one run. Progress events are buffered; epoch ends and
/// the run's end are flushed and fsync'd, so a crash loses at most the
/// progress of the epoch in flight.
#[derive(Debug)]
pub struct RunWriter {
    dir: PathBuf,
    record: RunRecord,
    events: BufWriter<File>,
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
