//! The optimizer a run's recipe asks for, behind one interface for the
//! training loop and its checkpoints.

use std::collections::BTreeMap;

use tch::{nn::VarStore, Tensor};

use super::{
    adam::{Adam, AdamConfig},
    sgd::{Sgd, SgdConfig},
    state::StateError,
};
use crate::plan::{OptimizerKind, Recipe};

/// Adam (and `AdamW`) or SGD.
pub enum Optimizer {
    Adam(Adam),
    Sgd(Sgd),
}

impl Optimizer {
    /// The recipe's optimizer over `store`, at `learning_rate`.
    pub fn new(store: &VarStore, recipe: &Recipe, learning_rate: f64) -> Self {
        let adam = |decoupled| {
            Self::Adam(Adam::new(
                store,
                AdamConfig {
                    weight_decay: recipe.weight_decay,
                    decoupled,
                    ..AdamConfig::keras(learning_rate)
                },
            ))
        };
        match recipe.optimizer {
            OptimizerKind::Adam => adam(false),
            OptimizerKind::AdamW => adam(true),
            OptimizerKind::Sgd => Self::Sgd(Sgd::new(
                store,
                SgdConfig {
                    learning_rate,
                    momentum: recipe.momentum(),
                    nesterov: recipe.nesterov,
                    weight_decay: recipe.weight_decay,
                },
            )),
        }
    }

    /// Back-propagates `loss`, then applies one update.
    pub fn backward_step(&mut self, loss: &Tensor) {
        match self {
            Self::Adam(adam) => adam.backward_step(loss),
            Self::Sgd(sgd) => sgd.backward_step(loss),
        }
    }

    /// The step size of the next updates.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        match self {
            Self::Adam(adam) => adam.set_learning_rate(learning_rate),
            Self::Sgd(sgd) => sgd.set_learning_rate(learning_rate),
        }
    }

    /// How many updates have been applied.
    pub fn steps(&self) -> u64 {
        match self {
            Self::Adam(adam) => adam.steps(),
            Self::Sgd(sgd) => sgd.steps(),
        }
    }

    /// The state to checkpoint, named.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        match self {
            Self::Adam(adam) => adam.state(),
            Self::Sgd(sgd) => sgd.state(),
        }
    }

    /// Restores what [`Optimizer::state`] saved.
    pub fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>) -> Result<(), StateError> {
        match self {
            Self::Adam(adam) => adam.load_state(tensors),
            Self::Sgd(sgd) => sgd.load_state(tensors),
        }
    }
}

impl From<Adam> for Optimizer {
    fn from(adam: Adam) -> Self {
        Self::Adam(adam)
    }
}
