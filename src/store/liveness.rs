//! Is a run's writer still there? A run recorded as running whose process
//! has died is crashed; one whose log has been quiet too long is stalled.

use std::time::{Duration, SystemTime};

use super::{
    process::WriterProcess, record::RunRecord, status::RunStatus, RunStore, EVENTS_FILE,
    RECORD_FILE,
};

/// How long a running run may stay silent before it is called stalled.
/// Progress reaches the log twice a second while training, but one
/// validation pass of a wide CNN on a slow CPU can take a minute or two.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(300);

/// A live run's writer, as far as can be told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// Writing, or waiting its turn in a live process.
    Alive,
    /// Its process lives (or is elsewhere) but nothing was written for this long.
    Stalled { quiet: Duration },
    /// Its process is gone without saying how the run ended.
    Crashed,
}

/// Judges a queued or running run; `None` for runs that have ended.
/// `last_write` is when its log or record last changed.
pub fn judge(
    record: &RunRecord,
    last_write: SystemTime,
    now: SystemTime,
    stall_after: Duration,
) -> Option<Liveness> {
    if !matches!(record.status, RunStatus::Queued | RunStatus::Running) {
        return None;
    }
    if let Some(false) = record.writer.as_ref().and_then(WriterProcess::is_alive) {
        return Some(Liveness::Crashed);
    }
    let quiet = now.duration_since(last_write).unwrap_or_default();
    // A queued run waits silently for the runs before it: only a dead process condemns it.
    if record.status == RunStatus::Running && quiet > stall_after {
        return Some(Liveness::Stalled { quiet });
    }
    Some(Liveness::Alive)
}

/// A stored run's status as `atelier runs` shows it: the recorded one
/// (`done`), unless the run's writer is gone (`crashed`) or silent
/// (`stalled 400s`) at `now`.
pub fn shown_status(store: &RunStore, record: &RunRecord, now: SystemTime) -> String {
    let written = [RECORD_FILE, EVENTS_FILE]
        .iter()
        .filter_map(|file| {
            let path = store.run_dir(&record.id).join(file);
            std::fs::metadata(path).and_then(|m| m.modified()).ok()
        })
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    match judge(record, written, now, DEFAULT_STALL_AFTER) {
        Some(Liveness::Crashed) => "crashed".into(),
        Some(Liveness::Stalled { quiet }) => format!("stalled {}s", quiet.as_secs()),
        _ => format!("{:?}", record.status).to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::ModelSpec, plan::RunSpec, protocol::RunRequest};

    fn request() -> RunRequest {
        RunRequest {
            id: "r".into(),
            plan: "test".into(),
            spec: RunSpec::new(
                "r",
                ModelSpec::Mlp {
                    hidden: vec![4],
                    dropout: false,
                },
            ),
        }
    }

    fn record(status: RunStatus, writer: Option<WriterProcess>) -> RunRecord {
        let mut record = RunRecord::new(&request());
        record.status = status;
        record.writer = writer;
        record
    }

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_not() {
        let me = WriterProcess::current();
        assert!(me.is_current());
        assert_eq!(me.is_alive(), Some(true));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = WriterProcess {
            pid,
            started: Some(1),
            ..WriterProcess::current()
        };
        assert_eq!(gone.is_alive(), Some(false));
        let elsewhere = WriterProcess {
            host: "another-host.invalid".into(),
            ..WriterProcess::current()
        };
        assert_eq!(elsewhere.is_alive(), None);
    }

    #[test]
    fn a_reused_pid_is_not_the_writer() {
        let impostor = WriterProcess {
            started: WriterProcess::current().started.map(|t| t + 1),
            ..WriterProcess::current()
        };
        if cfg!(target_os = "linux") {
            assert_eq!(impostor.is_alive(), Some(false));
        }
    }

    #[test]
    fn judging_runs() {
        let now = SystemTime::now();
        let minute = Duration::from_secs(60);
        let long_ago = now - 10 * minute;
        let alive = Some(WriterProcess::current());
        let dead = Some(WriterProcess {
            pid: u32::MAX - 1,
            ..WriterProcess::current()
        });
        let judge = |status, writer: &Option<WriterProcess>, last| {
            judge(&record(status, writer.clone()), last, now, minute)
        };
        assert_eq!(judge(RunStatus::Done, &dead, long_ago), None);
        assert_eq!(
            judge(RunStatus::Running, &alive, now),
            Some(Liveness::Alive)
        );
        assert_eq!(
            judge(RunStatus::Running, &dead, now),
            Some(Liveness::Crashed)
        );
        assert_eq!(
            judge(RunStatus::Queued, &dead, now),
            Some(Liveness::Crashed)
        );
        assert_eq!(
            judge(RunStatus::Queued, &alive, long_ago),
            Some(Liveness::Alive)
        );
        assert_eq!(
            judge(RunStatus::Running, &alive, long_ago),
            Some(Liveness::Stalled { quiet: 10 * minute })
        );
        // Records from before writers were recorded can only stall.
        assert_eq!(judge(RunStatus::Running, &None, now), Some(Liveness::Alive));
    }

    #[test]
    fn the_shown_status_counts_quiet_time_from_the_run_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        store.create_queued(&request()).unwrap();
        let now = SystemTime::now();
        let later = now + DEFAULT_STALL_AFTER + Duration::from_secs(100);
        let running = record(RunStatus::Running, Some(WriterProcess::current()));
        assert_eq!(shown_status(&store, &running, now), "running");
        let shown = shown_status(&store, &running, later);
        assert!(shown.starts_with("stalled 4"), "{shown}");
        let dead = WriterProcess {
            pid: u32::MAX - 1,
            ..WriterProcess::current()
        };
        let crashed = record(RunStatus::Running, Some(dead));
        assert_eq!(shown_status(&store, &crashed, now), "crashed");
        let done = record(RunStatus::Done, None);
        assert_eq!(shown_status(&store, &done, later), "done");
    }
}
