//! A run's story told from its events: the per-epoch table and the test
//! result, by the rules of [`super::fold`].

use super::fold::RunState;
use crate::protocol::Event;

pub use super::fold::{EpochRow, TestResult};

/// Everything a report needs from one run's events.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct History {
    pub epochs: Vec<EpochRow>,
    pub test: Option<TestResult>,
    /// Test accuracy with test-time flipping, when the recipe asked for it.
    pub flip_accuracy: Option<f64>,
}

impl History {
    /// The epochs and the test result a run's events leave standing.
    pub fn from_events(events: &[Event]) -> Self {
        Self::from(RunState::from_events(events))
    }
}

impl From<RunState> for History {
    fn from(state: RunState) -> Self {
        Self {
            epochs: state.epochs,
            test: state.test,
            flip_accuracy: state.flip_accuracy,
        }
    }
}
