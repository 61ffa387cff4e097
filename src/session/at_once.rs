//! How many runs train at once when the user has not said (`--jobs`,
//! `--devices`, `--threads`, or a plan's `[workers]`).
//!
//! On a CPU, two small runs side by side on one thread each finish sooner
//! than the same two one after the other on two threads: one thread wastes
//! little waiting at barriers, and separate processes share almost nothing.
//! A wide model's big matrix products use both threads well, and two at
//! once would only double the memory and delay the first result. So each
//! kind of run in the queue (its network, batch, precision and recipe) is
//! timed at each thread count ([`threads::rates_for`]), and the queue's
//! wall time is estimated one at a time (each run at its fastest count)
//! and with the cores split between workers; workers win only when they
//! save at least [`GAIN`] of it. GPUs keep one run per device: this is for
//! queues that train on the CPU alone.

use super::slots::Slot;
use crate::{
    data::verify::{TEST_COUNT, TRAIN_COUNT},
    plan::{DevicePref, RunSpec},
    protocol::ThreadRate,
    train::{fit::FitError, threads},
};

/// Throughput of each of several runs at once, against one alone on the
/// same threads: they share caches and memory bandwidth. Measured on two
/// cores (two one-thread M1 epochs side by side: 0.94 of one alone; the
/// MLP 0.98; M4 0.98): 0.9 leaves room for machines that share more.
const CONTENTION: f64 = 0.9;
/// Seconds a worker process costs a run before its first step (start,
/// reading the dataset): measured at about 1 s on two cores.
const WORKER_START: f64 = 1.0;
/// An evaluated image (validation after each epoch, the test set at the
/// end) costs about a third of a trained one: a forward pass, in batches
/// of 1,000.
const EVAL_COST: f64 = 1.0 / 3.0;
/// Workers must save at least this share of the one-at-a-time estimate.
const GAIN: f64 = 0.1;
/// Timing a kind may cost this share of the whole queue's training:
/// workers can save several times that.
const PROBE_SHARE: f64 = 0.1;

/// Runs at once, chosen by measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct AtOnce {
    /// One CPU slot per worker, each with its share of the threads.
    pub slots: Vec<Slot>,
    /// Estimated wall time one at a time over that at once.
    pub speedup: f64,
    /// Each kind's measured rates, by its first run's group name.
    pub rates: Vec<(String, Vec<ThreadRate>)>,
}

impl AtOnce {
    /// `training 2 at once, 1 thread each: about 1.6× sooner than one at a time`.
    pub fn summary(&self) -> String {
        let threads = self.slots.first().map_or(1, |slot| slot.threads);
        format!(
            "training {} at once, {} each: about {:.1}× sooner than one at a time",
            self.slots.len(),
            crate::units::count(threads, "thread"),
            self.speedup,
        )
    }

    /// The summary, with each kind's measured rates and how to say otherwise.
    pub fn describe(&self) -> String {
        let measured: Vec<String> = self
            .rates
            .iter()
            .map(|(name, rates)| {
                let rates: Vec<String> = rates
                    .iter()
                    .map(|rate| {
                        format!(
                            "{} {}",
                            crate::units::count(rate.threads, "thread"),
                            crate::units::thousands(rate.images_per_sec.round() as u64)
                        )
                    })
                    .collect();
                format!("{} {}", crate::edge::printable(name), rates.join(", "))
            })
            .collect();
        format!(
            "{} (images/s measured: {}); --jobs 1 trains one at a time",
            self.summary(),
            measured.join("; ")
        )
    }
}

/// Whether workers could help `runs` at all: several, all on the CPU of a
/// machine with several cores (`gpus`: how many libtorch sees).
pub fn applies(runs: &[RunSpec], gpus: usize, cores: usize) -> bool {
    let on_cpu = |spec: &RunSpec| {
        spec.device == DevicePref::Cpu || (spec.device == DevicePref::Auto && gpus == 0)
    };
    runs.len() >= 2 && cores >= 2 && runs.iter().all(on_cpu)
}

/// Workers for `runs` when several train on the CPU and that is measurably
/// faster; `None` to train them one at a time in this process.
pub fn choose(runs: &[RunSpec], gpus: usize, cores: usize) -> Result<Option<AtOnce>, FitError> {
    if !applies(runs, gpus, cores) {
        return Ok(None);
    }
    let Some(kinds) = measure(runs)? else {
        return Ok(None);
    };
    Ok(decide(&kinds, cores))
}

/// Workers for the measured queue `kinds`, when they save at least [`GAIN`].
fn decide(kinds: &[Measured], cores: usize) -> Option<AtOnce> {
    let alone: Vec<f64> = kinds
        .iter()
        .map(|k| k.images / threads::best_rate_at_fastest(&k.rates))
        .collect();
    let one_at_a_time = makespan(&alone, 1);
    let mut best: Option<(f64, usize, u16)> = None;
    let most_jobs = cores.min(kinds.len());
    for jobs in 2..=most_jobs {
        for threads_each in threads::candidates(cores) {
            if jobs * usize::from(threads_each) > cores {
                continue;
            }
            let durations: Vec<f64> = kinds
                .iter()
                .map(|k| k.images / (rate_at(&k.rates, threads_each) * CONTENTION) + WORKER_START)
                .collect();
            let wall = makespan(&durations, jobs);
            if best.is_none_or(|(fastest, ..)| wall < fastest) {
                best = Some((wall, jobs, threads_each));
            }
        }
    }
    best.filter(|(wall, ..)| *wall <= (1.0 - GAIN) * one_at_a_time)
        .map(|(wall, jobs, threads_each)| AtOnce {
            slots: vec![
                Slot {
                    device: DevicePref::Cpu,
                    threads: usize::from(threads_each),
                };
                jobs
            ],
            speedup: one_at_a_time / wall,
            rates: distinct_rates(kinds),
        })
}

/// One run of the queue, in order: its work and how fast its kind goes.
struct Measured {
    name: String,
    /// Training images, evaluation counted as [`work`] says.
    images: f64,
    rates: Vec<ThreadRate>,
}

/// Each run's rates, its kind timed once; `None` when the queue is too
/// short to be worth timing.
fn measure(runs: &[RunSpec]) -> Result<Option<Vec<Measured>>, FitError> {
    let queue: usize = runs.iter().map(images_to_train).sum();
    if queue < threads::MEASURE_MIN_IMAGES && !threads::probe_always() {
        return Ok(None);
    }
    let mut measured = Vec::with_capacity(runs.len());
    for spec in runs {
        let Some(rates) = threads::rates_for(spec, queue, PROBE_SHARE)? else {
            return Ok(None);
        };
        measured.push(Measured {
            name: spec.group().name,
            images: work(spec),
            rates,
        });
    }
    Ok(Some(measured))
}

/// Training images over all its epochs: the training file less the
/// validation split, or the first `limit_train`.
fn images_to_train(spec: &RunSpec) -> usize {
    let split = (TRAIN_COUNT as f64 * (1.0 - spec.validation_split)) as usize;
    spec.limit_train.map_or(split, |limit| limit.min(split)) * spec.epochs as usize
}

/// Its work in trained images: training, and the validation split after
/// every epoch and the test set at the end at [`EVAL_COST`] each. For short
/// runs on a few images, evaluation is most of the time.
fn work(spec: &RunSpec) -> f64 {
    let validation = TRAIN_COUNT as f64 * spec.validation_split * f64::from(spec.epochs);
    images_to_train(spec) as f64 + (validation + TEST_COUNT as f64) * EVAL_COST
}

/// The rate measured at `threads`, or the nearest count below it.
fn rate_at(rates: &[ThreadRate], threads: u16) -> f64 {
    rates
        .iter()
        .filter(|rate| rate.threads <= threads)
        .max_by_key(|rate| rate.threads)
        .map_or(1.0, |rate| rate.images_per_sec.max(1.0))
}

/// Each kind's rates once, under its first run's group name.
fn distinct_rates(kinds: &[Measured]) -> Vec<(String, Vec<ThreadRate>)> {
    let mut seen: Vec<(String, Vec<ThreadRate>)> = Vec::new();
    for kind in kinds {
        if !seen.iter().any(|(_, rates)| *rates == kind.rates) {
            seen.push((kind.name.clone(), kind.rates.clone()));
        }
    }
    seen
}

/// Wall time of `durations` handed in order to `jobs` workers, each taking
/// the next as soon as it is free.
fn makespan(durations: &[f64], jobs: usize) -> f64 {
    let mut free_at = vec![0.0_f64; jobs.max(1)];
    for duration in durations {
        let first_free = free_at
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one worker");
        *first_free += duration;
    }
    free_at.into_iter().fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(pairs: &[(u16, f64)]) -> Vec<ThreadRate> {
        pairs
            .iter()
            .map(|&(threads, images_per_sec)| ThreadRate {
                threads,
                images_per_sec,
            })
            .collect()
    }

    #[test]
    fn makespan_hands_each_run_to_the_first_free_worker() {
        assert_eq!(makespan(&[3.0, 1.0, 1.0, 1.0], 1), 6.0);
        assert_eq!(makespan(&[3.0, 1.0, 1.0, 1.0], 2), 3.0);
        assert_eq!(makespan(&[2.0, 2.0, 2.0], 2), 4.0);
    }

    #[test]
    fn a_rate_is_read_at_the_count_or_the_nearest_below() {
        let measured = rates(&[(1, 100.0), (2, 180.0), (4, 300.0)]);
        assert_eq!(rate_at(&measured, 2), 180.0);
        assert_eq!(rate_at(&measured, 3), 180.0);
        assert_eq!(rate_at(&measured, 8), 300.0);
    }

    /// Measured rates: (threads, images/s).
    type Rates<'a> = &'a [(u16, f64)];

    fn queue(runs: &[(&str, f64, Rates)]) -> Vec<Measured> {
        runs.iter()
            .map(|&(name, images, measured)| Measured {
                name: name.to_string(),
                images,
                rates: rates(measured),
            })
            .collect()
    }

    #[test]
    fn small_models_train_side_by_side_and_wide_ones_one_at_a_time() {
        // Rates as measured on two cores: M1 and the MLP gain little or lose
        // from a second thread; M4 nearly doubles.
        let m1: Rates = &[(1, 8_100.0), (2, 7_900.0)];
        let mlp: Rates = &[(1, 20_000.0), (2, 9_000.0)];
        let m4: Rates = &[(1, 290.0), (2, 500.0)];
        let small = queue(&[
            ("M1", 720_000.0, m1),
            ("MLP", 720_000.0, mlp),
            ("M1", 720_000.0, m1),
            ("MLP", 720_000.0, mlp),
        ]);
        let chosen = decide(&small, 2).expect("two at once");
        assert_eq!(chosen.slots.len(), 2);
        assert!(chosen.slots.iter().all(|slot| slot.threads == 1));
        assert!(chosen.speedup > 1.5, "{}", chosen.speedup);
        assert_eq!(chosen.rates.len(), 2, "each kind once");
        assert!(chosen
            .describe()
            .contains("M1 1 thread 8,100, 2 threads 7,900"));
        let wide = queue(&[("M4", 720_000.0, m4), ("M4", 720_000.0, m4)]);
        assert_eq!(decide(&wide, 2), None);
        // Four cores, two runs that scale well: two workers of two threads.
        let scaling: Rates = &[(1, 100.0), (2, 195.0), (4, 210.0)];
        let chosen = decide(&queue(&[("W", 1e5, scaling); 2]), 4).expect("workers");
        assert_eq!((chosen.slots.len(), chosen.slots[0].threads), (2, 2));
        // Four such runs: four workers of one thread.
        let chosen = decide(&queue(&[("W", 1e5, scaling); 4]), 4).expect("workers");
        assert_eq!((chosen.slots.len(), chosen.slots[0].threads), (4, 1));
    }

    #[test]
    fn tiny_queues_gpu_queues_and_single_runs_train_one_at_a_time() {
        let mut mlp = crate::plan::builtin_runs(&["MLP".to_string()])
            .unwrap()
            .remove(0);
        mlp.limit_train = Some(500);
        mlp.epochs = 1;
        mlp.device = DevicePref::Cpu;
        // Too few images to be worth timing: nothing is measured.
        assert_eq!(choose(&[mlp.clone(), mlp.clone()], 0, 2).unwrap(), None);
        mlp.limit_train = None;
        assert_eq!(choose(std::slice::from_ref(&mlp), 0, 2).unwrap(), None);
        assert_eq!(choose(&[mlp.clone(), mlp.clone()], 0, 1).unwrap(), None);
        mlp.device = DevicePref::Auto;
        assert_eq!(choose(&[mlp.clone(), mlp], 1, 2).unwrap(), None);
    }
}
