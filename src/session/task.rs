//! A Slurm array task's session (`atelier slurm task`). It finds its run by
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
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

use super::{
    outcome::{Outcome, STOPPED},
    printer::Printer,
    signals, SessionError,
};
use crate::{
    data,
    plan::DevicePref,
    protocol::{Command, Event, RunId},
    sayln,
    slurm::{SlurmEnv, Submission, Tools},
    store::{RunStatus, RunStore},
    train::{device_name, ResolveDevice, Trainer},
};

/// What this attempt is, as the run's log records it.
struct Attempt {
    run: RunId,
    /// `<array job>_<task>`.
    job: String,
    env: SlurmEnv,
    max_requeues: u32,
}

/// Runs this array task of the submission in `submission_dir`; returns
/// the exit status (0 also after a requeue: the next attempt goes on).
pub fn run(
    submission_dir: &Path,
    tools: &Tools,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> Result<u8, SessionError> {
    let env = SlurmEnv::current()?;
    let index = env.task_index()?;
    let submission = Submission::load(submission_dir)?;
    let Some(run) = submission.runs.get(index).cloned() else {
        return Err(SessionError::NoSuchTask {
            index,
            submission: submission_dir.to_path_buf(),
            runs: submission.runs.len(),
        });
    };
    let store = RunStore::resolve(runs_dir)?;
    let record = store.load(&run)?;
    if record.status == RunStatus::Done {
        sayln!("{run} is already done; nothing to train");
        return Ok(0);
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
        let cpus = u16::try_from(cpus).unwrap_or(u16::MAX).max(1);
        crate::train::threads::fix(cpus, crate::protocol::ThreadReason::Slurm);
    }
    let device = record
        .spec
        .device
        .resolve()
        .map_err(|error| SessionError::Device {
            run: format!(
                "{} (Slurm gave this task GPUs {:?})",
                attempt.run,
                attempt.env.gpus.as_deref().unwrap_or("none")
            ),
            error,
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
fn record_event(store: &RunStore, run: &RunId, event: &Event) -> Result<(), SessionError> {
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
) -> Result<u8, SessionError> {
    let trainer = Trainer::spawn(source, store.clone())
        .map_err(|error| SessionError::system("cannot start the trainer thread", error))?;
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
            Ok(outcome.exit_status())
        }
        // The trainer went away without a word.
        None => Ok(1),
    }
}

/// USR1 and TERM save the place mid-epoch (USR1 also asks for a requeue);
/// INT and HUP stop as `train` does.
fn listen_for_signals(trainer: &Trainer, requeue: Arc<AtomicBool>) -> Result<(), SessionError> {
    signals::forward(
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
    )
}

/// Puts this task back in Slurm's queue to continue the run, unless the
/// run has been requeued as often as the submission allows.
fn requeue_task(attempt: &Attempt, store: &RunStore, tools: &Tools) -> Result<u8, SessionError> {
    if attempt.env.restart_count >= attempt.max_requeues {
        sayln!(
            "{}: requeued {} already, the most this submission allows; left interrupted (resubmit it to go on)",
            attempt.run,
            crate::units::count(attempt.env.restart_count, "time")
        );
        return Ok(STOPPED);
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
    Ok(0)
}
