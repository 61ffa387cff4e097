//! What `atelier stream` and a remote viewer say to each other over ssh:
//! one JSON object per line each way. The stream's first line names the
//! protocol's version; a viewer refuses a stream of another version with a
//! message that says which side to update.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    protocol::RunId,
    store::{Liveness, RunRecord},
};

/// The protocol's version. A change that an older viewer could misread
/// raises it; new optional fields do not.
pub const VERSION: u32 = 1;

/// How often the stream says it is there when nothing else happens, so a
/// viewer can tell a quiet store from a dead connection.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// A line from `atelier stream` to the viewer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamMessage {
    /// The first line: the protocol's version and what is streamed.
    Hello {
        version: u32,
        /// atelier's version on the remote host.
        atelier: String,
        runs_dir: String,
    },
    /// A run seen for the first time by this stream, with its log lines from
    /// the viewer's offset (or the start) up to byte `to`.
    Run {
        record: Box<RunRecord>,
        to: u64,
        events: Vec<crate::protocol::Event>,
    },
    /// Complete lines appended to a run's log, up to byte `to`.
    Events {
        run: RunId,
        to: u64,
        events: Vec<crate::protocol::Event>,
    },
    /// A run's `run.json` was rewritten.
    Record { record: Box<RunRecord> },
    /// A queued or running run's writer changed between alive, stalled and crashed.
    Liveness { run: RunId, liveness: Liveness },
    /// A run's folder is gone.
    Removed { run: RunId },
    /// A run folder whose `run.json` does not parse.
    Unreadable { run: RunId, problem: String },
    /// The first look at the folder is complete: runs the viewer knows and
    /// this stream did not send are gone.
    Synced,
    /// What squeue on the remote host says of the submitted runs.
    Slurm { labels: Vec<(RunId, String)> },
    /// Why squeue on the remote host could not be read.
    SlurmFailed { problem: String },
    /// A file the viewer asked for, base64-encoded.
    File {
        run: RunId,
        file: RunFile,
        base64: String,
    },
    /// A file the viewer asked for that cannot be sent.
    FileFailed {
        run: RunId,
        file: RunFile,
        problem: String,
    },
    /// Nothing new; the stream is alive.
    Heartbeat,
}

/// A line from the viewer to `atelier stream`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamRequest {
    /// The first line: the log bytes the viewer already has, by run.
    Resume { offsets: BTreeMap<RunId, u64> },
    /// Send one of a run's files.
    Fetch { run: RunId, file: RunFile },
}

/// The files of a run a viewer may fetch: only these, whatever it asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunFile {
    /// The test-set predictions, for the gallery.
    Predictions,
}

impl RunFile {
    /// The file's name in a run folder.
    pub fn name(self) -> &'static str {
        match self {
            Self::Predictions => crate::store::PREDICTIONS_FILE,
        }
    }
}

/// One line of JSON, newline included.
pub fn line<T: Serialize>(message: &T) -> String {
    // Serialising these types cannot fail: no maps with non-string keys.
    let mut text = serde_json::to_string(message).unwrap_or_default();
    text.push('\n');
    text
}
