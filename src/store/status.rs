//! Where a run stands, as `run.json` stores it.

use serde::{Deserialize, Serialize};

/// Where a run stands, as `run.json` stores it: the five states a writer
/// can record (the app adds what only it can see, `tui::UiStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Done,
    Failed,
    Interrupted,
}

/// The word `run.json` stores, for people too.
impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        })
    }
}
