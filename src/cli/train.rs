//! `atelier train` and `atelier resume`: headless training with Keras-like output.
//!
//! On a terminal each epoch gets a progress bar with ETA; otherwise (a log
//! file, CI) only plain lines are printed. Ctrl-C, SIGTERM and SIGHUP stop
//! the running run, which is stored as interrupted.

use std::{path::Path, process::ExitCode};

use atelier::{
    edge::printable,
    model::Precision,
    outln,
    plan::{DevicePref, Jobs, Overrides, Plan, RunSpec, Workers},
    sayln,
    session::{
        choice::{prepare, PlanChoice, Prepared},
        detach::{self, Detached},
        local, locks,
        requests::{self, Job},
        slots::{self, Slot},
        workers,
    },
};
use clap::Args;
use merge::Merge;

/// Options shared by `atelier train` and the app: which runs, with what changes.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `seed` (the original experiment, built in) or a plan file (TOML).
    #[arg(long, default_value = "seed", value_name = "seed|beyond|FILE")]
    pub plan: String,
    /// Only these runs of the plan, by name (e.g. M1,M4).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub only: Vec<String>,
    /// Override every run's epoch count.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub epochs: Option<u32>,
    /// Train on only the first N images of the training split.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_train: Option<u64>,
    /// auto, cpu, cuda or cuda:N (auto picks CUDA when libtorch sees a GPU).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<DevicePref>,
    /// fp32 (default), or bf16 mixed precision: faster on CPUs with AVX-512
    /// BF16 or AMX and on GPUs, slightly less accurate.
    #[arg(long, value_enum, value_name = "PRECISION")]
    pub precision: Option<Precision>,
    /// Repeat every selected run (each group once) with seeds 1, 2, …, N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(atelier::plan::MAX_SEEDS)), conflicts_with = "seed")]
    pub seeds: Option<u32>,
    /// Train every selected run (each group once) with this seed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Confirm a plan that expands to more runs than a sweep's `max_runs` (default 50).
    #[arg(long)]
    pub yes: bool,
}

impl PlanArgs {
    /// What these flags choose, for the library's session.
    pub fn choice(&self) -> PlanChoice {
        PlanChoice {
            plan: self.plan.clone(),
            only: self.only.clone(),
            overrides: Overrides {
                epochs: self.epochs,
                limit_train: self
                    .limit_train
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                device: self.device,
                batch_size: None,
                precision: self.precision,
                seed: self.seed,
                seeds: self.seeds,
            },
            confirmed: self.yes,
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Train in a background process that outlives this terminal (and an
    /// SSH session); prints its run ids and log. Follow it with `atelier watch`.
    #[arg(long)]
    pub detach: bool,
    /// Print the runs the plan expands to (names, groups, seeds) and train nothing.
    #[arg(long, conflicts_with = "detach")]
    pub dry_run: bool,
    /// Train this many runs at once, a worker process each: on the CPU they
    /// split the cores; with GPUs, one run per GPU. `auto`: every GPU.
    #[arg(long, value_name = "N|auto")]
    pub jobs: Option<Jobs>,
    /// Train on these devices at once, one run per GPU (e.g. cuda:0,cuda:1;
    /// `cpu` with --jobs N for N CPU workers).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub devices: Vec<DevicePref>,
    /// libtorch CPU threads per training process [default: every core,
    /// split between --jobs workers].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// Arguments of `atelier resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Interrupted, crashed or failed runs (id, unique id prefix, or name for
    /// the latest run of that name); each continues after its last complete epoch.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<String>,
    /// Continue in a background process that outlives this terminal.
    #[arg(long)]
    pub detach: bool,
    /// Continue on this device instead of the run's own (auto, cpu, cuda:N).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<DevicePref>,
    /// libtorch CPU threads [default: every core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// A worker of `train --jobs`: its parent holds the device locks.
    #[arg(long, hide = true, conflicts_with = "detach")]
    pub worker: bool,
}

pub fn run(
    args: &TrainArgs,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let choice = args.plan.choice();
    if args.dry_run {
        return dry_run(&choice.resolve()?);
    }
    let mut workers = Workers {
        jobs: args.jobs,
        devices: args.devices.clone(),
        threads: args.threads,
    };
    workers.merge(choice.resolve()?.workers);
    local::set_threads(workers.threads);
    let gpus = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    if let Some(slots) = slots::plan(&workers, gpus, slots::cores())? {
        return run_parallel(args, &slots, data_dir, runs_dir);
    }
    let Prepared {
        plan,
        source,
        store,
    } = prepare(&choice, data_dir, runs_dir)?;
    let jobs: Vec<Job> = requests::requests(&store, &plan)
        .into_iter()
        .map(Job::queue)
        .collect();
    if args.detach {
        let detached = detach::start(&store, &locks::devices_of(&jobs)?)?;
        return Ok(say_detached(&detached, &store));
    }
    Ok(local::train(jobs, source, store)?.exit_code())
}

/// `--jobs`/`--devices` with more than one slot: every run created queued,
/// then trained by worker processes.
fn run_parallel(
    args: &TrainArgs,
    slots: &[Slot],
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let Prepared { plan, store, .. } = prepare(&args.plan.choice(), data_dir, runs_dir)?;
    let devices: Vec<DevicePref> = slots.iter().map(|slot| slot.device).collect();
    let devices = locks::devices_of_slots(&devices)?;
    // Checked before anything is created: another training may hold them.
    locks::check_free(&store, &devices)?;
    if args.detach {
        return Ok(say_detached(&detach::start(&store, &devices)?, &store));
    }
    let mut runs = Vec::new();
    for request in requests::requests(&store, &plan) {
        store.create_queued(&request)?;
        sayln!(
            "queued {} as {}",
            printable(&request.spec.title()),
            request.id
        );
        runs.push((request.id, request.spec));
    }
    Ok(workers::train(runs, slots, &store, data_dir)?.exit_code())
}

/// What a detached session is doing, and how to follow and stop it.
fn say_detached(detached: &Detached, store: &atelier::store::RunStore) -> ExitCode {
    let pid = detached.pid;
    sayln!(
        "training in the background on {} (pid {pid})",
        detached.devices.join(", ")
    );
    for run in &detached.runs {
        sayln!("  run {run}");
    }
    sayln!("  log {}", detached.log.display());
    sayln!(
        "follow it from any terminal with `atelier watch{}`; stop it with `kill -INT {pid}`",
        detach::runs_dir_flag(store)
    );
    ExitCode::SUCCESS
}

/// `--dry-run`: the expanded plan, one line per run, in training order.
fn dry_run(plan: &Plan) -> anyhow::Result<ExitCode> {
    outln!(
        "{:<36} {:<28} {:>6} {:>6} {:>8} {:>6}  MODEL",
        "RUN",
        "GROUP",
        "SEED",
        "EPOCHS",
        "LR",
        "BATCH"
    )?;
    for run in &plan.runs {
        outln!(
            "{:<36} {:<28} {:>6} {:>6} {:>8} {:>6}  {}",
            printable(&run.name),
            printable(&run.group().name),
            run.seed,
            run.epochs,
            run.learning_rate,
            run.batch_size,
            with_recipe(run)
        )?;
    }
    let groups: std::collections::HashSet<String> =
        plan.runs.iter().map(|run| run.group().id()).collect();
    outln!(
        "plan {}: {} run(s) in {} group(s); nothing trained (--dry-run)",
        plan.name,
        plan.runs.len(),
        groups.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The model, and the recipe where it is not the original's: two ablation
/// rows of one model differ only there.
fn with_recipe(run: &RunSpec) -> String {
    if run.recipe.is_original() {
        run.model.to_string()
    } else {
        format!("{} · {}", run.model, run.recipe.describe())
    }
}

/// `atelier resume`: continues stored runs where they stopped.
pub fn resume(
    args: &ResumeArgs,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = atelier::store::RunStore::existing(runs_dir)?;
    let jobs = requests::continuations(&store, &args.runs, args.device)?;
    local::set_threads(args.threads);
    let source = atelier::data::discover(data_dir)?;
    let outcome = if args.worker {
        local::train_unlocked(jobs, source, store)?
    } else if args.detach {
        let detached = detach::start(&store, &locks::devices_of(&jobs)?)?;
        return Ok(say_detached(&detached, &store));
    } else {
        local::train(jobs, source, store)?
    };
    Ok(outcome.exit_code())
}
