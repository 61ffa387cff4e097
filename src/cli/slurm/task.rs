//! `atelier slurm task`: what one array task runs. It finds its run by
//! `SLURM_ARRAY_TASK_ID`, records the attempt, and trains the run, or
//! continues it from its last checkpoint (mid-epoch after a requeue).
//!
//! Signals, as Slurm sends them:
//! - USR1 (`--signal=B:USR1@N` before the time limit, or a preempting
//!   cluster): save the place at the next step, requeue this task
//!   (`scontrol requeue`), exit; the next attempt continues from that step.
//! - TERM (scancel, preemption without a warning): save the place and stop;
//!   the run is stored as interrupted.
//! - INT, HUP: stop as `atelier train` does (the partial epoch is redone).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use anyhow::{bail, Context};
use atelier::{
    data,
    plan::DevicePref,
    protocol::{Command, Event, RunId},
    sayln,
    session::{
        outcome::{Outcome, STOPPED},
        printer::Printer,
        signals,
    },
    slurm::{SlurmEnv, Submission, Tools},
    store::{RunStatus, RunStore},
    train::{device_name, ResolveDevice, Trainer},
};
use clap::Args;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

/// `atelier slurm task`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The submission folder (`<runs>/slurm/<id>`), as the job script names it.
    #[arg(long, value_name = "DIR")]
    pub submission: PathBuf,
}

/// What this attempt is, as the run's log records it.
struct Attempt {
    run: RunId,
    /// `<array job>_<task>`.
    job: String,
    env: SlurmEnv,
    max_requeues: u32,
}

pub fn run(
    args: &TaskArgs,
    tools: &Tools,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let env = SlurmEnv::current()?;
    let index = env.task_index()?;
    let submission = Submission::load(&args.submission)?;
    let Some(run) = submission.runs.get(index).cloned() else {
        bail!(
            "SLURM_ARRAY_TASK_ID is {index}, but {} has {} run(s) (tasks 0–{})",
            args.submission.display(),
            submission.runs.len(),
            submission.runs.len().saturating_sub(1)
        );
    };
    let store = RunStore::resolve(runs_dir)?;
    let record = store.load(&run)?;
    if record.status == RunStatus::Done {
        sayln!("{run} is already done; nothing to train");
        return Ok(ExitCode::SUCCESS);
    }
    let array_job = env
        .array_job_id
        .clone()
        .or_else(|| env.job_id.clone())
        .unwrap_or_default();
    let attempt = Attempt {
        job: format!("{array_job}_{index}"),
        run,
        env,
        max_requeues: submission.max_requeues,
    };
    if let Some(cpus) = attempt.env.cpus {
        tch::set_num_threads(i32::try_from(cpus).unwrap_or(1));
    }
    let device = record.spec.device.resolve().with_context(|| {
        format!(
            "run {}: Slurm gave this task GPUs {:?}",
            attempt.run,
            attempt.env.gpus.as_deref().unwrap_or("none")
        )
    })?;
    // Under Slurm every task sees its GPU as cuda:0: the lock is this
    // host's assignment, so tasks on other nodes or GPUs never contend.
    let _lock = match device {
        tch::Device::Cuda(_) => Some(store.lock_device(&format!(
            "slurm-{}-gpu{}",
            attempt.env.node,
            attempt.env.gpus.as_deref().unwrap_or("0")
        ))?),
        _ => None,
    };
    record_event(&store, &attempt.run, &attempt.started(device))?;
    let source = data::discover(data_dir)?;
    train(&attempt, &store, source, tools)
}

impl Attempt {
    fn started(&self, device: tch::Device) -> Event {
        Event::Attempt {
            run: self.run.clone(),
            job: self.job.clone(),
            restart: self.env.restart_count,
            host: self.env.node.clone(),
            gpus: match (&self.env.gpus, device) {
                (Some(gpus), _) => gpus.clone(),
                (None, tch::Device::Cpu) => String::new(),
                (None, other) => device_name(other),
            },
        }
    }
}

/// One event into the run's log, from this process (no trainer yet, or
/// no more); the run's status stays what the log says.
fn record_event(store: &RunStore, run: &RunId, event: &Event) -> anyhow::Result<()> {
    let mut writer = store.reopen(run)?;
    writer.record(event)?;
    writer.hand_over()?;
    Ok(())
}

/// Trains the run until it ends or a signal stops it; requeues on USR1.
fn train(
    attempt: &Attempt,
    store: &RunStore,
    source: data::DataSource,
    tools: &Tools,
) -> anyhow::Result<ExitCode> {
    let trainer =
        Trainer::spawn(source, store.clone()).context("cannot start the trainer thread")?;
    let requeue = Arc::new(AtomicBool::new(false));
    listen_for_signals(&trainer, Arc::clone(&requeue))?;
    trainer.send(Command::Continue {
        run: attempt.run.clone(),
        device: None::<DevicePref>,
    });
    let mut printer = Printer::titled(store.dir().to_path_buf());
    let spec = store.load(&attempt.run).ok().map(|record| record.spec);
    let mut last = None;
    while let Ok(event) = trainer.events().recv() {
        printer.show(&event, spec.as_ref());
        if event.is_terminal() {
            last = Some(event);
            break;
        }
    }
    trainer.shutdown();
    match last {
        // A USR1 before training began leaves no end event: requeue all the same.
        Some(Event::Cancelled { .. }) | None if requeue.load(Ordering::SeqCst) => {
            requeue_task(attempt, store, tools)
        }
        Some(event) => {
            let mut outcome = Outcome::default();
            outcome.note(&event);
            Ok(outcome.exit_code())
        }
        // The trainer went away without a word.
        None => Ok(ExitCode::FAILURE),
    }
}

/// USR1 and TERM save the place mid-epoch (USR1 also asks for a requeue);
/// INT and HUP stop as `train` does.
fn listen_for_signals(trainer: &Trainer, requeue: Arc<AtomicBool>) -> anyhow::Result<()> {
    Ok(signals::forward(
        trainer.commands(),
        &[SIGUSR1, SIGTERM, SIGINT, SIGHUP],
        move |signal| match signal {
            SIGUSR1 => {
                requeue.store(true, Ordering::SeqCst);
                Command::Suspend
            }
            SIGTERM => Command::Suspend,
            _ => Command::Shutdown,
        },
    )?)
}

/// Puts this task back in Slurm's queue to continue the run, unless the
/// run has been requeued as often as the submission allows.
fn requeue_task(attempt: &Attempt, store: &RunStore, tools: &Tools) -> anyhow::Result<ExitCode> {
    if attempt.env.restart_count >= attempt.max_requeues {
        sayln!(
            "{}: requeued {} time(s) already, the most this submission allows; left interrupted (resubmit it to go on)",
            attempt.run, attempt.env.restart_count
        );
        return Ok(ExitCode::from(STOPPED));
    }
    record_event(
        store,
        &attempt.run,
        &Event::Requeued {
            run: attempt.run.clone(),
            job: attempt.job.clone(),
        },
    )?;
    tools.requeue(&attempt.job)?;
    sayln!(
        "{}: saved its place and requeued task {}",
        attempt.run,
        attempt.job
    );
    Ok(ExitCode::SUCCESS)
}
