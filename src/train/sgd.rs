//! SGD with momentum (optionally Nesterov's) and weight decay, as `PyTorch`'s
//! `SGD` computes it (no dampening), with its velocity in the open for
//! checkpoints like Adam's moments.

use std::collections::BTreeMap;

use tch::{nn::VarStore, Tensor};

use super::state::{backward_fresh, matching, step_count, trainable, StateError};

const VELOCITY: &str = "sgd.velocity.";
const STEP: &str = "sgd.step";

/// SGD's hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub learning_rate: f64,
    pub momentum: f64,
    pub nesterov: bool,
    /// Added to the gradient times the weight (L2).
    pub weight_decay: f64,
}

/// One trainable tensor and its momentum buffer.
struct ParamState {
    name: String,
    param: Tensor,
    velocity: Tensor,
}

/// SGD over every trainable variable of a `VarStore`.
pub struct Sgd {
    config: SgdConfig,
    steps: u64,
    slots: Vec<ParamState>,
}

impl Sgd {
    /// Tracks every trainable variable of `store`, in name order.
    pub fn new(store: &VarStore, config: SgdConfig) -> Self {
        let slots = trainable(store)
            .map(|(name, param)| ParamState {
                name,
                velocity: param.zeros_like(),
                param,
            })
            .collect();
        Self {
            config,
            steps: 0,
            slots,
        }
    }

    /// How many updates have been applied.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The step size of the next updates.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }

    /// Back-propagates `loss` into fresh gradients, then applies one update.
    pub fn backward_step(&mut self, loss: &Tensor) {
        backward_fresh(self.slots.iter().map(|slot| &slot.param), loss);
        self.step();
    }

    /// Applies one update from the gradients already computed.
    pub fn step(&mut self) {
        self.steps += 1;
        let SgdConfig {
            learning_rate,
            momentum,
            nesterov,
            weight_decay,
        } = self.config;
        tch::no_grad(|| {
            for slot in &mut self.slots {
                let grad = slot.param.grad();
                if !grad.defined() {
                    continue;
                }
                // A new tensor: the gradient buffer itself stays as computed.
                let grad = if weight_decay > 0.0 {
                    &grad + &slot.param * weight_decay
                } else {
                    grad
                };
                // PyTorch starts the velocity at the first gradient: the same
                // as momentum times a zero velocity plus that gradient.
                let _ = slot.velocity.g_mul_scalar_(momentum);
                let _ = slot.velocity.g_add_(&grad);
                let direction = if nesterov {
                    grad + &slot.velocity * momentum
                } else {
                    slot.velocity.shallow_clone()
                };
                let _ = slot.param.g_sub_(&(direction * learning_rate));
            }
        });
    }

    /// The velocities and the step count, named for a checkpoint file.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut state: Vec<(String, Tensor)> = self
            .slots
            .iter()
            .map(|slot| {
                (
                    format!("{VELOCITY}{}", slot.name),
                    slot.velocity.shallow_clone(),
                )
            })
            .collect();
        state.push((STEP.into(), Tensor::from(self.steps as i64)));
        state
    }

    /// Restores what [`Sgd::state`] saved, checking everything first.
    pub fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>) -> Result<(), StateError> {
        let mut velocities = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let key = format!("{VELOCITY}{}", slot.name);
            velocities.push(matching(tensors, key, &slot.velocity)?);
        }
        let steps = step_count(tensors, STEP)?;
        tch::no_grad(|| {
            for (slot, velocity) in self.slots.iter_mut().zip(velocities) {
                slot.velocity.copy_(&velocity);
            }
        });
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tch::{
        nn::{self, OptimizerConfig},
        Device, Kind,
    };

    use super::*;

    fn problem() -> (VarStore, Tensor) {
        let store = VarStore::new(Device::Cpu);
        let values = (Tensor::arange(60, (Kind::Float, Device::Cpu)) * 0.37).sin();
        let weight = store.root().var_copy("w", &values.view([6, 10]));
        (store, weight)
    }

    fn loss(weight: &Tensor, step: i32) -> Tensor {
        (weight - f64::from(step) / 10.0).square().mean(Kind::Float) + weight.sin().sum(Kind::Float)
    }

    #[test]
    fn matches_libtorchs_sgd_with_and_without_nesterov() {
        for nesterov in [false, true] {
            let config = SgdConfig {
                learning_rate: 0.05,
                momentum: 0.9,
                nesterov,
                weight_decay: 0.01,
            };
            let (ours_store, ours_weight) = problem();
            let (theirs_store, theirs_weight) = problem();
            let mut ours = Sgd::new(&ours_store, config);
            let mut theirs = nn::Sgd {
                momentum: config.momentum,
                dampening: 0.0,
                wd: config.weight_decay,
                nesterov,
            }
            .build(&theirs_store, config.learning_rate)
            .unwrap();
            for step in 0..15 {
                ours.backward_step(&loss(&ours_weight, step));
                theirs.backward_step(&loss(&theirs_weight, step));
            }
            let gap = (&ours_weight - &theirs_weight)
                .abs()
                .max()
                .double_value(&[]);
            assert!(gap < 1e-6, "nesterov {nesterov}: {gap}");
            let moved = (&ours_weight - problem().1).abs().max().double_value(&[]);
            assert!(moved > 1e-2, "nothing trained: {moved}");
        }
    }

    #[test]
    fn state_round_trips_and_a_bad_one_changes_nothing() {
        let config = SgdConfig {
            learning_rate: 0.1,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        };
        let (store, weight) = problem();
        let mut sgd = Sgd::new(&store, config);
        sgd.backward_step(&loss(&weight, 1));
        let saved: BTreeMap<String, Tensor> = sgd.state().into_iter().collect();
        let (other_store, _) = problem();
        let mut other = Sgd::new(&other_store, config);
        other.load_state(&saved).unwrap();
        assert_eq!(other.steps(), 1);
        assert!(other.slots[0].velocity.equal(&sgd.slots[0].velocity));
        let mut broken = saved;
        broken.remove("sgd.velocity.w");
        let mut fresh = Sgd::new(&problem().0, config);
        assert_eq!(
            fresh.load_state(&broken),
            Err(StateError::Missing("sgd.velocity.w".into()))
        );
        assert_eq!(fresh.steps(), 0);
    }
}
