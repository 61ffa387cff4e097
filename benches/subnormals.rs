//! What a subnormal float costs atelier's Adam on this CPU, with and without
//! flushing: one update of a 401,408-weight layer (the MLP's first) whose
//! gradient is zero and whose first moments are all subnormal (1e-39, as
//! they become ~800 steps after a pixel's last non-zero gradient) or all
//! normal (1e-30), on one thread. Prints the median time per update.
//!
//! `cargo bench --bench subnormals`

use std::time::Instant;

use atelier::train::{
    adam::{Adam, AdamConfig},
    denormals,
};
use tch::{nn::VarStore, Device, Kind};

const WEIGHTS: i64 = 401_408;
const UPDATES: usize = 41;

fn median_update_ms(first_moment: f64, flush: bool) -> f64 {
    denormals::set(flush);
    let store = VarStore::new(Device::Cpu);
    let weights = store.root().zeros("w", &[WEIGHTS]);
    let mut adam = Adam::new(&store, AdamConfig::keras(1e-3));
    // A zero gradient, as for a pixel that is 0 in every recent image.
    (&weights * 0.0).sum(Kind::Float).backward();
    let moments = |adam: &Adam| {
        let state = adam.state();
        tch::no_grad(|| {
            for (name, tensor) in &state {
                if name.starts_with("adam.exp_avg.") {
                    let _ = tensor.shallow_clone().fill_(first_moment);
                } else if name.starts_with("adam.exp_avg_sq.") {
                    let _ = tensor.shallow_clone().fill_(1e-8);
                }
            }
        });
    };
    let mut times: Vec<f64> = (0..UPDATES)
        .map(|_| {
            moments(&adam);
            let started = Instant::now();
            adam.step();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    denormals::set(false);
    times[UPDATES / 2]
}

fn main() {
    tch::set_num_threads(1);
    println!("Adam update of {WEIGHTS} weights, zero gradient, one thread, median of {UPDATES}");
    for (label, moment) in [("normal moments", 1e-30), ("subnormal moments", 1e-39)] {
        for flush in [false, true] {
            let mode = if flush { "flushed" } else { "kept" };
            println!(
                "{label:<18} {mode:<8} {:>8.3} ms",
                median_update_ms(moment, flush)
            );
        }
    }
}
