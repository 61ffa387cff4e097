//! `atelier train` and `atelier resume`: headless training with Keras-like output.
//!
//! On a terminal each epoch gets a progress bar with ETA; otherwise (a log
//! file, CI) only plain lines are printed. Ctrl-C, SIGTERM and SIGHUP stop
//! the running run, which is stored as interrupted.

use std::{path::Path, process::ExitCode};

use atelier::{
    edge::{
        printable,
        table::{Align, Table},
    },
    model::Precision,
    outln,
    plan::{DevicePref, Jobs, Overrides, Plan, RunSpec, Workers},
    protocol::ThreadReason,
    sayln,
    session::{
        at_once,
        choice::{prepare, PlanChoice, Prepared},
        detach::{self, Detached},
        local, locks,
        requests::{self, Job},
        slots::{self, Slot},
        workers,
    },
    units::count,
};
use clap::Args;
use merge::Merge;

/// Options shared by `atelier train` and the app: which runs, with what changes.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `seed` (the original experiment, built in) or a plan file (TOML).
    #[arg(long, default_value = "seed", value_name = "seed|beyond|FILE", help_heading = crate::cli::heading::SELECTION)]
    pub plan: String,
    /// Only these runs of the plan, by name (e.g. M1,M4).
    #[arg(long, value_delimiter = ',', value_name = "NAMES", help_heading = crate::cli::heading::SELECTION)]
    pub only: Vec<String>,
    /// Override every run's epoch count.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = crate::cli::heading::BUDGET)]
    pub epochs: Option<u32>,
    /// Train on only the first N images of the training split.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = crate::cli::heading::BUDGET)]
    pub limit_train: Option<u64>,
    /// auto, cpu, cuda or cuda:N (auto picks CUDA when libtorch sees a GPU).
    #[arg(long, value_name = "DEVICE", help_heading = crate::cli::heading::HARDWARE)]
    pub device: Option<DevicePref>,
    /// fp32 (default), or bf16 mixed precision: faster on CPUs with AVX-512
    /// BF16 or AMX and on GPUs, slightly less accurate.
    #[arg(long, value_enum, value_name = "PRECISION", help_heading = crate::cli::heading::HARDWARE)]
    pub precision: Option<Precision>,
    /// Repeat every selected run (each group once) with seeds 1, 2, …, N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(atelier::plan::MAX_SEEDS)), conflicts_with = "seed", help_heading = crate::cli::heading::SELECTION)]
    pub seeds: Option<u32>,
    /// Train every selected run (each group once) with this seed.
    #[arg(long, value_name = "SEED", help_heading = crate::cli::heading::SELECTION)]
    pub seed: Option<u64>,
    /// Confirm a plan that expands to more runs than a sweep's `max_runs` (default 50).
    #[arg(short, long, help_heading = crate::cli::heading::SELECTION)]
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
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub detach: bool,
    /// Print the runs the plan expands to (names, groups, seeds) and train nothing.
    #[arg(short = 'n', long, conflicts_with = "detach", help_heading = crate::cli::heading::OUTPUT)]
    pub dry_run: bool,
    /// With --dry-run: print the runs as JSON, for scripts.
    #[arg(long, requires = "dry_run", help_heading = crate::cli::heading::OUTPUT)]
    pub json: bool,
    /// Print only a line per run as it ends (done with its test accuracy
    /// and folder, interrupted, or FAILED) and errors: for scripts.
    #[arg(short, long, help_heading = crate::cli::heading::OUTPUT)]
    pub quiet: bool,
    /// Train this many runs at once, a worker process each: on the CPU they
    /// split the cores; with GPUs, one run per GPU. `auto`: every GPU.
    #[arg(short, long, value_name = "N|auto", help_heading = crate::cli::heading::HARDWARE)]
    pub jobs: Option<Jobs>,
    /// Train on these devices at once, one run per GPU (e.g. cuda:0,cuda:1;
    /// `cpu` with --jobs N for N CPU workers).
    #[arg(long, value_delimiter = ',', value_name = "LIST", help_heading = crate::cli::heading::HARDWARE)]
    pub devices: Vec<DevicePref>,
    /// libtorch CPU threads per training process [default: every core,
    /// split between --jobs workers].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..), help_heading = crate::cli::heading::HARDWARE)]
    pub threads: Option<u16>,
}

/// Arguments of `atelier resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Interrupted, crashed or failed runs: ids, id starts, run names (the
    /// latest run), group or sweep names (their unfinished runs); several,
    /// or a comma list. Each continues after its last complete epoch.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<String>,
    /// Continue in a background process that outlives this terminal.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub detach: bool,
    /// Print only a line per run as it ends (done with its test accuracy
    /// and folder, interrupted, or FAILED) and errors: for scripts.
    #[arg(short, long, help_heading = crate::cli::heading::OUTPUT)]
    pub quiet: bool,
    /// Continue on this device instead of the run's own (auto, cpu, cuda:N).
    #[arg(long, value_name = "DEVICE", help_heading = crate::cli::heading::HARDWARE)]
    pub device: Option<DevicePref>,
    /// libtorch CPU threads [default: every core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..), help_heading = crate::cli::heading::HARDWARE)]
    pub threads: Option<u16>,
    /// A worker of `train --jobs`: its parent holds the device locks.
    #[arg(long, hide = true, conflicts_with = "detach")]
    pub worker: bool,
    /// With --worker: how many runs train at once, --threads being this
    /// one's share of the cores.
    #[arg(long, hide = true, requires_all = ["worker", "threads"], value_parser = clap::value_parser!(u16).range(1..))]
    pub at_once: Option<u16>,
}

pub fn run(
    args: &TrainArgs,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let choice = args.plan.choice();
    if args.dry_run {
        return dry_run(&choice.resolve()?, args.json);
    }
    let mut workers = Workers {
        jobs: args.jobs,
        devices: args.devices.clone(),
        threads: args.threads,
    };
    let resolved = choice.resolve()?;
    workers.merge(resolved.workers.clone());
    local::set_threads(workers.threads);
    let gpus = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    if let Some(slots) = slots::plan(&workers, gpus, slots::cores())? {
        return run_parallel(args, &slots, data_dir, runs_dir);
    }
    // Detached, the background process chooses: it trains them.
    let unset = !workers.is_parallel() && workers.threads.is_none();
    if unset && !args.detach {
        if let Some(at_once) = at_once::choose(&resolved.runs, gpus, slots::cores())? {
            if !args.quiet {
                sayln!("{}", at_once.describe());
            }
            return run_parallel(args, &at_once.slots, data_dir, runs_dir);
        }
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
    Ok(local::train(jobs, source, store, args.quiet)?.exit_code())
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
        if !args.quiet {
            sayln!(
                "queued {} as {}",
                printable(&request.spec.title()),
                request.id
            );
        }
        runs.push((request.id, request.spec));
    }
    Ok(workers::train(runs, slots, &store, data_dir, args.quiet)?.exit_code())
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

/// `--dry-run`: the expanded plan, one line per run, in training order (or
/// as JSON with `--json`).
fn dry_run(plan: &Plan, json: bool) -> anyhow::Result<ExitCode> {
    let groups: std::collections::HashSet<String> =
        plan.runs.iter().map(|run| run.group().id()).collect();
    if json {
        let runs: Vec<serde_json::Value> = plan
            .runs
            .iter()
            .map(|run| {
                serde_json::json!({
                    "name": run.name,
                    "group": run.group().name,
                    "group_key": run.group().key,
                    "model": with_recipe(run),
                    "spec": run,
                })
            })
            .collect();
        let value = serde_json::json!({
            "plan": plan.name,
            "groups": groups.len(),
            "runs": runs,
        });
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&[
        ("RUN", Align::Left),
        ("GROUP", Align::Left),
        ("SEED", Align::Right),
        ("EPOCHS", Align::Right),
        ("LR", Align::Right),
        ("BATCH", Align::Right),
        ("MODEL", Align::Left),
    ]);
    for run in &plan.runs {
        table.row([
            run.name.clone(),
            run.group().name,
            run.seed.to_string(),
            run.epochs.to_string(),
            run.learning_rate.to_string(),
            run.batch_size.to_string(),
            with_recipe(run),
        ]);
    }
    table.print()?;
    outln!(
        "plan {:?}: {} in {}; nothing trained (--dry-run)",
        printable(&plan.name),
        count(plan.runs.len(), "run"),
        count(groups.len(), "group")
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
    match (args.threads, args.at_once) {
        (Some(threads), Some(jobs)) => {
            atelier::train::threads::fix(threads, ThreadReason::Shared { jobs });
        }
        (threads, _) => local::set_threads(threads),
    }
    let source = atelier::data::discover(data_dir)?;
    let outcome = if args.worker {
        local::train_unlocked(jobs, source, store, args.quiet)?
    } else if args.detach {
        let detached = detach::start(&store, &locks::devices_of(&jobs)?)?;
        return Ok(say_detached(&detached, &store));
    } else {
        local::train(jobs, source, store, args.quiet)?
    };
    Ok(outcome.exit_code())
}
