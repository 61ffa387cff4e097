//! Runs trained by a trainer thread in this process, said as they go: the
//! session of `atelier train` and `resume`, and of a `train --jobs` worker
//! (whose parent holds the devices).

use std::{collections::HashMap, collections::HashSet, io::IsTerminal};

use super::{
    locks, outcome::Outcome, printer::Printer, requests::Job, signals, tally::Tally, SessionError,
};
use crate::{
    data::DataSource, plan::RunSpec, protocol::RunId, sayln, store::RunStore, train::Trainer,
};

/// libtorch's CPU threads for every run of this process, when asked
/// (`--threads`, a plan's `[workers] threads`); otherwise each run chooses.
pub fn set_threads(threads: Option<u16>) {
    if let Some(threads) = threads {
        crate::train::threads::fix(threads, crate::protocol::ThreadReason::Asked);
    }
}

/// Trains `jobs` here, holding their devices' locks (signed with the runs)
/// until they end; `quiet` says only each run's end.
pub fn train(
    jobs: Vec<Job>,
    source: DataSource,
    store: RunStore,
    quiet: bool,
) -> Result<Outcome, SessionError> {
    let devices = locks::devices_of(&jobs)?;
    let ids: Vec<RunId> = jobs.iter().map(|job| job.id.clone()).collect();
    let locks = locks::lock_and_sign(&store, &devices, &ids)?;
    let outcome = train_unlocked(jobs, source, store, quiet);
    drop(locks);
    outcome
}

/// Trains `jobs` here; whoever calls it holds the devices (this process,
/// or the parent of a worker). Ctrl-C stops the session; the app's pause
/// signals pause the running run; `quiet` says only each run's end.
pub fn train_unlocked(
    jobs: Vec<Job>,
    source: DataSource,
    store: RunStore,
    quiet: bool,
) -> Result<Outcome, SessionError> {
    let trainer = Trainer::spawn(source, store.clone())
        .map_err(|error| SessionError::system("cannot start the trainer thread", error))?;
    signals::stop_on_interrupt(trainer.commands())?;
    signals::pause_on_signal(trainer.commands())?;
    let mut specs: HashMap<RunId, RunSpec> = HashMap::new();
    for job in jobs {
        trainer.send(job.command);
        specs.insert(job.id, job.spec);
    }
    let mut printer =
        Printer::new(std::io::stderr().is_terminal(), store.dir().to_path_buf()).quiet(quiet);
    let outcome = follow(&trainer, &specs, &mut printer);
    trainer.shutdown();
    Ok(outcome)
}

/// Says every event until each distinct run has ended, however often it
/// was asked for, with a line of progress after each but the last (none
/// when quiet).
fn follow(trainer: &Trainer, specs: &HashMap<RunId, RunSpec>, printer: &mut Printer) -> Outcome {
    let mut pending: HashSet<&RunId> = specs.keys().collect();
    let total = pending.len();
    let mut tally = Tally::new(total);
    let mut outcome = Outcome::default();
    while !pending.is_empty() {
        let Ok(event) = trainer.events().recv() else {
            break;
        };
        printer.show(&event, specs.get(event.run()));
        tally.count(&event);
        outcome.note(&event);
        let ended = event.is_terminal() && pending.remove(event.run());
        if ended && total > 1 && !pending.is_empty() && !outcome.interrupted && !printer.is_quiet()
        {
            sayln!("{}", tally.line());
        }
    }
    outcome
}
