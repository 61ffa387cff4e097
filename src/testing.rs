//! Fixtures that the unit tests, the integration tests (`tests/`) and the
//! benches share, behind the `test-support` feature (the tests turn it on):
//! runs and the events a trainer would send for them, without training.

use crate::{
    model::ModelSpec,
    plan::{DevicePref, RunSpec},
    protocol::{Event, RunId},
};

/// A tiny MLP run on the CPU (6,370 parameters): trains in milliseconds.
pub fn tiny_spec(name: &str, epochs: u32) -> RunSpec {
    RunSpec {
        epochs,
        device: DevicePref::Cpu,
        ..RunSpec::new(name, ModelSpec::tiny_mlp())
    }
}

/// A run's [`Event::Started`], as the trainer sends it for a tiny MLP on
/// the CPU: 3 epochs of 10 steps, 800 training and 200 validation images,
/// from scratch; each setter changes one of these.
#[derive(Clone, Debug)]
pub struct Started {
    run: RunId,
    device: String,
    params: u64,
    train_samples: usize,
    validation_samples: usize,
    steps_per_epoch: usize,
    epochs: u32,
    resumed_after: u32,
    resumed_at_step: usize,
}

/// The start of run `run`; see [`Started`] for what it says.
pub fn started(run: impl Into<RunId>) -> Started {
    Started {
        run: run.into(),
        device: "cpu".into(),
        params: 6_370,
        train_samples: 800,
        validation_samples: 200,
        steps_per_epoch: 10,
        epochs: 3,
        resumed_after: 0,
        resumed_at_step: 0,
    }
}

impl Started {
    pub fn device(self, device: &str) -> Self {
        Self {
            device: device.into(),
            ..self
        }
    }

    pub fn params(self, params: u64) -> Self {
        Self { params, ..self }
    }

    pub fn samples(self, train_samples: usize, validation_samples: usize) -> Self {
        Self {
            train_samples,
            validation_samples,
            ..self
        }
    }

    pub fn steps(self, steps_per_epoch: usize) -> Self {
        Self {
            steps_per_epoch,
            ..self
        }
    }

    pub fn epochs(self, epochs: u32) -> Self {
        Self { epochs, ..self }
    }

    /// A restart after `epochs_done` epochs, `step` steps into the next.
    pub fn resumed(self, epochs_done: u32, step: usize) -> Self {
        Self {
            resumed_after: epochs_done,
            resumed_at_step: step,
            ..self
        }
    }

    pub fn event(self) -> Event {
        Event::Started {
            run: self.run,
            device: self.device,
            params: self.params,
            train_samples: self.train_samples,
            validation_samples: self.validation_samples,
            steps_per_epoch: self.steps_per_epoch,
            epochs: self.epochs,
            resumed_after: self.resumed_after,
            resumed_at_step: self.resumed_at_step,
        }
    }
}
