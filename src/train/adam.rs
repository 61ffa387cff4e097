//! Adam with its state in the open: checkpoints carry the moments and the
//! step count, so a resumed run continues exactly where it stopped. On the
//! CPU each parameter is updated in one fused pass over its memory; libtorch's
//! own Adam makes eight passes and allocates two temporaries per parameter,
//! which dominated the step of the wide dense layers (11M weights in M4).
//!
//! The arithmetic is `PyTorch`'s (bias-corrected moments, epsilon added to the
//! corrected root), the same as `tch::nn::Adam` used before.

use std::collections::BTreeMap;

use super::state::{backward_fresh, matching, step_count, trainable, StateError};
use tch::{nn::VarStore, Device, Kind, Tensor};

/// Where the optimizer state lives inside a checkpoint's tensors.
const EXP_AVG: &str = "adam.exp_avg.";
const EXP_AVG_SQ: &str = "adam.exp_avg_sq.";
const STEP: &str = "adam.step";
/// Parameters smaller than this are updated on one thread: spawning costs more.
const PARALLEL_MIN: usize = 1 << 16;

/// Adam's hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub learning_rate: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    /// Weight decay: added to the gradient (L2), or with `decoupled` taken
    /// off the weights before the update (`AdamW`).
    pub weight_decay: f64,
    pub decoupled: bool,
}

impl AdamConfig {
    /// Keras' Adam at `learning_rate`, without weight decay.
    pub const fn keras(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            // libtorch's epsilon is 1e-8, Keras' 1e-7.
            epsilon: 1e-7,
            weight_decay: 0.0,
            decoupled: false,
        }
    }
}

/// One trainable tensor and its two moments.
struct ParamState {
    name: String,
    param: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

/// Adam over every variable of a `VarStore`.
pub struct Adam {
    config: AdamConfig,
    steps: u64,
    slots: Vec<ParamState>,
}

impl Adam {
    /// Tracks every trainable variable of `store` (not `BatchNorm`'s running
    /// statistics), in name order, with zero moments.
    pub fn new(store: &VarStore, config: AdamConfig) -> Self {
        let slots = trainable(store)
            .map(|(name, param)| ParamState {
                name,
                exp_avg: param.zeros_like(),
                exp_avg_sq: param.zeros_like(),
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

    /// The step size of the next updates (a schedule's).
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
        let coefficients = Coefficients::new(&self.config, self.steps);
        let threads = usize::try_from(tch::get_num_threads()).unwrap_or(1).max(1);
        tch::no_grad(|| {
            for slot in &mut self.slots {
                let grad = slot.param.grad();
                if !grad.defined() {
                    continue;
                }
                if fusable(&[&slot.param, &grad, &slot.exp_avg, &slot.exp_avg_sq]) {
                    fused_cpu_update(slot, &grad, &coefficients, threads);
                } else {
                    tensor_update(slot, &grad, &coefficients);
                }
            }
        });
    }

    /// The moments and the step count, named for a checkpoint file.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut state = Vec::with_capacity(2 * self.slots.len() + 1);
        for slot in &self.slots {
            state.push((
                format!("{EXP_AVG}{}", slot.name),
                slot.exp_avg.shallow_clone(),
            ));
            state.push((
                format!("{EXP_AVG_SQ}{}", slot.name),
                slot.exp_avg_sq.shallow_clone(),
            ));
        }
        state.push((STEP.into(), Tensor::from(self.steps as i64)));
        state
    }

    /// Restores what [`Adam::state`] saved; checks every tensor before
    /// changing anything, so a bad checkpoint leaves the optimizer as it was.
    pub fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>) -> Result<(), StateError> {
        let lookup = |key: String, like: &Tensor| matching(tensors, key, like);
        let mut moments = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            moments.push((
                lookup(format!("{EXP_AVG}{}", slot.name), &slot.exp_avg)?,
                lookup(format!("{EXP_AVG_SQ}{}", slot.name), &slot.exp_avg_sq)?,
            ));
        }
        let steps = step_count(tensors, STEP)?;
        tch::no_grad(|| {
            for (slot, (exp_avg, exp_avg_sq)) in self.slots.iter_mut().zip(moments) {
                slot.exp_avg.copy_(&exp_avg);
                slot.exp_avg_sq.copy_(&exp_avg_sq);
            }
        });
        self.steps = steps;
        Ok(())
    }
}

/// The per-step scalars of the update.
struct Coefficients {
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    /// Learning rate over the first moment's bias correction.
    step_size: f32,
    /// Square root of the second moment's bias correction.
    correction2_sqrt: f32,
    /// Added to the gradient times the weight (L2 decay).
    l2: f32,
    /// The weights are multiplied by this before the update (decoupled decay).
    shrink: f32,
}

impl Coefficients {
    fn new(config: &AdamConfig, steps: u64) -> Self {
        let exponent = i32::try_from(steps).unwrap_or(i32::MAX);
        let correction1 = 1.0 - config.beta1.powi(exponent);
        let correction2 = 1.0 - config.beta2.powi(exponent);
        Self {
            beta1: config.beta1 as f32,
            beta2: config.beta2 as f32,
            epsilon: config.epsilon as f32,
            step_size: (config.learning_rate / correction1) as f32,
            correction2_sqrt: correction2.sqrt() as f32,
            l2: if config.decoupled {
                0.0
            } else {
                config.weight_decay as f32
            },
            shrink: if config.decoupled {
                (1.0 - config.learning_rate * config.weight_decay) as f32
            } else {
                1.0
            },
        }
    }
}

/// Whether all tensors are contiguous f32 on the CPU, so their memory can be
/// walked directly.
fn fusable(tensors: &[&Tensor]) -> bool {
    tensors.iter().all(|tensor| {
        tensor.device() == Device::Cpu && tensor.kind() == Kind::Float && tensor.is_contiguous()
    })
}

/// The update with tensor operations, for CUDA and anything not fusable.
fn tensor_update(slot: &mut ParamState, grad: &Tensor, c: &Coefficients) {
    let decayed;
    let grad = if c.l2 > 0.0 {
        decayed = grad + &slot.param * f64::from(c.l2);
        &decayed
    } else {
        grad
    };
    if c.shrink != 1.0 {
        let _ = slot.param.g_mul_scalar_(f64::from(c.shrink));
    }
    let _ = slot.exp_avg.lerp_(grad, 1.0 - f64::from(c.beta1));
    let _ = slot.exp_avg_sq.g_mul_scalar_(f64::from(c.beta2));
    let _ = slot
        .exp_avg_sq
        .addcmul_(grad, &(grad * (1.0 - f64::from(c.beta2))));
    let denominator = slot.exp_avg_sq.sqrt() / f64::from(c.correction2_sqrt) + f64::from(c.epsilon);
    let _ = slot
        .param
        .g_sub_(&(&slot.exp_avg / denominator * f64::from(c.step_size)));
}

/// The update in one pass over the four buffers, split across `threads`.
fn fused_cpu_update(slot: &mut ParamState, grad: &Tensor, c: &Coefficients, threads: usize) {
    let len = slot.param.numel();
    // SAFETY: `fusable` checked that all four are contiguous f32 CPU tensors,
    // so each pointer addresses `len` initialised floats. They are four
    // distinct allocations (a parameter, its gradient and two moments created
    // by `zeros_like`), so the slices do not alias, and no other thread
    // touches them: training is single-threaded above libtorch, and no
    // autograd graph is alive between `backward` and the next forward pass.
    let (param, grad, exp_avg, exp_avg_sq) = unsafe {
        (
            std::slice::from_raw_parts_mut(slot.param.data_ptr().cast::<f32>(), len),
            std::slice::from_raw_parts(grad.data_ptr().cast::<f32>(), len),
            std::slice::from_raw_parts_mut(slot.exp_avg.data_ptr().cast::<f32>(), len),
            std::slice::from_raw_parts_mut(slot.exp_avg_sq.data_ptr().cast::<f32>(), len),
        )
    };
    let parts = threads.min(len / PARALLEL_MIN).max(1);
    if parts == 1 {
        update_chunk(param, grad, exp_avg, exp_avg_sq, c);
        return;
    }
    let chunk = len.div_ceil(parts);
    std::thread::scope(|scope| {
        let chunks = param
            .chunks_mut(chunk)
            .zip(grad.chunks(chunk))
            .zip(exp_avg.chunks_mut(chunk))
            .zip(exp_avg_sq.chunks_mut(chunk));
        for (((param, grad), exp_avg), exp_avg_sq) in chunks {
            scope.spawn(move || update_chunk(param, grad, exp_avg, exp_avg_sq, c));
        }
    });
}

fn update_chunk(
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32],
    c: &Coefficients,
) {
    let (one_minus_beta1, one_minus_beta2) = (1.0 - c.beta1, 1.0 - c.beta2);
    if c.l2 != 0.0 || c.shrink != 1.0 {
        return update_chunk_decayed(param, grad, exp_avg, exp_avg_sq, c);
    }
    for (((p, &g), m), v) in param
        .iter_mut()
        .zip(grad)
        .zip(exp_avg.iter_mut())
        .zip(exp_avg_sq.iter_mut())
    {
        *m += (g - *m) * one_minus_beta1;
        *v = *v * c.beta2 + g * g * one_minus_beta2;
        let denominator = v.sqrt() / c.correction2_sqrt + c.epsilon;
        *p -= c.step_size * *m / denominator;
    }
}

/// [`update_chunk`] with weight decay; apart so the plain loop stays as it was.
fn update_chunk_decayed(
    param: &mut [f32],
    grad: &[f32],
    exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32],
    c: &Coefficients,
) {
    let (one_minus_beta1, one_minus_beta2) = (1.0 - c.beta1, 1.0 - c.beta2);
    for (((p, &g), m), v) in param
        .iter_mut()
        .zip(grad)
        .zip(exp_avg.iter_mut())
        .zip(exp_avg_sq.iter_mut())
    {
        let g = g + c.l2 * *p;
        *p *= c.shrink;
        *m += (g - *m) * one_minus_beta1;
        *v = *v * c.beta2 + g * g * one_minus_beta2;
        let denominator = v.sqrt() / c.correction2_sqrt + c.epsilon;
        *p -= c.step_size * *m / denominator;
    }
}

#[cfg(test)]
mod tests {
    use tch::nn::{self, OptimizerConfig};

    use super::*;

    const CONFIG: AdamConfig = AdamConfig::keras(1e-3);

    /// A store with one large and one small parameter, their values a
    /// function of `seed` (not of the global generator other tests share).
    fn problem(seed: i64) -> (VarStore, Tensor, Tensor) {
        let values =
            |len: i64| (Tensor::arange(len, (Kind::Float, Device::Cpu)) * 0.37 + seed as f64).sin();
        let store = VarStore::new(Device::Cpu);
        let root = store.root();
        let big = root.var_copy("big", &values(300 * 400).view([300, 400]));
        let small = root.var_copy("small", &values(7));
        (store, big, small)
    }

    fn loss(big: &Tensor, small: &Tensor, target: f64) -> Tensor {
        (big - target).square().mean(Kind::Float) + (small * small.sin()).sum(Kind::Float)
    }

    fn max_difference(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn matches_libtorchs_adam() {
        let (ours_store, big, small) = problem(1);
        let (theirs_store, their_big, their_small) = problem(1);
        let mut ours = Adam::new(&ours_store, CONFIG);
        let mut theirs = nn::Adam {
            beta1: CONFIG.beta1,
            beta2: CONFIG.beta2,
            wd: 0.0,
            eps: CONFIG.epsilon,
            amsgrad: false,
        }
        .build(&theirs_store, CONFIG.learning_rate)
        .unwrap();
        for step in 0..20 {
            let target = f64::from(step) / 10.0;
            ours.backward_step(&loss(&big, &small, target));
            theirs.backward_step(&loss(&their_big, &their_small, target));
        }
        let (big_gap, small_gap) = (
            max_difference(&big, &their_big),
            max_difference(&small, &their_small),
        );
        assert!(big_gap < 1e-6 && small_gap < 1e-6, "{big_gap} {small_gap}");
        let moved = max_difference(&big, &problem(1).1);
        assert!(moved > 1e-3, "nothing was trained: {moved}");
        assert_eq!(ours.steps(), 20);
    }

    #[test]
    fn weight_decay_matches_libtorchs_adam_and_adamw() {
        for decoupled in [false, true] {
            let config = AdamConfig {
                weight_decay: 0.05,
                decoupled,
                ..CONFIG
            };
            let (ours_store, big, small) = problem(3);
            let (theirs_store, their_big, their_small) = problem(3);
            let mut ours = Adam::new(&ours_store, config);
            let mut theirs = if decoupled {
                nn::AdamW {
                    beta1: config.beta1,
                    beta2: config.beta2,
                    wd: config.weight_decay,
                    eps: config.epsilon,
                    amsgrad: false,
                }
                .build(&theirs_store, config.learning_rate)
                .unwrap()
            } else {
                nn::Adam {
                    beta1: config.beta1,
                    beta2: config.beta2,
                    wd: config.weight_decay,
                    eps: config.epsilon,
                    amsgrad: false,
                }
                .build(&theirs_store, config.learning_rate)
                .unwrap()
            };
            for step in 0..20 {
                let target = f64::from(step) / 10.0;
                ours.backward_step(&loss(&big, &small, target));
                theirs.backward_step(&loss(&their_big, &their_small, target));
            }
            let gap = max_difference(&big, &their_big).max(max_difference(&small, &their_small));
            assert!(gap < 1e-6, "decoupled {decoupled}: {gap}");
            // And the decay did something: without it the weights end elsewhere.
            let (plain_store, plain_big, plain_small) = problem(3);
            let mut plain = Adam::new(&plain_store, CONFIG);
            for step in 0..20 {
                plain.backward_step(&loss(&plain_big, &plain_small, f64::from(step) / 10.0));
            }
            assert!(
                max_difference(&big, &plain_big) > 1e-5,
                "decoupled {decoupled}"
            );
        }
    }

    #[test]
    fn non_trainable_variables_get_no_moments() {
        let store = VarStore::new(Device::Cpu);
        let _norm = nn::batch_norm2d(store.root() / "bn", 4, nn::BatchNormConfig::default());
        let adam = Adam::new(&store, CONFIG);
        let names: Vec<String> = adam.state().into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "adam.exp_avg.bn.bias",
                "adam.exp_avg_sq.bn.bias",
                "adam.exp_avg.bn.weight",
                "adam.exp_avg_sq.bn.weight",
                "adam.step"
            ]
        );
    }

    #[test]
    fn the_tensor_path_agrees_with_the_fused_one() {
        let (store, big, small) = problem(2);
        let mut adam = Adam::new(&store, CONFIG);
        adam.backward_step(&loss(&big, &small, 0.5));
        let fused: Vec<Tensor> = [&big, &small].iter().map(|t| t.copy()).collect();

        let (store, big, small) = problem(2);
        let mut adam = Adam::new(&store, CONFIG);
        let objective = loss(&big, &small, 0.5);
        objective.backward();
        adam.steps = 1;
        let coefficients = Coefficients::new(&CONFIG, 1);
        tch::no_grad(|| {
            for slot in &mut adam.slots {
                let grad = slot.param.grad();
                tensor_update(slot, &grad, &coefficients);
            }
        });
        assert!(max_difference(&big, &fused[0]) < 1e-6);
        assert!(max_difference(&small, &fused[1]) < 1e-6);
    }

    #[test]
    fn state_round_trips_and_continues_identically() {
        let (store, big, small) = problem(3);
        let mut adam = Adam::new(&store, CONFIG);
        for _ in 0..3 {
            adam.backward_step(&loss(&big, &small, 1.0));
        }
        let saved: BTreeMap<String, Tensor> = adam
            .state()
            .into_iter()
            .map(|(name, tensor)| (name, tensor.copy()))
            .collect();
        let weights: Vec<Tensor> = [&big, &small].iter().map(|t| t.copy()).collect();
        adam.backward_step(&loss(&big, &small, 1.0));

        let (restored_store, restored_big, restored_small) = problem(99);
        tch::no_grad(|| {
            restored_big.shallow_clone().copy_(&weights[0]);
            restored_small.shallow_clone().copy_(&weights[1]);
        });
        let mut restored = Adam::new(&restored_store, CONFIG);
        restored.load_state(&saved).unwrap();
        assert_eq!(restored.steps(), 3);
        restored.backward_step(&loss(&restored_big, &restored_small, 1.0));
        assert_eq!(max_difference(&big, &restored_big), 0.0);
        assert_eq!(max_difference(&small, &restored_small), 0.0);
    }

    #[test]
    fn a_mismatched_state_is_refused_and_changes_nothing() {
        let (store, _, _) = problem(4);
        let mut adam = Adam::new(&store, CONFIG);
        let mut state: BTreeMap<String, Tensor> = adam.state().into_iter().collect();
        state.insert(
            format!("{EXP_AVG_SQ}small"),
            Tensor::ones([8], (Kind::Float, Device::Cpu)),
        );
        let error = adam.load_state(&state).unwrap_err();
        assert!(matches!(error, StateError::Shape { ref name, .. } if name.ends_with("small")));
        assert!(error.to_string().contains("[8]"), "{error}");
        state.remove(STEP);
        state.insert(
            format!("{EXP_AVG_SQ}small"),
            Tensor::ones([7], (Kind::Float, Device::Cpu)),
        );
        assert_eq!(
            adam.load_state(&state),
            Err(StateError::Missing(STEP.into()))
        );
        let untouched = adam.state();
        assert!(untouched
            .iter()
            .all(|(name, tensor)| name == STEP
                || tensor.abs().sum(Kind::Float).double_value(&[]) == 0.0));
    }
}
