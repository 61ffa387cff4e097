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
    path::{Path, PathBuf},
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

/// Queued runs and the worker processes training them, a slot each: the
/// next run starts as soon as a slot frees up. `train --jobs` drives one
/// until its runs end; the app's `a` keeps one while its queue trains.
pub struct Pool {
    slots: Vec<Slot>,
    pending: VecDeque<RunId>,
    working: Vec<Working>,
    store: RunStore,
    data_dir: Option<PathBuf>,
}

impl Pool {
    /// No run yet; workers start on `slots` as runs are pushed.
    pub fn new(slots: &[Slot], store: &RunStore, data_dir: Option<&Path>) -> Self {
        Self {
            slots: slots.to_vec(),
            pending: VecDeque::new(),
            working: Vec::new(),
            store: store.clone(),
            data_dir: data_dir.map(Path::to_path_buf),
        }
    }

    /// Queues `run`, already created as queued in the store.
    pub fn push(&mut self, run: RunId) {
        self.pending.push_back(run);
    }

    /// Nothing waits and no worker works.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.working.is_empty()
    }

    /// Takes `run` out of the queue and stores it as interrupted; false when
    /// it is not waiting here (a worker may have it).
    pub fn cancel_pending(&mut self, run: &RunId) -> bool {
        let Some(index) = self.pending.iter().position(|pending| pending == run) else {
            return false;
        };
        self.pending.remove(index);
        self.store.interrupt_if_queued(run);
        true
    }

    /// Hands the next runs to the free slots; returns the runs started.
    pub fn start_free_slots(&mut self) -> Result<Vec<RunId>, SessionError> {
        let mut started = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            if self.working.iter().any(|w| w.slot == index) {
                continue;
            }
            let Some(run) = self.pending.pop_front() else {
                break;
            };
            let at_once = self.slots.len();
            let child =
                match spawn_worker(&run, slot, at_once, &self.store, self.data_dir.as_deref()) {
                    Ok(child) => child,
                    Err(error) => {
                        // Still queued: [`Pool::stop`] stores it as interrupted.
                        self.pending.push_front(run);
                        return Err(error);
                    }
                };
            started.push(run.clone());
            self.working.push(Working {
                child,
                run,
                slot: index,
            });
        }
        Ok(started)
    }

    /// The workers that ended since the last look; on `stop`, asks the
    /// others to stop (as Ctrl-C would: their runs are stored as interrupted).
    pub fn reap(&mut self, stop: bool) -> Result<Vec<(RunId, ExitStatus)>, SessionError> {
        let mut exited = Vec::new();
        let mut index = 0;
        while index < self.working.len() {
            match self.working[index].child.try_wait() {
                Ok(Some(status)) => {
                    let done = self.working.swap_remove(index);
                    exited.push((done.run, status));
                }
                Ok(None) => {
                    if stop {
                        // SAFETY: signalling our own child by its pid.
                        unsafe {
                            libc::kill(self.working[index].child.id() as libc::pid_t, libc::SIGINT);
                        }
                    }
                    index += 1;
                }
                Err(error) => {
                    return Err(SessionError::system(
                        format!("cannot watch the worker of {}", self.working[index].run),
                        error,
                    ))
                }
            }
        }
        Ok(exited)
    }

    /// Stops every worker (their runs stored as interrupted) and waits for
    /// them; runs that never got one are stored as interrupted too.
    /// Returns those runs.
    pub fn stop(&mut self) -> Vec<RunId> {
        while !self.working.is_empty() {
            if self.reap(true).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let unstarted: Vec<RunId> = self.pending.drain(..).collect();
        unstarted
            .into_iter()
            .filter(|run| self.store.interrupt_if_queued(run))
            .collect()
    }
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
    let mut pool = Pool::new(slots, store, data_dir);
    for id in &ids {
        pool.push(id.clone());
    }
    let mut follower = Follower::new(store.clone(), Duration::from_secs(3600)).only(ids.clone());
    let mut printer = Printer::titled(store.dir().to_path_buf()).quiet(quiet);
    let mut tally = Tally::new(runs.len());
    let mut ended: HashSet<RunId> = HashSet::new();
    let mut outcome = Outcome::default();
    loop {
        let stop = stopping.load(Ordering::SeqCst);
        if !stop {
            if let Err(error) = pool.start_free_slots() {
                // The runs already training stop as interrupted, and the
                // rest are stored so: `atelier resume` continues them all.
                for run in pool.stop() {
                    sayln!("{run}: not started; stored as interrupted");
                }
                return Err(error);
            }
        }
        let exited = pool.reap(stop)?;
        for update in follower.poll() {
            // Their queuing was said when they were created.
            for event in update_events(update)
                .into_iter()
                .filter(|event| !matches!(event, Event::Queued { .. }))
            {
                printer.show(&event, titles.get(event.run()));
                tally.count(&event);
                note_end(
                    &event,
                    &mut ended,
                    &mut outcome,
                    &tally,
                    !printer.is_quiet(),
                );
            }
        }
        for (run, status) in exited {
            if !ended.contains(&run) && !ends_in_store(store, &run) {
                let title = titles
                    .get(&run)
                    .map_or_else(|| run.to_string(), RunSpec::title);
                sayln!("{}", worker_died(&printable(&title), &run, status));
                outcome.failed += 1;
                ended.insert(run);
            }
        }
        if pool.working.is_empty() && (pool.pending.is_empty() || stop) {
            break;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    for run in pool.stop() {
        sayln!("{run}: not started; stored as interrupted");
        outcome.interrupted = true;
    }
    Ok(outcome)
}

/// What to say of a run whose worker exited before the run ended.
pub fn worker_died(title: &str, run: &RunId, status: ExitStatus) -> String {
    format!("{title}: its worker {status} before the run ended; it stands crashed, continue it with `atelier resume {run}`")
}

/// The executable this process runs. On Linux `/proc/self/exe`, which
/// still opens it after a rebuild replaced its file: workers started
/// hours into a session run the same atelier as their parent.
fn running_executable() -> Result<PathBuf, SessionError> {
    let own = Path::new("/proc/self/exe");
    if own.exists() {
        return Ok(own.to_path_buf());
    }
    std::env::current_exe()
        .map_err(|error| SessionError::system("cannot find the atelier executable", error))
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
    let exe = running_executable()?;
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
    // `ps` and `top` show the worker under the parent's name, not `/proc/self/exe`.
    if let Some(name) = std::env::args_os().next() {
        command.arg0(name);
    }
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

fn update_events(update: Update) -> Vec<Event> {
    match update {
        Update::New { events, .. } | Update::Events { events, .. } => events,
        _ => Vec::new(),
    }
}

/// Notes a run's end; `tally` says how the sweep stands unless quiet or
/// the last run ended.
fn note_end(
    event: &Event,
    ended: &mut HashSet<RunId>,
    outcome: &mut Outcome,
    tally: &Tally,
    tally_lines: bool,
) {
    if !event.is_terminal() {
        return;
    }
    outcome.note(event);
    ended.insert(event.run().clone());
    let total = tally.total();
    if tally_lines && total > 1 && ended.len() < total {
        sayln!("{}", tally.line());
    }
}

/// Whether the run's record says it ended (its last events may not have
/// been followed yet when its worker exits).
pub fn ends_in_store(store: &RunStore, run: &RunId) -> bool {
    store.load(run).is_ok_and(|record| {
        matches!(
            record.status,
            RunStatus::Done | RunStatus::Interrupted | RunStatus::Failed
        )
    })
}
