//! A run's story told from its events: the per-epoch table and the test result.

use crate::protocol::{ConfusionMatrix, Event};

/// One epoch's metrics, as Keras' `History` holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRow {
    pub epoch: u32,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub seconds: f64,
}

/// Test-set results.
#[derive(Clone, Debug, PartialEq)]
pub struct TestResult {
    pub loss: f64,
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
}

/// Everything a report needs from one run's events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub epochs: Vec<EpochRow>,
    pub test: Option<TestResult>,
}

impl EpochRow {
    /// The row an `EpochEnd` event describes.
    pub fn from_event(event: &Event) -> Option<Self> {
        let Event::EpochEnd {
            epoch,
            train_loss,
            train_accuracy,
            val_loss,
            val_accuracy,
            seconds,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            epoch: *epoch,
            train_loss: *train_loss,
            train_accuracy: *train_accuracy,
            val_loss: *val_loss,
            val_accuracy: *val_accuracy,
            seconds: *seconds,
        })
    }
}

impl TestResult {
    /// The result an `Evaluated` event carries.
    pub fn from_event(event: &Event) -> Option<Self> {
        let Event::Evaluated {
            test_loss,
            test_accuracy,
            confusion,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            loss: *test_loss,
            accuracy: *test_accuracy,
            confusion: **confusion,
        })
    }
}

impl History {
    /// Collects epoch ends and the evaluation from a run's events.
    pub fn from_events(events: &[Event]) -> Self {
        let mut history = Self::default();
        for event in events {
            if let Event::Started { resumed_after, .. } = event {
                // A resumed run redoes what came after its checkpoint.
                history.epochs.retain(|row| row.epoch <= *resumed_after);
                history.test = None;
            } else if let Some(row) = EpochRow::from_event(event) {
                history.epochs.push(row);
            } else if let Some(test) = TestResult::from_event(event) {
                history.test = Some(test);
            }
        }
        history
    }
}
