//! Following the run store live: new runs, new log lines and record changes,
//! by cheap polling (a few `stat`s per run, and reads of only the new bytes).
//! Polling works on every filesystem, NFS included, where file notifications
//! do not, and a poll every quarter second costs nothing measurable.

use std::{
    collections::{BTreeMap, HashSet},
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::Path,
    time::{Duration, SystemTime},
};

use super::{
    liveness::{self, Liveness},
    RunRecord, RunStore, EVENTS_FILE, RECORD_FILE,
};
use crate::protocol::{Event, RunId};

/// How often viewers poll the store.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// What changed in the store since the last poll. Also what `atelier
/// stream` sends a remote viewer, so it is serialisable.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Update {
    /// A run seen for the first time, with every event logged so far.
    New {
        record: Box<RunRecord>,
        events: Vec<Event>,
    },
    /// Complete lines appended to a followed run's log.
    Events { run: RunId, events: Vec<Event> },
    /// A followed run's `run.json` was rewritten.
    Record(Box<RunRecord>),
    /// A queued or running run's writer changed between alive, stalled and crashed.
    Liveness { run: RunId, liveness: Liveness },
    /// A followed run's folder is gone.
    Removed { run: RunId },
    /// A run folder whose `run.json` does not parse (reported once; the
    /// other runs are followed as usual).
    Unreadable { run: RunId, problem: String },
}

#[derive(Debug)]
struct Followed {
    /// Bytes of the log already turned into events (always after a newline).
    offset: u64,
    record_modified: Option<SystemTime>,
    last_write: SystemTime,
    record: RunRecord,
    liveness: Option<Liveness>,
}

/// Follows the runs of one store.
#[derive(Debug)]
pub struct Follower {
    store: RunStore,
    only: Option<HashSet<RunId>>,
    skip_own: bool,
    stall_after: Duration,
    runs: BTreeMap<RunId, Followed>,
    /// Run folders already reported as unreadable.
    unreadable: HashSet<RunId>,
    /// Log bytes a remote viewer already has, by run: a run first seen here
    /// is read from there (see [`Follower::resume_from`]).
    resume: BTreeMap<RunId, u64>,
}

impl Follower {
    /// Follows every run of `store`, old and new.
    pub fn new(store: RunStore, stall_after: Duration) -> Self {
        Self {
            store,
            only: None,
            skip_own: false,
            stall_after,
            runs: BTreeMap::new(),
            unreadable: HashSet::new(),
            resume: BTreeMap::new(),
        }
    }

    /// Starts each listed run's log at the given byte offset instead of the
    /// beginning: a viewer that reconnects already has the bytes before it.
    /// A log now shorter than its offset was replaced and is read whole.
    pub fn resume_from(mut self, offsets: BTreeMap<RunId, u64>) -> Self {
        self.resume = offsets;
        self
    }

    /// The byte offset up to which `run`'s log has been reported (always
    /// just after a newline); `None` for a run not followed.
    pub fn offset(&self, run: &str) -> Option<u64> {
        self.runs.get(run).map(|followed| followed.offset)
    }

    /// Follows only these run ids.
    pub fn only(mut self, ids: impl IntoIterator<Item = RunId>) -> Self {
        self.only = Some(ids.into_iter().collect());
        self
    }

    /// Leaves out runs this process writes (the app hears of those from its trainer).
    pub fn skip_own_runs(mut self) -> Self {
        self.skip_own = true;
        self
    }

    /// Looks at the store once and reports what changed.
    pub fn poll(&mut self) -> Vec<Update> {
        let mut updates = Vec::new();
        let ids = self.run_ids();
        let gone: Vec<RunId> = self
            .runs
            .keys()
            .filter(|id| !ids.contains(*id))
            .cloned()
            .collect();
        for run in gone {
            self.runs.remove(&run);
            updates.push(Update::Removed { run });
        }
        let now = SystemTime::now();
        for id in ids {
            let dir = self.store.run_dir(&id);
            if let Some(followed) = self.runs.get_mut(&id) {
                if follow(&dir, &id, followed, self.skip_own, &mut updates) == Following::TakenOver
                {
                    // This process now writes the run (the app continues it):
                    // its events come from the trainer, not the file.
                    self.runs.remove(&id);
                    continue;
                }
            } else {
                match self.discover(&id, &dir, &mut updates) {
                    Ok(Some(followed)) => {
                        self.runs.insert(id.clone(), followed);
                    }
                    Ok(None) => continue,
                    // Reported once; the other runs are followed as usual.
                    Err(problem) => {
                        if self.unreadable.insert(id.clone()) {
                            updates.push(Update::Unreadable {
                                run: id.clone(),
                                problem: problem.to_string(),
                            });
                        }
                        continue;
                    }
                }
            }
            let Some(followed) = self.runs.get_mut(&id) else {
                continue;
            };
            let liveness =
                liveness::judge(&followed.record, followed.last_write, now, self.stall_after);
            if liveness != followed.liveness {
                followed.liveness = liveness;
                if let Some(liveness) = liveness {
                    updates.push(Update::Liveness { run: id, liveness });
                }
            }
        }
        updates
    }

    /// Run folders, by id, that this follower cares about.
    fn run_ids(&self) -> Vec<RunId> {
        let Ok(entries) = std::fs::read_dir(self.store.dir()) else {
            return Vec::new();
        };
        let mut ids: Vec<RunId> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|id| !id.starts_with('.'))
            .map(RunId::from)
            .filter(|id| self.only.as_ref().is_none_or(|only| only.contains(id)))
            .collect();
        ids.sort();
        ids
    }

    /// A run seen for the first time; `None` while its record is not there
    /// yet (a writer creating it) or when it belongs to this process; the
    /// problem when the record does not parse.
    fn discover(
        &self,
        id: &RunId,
        dir: &Path,
        updates: &mut Vec<Update>,
    ) -> Result<Option<Followed>, super::StoreError> {
        let record_path = dir.join(RECORD_FILE);
        let record_modified = modified(&record_path);
        let record = match RunRecord::load(&record_path) {
            Ok(record) => record,
            Err(error @ super::StoreError::BadRecord { .. }) => return Err(error),
            // A missing record is not reported: a writer creates the folder first.
            Err(_) => return Ok(None),
        };
        if self.skip_own
            && record
                .writer
                .as_ref()
                .is_some_and(super::process::WriterProcess::is_current)
        {
            return Ok(None);
        }
        let mut followed = Followed {
            offset: self.resume.get(id).copied().unwrap_or(0),
            record_modified,
            last_write: record_modified.unwrap_or(SystemTime::UNIX_EPOCH),
            record: record.clone(),
            liveness: None,
        };
        let events = read_new_events(&dir.join(EVENTS_FILE), &mut followed);
        updates.push(Update::New {
            record: Box::new(record),
            events,
        });
        Ok(Some(followed))
    }
}

/// Whether a followed run is still someone else's.
#[derive(Debug, PartialEq, Eq)]
enum Following {
    Still,
    TakenOver,
}

/// A rewritten record and new log lines of a run already followed; returns
/// [`Following::TakenOver`] when `skip_own` and this process became its
/// writer. The record is read first: a process taking a run over rewrites
/// the record before it appends, so no line of its own is reported.
fn follow(
    dir: &Path,
    id: &str,
    followed: &mut Followed,
    skip_own: bool,
    updates: &mut Vec<Update>,
) -> Following {
    let record_path = dir.join(RECORD_FILE);
    let record_modified = modified(&record_path);
    if record_modified != followed.record_modified {
        // A record replaced mid-read is read again at the next poll.
        if let Ok(record) = RunRecord::load(&record_path) {
            followed.record_modified = record_modified;
            if let Some(at) = record_modified {
                followed.last_write = followed.last_write.max(at);
            }
            if skip_own
                && record
                    .writer
                    .as_ref()
                    .is_some_and(super::process::WriterProcess::is_current)
            {
                return Following::TakenOver;
            }
            if record != followed.record {
                followed.record = record.clone();
                updates.push(Update::Record(Box::new(record)));
            }
        }
    }
    let events = read_new_events(&dir.join(EVENTS_FILE), followed);
    if !events.is_empty() {
        // Before the record's update, so the record keeps the last word.
        let at = updates
            .iter()
            .rposition(|update| matches!(update, Update::Record(record) if record.id == id))
            .unwrap_or(updates.len());
        updates.insert(
            at,
            Update::Events {
                run: RunId::from(id),
                events,
            },
        );
    }
    Following::Still
}

/// Parses the complete lines written since `followed.offset`. A torn last
/// line waits for its newline; a line that is not an event is skipped (the
/// run's own readers report it), so one bad line never stops a viewer.
fn read_new_events(path: &Path, followed: &mut Followed) -> Vec<Event> {
    let Ok(mut file) = File::open(path) else {
        return Vec::new();
    };
    let Ok(metadata) = file.metadata() else {
        return Vec::new();
    };
    if let Ok(at) = metadata.modified() {
        followed.last_write = followed.last_write.max(at);
    }
    if metadata.len() < followed.offset {
        // The log was replaced by a shorter one: start over.
        followed.offset = 0;
    }
    if metadata.len() == followed.offset || file.seek(SeekFrom::Start(followed.offset)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let (consumed, events) = parse_appended(&bytes);
    followed.offset += consumed as u64;
    events
}

/// Parses the complete lines at the start of `bytes` (appended log bytes);
/// returns how many bytes they span, up to and including the last newline,
/// and the events among them. Lines that are not events are left out.
pub fn parse_appended(bytes: &[u8]) -> (usize, Vec<Event>) {
    let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
        return (0, Vec::new());
    };
    let events = bytes[..end]
        .split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect();
    (end + 1, events)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_record_is_reported_once_and_the_other_runs_still_follow() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        std::fs::create_dir(dir.path().join("broken")).unwrap();
        std::fs::write(dir.path().join("broken").join(RECORD_FILE), "{\"id\": 3").unwrap();
        std::fs::create_dir(dir.path().join("being-created")).unwrap();
        let mut follower = Follower::new(store, Duration::from_secs(60));
        let updates = follower.poll();
        let unreadable: Vec<&Update> = updates
            .iter()
            .filter(|update| matches!(update, Update::Unreadable { .. }))
            .collect();
        assert_eq!(unreadable.len(), 1, "{updates:?}");
        let Update::Unreadable { run, problem } = unreadable[0] else {
            unreachable!()
        };
        assert_eq!(run, "broken");
        assert!(
            problem.contains("broken/run.json: not a valid run record"),
            "{problem}"
        );
        assert!(follower
            .poll()
            .iter()
            .all(|update| !matches!(update, Update::Unreadable { .. })));
    }
}
