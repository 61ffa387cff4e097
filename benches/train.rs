//! Training throughput (images/s) of each seed model at batch 32 on the CPU,
//! through the same step function `atelier train` uses. Synthetic data: the
//! figure depends on the shapes, not the pixels.
//!
//! `cargo bench --bench train [-- M1 M4]`; prints one line per model: the
//! median of several timed rounds, and their spread.

use std::time::Instant;

use atelier::{plan, train::fit};
use tch::{Device, Kind, Tensor};

const BATCH: i64 = 32;
/// Timed rounds per model; this machine's figures wander by tens of percent.
const ROUNDS: usize = 5;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    println!(
        "training throughput, batch {BATCH}, CPU, {} libtorch threads, median of {ROUNDS} rounds",
        tch::get_num_threads()
    );
    println!(
        "{:<5} {:>12} {:>7} {:>10}   min–max",
        "model", "params", "steps", "images/s"
    );
    for spec in plan::seed_plan().runs {
        if !wanted.is_empty()
            && !wanted
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&spec.name))
        {
            continue;
        }
        tch::manual_seed(0);
        let mut model = fit::Model::build(&spec.model, spec.learning_rate, Device::Cpu)
            .expect("seed models build");
        let images = Tensor::rand([BATCH * 8, 1, 28, 28], (Kind::Float, Device::Cpu));
        let labels = Tensor::randint(10, [BATCH * 8], (Kind::Int64, Device::Cpu));
        let params = spec.model.param_count().unwrap_or(0);
        // Wide models take ~0.25 s a step here: fewer steps keep the bench short.
        let steps = if params > 1_000_000 { 8 } else { 100 };
        let mut step = |index: i64| {
            let offset = (index % 8) * BATCH;
            let (loss, _) = fit::train_step(
                &model.net,
                &mut model.optimizer,
                &images.narrow(0, offset, BATCH),
                &labels.narrow(0, offset, BATCH),
            );
            loss
        };
        for index in 0..10 {
            let _ = step(index);
        }
        let mut rates: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                let mut last = Tensor::zeros([], (Kind::Float, Device::Cpu));
                for index in 0..steps {
                    last = step(index);
                }
                let _ = last.double_value(&[]);
                (steps * BATCH) as f64 / started.elapsed().as_secs_f64()
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "{:<5} {:>12} {:>7} {:>10.0}   {:.0}–{:.0}",
            spec.name,
            params,
            steps,
            rates[ROUNDS / 2],
            rates[0],
            rates[ROUNDS - 1]
        );
    }
}
