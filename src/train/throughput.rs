//! Training throughput of a model: images per second through the same step
//! function `atelier train` uses, after a warm-up, on synthetic batches (the
//! figure depends on the shapes, not the pixels). Shared by
//! `cargo bench --bench train` and `atelier bench`, which the side-by-side
//! comparison with PyTorch and Keras (`bench/peers/`) calls.

use std::time::Instant;

use serde::Serialize;
use tch::{Device, Kind, Tensor};

use super::fit::{self, FitError};
use crate::{model::Precision, plan::RunSpec};

/// Steps run before timing: allocator, oneDNN primitive caches, first-touch pages.
pub const WARM_UP_STEPS: i64 = 10;

/// A model's measured throughput.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Throughput {
    /// Always `atelier`, so lines mix with the peers' output.
    pub peer: &'static str,
    pub model: String,
    pub precision: Precision,
    pub params: u64,
    pub steps: i64,
    /// One figure per timed round, in the order measured.
    pub images_per_sec: Vec<f64>,
}

impl Throughput {
    /// The slowest and the fastest round.
    pub fn range(&self) -> (f64, f64) {
        self.images_per_sec
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(low, high), &rate| {
                (low.min(rate), high.max(rate))
            })
    }

    /// The median round.
    pub fn median(&self) -> f64 {
        let mut rates = self.images_per_sec.clone();
        rates.sort_by(f64::total_cmp);
        rates.get(rates.len() / 2).copied().unwrap_or(0.0)
    }
}

/// Timed steps per round for `spec`: the wide models take ~0.25 s a step on
/// two cores, so they get fewer to keep a bench of all six short.
pub fn default_steps(spec: &RunSpec) -> i64 {
    if spec.model.param_count().unwrap_or(0) > 1_000_000 {
        8
    } else {
        100
    }
}

/// Times `rounds` rounds of `steps` training steps of `spec` at its batch size.
pub fn measure(
    spec: &RunSpec,
    steps: i64,
    rounds: usize,
    device: Device,
) -> Result<Throughput, FitError> {
    let batch = i64::from(spec.batch_size);
    super::allocator::keep_freed_memory();
    tch::manual_seed(0);
    let mut model = fit::Model::build(&spec.model, spec.learning_rate, spec.precision, device)?;
    // Eight batches, cycled: enough that no batch stays hot in cache.
    let images = Tensor::rand([batch * 8, 1, 28, 28], (Kind::Float, device));
    let labels = Tensor::randint(10, [batch * 8], (Kind::Int64, device));
    let mut step = |index: i64| {
        let offset = (index % 8) * batch;
        let (loss, _) = fit::train_step(
            &model.net,
            &mut model.optimizer,
            &images.narrow(0, offset, batch),
            &labels.narrow(0, offset, batch),
        );
        loss
    };
    for index in 0..WARM_UP_STEPS {
        let _ = step(index);
    }
    let images_per_sec = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            let mut last = Tensor::zeros([], (Kind::Float, device));
            for index in 0..steps {
                last = step(index);
            }
            // Waits for the device: the time covers the work, not its queueing.
            let _ = last.double_value(&[]);
            (steps * batch) as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    Ok(Throughput {
        peer: "atelier",
        model: spec.name.clone(),
        precision: spec.precision,
        params: spec.model.param_count().unwrap_or(0),
        steps,
        images_per_sec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSpec;

    #[test]
    fn measures_one_figure_per_round() {
        let spec = RunSpec::new(
            "tiny",
            ModelSpec::Mlp {
                hidden: vec![8],
                dropout: true,
            },
        );
        let measured = measure(&spec, 3, 2, Device::Cpu).unwrap();
        assert_eq!(measured.images_per_sec.len(), 2);
        assert!(measured
            .images_per_sec
            .iter()
            .all(|rate| rate.is_finite() && *rate > 0.0));
        assert_eq!(measured.params, 6_370);
        let json = serde_json::to_value(&measured).unwrap();
        assert_eq!(json["peer"], "atelier");
        assert_eq!(json["model"], "tiny");
    }
}
