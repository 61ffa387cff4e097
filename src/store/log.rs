//! Reading `events.jsonl`, tolerating the torn last line a crash can leave.

use std::path::Path;

use super::StoreError;
use crate::train::Event;

/// The events of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct EventLog {
    pub events: Vec<Event>,
    /// The last line was cut short (the writer stopped mid-line) and was skipped.
    pub torn_tail: bool,
}

/// Reads an event log. A last line without its newline that does not parse
/// is a torn write and is skipped; a bad line anywhere else is an error
/// naming the line.
pub fn read_events(path: &Path) -> Result<EventLog, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, "cannot read", e))?;
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut events = Vec::with_capacity(lines.len());
    let mut torn_tail = false;
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(event) => events.push(event),
            Err(_) if index + 1 == lines.len() && !complete => torn_tail = true,
            Err(e) => {
                return Err(StoreError::BadEvent {
                    path: path.to_path_buf(),
                    line: index + 1,
                    problem: e.to_string(),
                })
            }
        }
    }
    Ok(EventLog { events, torn_tail })
}
