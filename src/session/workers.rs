//! Several runs at once, one worker process per run (`train --jobs N`,
//! `--devices LIST`).
//!
//! libtorch's CPU thread pool is process-wide, so two runs in one process
//! would share (and fight over) one pool; a process per run gives each its
//! own share of the cores, or its own GPU, and lets one run crash without
//! taking the others down. This process hands each queued run to a child
//! (`atelier resume RUN --worker`) as a slot frees up, and says what the
//! children log by following the run store, as `watch` does. It holds the
//! device locks for all of them, so another atelier still cannot take the
//! same devices.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fs::File,
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use super::{
    locks,
    outcome::Outcome,
    printer::Printer,
    slots::{describe, Slot},
    tally::Tally,
    SessionError,
};
use crate::{
    edge::printable,
    plan::{DevicePref, RunSpec},
    protocol::{Event, RunId},
    sayln,
    store::{
        follow::{Follower, Update, POLL_INTERVAL},
        RunStatus, RunStore,
    },
};

/// Where worker output goes, in each run's folder (for a worker that fails
/// before it can log anything).
pub const WORKER_LOG: &str = "worker.log";

/// A worker at work: its child process and run.
struct Working {
    child: Child,
    run: RunId,
    slot: usize,
}

/// Trains `runs` (already created as queued) on `slots`, a worker each,
/// holding the slots' devices for all of them; `quiet` says only how each ends.
pub fn train(
    runs: Vec<(RunId, RunSpec)>,
    slots: &[Slot],
    store: &RunStore,
    data_dir: Option<&Path>,
    quiet: bool,
) -> Result<Outcome, SessionError> {
    // No more workers than runs: the others would have nothing to do.
    let slots = &slots[..slots.len().min(runs.len())];
    let ids: Vec<RunId> = runs.iter().map(|(id, _)| id.clone()).collect();
    let devices: Vec<DevicePref> = slots.iter().map(|slot| slot.device).collect();
    let _locks = locks::lock_and_sign(store, &locks::devices_of_slots(&devices)?, &ids)?;
    let stopping = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stopping);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).map_err(|error| {
        SessionError::system(
            "cannot install the Ctrl-C handler",
            std::io::Error::other(error),
        )
    })?;
    if !quiet {
        sayln!(
            "{} on {}: {}",
            crate::units::count(runs.len(), "run"),
            crate::units::count(slots.len(), "worker"),
            describe(slots)
        );
    }
    let titles: HashMap<RunId, RunSpec> = runs.iter().cloned().collect();
    let mut pending: VecDeque<RunId> = ids.iter().cloned().collect();
    let mut working: Vec<Working> = Vec::new();
    let mut follower = Follower::new(store.clone(), Duration::from_secs(3600)).only(ids.clone());
    let mut printer = Printer::titled(store.dir().to_path_buf()).quiet(quiet);
    let mut tally = Tally::new(runs.len());
    let mut ended: HashSet<RunId> = HashSet::new();
    let mut outcome = Outcome::default();
    loop {
        let stop = stopping.load(Ordering::SeqCst);
        if !stop {
            start_free_slots(slots, &mut pending, &mut working, store, data_dir)?;
        }
        let exited = reap(&mut working, stop)?;
        for update in follower.poll() {
            // Their queuing was said when they were created.
            for event in update_events(update)
                .into_iter()
                .filter(|event| !matches!(event, Event::Queued { .. }))
            {
                printer.show(&event, titles.get(event.run()));
                tally.count(&event);
                let total = if quiet { 0 } else { runs.len() };
                note_end(&event, &mut ended, &mut outcome, &tally, total);
            }
        }
        for (run, status) in exited {
            if !ended.contains(&run) && !ends_in_store(store, &run) {
                let title = titles
                    .get(&run)
                    .map_or_else(|| run.to_string(), RunSpec::title);
                let title = printable(&title);
                sayln!("{title}: its worker {status} before the run ended; it stands crashed, continue it with `atelier resume {run}`");
                outcome.failed += 1;
                ended.insert(run);
            }
        }
        if working.is_empty() && (pending.is_empty() || stop) {
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    if !pending.is_empty() {
        outcome.interrupted = true;
        cancel_unstarted(store, pending);
    }
    Ok(outcome)
}

fn start_free_slots(
    slots: &[Slot],
    pending: &mut VecDeque<RunId>,
    working: &mut Vec<Working>,
    store: &RunStore,
    data_dir: Option<&Path>,
) -> Result<(), SessionError> {
    for (index, slot) in slots.iter().enumerate() {
        if working.iter().any(|w| w.slot == index) {
            continue;
        }
        let Some(run) = pending.pop_front() else {
            return Ok(());
        };
        let child = spawn_worker(&run, slot, slots.len(), store, data_dir)?;
        working.push(Working {
            child,
            run,
            slot: index,
        });
    }
    Ok(())
}

/// `atelier resume RUN --worker` for one slot of `at_once`, its output
/// into the run's folder.
fn spawn_worker(
    run: &RunId,
    slot: &Slot,
    at_once: usize,
    store: &RunStore,
    data_dir: Option<&Path>,
) -> Result<Child, SessionError> {
    let exe = std::env::current_exe()
        .map_err(|error| SessionError::system("cannot find the atelier executable", error))?;
    let log_path = store.run_dir(run).join(WORKER_LOG);
    let log = File::create(&log_path).map_err(|error| {
        SessionError::system(
            format!("cannot create the worker log {}", log_path.display()),
            error,
        )
    })?;
    let errors = log.try_clone().map_err(|error| {
        SessionError::system(format!("cannot open {} twice", log_path.display()), error)
    })?;
    let mut command = std::process::Command::new(&exe);
    command.arg("--runs-dir").arg(store.dir());
    if let Some(dir) = data_dir {
        command.arg("--data-dir").arg(dir);
    }
    command
        .args(["resume", run.as_str(), "--worker", "--device"])
        .arg(slot.device.to_string())
        .arg("--threads")
        .arg(slot.threads.to_string())
        .arg("--at-once")
        .arg(at_once.to_string())
        // libgomp sizes its team from this when it loads.
        .env("OMP_NUM_THREADS", slot.threads.to_string())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(errors);
    // SAFETY: prctl is async-signal-safe. A worker whose parent dies gets
    // SIGTERM, stops its run as interrupted, and does not train unwatched.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().map_err(|error| {
        SessionError::system(
            format!("cannot start a worker ({}) for {run}", exe.display()),
            error,
        )
    })
}

/// The workers that ended since the last look; on `stop`, asks the others
/// to stop (as Ctrl-C would: their runs are stored as interrupted).
fn reap(working: &mut Vec<Working>, stop: bool) -> Result<Vec<(RunId, ExitStatus)>, SessionError> {
    let mut exited = Vec::new();
    let mut index = 0;
    while index < working.len() {
        match working[index].child.try_wait() {
            Ok(Some(status)) => {
                let done = working.swap_remove(index);
                exited.push((done.run, status));
            }
            Ok(None) => {
                if stop {
                    // SAFETY: signalling our own child by its pid.
                    unsafe {
                        libc::kill(working[index].child.id() as libc::pid_t, libc::SIGINT);
                    }
                }
                index += 1;
            }
            Err(error) => {
                return Err(SessionError::system(
                    format!("cannot watch the worker of {}", working[index].run),
                    error,
                ))
            }
        }
    }
    Ok(exited)
}

fn update_events(update: Update) -> Vec<Event> {
    match update {
        Update::New { events, .. } | Update::Events { events, .. } => events,
        _ => Vec::new(),
    }
}

fn note_end(
    event: &Event,
    ended: &mut HashSet<RunId>,
    outcome: &mut Outcome,
    tally: &Tally,
    total: usize,
) {
    if !event.is_terminal() {
        return;
    }
    outcome.note(event);
    ended.insert(event.run().clone());
    if total > 1 && ended.len() < total {
        sayln!("{}", tally.line());
    }
}

/// Whether the run's record says it ended (its last events may not have
/// been followed yet when its worker exits).
fn ends_in_store(store: &RunStore, run: &RunId) -> bool {
    store.load(run).is_ok_and(|record| {
        matches!(
            record.status,
            RunStatus::Done | RunStatus::Interrupted | RunStatus::Failed
        )
    })
}

/// Runs that never got a worker are stored as interrupted, to resume later.
fn cancel_unstarted(store: &RunStore, pending: VecDeque<RunId>) {
    for run in pending {
        if store.interrupt_if_queued(&run) {
            sayln!("{run}: not started; stored as interrupted");
        }
    }
}
