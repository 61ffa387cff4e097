//! Writing one run: its events appended to `events.jsonl`, its record kept current.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use super::{process::WriterProcess, RunRecord, RunStatus, StoreError, EVENTS_FILE, RECORD_FILE};
use crate::protocol::Event;

/// The lock file in a run folder, held (an OS file lock) by the one process
/// writing the run. The OS drops the lock when that process dies however it
/// dies, so a stale lock needs no clearing: the next writer simply gets it.
pub const WRITER_LOCK_FILE: &str = ".writer.lock";

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
    /// Held for the writer's life; see [`WRITER_LOCK_FILE`].
    _lock: File,
    /// Another process takes the run up: dropping this writer leaves it as is.
    handed_over: bool,
}

impl RunWriter {
    /// Creates the run folder with its record and an empty log.
    pub fn create(dir: PathBuf, record: RunRecord) -> Result<Self, StoreError> {
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => StoreError::RunExists { dir: dir.clone() },
            _ => StoreError::io(&dir, "cannot create the run folder", e),
        })?;
        let lock = lock_run(&dir, &record)?;
        record.save(&dir.join(RECORD_FILE))?;
        Self::open_log(dir, record, lock)
    }

    /// Takes over a stored run that no process is writing, to continue it:
    /// appends to its log (after cutting off a torn last line, so the next
    /// line starts clean) and names this process as its writer.
    pub fn reopen(dir: PathBuf) -> Result<Self, StoreError> {
        let mut record = RunRecord::load(&dir.join(RECORD_FILE))?;
        let lock = lock_run(&dir, &record)?;
        cut_torn_tail(&dir.join(EVENTS_FILE))?;
        record.follow_log(&dir.join(EVENTS_FILE))?;
        record.writer = Some(WriterProcess::current());
        record.save(&dir.join(RECORD_FILE))?;
        Self::open_log(dir, record, lock)
    }

    fn open_log(dir: PathBuf, record: RunRecord, lock: File) -> Result<Self, StoreError> {
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
            _lock: lock,
            handed_over: false,
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

    /// Leaves the run for another process (a worker, a Slurm task) to take
    /// up: its record names no writer, so viewers show it waiting rather
    /// than crashed when this process ends.
    pub fn hand_over(mut self) -> Result<(), StoreError> {
        self.flush()?;
        self.handed_over = true;
        self.record.writer = None;
        self.record.save(&self.dir.join(RECORD_FILE))
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

/// The run folder's writer-lock file, opened (created if need be) but not
/// locked yet, and its path for messages.
pub(super) fn open_writer_lock(dir: &Path) -> Result<(File, PathBuf), StoreError> {
    let path = dir.join(WRITER_LOCK_FILE);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io(&path, "cannot open the run's lock", e))?;
    Ok((file, path))
}

/// Takes the run folder's writer lock, or says which process holds it.
fn lock_run(dir: &Path, record: &RunRecord) -> Result<File, StoreError> {
    let (file, path) = open_writer_lock(dir)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::RunBusy {
            run: record.id.to_string(),
            pid: record.writer.as_ref().map(|writer| writer.pid),
        }),
        Err(TryLockError::Error(e)) => Err(StoreError::io(&path, "cannot lock", e)),
    }
}

/// Drops an incomplete last line (a write cut short by a crash).
fn cut_torn_tail(path: &Path) -> Result<(), StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io(path, "cannot read", e)),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |at| at + 1);
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(keep as u64).and_then(|()| file.sync_all()))
        .map_err(|e| StoreError::io(path, "cannot cut the torn last line of", e))
}

impl Drop for RunWriter {
    /// A writer dropped before its run ended means the run will not go on:
    /// say so in the record rather than leave it "running" forever.
    fn drop(&mut self) {
        let _ = self.flush();
        if self.handed_over {
            return;
        }
        if matches!(self.record.status, RunStatus::Queued | RunStatus::Running) {
            self.record.status = RunStatus::Interrupted;
            let _ = self.record.save(&self.dir.join(RECORD_FILE));
        }
    }
}
