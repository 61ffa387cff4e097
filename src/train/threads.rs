//! How many libtorch threads a CPU run trains with.
//!
//! More threads are not always faster: a small model's kernels are short,
//! so a second thread spends much of each step waiting at the barrier after
//! every op (on a 2-core machine the MLP trains 1.2–1.9× faster on one
//! thread than on two). Unless the user or the session fixes the count
//! ([`fix`]), a run long enough to pay for it times a few training steps
//! of a throwaway copy of its model at each candidate count and trains
//! with the fastest, when it is clearly faster than every core ([`probe`],
//! [`fastest`]). The choice and its measurement go into
//! the run's log; a resumed run reuses it, since the count decides how
//! dropout's masks are split between threads and so the numbers it trains to.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use tch::{Device, Kind, Tensor};

use super::{fit::FitError, step};
use crate::{
    plan::RunSpec,
    protocol::{ThreadRate, ThreadReason},
};

/// Runs training fewer images than this in all are not measured: every core.
pub const MEASURE_MIN_IMAGES: usize = 20_000;
/// A run's probe may cost at most this share of its estimated training
/// time; a shorter run stops after its first timing and takes every core.
pub const RUN_PROBE_SHARE: f64 = 0.03;
/// Fewer threads than every core win only when at least this much faster:
/// a few timed steps of fresh weights are a noisy guide to a whole run,
/// and every core is what libtorch would use.
const CLEARLY_FASTER: f64 = 1.1;
/// Each candidate is timed for at least this long, and at least
/// [`MIN_TIMED_STEPS`] steps, after [`WARM_STEPS`] untimed ones.
const TIMED: Duration = Duration::from_millis(150);
const MIN_TIMED_STEPS: u32 = 3;
const WARM_STEPS: u32 = 2;
/// Rounds over the candidates; each keeps its best, which resists a
/// neighbour's burst on a shared machine.
const ROUNDS: usize = 2;

/// `ATELIER_THREADS_PROBE=always` times every CPU run's steps, however
/// short the run (for tests and measuring).
pub const PROBE_ENV: &str = "ATELIER_THREADS_PROBE";

/// A count fixed for every run of this process, and why.
static FIXED: Mutex<Option<(u16, ThreadReason)>> = Mutex::new(None);
/// Probes already made by this process, by [`kind`]: a sweep's runs of one
/// model are timed once.
static PROBED: Mutex<Option<HashMap<String, Vec<ThreadRate>>>> = Mutex::new(None);

/// Fixes the thread count of every run this process trains (`--threads`,
/// a worker's share, Slurm's CPUs) and sets libtorch to it.
pub fn fix(threads: u16, reason: ThreadReason) {
    tch::set_num_threads(i32::from(threads));
    if let Ok(mut fixed) = FIXED.lock() {
        *fixed = Some((threads, reason));
    }
}

/// The count [`fix`] set, if any.
pub fn fixed() -> Option<(u16, ThreadReason)> {
    FIXED.lock().ok().and_then(|fixed| fixed.clone())
}

/// This machine's CPUs, as the OS offers them to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

fn every_core() -> u16 {
    u16::try_from(cores()).unwrap_or(u16::MAX)
}

/// What a run about to train `images` images on `device` should use: the
/// fixed count; on a resume, the count it `started_with` (every core when
/// its log predates the choice); every core on a GPU or for a run too short
/// to measure; else the fastest measured ([`rates_for`]). Sets libtorch to it.
pub fn choose(
    spec: &RunSpec,
    device: Device,
    images: usize,
    started_with: Option<Option<u16>>,
) -> Result<(u16, ThreadReason), FitError> {
    let choice = if let Some(fixed) = fixed() {
        fixed
    } else if let Some(count) = started_with {
        (count.unwrap_or(every_core()), ThreadReason::Resumed)
    } else if device != Device::Cpu {
        (every_core(), ThreadReason::Gpu)
    } else if !will_measure(device, images, started_with) {
        (every_core(), ThreadReason::Short)
    } else if let Some(rates) = rates_for(spec, images, RUN_PROBE_SHARE)? {
        (fastest(&rates), ThreadReason::Measured { rates })
    } else {
        (every_core(), ThreadReason::Short)
    };
    tch::set_num_threads(i32::from(choice.0));
    Ok(choice)
}

/// Whether [`choose`] may time steps for such a run: a fresh CPU run of at
/// least [`MEASURE_MIN_IMAGES`] on a machine with more than one core,
/// with no count fixed.
pub fn will_measure(device: Device, images: usize, started_with: Option<Option<u16>>) -> bool {
    device == Device::Cpu
        && started_with.is_none()
        && (images >= MEASURE_MIN_IMAGES || probe_always())
        && cores() > 1
        && fixed().is_none()
}

/// Whether [`PROBE_ENV`] asks to time every run.
pub fn probe_always() -> bool {
    std::env::var_os(PROBE_ENV).is_some_and(|value| value == "always")
}

/// The rates of `spec`'s kind of step at each candidate count, timed once
/// per process; `None` when timing would cost more than `share` of
/// training `images` images.
pub fn rates_for(
    spec: &RunSpec,
    images: usize,
    share: f64,
) -> Result<Option<Vec<ThreadRate>>, FitError> {
    let key = kind(spec);
    if let Some(rates) = PROBED
        .lock()
        .ok()
        .and_then(|probed| probed.as_ref()?.get(&key).cloned())
    {
        return Ok(Some(rates));
    }
    let rates = probe(spec, &candidates(cores()), images, share)?;
    if let (Some(rates), Ok(mut probed)) = (&rates, PROBED.lock()) {
        probed
            .get_or_insert_with(HashMap::new)
            .insert(key, rates.clone());
    }
    Ok(rates)
}

/// What a step's cost depends on: the network, batch, precision and recipe
/// (not the seed, the learning rate or the epochs).
fn kind(spec: &RunSpec) -> String {
    serde_json::to_string(&(&spec.model, spec.batch_size, spec.precision, &spec.recipe))
        .unwrap_or_default()
}

/// The counts worth timing: 1, 2, 4, … below `cores`, and `cores` itself.
pub fn candidates(cores: usize) -> Vec<u16> {
    let cores = u16::try_from(cores.max(1)).unwrap_or(u16::MAX);
    let mut counts: Vec<u16> = std::iter::successors(Some(1u16), |n| n.checked_mul(2))
        .take_while(|&n| n < cores)
        .collect();
    counts.push(cores);
    counts
}

/// The fastest count, when it beats the most threads measured by
/// [`CLEARLY_FASTER`]; else the most threads.
pub fn fastest(rates: &[ThreadRate]) -> u16 {
    let Some(most) = rates.iter().max_by_key(|rate| rate.threads) else {
        return 1;
    };
    let best = rates
        .iter()
        .max_by(|a, b| a.images_per_sec.total_cmp(&b.images_per_sec))
        .unwrap_or(most);
    if best.images_per_sec >= CLEARLY_FASTER * most.images_per_sec {
        best.threads
    } else {
        most.threads
    }
}

/// The rate at the count [`fastest`] picks.
pub fn best_rate_at_fastest(rates: &[ThreadRate]) -> f64 {
    let threads = fastest(rates);
    rates
        .iter()
        .find(|rate| rate.threads == threads)
        .map_or(1.0, |rate| rate.images_per_sec.max(1.0))
}

/// Times training steps of a throwaway `spec` model on synthetic batches
/// at each thread count, [`ROUNDS`] times alternating, and keeps each
/// count's best rate; the most threads first, and `None` as soon as the
/// probe would cost more than `share` of training `images` images at the
/// rate seen. Leaves libtorch at the last count timed.
pub fn probe(
    spec: &RunSpec,
    counts: &[u16],
    images: usize,
    share: f64,
) -> Result<Option<Vec<ThreadRate>>, FitError> {
    super::allocator::keep_freed_memory();
    let device = Device::Cpu;
    let batch = i64::from(spec.batch_size.max(1));
    let mut model = step::Model::build(spec, device)?;
    // Four batches, cycled, so no batch stays hot in cache.
    let images_in = Tensor::rand([batch * 4, 1, 28, 28], (Kind::Float, device));
    let labels = Tensor::randint(10, [batch * 4], (Kind::Int64, device));
    let mut step = |index: u32| {
        let offset = i64::from(index % 4) * batch;
        let (loss, _) = step::train_step(
            &model.net,
            &mut model.optimizer,
            &images_in.narrow(0, offset, batch),
            &labels.narrow(0, offset, batch),
            spec.recipe.label_smoothing,
        );
        let _ = loss.double_value(&[]);
    };
    let order: Vec<u16> = counts.iter().rev().copied().collect();
    let mut best = vec![0.0_f64; order.len()];
    let started = Instant::now();
    for round in 0..ROUNDS {
        for (slot, &threads) in order.iter().enumerate() {
            tch::set_num_threads(i32::from(threads));
            super::denormals::flush();
            for index in 0..WARM_STEPS {
                step(index);
            }
            let timed = Instant::now();
            let mut steps = 0;
            while steps < MIN_TIMED_STEPS || timed.elapsed() < TIMED {
                step(steps);
                steps += 1;
            }
            let rate = f64::from(steps) * batch as f64 / timed.elapsed().as_secs_f64();
            best[slot] = best[slot].max(rate);
            if round == 0 && slot == 0 {
                let probe_seconds = started.elapsed().as_secs_f64() * (ROUNDS * order.len()) as f64;
                let run_seconds = images as f64 / rate;
                if probe_seconds > share * run_seconds && !probe_always() {
                    return Ok(None);
                }
            }
        }
    }
    let mut rates: Vec<ThreadRate> = order
        .into_iter()
        .zip(best)
        .map(|(threads, images_per_sec)| ThreadRate {
            threads,
            images_per_sec,
        })
        .collect();
    rates.reverse();
    Ok(Some(rates))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(threads: u16, images_per_sec: f64) -> ThreadRate {
        ThreadRate {
            threads,
            images_per_sec,
        }
    }

    #[test]
    fn candidates_double_up_to_every_core() {
        assert_eq!(candidates(1), [1]);
        assert_eq!(candidates(2), [1, 2]);
        assert_eq!(candidates(6), [1, 2, 4, 6]);
        assert_eq!(candidates(8), [1, 2, 4, 8]);
    }

    #[test]
    fn fewer_threads_win_only_when_clearly_faster_than_every_core() {
        assert_eq!(fastest(&[rate(1, 12_000.0), rate(2, 9_000.0)]), 1);
        assert_eq!(fastest(&[rate(1, 5_000.0), rate(2, 7_000.0)]), 2);
        // Faster by less than 10%: noise, so every core.
        assert_eq!(fastest(&[rate(1, 7_300.0), rate(2, 7_000.0)]), 2);
        let four = [
            rate(1, 100.0),
            rate(2, 180.0),
            rate(4, 350.0),
            rate(8, 310.0),
        ];
        assert_eq!(fastest(&four), 4);
        let eight = [
            rate(1, 100.0),
            rate(2, 180.0),
            rate(4, 330.0),
            rate(8, 310.0),
        ];
        assert_eq!(fastest(&eight), 8);
    }

    #[test]
    fn a_probe_times_every_candidate() {
        let spec = crate::plan::builtin_runs(&["MLP".to_string()])
            .unwrap()
            .remove(0);
        let rates = probe(&spec, &[1, 2], 10_000_000, 0.03).unwrap().unwrap();
        assert_eq!(rates.iter().map(|r| r.threads).collect::<Vec<_>>(), [1, 2]);
        assert!(rates.iter().all(|r| r.images_per_sec > 0.0), "{rates:?}");
        // A handful of images: not worth timing the rest.
        assert_eq!(probe(&spec, &[1, 2], 64, 0.03).unwrap(), None);
    }
}
