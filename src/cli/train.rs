//! `atelier train` and `atelier resume`: headless training with Keras-like output.
//!
//! On a terminal each epoch gets a progress bar with ETA; otherwise (a log
//! file, CI) only plain lines are printed. Ctrl-C, SIGTERM and SIGHUP stop
//! the running run, which is stored as interrupted.

use std::{
    collections::HashMap,
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Context};
use atelier::plan::DevicePref;
use atelier::{
    data,
    edge::printable,
    model::Precision,
    noteln, outln,
    plan::{self, Overrides, Plan, RunSpec},
    sayln,
    store::{EpochRow, Holder, RunStatus, RunStore},
    train::{Command, Event, ResolveDevice, RunId, RunRequest, Trainer},
    units::{clock, thousands},
};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

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
    /// Confirm a plan that expands to more runs than a sweep's max_runs (default 50).
    #[arg(long)]
    pub yes: bool,
}

impl PlanArgs {
    /// The plan with `--only` and the overrides applied, its size checked.
    pub fn resolve(&self) -> anyhow::Result<Plan> {
        let plan = match plan::builtin_plan(&self.plan) {
            Some(plan) => plan,
            None => plan::load_plan(Path::new(&self.plan))?,
        };
        let plan = if self.only.is_empty() {
            plan
        } else {
            plan.only(&self.only)?
        };
        let plan = plan.with_overrides(&Overrides {
            epochs: self.epochs,
            limit_train: self
                .limit_train
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            device: self.device,
            batch_size: None,
            precision: self.precision,
            seed: self.seed,
            seeds: self.seeds,
        });
        plan.check_runs()?;
        plan.check_size(self.yes)?;
        Ok(plan)
    }
}

/// What a training session needs, checked before anything starts: the plan
/// (devices included), the dataset's location and the run store.
pub fn prepare(
    plan_args: &PlanArgs,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<(Plan, data::DataSource, RunStore)> {
    let plan = plan_args.resolve()?;
    for spec in &plan.runs {
        spec.device
            .resolve()
            .with_context(|| format!("run {}", spec.name))?;
    }
    Ok((
        plan,
        data::discover(data_dir)?,
        RunStore::resolve(runs_dir)?,
    ))
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
    pub jobs: Option<atelier::plan::Jobs>,
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

/// One run for the trainer: its id, what it trains, and how to queue it.
struct Job {
    id: RunId,
    spec: RunSpec,
    command: Command,
}

/// The devices some runs train on, each once: `cpu`, `cuda:0`.
fn devices(jobs: &[Job]) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for job in jobs {
        let name = atelier::train::device_name(job.spec.device.resolve()?);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

pub fn run(
    args: &TrainArgs,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if args.dry_run {
        return dry_run(&args.plan.resolve()?);
    }
    let workers = args
        .plan
        .resolve()?
        .workers
        .or_flags(args.jobs, &args.devices, args.threads);
    set_threads(workers.threads);
    if workers.is_parallel() {
        let slots = super::workers::slots(
            workers.jobs,
            &workers.devices,
            usize::try_from(tch::Cuda::device_count()).unwrap_or(0),
            cores(),
        )?;
        let slots: Vec<super::workers::Slot> = match workers.threads {
            Some(threads) => slots
                .into_iter()
                .map(|slot| super::workers::Slot {
                    threads: usize::from(threads),
                    ..slot
                })
                .collect(),
            None => slots,
        };
        if slots.len() > 1 {
            return run_parallel(args, &slots, data_dir, runs_dir);
        }
    }
    let (plan, source, store) = prepare(&args.plan, data_dir, runs_dir)?;
    let jobs = plan
        .runs
        .iter()
        .map(|spec| {
            let request = RunRequest {
                id: store.new_id(&spec.name),
                plan: plan.name.clone(),
                spec: spec.clone(),
            };
            Job {
                id: request.id.clone(),
                spec: spec.clone(),
                command: Command::Queue(Box::new(request)),
            }
        })
        .collect();
    drive(jobs, source, store, args.detach)
}

/// libtorch's CPU threads for this process, when asked.
fn set_threads(threads: Option<u16>) {
    if let Some(threads) = threads {
        tch::set_num_threads(i32::from(threads));
    }
}

/// This machine's CPUs, as the OS offers them to this process.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// `--jobs`/`--devices` with more than one slot: every run created queued,
/// then trained by worker processes (see [`super::workers`]).
fn run_parallel(
    args: &TrainArgs,
    slots: &[super::workers::Slot],
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let (plan, _source, store) = prepare(&args.plan, data_dir, runs_dir)?;
    for slot in slots {
        slot.device.resolve().context("--devices")?;
    }
    let mut devices: Vec<String> = slots.iter().map(|slot| slot.device.to_string()).collect();
    devices.dedup();
    // Checked before anything is created: another training may hold them.
    let locks = devices
        .iter()
        .map(|device| store.lock_device(device))
        .collect::<Result<Vec<_>, _>>()?;
    drop(locks);
    if args.detach {
        return super::detach::start(&store, &devices);
    }
    let mut runs = Vec::new();
    for spec in &plan.runs {
        let request = RunRequest {
            id: store.new_id(&spec.name),
            plan: plan.name.clone(),
            spec: spec.clone(),
        };
        store.create_queued(&request)?;
        sayln!("queued {} as {}", printable(&spec.title()), request.id);
        runs.push((request.id, request.spec));
    }
    super::workers::drive(runs, slots, &store, data_dir)
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
    let store = RunStore::existing(runs_dir)?;
    let mut jobs: Vec<Job> = Vec::new();
    for query in &args.runs {
        let id = store.find(query)?;
        // A run named twice (by id and name, say) continues once.
        if jobs.iter().any(|job| job.id == id) {
            continue;
        }
        let record = store.load(&id)?;
        if record.status == RunStatus::Done {
            bail!("run {id} finished every epoch; there is nothing to resume");
        }
        args.device
            .unwrap_or(record.spec.device)
            .resolve()
            .with_context(|| format!("run {id}"))?;
        let mut spec = record.spec;
        if let Some(device) = args.device {
            spec.device = device;
        }
        jobs.push(Job {
            command: Command::Continue {
                run: id.clone(),
                device: args.device,
            },
            id,
            spec,
        });
    }
    set_threads(args.threads);
    if args.worker {
        return drive_unlocked(jobs, data::discover(data_dir)?, store);
    }
    drive(jobs, data::discover(data_dir)?, store, args.detach)
}

/// Trains `jobs` in this process (or a detached one), printing as it goes.
fn drive(
    jobs: Vec<Job>,
    source: data::DataSource,
    store: RunStore,
    detach: bool,
) -> anyhow::Result<ExitCode> {
    let devices = devices(&jobs)?;
    // One training per device and store: two would fight over the same cores or GPU.
    let mut locks = devices
        .iter()
        .map(|device| store.lock_device(device))
        .collect::<Result<Vec<_>, _>>()?;
    if detach {
        drop(locks);
        return super::detach::start(&store, &devices);
    }
    let ids: Vec<RunId> = jobs.iter().map(|job| job.id.clone()).collect();
    let log = std::env::var_os(super::detach::LOG_ENV).map(PathBuf::from);
    for (lock, device) in locks.iter_mut().zip(&devices) {
        lock.sign(&Holder {
            pid: std::process::id(),
            device: device.clone(),
            runs: ids.clone(),
            log: log.clone(),
        })?;
    }
    let code = drive_unlocked(jobs, source, store);
    drop(locks);
    code
}

/// Trains `jobs` in this process, printing as it goes; whoever calls it
/// holds the devices (this process, or the parent of a worker).
fn drive_unlocked(
    jobs: Vec<Job>,
    source: data::DataSource,
    store: RunStore,
) -> anyhow::Result<ExitCode> {
    let trainer =
        Trainer::spawn(source, store.clone()).context("cannot start the trainer thread")?;
    let commands = trainer.commands();
    ctrlc::set_handler(move || {
        let _ = commands.send(Command::Shutdown);
    })
    .context("cannot install the Ctrl-C handler")?;
    listen_for_pause(&trainer)?;

    let mut titles = HashMap::new();
    for job in jobs {
        trainer.send(job.command);
        titles.insert(job.id, job.spec);
    }
    // Waits for each distinct run to end, however often it was asked for.
    let mut pending: std::collections::HashSet<RunId> = titles.keys().cloned().collect();
    let remaining_jobs = pending.len();
    let mut printer = Printer::new(std::io::stderr().is_terminal(), store.dir().to_path_buf());
    let mut failed = 0;
    let mut interrupted = false;
    let mut tally = Tally::new(remaining_jobs);
    while !pending.is_empty() {
        let Ok(event) = trainer.events().recv() else {
            break;
        };
        let spec = titles.get(event.run());
        printer.show(&event, spec);
        tally.count(&event);
        match &event {
            Event::Failed { .. } => failed += 1,
            Event::Cancelled { .. } => interrupted = true,
            _ => {}
        }
        let ended = event.is_terminal() && pending.remove(event.run());
        if ended && remaining_jobs > 1 && !pending.is_empty() && !interrupted {
            sayln!("{}", tally.line());
        }
    }
    trainer.shutdown();
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The app pauses and unpauses a run of this process with two signals
/// (see `atelier::train::control`).
fn listen_for_pause(trainer: &Trainer) -> anyhow::Result<()> {
    use atelier::train::control::{pause_signal, unpause_signal};
    forward_signals(trainer, &[pause_signal(), unpause_signal()], |signal| {
        if signal == pause_signal() {
            Command::Pause
        } else {
            Command::Unpause
        }
    })
}

/// Sends the trainer the command `command` makes of each of `signals`, from
/// a thread of its own (a signal handler may do next to nothing).
pub fn forward_signals(
    trainer: &Trainer,
    signals: &[i32],
    command: impl Fn(i32) -> Command + Send + 'static,
) -> anyhow::Result<()> {
    let mut signals =
        signal_hook::iterator::Signals::new(signals).context("cannot install signal handlers")?;
    let commands = trainer.commands();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if commands.send(command(signal)).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

/// How far a session of several runs is, for a line after each run ends.
#[derive(Debug)]
pub struct Tally {
    total: usize,
    done: usize,
    failed: usize,
    /// Training time of the finished runs.
    seconds: f64,
}

impl Tally {
    pub fn new(total: usize) -> Self {
        Self {
            total,
            done: 0,
            failed: 0,
            seconds: 0.0,
        }
    }

    pub fn count(&mut self, event: &Event) {
        match event {
            Event::Finished { seconds, .. } => {
                self.done += 1;
                self.seconds += seconds;
            }
            Event::Failed { .. } => self.failed += 1,
            _ => {}
        }
    }

    /// `runs: 3/15 done · 0 failed · ETA 1h02m (5m10s per run)`.
    pub fn line(&self) -> String {
        let left = self.total - self.done - self.failed;
        let eta = if self.done > 0 {
            let per_run = self.seconds / self.done as f64;
            format!(
                "ETA {} ({} per run)",
                clock(per_run * left as f64),
                clock(per_run)
            )
        } else {
            "ETA -".to_string()
        };
        format!(
            "runs: {}/{} done · {} failed · {left} left · {eta}",
            self.done, self.total, self.failed
        )
    }
}

/// Turns events into Keras-like lines, with a bar per epoch on a terminal.
pub struct Printer {
    terminal: bool,
    /// Every line names its run (several runs print at once).
    titled: bool,
    runs_dir: PathBuf,
    bar: Option<ProgressBar>,
    epochs: u32,
    steps: usize,
}

impl Printer {
    fn new(terminal: bool, runs_dir: PathBuf) -> Self {
        Self {
            terminal,
            titled: false,
            runs_dir,
            bar: None,
            epochs: 0,
            steps: 0,
        }
    }

    /// Lines only, each naming its run: for runs that train side by side.
    pub fn titled(runs_dir: PathBuf) -> Self {
        Self {
            titled: true,
            ..Self::new(false, runs_dir)
        }
    }

    /// A terminal's progress bar under an "Epoch k/N" header; nothing in a log.
    fn progress(&mut self, epoch: u32, step: usize, steps: usize, loss: f64, accuracy: f64) {
        if !self.terminal {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            sayln!("Epoch {epoch}/{}", self.epochs);
            let bar = ProgressBar::new(steps as u64);
            bar.set_style(
                ProgressStyle::with_template("{pos}/{len} {bar:30} {elapsed} eta {eta} - {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        bar.set_position(step as u64);
        bar.set_message(format!("accuracy: {accuracy:.4} - loss: {loss:.4}"));
    }

    /// The Keras-like line of an ended epoch.
    fn epoch_line(&mut self, event: &Event, title: &str) {
        let (Event::EpochEnd { epochs, .. }, Some(row)) = (event, EpochRow::from_event(event))
        else {
            return;
        };
        // On a terminal the "Epoch k/N" header is already out, above the bar.
        let lead = match self.bar.take() {
            Some(bar) => {
                bar.finish_and_clear();
                format!("{0}/{0}", self.steps)
            }
            None if self.titled => format!("{title}: epoch {}/{epochs}", row.epoch),
            None => format!("Epoch {}/{epochs}", row.epoch),
        };
        sayln!(
            "{lead} - {:.0}s - accuracy: {:.4} - loss: {:.4} - val_accuracy: {:.4} - val_loss: {:.4}",
            row.seconds, row.train_accuracy, row.train_loss, row.val_accuracy, row.val_loss
        );
    }

    pub fn show(&mut self, event: &Event, spec: Option<&atelier::plan::RunSpec>) {
        let title = spec.map_or_else(|| event.run().to_string(), atelier::plan::RunSpec::title);
        // Names and labels may come from a store written by an older version.
        let title = printable(&title);
        match event {
            Event::Queued { run, .. } => sayln!("queued {title} as {run}"),
            Event::Phase { phase, .. } => {
                if self.terminal {
                    noteln!("  {}", phase);
                }
            }
            Event::Started {
                device,
                params,
                train_samples,
                validation_samples,
                epochs,
                steps_per_epoch,
                resumed_after,
                resumed_at_step,
                ..
            } => {
                self.epochs = *epochs;
                self.steps = *steps_per_epoch;
                sayln!(
                    "\n{title}: {} parameters on {device}, {train_samples} training / {validation_samples} validation images",
                    thousands(*params)
                );
                if *resumed_at_step > 0 {
                    sayln!(
                        "resuming epoch {} of {epochs} at step {resumed_at_step} of {steps_per_epoch}",
                        resumed_after + 1
                    );
                } else if *resumed_after > 0 {
                    sayln!("resuming after epoch {resumed_after} of {epochs}");
                }
            }
            Event::Progress {
                epoch,
                step,
                steps,
                loss,
                accuracy,
                ..
            } => self.progress(*epoch, *step, *steps, *loss, *accuracy),
            Event::EpochEnd { .. } => self.epoch_line(event, &title),
            Event::Evaluated {
                test_loss,
                test_accuracy,
                ..
            } => {
                let reference = spec.and_then(|spec| spec.reference).map_or_else(String::new, |r| {
                    format!(
                        " (original: accuracy {:.4}, loss {:.4})",
                        r.test_accuracy, r.test_loss
                    )
                });
                sayln!("{title}: test accuracy {test_accuracy:.4}, test loss {test_loss:.4}{reference}");
            }
            Event::FlipEvaluated {
                test_loss,
                test_accuracy,
                ..
            } => sayln!(
                "{title}: with test-time flipping (reported apart): test accuracy {test_accuracy:.4}, test loss {test_loss:.4}"
            ),
            Event::Finished {
                run,
                seconds,
                best_val_accuracy,
                best_epoch,
            } => sayln!(
                "{title}: done in {seconds:.0}s, best val_accuracy {best_val_accuracy:.4} at epoch {best_epoch}; stored in {}",
                self.runs_dir.join(run).display()
            ),
            Event::Cancelled { run, epochs_done } => {
                self.clear_bar();
                sayln!("{title}: interrupted after {epochs_done} complete epoch(s); stored as {run}");
            }
            Event::Failed { message, .. } => {
                self.clear_bar();
                noteln!("{title}: FAILED: {}", printable(message));
            }
            Event::Checkpointed {
                epoch, step, steps, ..
            } => {
                self.clear_bar();
                sayln!("{title}: saved its place at step {step} of {steps} of epoch {epoch}");
            }
            Event::Attempt {
                job, restart, host, gpus, ..
            } => sayln!(
                "{title}: Slurm task {job}, attempt {} on {host}{}",
                restart + 1,
                if gpus.is_empty() { String::new() } else { format!(", GPUs {gpus}") }
            ),
            Event::Requeued { job, .. } => sayln!("{title}: requeued as {job}"),
            Event::Paused { .. } => sayln!("{title}: paused"),
            Event::Unpaused { .. } => sayln!("{title}: unpaused"),
        }
    }

    fn clear_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_says_how_far_a_sweep_is_and_when_it_ends() {
        let mut tally = Tally::new(5);
        assert_eq!(tally.line(), "runs: 0/5 done · 0 failed · 5 left · ETA -");
        for seconds in [100.0, 140.0] {
            tally.count(&Event::Finished {
                run: "r".into(),
                seconds,
                best_val_accuracy: 0.9,
                best_epoch: 1,
            });
        }
        tally.count(&Event::Failed {
            run: "r".into(),
            message: "out of memory".into(),
        });
        assert_eq!(
            tally.line(),
            "runs: 2/5 done · 1 failed · 2 left · ETA 4m00s (2m00s per run)"
        );
    }
}
