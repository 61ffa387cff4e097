//! Training throughput (images/s) of each seed model at batch 32 on the CPU,
//! through the same step function `atelier train` uses (see
//! `atelier::train::throughput`). `atelier bench` prints the same table;
//! `bench/peers/compare.py` sets it beside `PyTorch` and Keras.
//!
//! `cargo bench --bench train [-- M1 M4]`; prints one line per model: the
//! median of several timed rounds, and their spread.

use atelier::{plan, train::throughput};
use tch::Device;

/// Timed rounds per model; this machine's figures wander by tens of percent.
const ROUNDS: usize = 5;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    println!(
        "training throughput, batch 32, CPU, {} libtorch threads, median of {ROUNDS} rounds",
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
        let steps = throughput::default_steps(&spec);
        let measured =
            throughput::measure(&spec, steps, ROUNDS, Device::Cpu).expect("seed models build");
        let (low, high) = measured.range();
        println!(
            "{:<5} {:>12} {:>7} {:>10.0}   {:.0}–{:.0}",
            spec.name,
            measured.params,
            steps,
            measured.median(),
            low,
            high
        );
    }
}
