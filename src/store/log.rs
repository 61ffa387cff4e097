//! Reading `events.jsonl`, tolerating the torn last line a crash can leave
//! and skipping (and naming) lines that do not parse.

use std::path::Path;

use super::StoreError;
use crate::train::Event;

/// The events of one run.
#[derive(Debug)]
pub struct EventLog {
    pub events: Vec<Event>,
    /// The last line was cut short (the writer stopped mid-line) and was skipped.
    pub torn_tail: bool,
    /// Complete lines that are not events (a damaged disk block, a stray
    /// edit), each naming the file and line; the rest of the log still reads.
    pub skipped: Vec<StoreError>,
}

/// Reads an event log. A last line without its newline that does not parse
/// is a torn write; any other bad line is skipped and reported in
/// [`EventLog::skipped`]. Only an unreadable file is an error.
pub fn read_events(path: &Path) -> Result<EventLog, StoreError> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, "cannot read", e))?;
    let complete = bytes.ends_with(b"\n");
    let lines: Vec<&[u8]> = bytes.split(|&byte| byte == b'\n').collect();
    // `split` yields an empty piece after a final newline.
    let count = lines.len() - usize::from(complete);
    let mut log = EventLog {
        events: Vec::with_capacity(count),
        torn_tail: false,
        skipped: Vec::new(),
    };
    for (index, line) in lines.iter().take(count).enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(event) => log.events.push(event),
            Err(_) if index + 1 == count && !complete => log.torn_tail = true,
            Err(e) => log.skipped.push(StoreError::BadEvent {
                path: path.to_path_buf(),
                line: index + 1,
                problem: e.to_string(),
            }),
        }
    }
    Ok(log)
}
