//! Who holds a device lock, as its lock file says (see [`super::lock`]):
//! the refusal message names them, and `train --detach` waits for the note.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::RunId;

/// Who holds a device, as written into its lock file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub device: String,
    pub runs: Vec<RunId>,
    /// The log of a detached training.
    #[serde(default)]
    pub log: Option<PathBuf>,
}
