//! Reading `events.jsonl`, tolerating the torn last line a crash can leave
//! and skipping (and naming) lines that do not parse.

use std::path::Path;

use super::StoreError;
use crate::protocol::Event;

/// How many bad lines are named one by one; a log of garbage would otherwise
/// cost an error (with its path and message) per line, far more than the file.
pub const MAX_SKIPPED_NAMED: usize = 20;

/// The events of one run.
#[derive(Debug)]
pub struct EventLog {
    pub events: Vec<Event>,
    /// The last line was cut short (the writer stopped mid-line) and was skipped.
    pub torn_tail: bool,
    /// Complete lines that are not events (a damaged disk block, a stray
    /// edit), each naming the file and line; the rest of the log still reads.
    /// Only the first [`MAX_SKIPPED_NAMED`] are kept.
    pub skipped: Vec<StoreError>,
    /// Bad lines beyond those in `skipped`, counted but not named.
    pub skipped_unnamed: usize,
}

/// Reads an event log. A last line without its newline that does not parse
/// is a torn write; any other bad line is skipped and reported in
/// [`EventLog::skipped`]. Only an unreadable file is an error.
pub fn read_events(path: &Path) -> Result<EventLog, StoreError> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, "cannot read", e))?;
    Ok(parse_events(path, &bytes))
}

/// [`read_events`] on bytes already in memory; `path` is only named in errors.
pub fn parse_events(path: &Path, bytes: &[u8]) -> EventLog {
    let complete = bytes.ends_with(b"\n");
    // `split` yields an empty piece after a final newline.
    let body = if complete {
        &bytes[..bytes.len() - 1]
    } else {
        bytes
    };
    // Nothing is reserved per line: a file of newlines would reserve a whole
    // event for each byte.
    let mut log = EventLog {
        events: Vec::new(),
        torn_tail: false,
        skipped: Vec::new(),
        skipped_unnamed: 0,
    };
    let mut lines = body.split(|&byte| byte == b'\n').enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let last = lines.peek().is_none();
        match serde_json::from_slice(line) {
            Ok(event) => log.events.push(event),
            Err(_) if last && !complete => log.torn_tail = true,
            Err(_) if log.skipped.len() >= MAX_SKIPPED_NAMED => log.skipped_unnamed += 1,
            Err(e) => log.skipped.push(StoreError::BadEvent {
                path: path.to_path_buf(),
                line: index + 1,
                problem: e.to_string(),
            }),
        }
    }
    log
}
