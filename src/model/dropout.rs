//! Dropout whose CPU masks come from a seeded generator of our own.
//!
//! libtorch draws a CPU dropout mask with `bernoulli_`, a serial kernel over a
//! Mersenne Twister: in a profile of M2 it took an eighth of the step while
//! the second libtorch thread spun idle. Here the mask (0, or 1/(1-rate) for
//! kept units, as `dropout` scales) is drawn in parallel chunks from fastrand
//! generators and applied with one multiplication, which autograd
//! differentiates as libtorch's dropout (the gradient is masked and scaled
//! alike). The distribution is the same; the stream of random numbers is
//! not, so masks differ from libtorch's for the same seed. On other devices
//! libtorch's dropout runs unchanged.

use std::cell::RefCell;

use tch::{Device, Kind, Tensor};

/// Units below this many are masked on one thread: spawning costs more.
const PARALLEL_MIN: usize = 1 << 15;

/// A dropout layer's source of masks.
#[derive(Debug)]
pub struct Dropout {
    rng: RefCell<fastrand::Rng>,
}

impl Dropout {
    /// Masks drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: RefCell::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// Restarts the mask stream at `seed`.
    pub fn reseed(&self, seed: u64) {
        self.rng.borrow_mut().seed(seed);
    }

    /// The generator's state: reseeding with it continues the same stream.
    pub fn state(&self) -> u64 {
        self.rng.borrow().get_seed()
    }

    /// Zeroes each unit of `x` with probability `rate` and scales the rest by
    /// 1/(1-rate) while `train`; the identity otherwise.
    pub fn apply(&self, x: &Tensor, rate: f64, train: bool) -> Tensor {
        if !train || rate <= 0.0 {
            return x.shallow_clone();
        }
        if x.device() != Device::Cpu || x.kind() != Kind::Float || rate >= 1.0 {
            return x.dropout(rate, train);
        }
        let len = x.numel();
        let mut mask = vec![0f32; len];
        let keep = (1.0 - rate) as f32;
        let scale = 1.0 / keep;
        let parts = (len / PARALLEL_MIN).clamp(1, threads());
        let chunk = len.div_ceil(parts).max(1);
        let seeds: Vec<u64> = {
            let mut rng = self.rng.borrow_mut();
            (0..parts).map(|_| rng.u64(..)).collect()
        };
        let fill = |values: &mut [f32], seed: u64| {
            let mut rng = fastrand::Rng::with_seed(seed);
            for value in values {
                *value = if rng.f32() < keep { scale } else { 0.0 };
            }
        };
        if parts == 1 {
            fill(&mut mask, seeds[0]);
        } else {
            std::thread::scope(|scope| {
                for (values, &seed) in mask.chunks_mut(chunk).zip(&seeds) {
                    scope.spawn(move || fill(values, seed));
                }
            });
        }
        x * Tensor::from_slice(&mask).view(x.size().as_slice())
    }
}

fn threads() -> usize {
    usize::try_from(tch::get_num_threads()).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_about_one_minus_rate_and_scales_what_it_keeps() {
        let dropout = Dropout::new(7);
        let x = Tensor::ones([200, 500], (Kind::Float, Device::Cpu));
        let y = dropout.apply(&x, 0.25, true);
        let values = Vec::<f32>::try_from(y.flatten(0, -1)).unwrap();
        let kept = values.iter().filter(|&&v| v != 0.0).count() as f64 / values.len() as f64;
        assert!((kept - 0.75).abs() < 0.01, "kept {kept}");
        assert!(values
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        let mean = y.mean(Kind::Float).double_value(&[]);
        assert!((mean - 1.0).abs() < 0.02, "expectation kept: {mean}");
    }

    #[test]
    fn the_same_seed_gives_the_same_mask_and_eval_is_the_identity() {
        let x = Tensor::ones([300, 300], (Kind::Float, Device::Cpu));
        let first = Dropout::new(3).apply(&x, 0.5, true);
        let dropout = Dropout::new(99);
        dropout.reseed(3);
        assert!(first.equal(&dropout.apply(&x, 0.5, true)));
        assert!(
            !first.equal(&dropout.apply(&x, 0.5, true)),
            "the stream moves on"
        );
        assert!(dropout.apply(&x, 0.5, false).equal(&x));
    }

    #[test]
    fn its_state_continues_the_stream_where_it_was_read() {
        let x = Tensor::ones([100, 100], (Kind::Float, Device::Cpu));
        let dropout = Dropout::new(11);
        let _ = dropout.apply(&x, 0.5, true);
        let state = dropout.state();
        let next = dropout.apply(&x, 0.5, true);
        let other = Dropout::new(0);
        other.reseed(state);
        assert!(next.equal(&other.apply(&x, 0.5, true)));
    }

    #[test]
    fn gradients_are_masked_like_the_output() {
        let x = Tensor::ones([64, 64], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let y = Dropout::new(5).apply(&x, 0.5, true);
        y.sum(Kind::Float).backward();
        assert!(x.grad().equal(&y.detach()), "d(sum)/dx is the scaled mask");
    }
}
