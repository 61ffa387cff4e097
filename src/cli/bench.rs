//! `atelier bench`: training throughput of the seed models, as a table or as
//! JSON lines for `bench/peers/compare.py`.

use std::process::ExitCode;

use anyhow::Context;
use atelier::{
    model::Precision,
    plan,
    train::{throughput, DevicePref},
};
use clap::Args;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seed models to measure (e.g. M1 M4); all six when none.
    #[arg(value_name = "MODEL")]
    pub models: Vec<String>,
    /// libtorch threads (intra-op); the peers get the same.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(i32).range(1..))]
    pub threads: i32,
    /// Timed steps per round [default: 100, or 8 for the wide M3–M5].
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub steps: Option<i64>,
    /// Timed rounds per model.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: DevicePref,
    #[arg(long, value_enum, default_value = "fp32")]
    pub precision: Precision,
    /// One JSON object per model instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    tch::set_num_threads(args.threads);
    let device = args.device.resolve()?;
    let specs: Vec<_> = plan::seed_plan()
        .runs
        .into_iter()
        .filter(|spec| {
            args.models.is_empty()
                || args
                    .models
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(&spec.name))
        })
        .collect();
    if specs.is_empty() {
        anyhow::bail!(
            "no seed model is named {}; the seed models are M1, M2, M3, M4, M5 and MLP",
            args.models.join(", ")
        );
    }
    if !args.json {
        println!(
            "training throughput, batch 32, {}, {}, {} libtorch threads, median of {} rounds",
            atelier::train::device_name(device),
            args.precision,
            args.threads,
            args.rounds
        );
        println!(
            "{:<5} {:>12} {:>7} {:>10}   min–max",
            "model", "params", "steps", "images/s"
        );
    }
    for mut spec in specs {
        spec.precision = args.precision;
        let steps = args
            .steps
            .unwrap_or_else(|| throughput::default_steps(&spec));
        let measured = throughput::measure(&spec, steps, args.rounds as usize, device)
            .with_context(|| format!("cannot build {}", spec.name))?;
        if args.json {
            println!("{}", serde_json::to_string(&measured)?);
        } else {
            let (low, high) = measured.range();
            println!(
                "{:<5} {:>12} {:>7} {:>10.0}   {low:.0}–{high:.0}",
                measured.model,
                measured.params,
                measured.steps,
                measured.median()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
