//! Training throughput of a model, in images per second, two ways:
//!
//! - [`measure_epochs`], what a user feels: the real training loop
//!   (`fit`, the one `atelier train` runs) over real images for a few
//!   epochs, timing only the epochs after the first ones. Weights and
//!   optimizer state then look like a real run's, which is where costs
//!   such as subnormal floats in Adam's moments appear (from ~800 steps on);
//!   `atelier bench` and the comparison with `PyTorch` and Keras
//!   (`bench/peers/`) use it.
//! - [`measure`], the step function alone on synthetic batches from fresh
//!   weights: quick, for `cargo bench --bench train` and profiling a step.

use std::time::Instant;

use serde::Serialize;
use tch::{Device, Kind, Tensor};

use super::{
    fit::{self, FitError, Flow, Start, Supervisor},
    step,
    tensors::{DeviceData, Pair, UploadKey},
};
use crate::{
    data::FashionMnist,
    model::Precision,
    plan::RunSpec,
    protocol::{Event, RunId},
};

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
    /// Images per step (32 for the seed models; a beyond run's own).
    pub batch_size: u32,
    /// libtorch's CPU threads while timed (0: not said).
    pub threads: u16,
    /// Steps per timed round (per epoch for [`measure_epochs`]).
    pub steps: i64,
    /// One figure per timed round, in the order measured.
    pub images_per_sec: Vec<f64>,
    /// For [`measure_epochs`]: the first epoch's figure, which the table
    /// sets beside the timed ones (a rate that drifts down shows there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_epoch_images_per_sec: Option<f64>,
    /// For [`measure_epochs`]: the epochs trained before the timed ones and
    /// the training images per epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<Epochs>,
}

/// How [`measure_epochs`] trains: `warm` untimed epochs, then `timed` ones,
/// each over the first `images` images of the training split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Epochs {
    pub images: usize,
    pub warm: u32,
    pub timed: u32,
}

impl Epochs {
    /// Two warm epochs and one timed, over 16,000 images (1,000 steps before
    /// the timed 500), or 960 for the wide M3–M5 (~0.1–0.3 s a step on two
    /// cores), so a bench of all six models and both peers stays near ten
    /// minutes.
    pub fn default_for(spec: &RunSpec) -> Self {
        let wide = spec.model.param_count().unwrap_or(0) > 1_000_000;
        Self {
            images: if wide { 960 } else { 16_000 },
            warm: 2,
            timed: 1,
        }
    }
}

impl Throughput {
    /// The same figures, saying they were timed on `threads` threads.
    pub fn on_threads(self, threads: u16) -> Self {
        Self { threads, ..self }
    }

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
    super::denormals::flush();
    tch::manual_seed(0);
    let mut model = step::Model::build(spec, device)?;
    // Eight batches, cycled: enough that no batch stays hot in cache.
    let images = Tensor::rand([batch * 8, 1, 28, 28], (Kind::Float, device));
    let labels = Tensor::randint(10, [batch * 8], (Kind::Int64, device));
    let mut step = |index: i64| {
        let offset = (index % 8) * batch;
        let (loss, _) = step::train_step(
            &model.net,
            &mut model.optimizer,
            &images.narrow(0, offset, batch),
            &labels.narrow(0, offset, batch),
            spec.recipe.label_smoothing,
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
        batch_size: spec.batch_size,
        threads: 0,
        steps,
        images_per_sec,
        first_epoch_images_per_sec: None,
        epochs: None,
    })
}

/// Trains `spec` for `epochs.warm + epochs.timed` epochs through the real
/// loop on the first `epochs.images` training images of `dataset`, and
/// reports the training images/s of each timed epoch as the progress line
/// shows it (the epoch's shuffle and every step, validation excluded: it
/// runs on 32 images only, as does the test pass).
pub fn measure_epochs(
    spec: &RunSpec,
    dataset: &FashionMnist,
    epochs: Epochs,
    device: Device,
) -> Result<Throughput, FitError> {
    let mut spec = spec.clone();
    spec.epochs = epochs.warm + epochs.timed;
    let data = bench_data(&spec, dataset, epochs.images, device);
    let mut rates = EpochRates::default();
    let run = RunId::from(format!("bench-{}", spec.name));
    fit::fit(&run, &spec, &data, None, Start::Fresh, &mut rates)?;
    let steps = data.train.len().div_ceil(spec.batch_size as usize) as i64;
    let skip = epochs.warm as usize;
    Ok(Throughput {
        peer: "atelier",
        model: spec.name.clone(),
        precision: spec.precision,
        params: spec.model.param_count().unwrap_or(0),
        batch_size: spec.batch_size,
        threads: 0,
        steps,
        images_per_sec: rates.per_epoch.iter().skip(skip).copied().collect(),
        first_epoch_images_per_sec: rates.per_epoch.first().copied(),
        epochs: Some(epochs),
    })
}

/// The first `images` training images, and 32-image validation and test
/// splits: their passes are not what is timed.
fn bench_data(spec: &RunSpec, dataset: &FashionMnist, images: usize, device: Device) -> DeviceData {
    let key = UploadKey {
        device,
        validation_split: spec.validation_split,
        limit_train: Some(images),
    };
    let full = DeviceData::upload(dataset, key);
    let few = |pair: &Pair| {
        let count = (pair.len() as i64).min(32);
        Pair {
            images: pair.images.narrow(0, 0, count),
            labels: pair.labels.narrow(0, 0, count),
        }
    };
    DeviceData {
        key,
        validation: few(&full.validation),
        test: few(&full.test),
        train: full.train,
    }
}

/// Each epoch's training rate, from its last progress event.
#[derive(Default)]
struct EpochRates {
    per_epoch: Vec<f64>,
}

impl Supervisor for EpochRates {
    fn emit(&mut self, event: Event) {
        if let Event::Progress {
            step,
            steps,
            samples_per_sec,
            ..
        } = event
        {
            if step == steps {
                self.per_epoch.push(samples_per_sec);
            }
        }
    }

    fn poll(&mut self) -> Flow {
        Flow::Continue
    }
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

    fn noise(images: usize) -> crate::data::Split {
        let mut rng = fastrand::Rng::with_seed(7);
        crate::data::Split {
            images: (0..images * 784).map(|_| rng.u8(..)).collect(),
            labels: (0..images).map(|_| rng.u8(..10)).collect(),
        }
    }

    #[test]
    fn epochs_are_timed_after_the_warm_ones_through_the_real_loop() {
        let spec = RunSpec::new(
            "tiny",
            ModelSpec::Mlp {
                hidden: vec![8],
                dropout: true,
            },
        );
        let dataset = FashionMnist {
            train: noise(200),
            test: noise(40),
        };
        let epochs = Epochs {
            images: 96,
            warm: 2,
            timed: 3,
        };
        let measured = measure_epochs(&spec, &dataset, epochs, Device::Cpu).unwrap();
        // 96 of the 160 training images (the last 40 are validation), 32 a step.
        assert_eq!(measured.steps, 3);
        assert_eq!(measured.images_per_sec.len(), 3);
        assert!(measured
            .first_epoch_images_per_sec
            .is_some_and(|rate| rate > 0.0));
        assert!(measured
            .images_per_sec
            .iter()
            .all(|rate| rate.is_finite() && *rate > 0.0));
        let json = serde_json::to_value(&measured).unwrap();
        assert_eq!(json["epochs"]["warm"], 2);
        assert_eq!(json["epochs"]["images"], 96);
    }
}
