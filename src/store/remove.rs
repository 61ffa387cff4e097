//! Removing stored runs (`atelier runs rm`, and a submission that Slurm
//! refused): never a run that a process writes or waits to take up, never
//! anything but a run folder of the runs folder, and never half a run: the
//! folder is first renamed to a hidden name that no listing shows, then
//! deleted.

use std::{
    fs::{File, TryLockError},
    path::Path,
    time::SystemTime,
};

use super::{
    liveness::{self, Liveness, DEFAULT_STALL_AFTER},
    writer::open_writer_lock,
    RunRecord, RunStatus, RunStore, StoreError, SLURM_DIR,
};

/// The start of a run folder's name while it is being removed: hidden, so
/// that no command lists it, followed by the run's id and the pid removing it.
pub const REMOVING_PREFIX: &str = ".removing-";

impl RunStore {
    /// Whether `record`'s run is active, in words: queued or running in a
    /// live process, or waiting for a Slurm task or a worker to take it up.
    /// A run whose process died (crashed) is not. An active run is not
    /// removed, nor taken up by another command.
    pub fn active(&self, record: &RunRecord) -> Option<String> {
        let now = SystemTime::now();
        let liveness = liveness::judge(record, now, now, DEFAULT_STALL_AFTER)?;
        if liveness == Liveness::Crashed {
            return None;
        }
        let writer = record.writer.as_ref().map(|writer| {
            if writer.is_current() {
                "this process".to_string()
            } else {
                format!("pid {} on {}", writer.pid, writer.host)
            }
        });
        Some(match (record.status, writer) {
            (RunStatus::Running, Some(writer)) => format!(
                "it is running ({writer}); stop it first (`atelier watch` and `c`, or end that process)"
            ),
            (_, Some(writer)) => format!(
                "it is queued in a live atelier process ({writer}); stop that process first"
            ),
            (_, None) => "it is queued for a Slurm task or a worker to take up; cancel that first \
                          (`atelier slurm cancel`)"
                .to_string(),
        })
    }

    /// Removes run `id` (its folder and everything in it); refused while
    /// the run is active (see [`RunStore::active`]) or another
    /// process holds its writer lock, and for anything but a plain run
    /// folder of this runs folder.
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.remove_run(id, true)
    }

    /// Removes run `id`, which this process created and no process took
    /// up (a submission that Slurm refused): as [`RunStore::remove`], but
    /// a queued run is no reason to refuse.
    pub(crate) fn discard(&self, id: &str) -> Result<(), StoreError> {
        self.remove_run(id, false)
    }

    fn remove_run(&self, id: &str, refuse_active: bool) -> Result<(), StoreError> {
        let refuse = |reason: String| StoreError::NotRemovable {
            run: id.to_string(),
            reason,
        };
        if !is_run_folder_name(id) {
            return Err(refuse(
                "its id does not name a run folder of the runs folder".into(),
            ));
        }
        self.clear_removal_leftovers();
        let dir = self.run_dir(id);
        let metadata = std::fs::symlink_metadata(&dir)
            .map_err(|error| StoreError::io(&dir, "cannot read the run folder", error))?;
        if !metadata.is_dir() {
            return Err(refuse(format!(
                "{} is a link or a file, not a run folder; atelier removes nothing outside the runs folder",
                dir.display()
            )));
        }
        let record = self.load(id)?;
        // Held until the folder is gone: no process can take the run up meanwhile.
        let _lock = hold_writer_lock(&dir, &record)?;
        if refuse_active {
            if let Some(reason) = self.active(&record) {
                return Err(refuse(reason));
            }
        }
        let aside = self
            .dir()
            .join(format!("{REMOVING_PREFIX}{id}.{}", std::process::id()));
        std::fs::rename(&dir, &aside).map_err(|error| {
            StoreError::io(&dir, "cannot move the run folder aside to remove it", error)
        })?;
        std::fs::remove_dir_all(&aside).map_err(|error| {
            StoreError::io(
                &aside,
                "the run is no longer listed, but this folder could not be deleted; delete it by hand",
                error,
            )
        })
    }

    /// Deletes what removals cut short left behind (a folder named
    /// [`REMOVING_PREFIX`]… whose process is gone); quietly, as it can.
    fn clear_removal_leftovers(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(REMOVING_PREFIX)) else {
                continue;
            };
            let pid = rest
                .rsplit_once('.')
                .and_then(|(_, pid)| pid.parse::<u32>().ok());
            let gone = pid.is_some_and(|pid| pid != std::process::id() && !process_exists(pid));
            let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
            if gone && is_dir {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Whether `id` names a folder right inside the runs folder that can be a
/// run's: one plain, visible path component, not atelier's own.
fn is_run_folder_name(id: &str) -> bool {
    !id.is_empty() && id != SLURM_DIR && !id.starts_with('.') && !id.contains(['/', '\\', '\0'])
}

/// The run's writer lock, taken; refused when another process holds it.
fn hold_writer_lock(dir: &Path, record: &RunRecord) -> Result<File, StoreError> {
    let (file, path) = open_writer_lock(dir)?;
    // A lock let go of a moment ago can still be held for an instant by a
    // child process between its fork and its exec: a few tries, briefly.
    for _ in 0..LOCK_TRIES {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) => std::thread::sleep(LOCK_PAUSE),
            Err(TryLockError::Error(error)) => {
                return Err(StoreError::io(&path, "cannot lock", error))
            }
        }
    }
    Err(StoreError::RunBusy {
        run: record.id.to_string(),
        pid: record.writer.as_ref().map(|writer| writer.pid),
    })
}

/// How often, and how far apart, a run's writer lock is tried.
const LOCK_TRIES: usize = 5;
const LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Whether a process `pid` exists on this machine.
fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill(2) with signal 0 sends nothing; it takes plain integers.
        let status = unsafe { libc::kill(pid, 0) };
        status == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{protocol::RunRequest, store::WriterProcess};

    fn request(store: &RunStore, name: &str) -> RunRequest {
        RunRequest {
            id: store.new_id(name),
            plan: "test".into(),
            spec: crate::testing::tiny_spec(name, 1),
        }
    }

    #[test]
    fn a_finished_or_crashed_run_is_removed_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path().join("runs")).unwrap();
        let keep = request(&store, "keep");
        drop(store.create(&keep).unwrap());
        let done = request(&store, "done");
        drop(store.create(&done).unwrap());
        store.remove(&done.id).unwrap();
        assert!(!store.run_dir(&done.id).exists());
        let (records, errors) = store.list();
        assert_eq!((records.len(), errors.len()), (1, 0));
        let leftovers: Vec<_> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, [std::ffi::OsString::from(keep.id.as_str())]);

        // A run left "running" by a process that is gone: crashed, removable.
        let crashed = request(&store, "crashed");
        let mut writer = store.create(&crashed).unwrap();
        writer
            .record(&crate::testing::started(crashed.id.clone()).event())
            .unwrap();
        writer.hand_over().unwrap();
        let mut record = store.load(&crashed.id).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        record.writer = Some(WriterProcess {
            pid: child.id(),
            ..WriterProcess::current()
        });
        child.wait().unwrap();
        record
            .save(&store.run_dir(&crashed.id).join(crate::store::RECORD_FILE))
            .unwrap();
        assert!(store.active(&record).is_none());
        store.remove(&crashed.id).unwrap();
    }

    #[test]
    fn active_runs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        // Being written by this process: its lock is held.
        let live = request(&store, "live");
        let mut writer = store.create(&live).unwrap();
        writer
            .record(&crate::testing::started(live.id.clone()).event())
            .unwrap();
        let message = store.remove(&live.id).unwrap_err().to_string();
        assert!(
            message.contains("is being written by another atelier process"),
            "{message}"
        );
        drop(writer);
        // Queued for a Slurm task: refused; discarded by its own submission.
        let queued = request(&store, "queued");
        store.create_queued(&queued).unwrap();
        let message = store.remove(&queued.id).unwrap_err().to_string();
        assert!(
            message.contains("queued for a Slurm task or a worker"),
            "{message}"
        );
        store.discard(&queued.id).unwrap();
        assert!(!store.run_dir(&queued.id).exists());
        // The interrupted one (the dropped writer) goes.
        store.remove(&live.id).unwrap();
    }

    #[test]
    fn nothing_outside_the_runs_folder_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path().join("runs")).unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("precious"), "x").unwrap();
        for id in ["..", "../outside", "", ".hidden", "slurm"] {
            let message = store.remove(id).unwrap_err().to_string();
            assert!(message.contains("does not name a run folder"), "{message}");
        }
        std::os::unix::fs::symlink(&outside, store.run_dir("linked")).unwrap();
        let message = store.remove("linked").unwrap_err().to_string();
        assert!(message.contains("is a link or a file"), "{message}");
        assert!(outside.join("precious").exists());
        assert!(store.run_dir("linked").exists());
    }

    #[test]
    fn a_removal_cut_short_is_finished_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let leftover = dir.path().join(format!("{REMOVING_PREFIX}old.{gone}"));
        std::fs::create_dir(&leftover).unwrap();
        std::fs::write(leftover.join("events.jsonl"), "").unwrap();
        assert!(store.list().0.is_empty() && store.list().1.is_empty());
        let run = request(&store, "r");
        drop(store.create(&run).unwrap());
        store.remove(&run.id).unwrap();
        assert!(!leftover.exists());
    }
}
