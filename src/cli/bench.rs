//! `atelier bench`: training throughput of the seed models, as a table or as
//! JSON lines for `bench/peers/compare.py`.
//!
//! By default each model trains through the real loop on real images for a
//! few epochs and the later epochs are timed (what a user feels over a run);
//! `--synthetic` times the step alone from fresh weights instead.

use std::{path::Path, process::ExitCode};

use anyhow::Context;
use atelier::plan::DevicePref;
use atelier::{
    data::{self, verify::TRAIN_COUNT, FashionMnist},
    model::Precision,
    outln,
    plan::{self, RunSpec},
    protocol::ThreadReason,
    train::{
        threads,
        throughput::{self, Epochs, Throughput},
        ResolveDevice,
    },
};
use clap::Args;
use tch::Device;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seed models to measure (e.g. M1 M4); all six when none.
    #[arg(value_name = "MODEL")]
    pub models: Vec<String>,
    /// libtorch threads (intra-op) [default: what a 15-epoch run of the
    /// model chooses, as `train` does].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..), help_heading = crate::cli::heading::HARDWARE)]
    pub threads: Option<u16>,
    /// Training images per epoch [default: 16000, or 960 for the wide M3–M5].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(32..=48_000), help_heading = crate::cli::heading::BUDGET)]
    pub images: Option<u64>,
    /// Untimed epochs before the timed ones.
    #[arg(long, default_value_t = 2, value_name = "N", help_heading = crate::cli::heading::BUDGET)]
    pub warm_epochs: u32,
    /// Timed epochs per model.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = crate::cli::heading::BUDGET)]
    pub timed_epochs: u32,
    /// Time the step alone on synthetic batches from fresh weights (quick;
    /// misses what appears later in a run).
    #[arg(long, help_heading = crate::cli::heading::BUDGET)]
    pub synthetic: bool,
    /// With --synthetic: timed steps per round [default: 100, or 8 for M3–M5].
    #[arg(long, requires = "synthetic", value_name = "N", value_parser = clap::value_parser!(i64).range(1..), help_heading = crate::cli::heading::BUDGET)]
    pub steps: Option<i64>,
    /// With --synthetic: timed rounds per model.
    #[arg(long, requires = "synthetic", default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = crate::cli::heading::BUDGET)]
    pub rounds: u64,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu", value_name = "DEVICE", help_heading = crate::cli::heading::HARDWARE)]
    pub device: DevicePref,
    /// fp32, or bf16 mixed precision.
    #[arg(long, value_enum, default_value = "fp32", value_name = "PRECISION", help_heading = crate::cli::heading::HARDWARE)]
    pub precision: Precision,
    /// One JSON object per model instead of the table.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub json: bool,
}

pub fn run(args: &BenchArgs, data_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let Some(threads) = args.threads {
        threads::fix(threads, ThreadReason::Asked);
    }
    let device = args.device.resolve()?;
    let specs = plan::builtin_runs(&args.models)?;
    let dataset = if args.synthetic {
        None
    } else {
        let source = data::discover(data_dir)?;
        Some(FashionMnist::load(&source).with_context(|| format!("cannot load {source}"))?)
    };
    if !args.json {
        print_header(args, device)?;
    }
    for mut spec in specs {
        spec.precision = args.precision;
        // As a real run of the model would: the whole training split, every epoch.
        let real_run =
            (TRAIN_COUNT as f64 * (1.0 - spec.validation_split)) as usize * spec.epochs as usize;
        let (threads, _) = threads::choose(&spec, device, real_run, None)
            .with_context(|| format!("cannot time {}'s steps", spec.name))?;
        let measured = if let Some(dataset) = &dataset {
            throughput::measure_epochs(&spec, dataset, epochs(args, &spec), device)
        } else {
            let steps = args
                .steps
                .unwrap_or_else(|| throughput::default_steps(&spec));
            throughput::measure(&spec, steps, args.rounds as usize, device)
        }
        .with_context(|| format!("cannot train {}", spec.name))?
        .on_threads(threads);
        if args.json {
            outln!("{}", serde_json::to_string(&measured)?)?;
        } else {
            print_row(&measured)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn epochs(args: &BenchArgs, spec: &RunSpec) -> Epochs {
    let default = Epochs::default_for(spec);
    Epochs {
        images: args.images.map_or(default.images, |images| images as usize),
        warm: args.warm_epochs,
        timed: args.timed_epochs,
    }
}

fn print_header(args: &BenchArgs, device: Device) -> anyhow::Result<()> {
    let device = atelier::train::device_name(device);
    if args.synthetic {
        outln!(
            "training throughput, batch 32, {device}, {}, {}, synthetic batches \
             from fresh weights, median of {} rounds",
            args.precision,
            threads_said(args.threads),
            args.rounds
        )?;
        outln!(
            "{:<5} {:>12} {:>7} {:>7} {:>10}   min–max",
            "model",
            "params",
            "threads",
            "steps",
            "images/s"
        )?;
    } else {
        outln!(
            "training throughput, {device}, {}, {}, real images, \
             {} then {} timed",
            args.precision,
            threads_said(args.threads),
            atelier::units::count(args.warm_epochs, "warm epoch"),
            args.timed_epochs
        )?;
        outln!(
            "{:<9} {:>10} {:>6} {:>7} {:>7} {:>11} {:>10}   min–max",
            "model",
            "params",
            "batch",
            "threads",
            "images",
            "epoch 1/s",
            "timed/s"
        )?;
    }
    Ok(())
}

/// `2 libtorch threads`, or how the count is chosen when not given.
fn threads_said(threads: Option<u16>) -> String {
    threads.map_or_else(
        || "libtorch threads as a run chooses them".to_string(),
        |threads| atelier::units::count(threads, "libtorch thread"),
    )
}

fn print_row(measured: &Throughput) -> anyhow::Result<()> {
    let (low, high) = measured.range();
    match (measured.epochs, measured.first_epoch_images_per_sec) {
        (Some(epochs), first) => outln!(
            "{:<9} {:>10} {:>6} {:>7} {:>7} {:>11.0} {:>10.0}   {low:.0}–{high:.0}",
            measured.model,
            measured.params,
            measured.batch_size,
            measured.threads,
            epochs.images,
            first.unwrap_or(f64::NAN),
            measured.median()
        )?,
        _ => outln!(
            "{:<5} {:>12} {:>7} {:>7} {:>10.0}   {low:.0}–{high:.0}",
            measured.model,
            measured.params,
            measured.threads,
            measured.steps,
            measured.median()
        )?,
    }
    Ok(())
}
