//! `atelier train --jobs N` / `--devices LIST`: several runs at once, one
//! worker process per run.
//!
//! libtorch's CPU thread pool is process-wide, so two runs in one process
//! would share (and fight over) one pool; a process per run gives each its
//! own share of the cores, or its own GPU, and lets one run crash without
//! taking the others down. This process creates every run as queued, hands
//! each to a child (`atelier resume RUN --worker`) as a slot frees up, and
//! prints what the children log by following the run store, as `watch` does.
//! It holds the device locks for all of them, so another atelier still
//! cannot take the same devices.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fs::File,
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, ExitCode, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::{bail, Context};
use atelier::{
    plan::{DevicePref, Jobs, RunSpec},
    sayln,
    store::{
        follow::{Follower, Update, POLL_INTERVAL},
        Holder, RunStatus, RunStore,
    },
    train::{Event, RunId},
};

use super::train::{Printer, Tally};

/// Where worker output goes, in each run's folder (for a worker that fails
/// before it can log anything).
pub const WORKER_LOG: &str = "worker.log";

/// One place a run can train: a device, and the CPU threads a worker there gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub device: DevicePref,
    pub threads: usize,
}

/// The slots for `--jobs` and `--devices`: one per listed GPU (at most one
/// run per GPU), or `jobs` CPU workers splitting the cores. `gpus` is how
/// many GPUs libtorch sees, `cores` this machine's CPUs.
pub fn slots(
    jobs: Option<Jobs>,
    devices: &[DevicePref],
    gpus: usize,
    cores: usize,
) -> anyhow::Result<Vec<Slot>> {
    let listed: Vec<DevicePref> = if devices.is_empty() {
        match jobs {
            Some(Jobs::Auto) if gpus > 0 => (0..gpus).map(DevicePref::Cuda).collect(),
            Some(Jobs::Count(n)) if gpus > 0 => {
                if n > gpus {
                    bail!("--jobs {n}: libtorch sees {gpus} GPU(s), and a GPU trains one run at a time; use --jobs {gpus} or fewer (or --devices cpu)");
                }
                (0..n).map(DevicePref::Cuda).collect()
            }
            Some(Jobs::Count(n)) => vec![DevicePref::Cpu; n],
            Some(Jobs::Auto) | None => vec![DevicePref::Cpu],
        }
    } else {
        let mut unique = Vec::new();
        for device in devices {
            if *device == DevicePref::Auto {
                bail!("--devices lists devices to use (cpu, cuda:0, …); `auto` is not one");
            }
            if unique.contains(device) && *device != DevicePref::Cpu {
                bail!("--devices names {device} twice; a GPU trains one run at a time");
            }
            unique.push(*device);
        }
        let cpu_workers = match jobs {
            Some(Jobs::Count(n)) => n,
            _ => 1,
        };
        unique
            .into_iter()
            .flat_map(|device| match device {
                DevicePref::Cpu => vec![device; cpu_workers],
                _ => vec![device],
            })
            .collect()
    };
    let cpu_workers = listed.iter().filter(|d| **d == DevicePref::Cpu).count();
    let gpu_workers = listed.len() - cpu_workers;
    // A GPU worker still needs a core to feed its GPU; the rest go to CPU workers.
    let cpu_share = (cores.saturating_sub(gpu_workers) / cpu_workers.max(1)).max(1);
    let gpu_share = (cores / listed.len().max(1)).max(1);
    Ok(listed
        .into_iter()
        .map(|device| Slot {
            device,
            threads: if device == DevicePref::Cpu {
                cpu_share
            } else {
                gpu_share
            },
        })
        .collect())
}

/// A worker at work: its child process and run.
struct Working {
    child: Child,
    run: RunId,
    slot: usize,
}

/// What the sweep's runs came to, for the exit code.
#[derive(Default)]
struct Outcome {
    failed: usize,
    interrupted: bool,
}

/// Trains `runs` (already created as queued) on `slots`, a worker each.
pub fn drive(
    runs: Vec<(RunId, RunSpec)>,
    slots: &[Slot],
    store: &RunStore,
    data_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    // No more workers than runs: the others would have nothing to do.
    let slots = &slots[..slots.len().min(runs.len())];
    let ids: Vec<RunId> = runs.iter().map(|(id, _)| id.clone()).collect();
    let _locks = lock_devices(slots, store, &ids)?;
    let stopping = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stopping);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    sayln!(
        "{} run(s) on {} worker(s): {}",
        runs.len(),
        slots.len(),
        describe(slots)
    );
    let titles: HashMap<RunId, RunSpec> = runs.iter().cloned().collect();
    let mut pending: VecDeque<RunId> = ids.iter().cloned().collect();
    let mut working: Vec<Working> = Vec::new();
    let mut follower = Follower::new(store.clone(), Duration::from_secs(3600)).only(ids.clone());
    let mut printer = Printer::titled(store.dir().to_path_buf());
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
                note_end(&event, &mut ended, &mut outcome, &tally, runs.len());
            }
        }
        for (run, status) in exited {
            if !ended.contains(&run) && !ends_in_store(store, &run) {
                let title = titles
                    .get(&run)
                    .map_or_else(|| run.to_string(), RunSpec::title);
                let title = atelier::edge::printable(&title);
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
    Ok(if outcome.failed > 0 {
        ExitCode::FAILURE
    } else if outcome.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// `2 × cpu (1 thread each)`, `cuda:0, cuda:1`.
fn describe(slots: &[Slot]) -> String {
    let cpu: Vec<&Slot> = slots
        .iter()
        .filter(|s| s.device == DevicePref::Cpu)
        .collect();
    let mut parts: Vec<String> = slots
        .iter()
        .filter(|s| s.device != DevicePref::Cpu)
        .map(|s| s.device.to_string())
        .collect();
    if let Some(first) = cpu.first() {
        parts.push(format!(
            "{} × cpu ({} thread(s) each)",
            cpu.len(),
            first.threads
        ));
    }
    parts.join(", ")
}

/// One lock per device the slots use, signed by this process for every run.
fn lock_devices(
    slots: &[Slot],
    store: &RunStore,
    runs: &[RunId],
) -> anyhow::Result<Vec<atelier::store::DeviceLock>> {
    let mut names: Vec<String> = slots.iter().map(|s| s.device.to_string()).collect();
    names.dedup();
    let log = std::env::var_os(super::detach::LOG_ENV).map(std::path::PathBuf::from);
    let mut locks = Vec::new();
    for device in names {
        let mut lock = store.lock_device(&device)?;
        lock.sign(&Holder {
            pid: std::process::id(),
            device,
            runs: runs.to_vec(),
            log: log.clone(),
        })?;
        locks.push(lock);
    }
    Ok(locks)
}

fn start_free_slots(
    slots: &[Slot],
    pending: &mut VecDeque<RunId>,
    working: &mut Vec<Working>,
    store: &RunStore,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    for (index, slot) in slots.iter().enumerate() {
        if working.iter().any(|w| w.slot == index) {
            continue;
        }
        let Some(run) = pending.pop_front() else {
            return Ok(());
        };
        let child = spawn_worker(&run, slot, store, data_dir)?;
        working.push(Working {
            child,
            run,
            slot: index,
        });
    }
    Ok(())
}

/// `atelier resume RUN --worker` for one slot, its output into the run's folder.
fn spawn_worker(
    run: &RunId,
    slot: &Slot,
    store: &RunStore,
    data_dir: Option<&Path>,
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("cannot find the atelier executable")?;
    let log_path = store.run_dir(run).join(WORKER_LOG);
    let log = File::create(&log_path)
        .with_context(|| format!("cannot create the worker log {}", log_path.display()))?;
    let errors = log
        .try_clone()
        .with_context(|| format!("cannot open {} twice", log_path.display()))?;
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
    command
        .spawn()
        .with_context(|| format!("cannot start a worker ({}) for {run}", exe.display()))
}

/// The workers that ended since the last look; on `stop`, asks the others
/// to stop (as Ctrl-C would: their runs are stored as interrupted).
fn reap(working: &mut Vec<Working>, stop: bool) -> anyhow::Result<Vec<(RunId, ExitStatus)>> {
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
            Err(error) => bail!("cannot watch the worker of {}: {error}", working[index].run),
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
    match event {
        Event::Failed { .. } => outcome.failed += 1,
        Event::Cancelled { .. } => outcome.interrupted = true,
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_workers_split_the_cores_and_gpus_take_one_run_each() {
        let cpu = |threads| Slot {
            device: DevicePref::Cpu,
            threads,
        };
        assert_eq!(
            slots(Some(Jobs::Count(2)), &[], 0, 2).unwrap(),
            vec![cpu(1), cpu(1)]
        );
        assert_eq!(
            slots(Some(Jobs::Count(3)), &[], 0, 16).unwrap(),
            vec![cpu(5), cpu(5), cpu(5)]
        );
        assert_eq!(slots(Some(Jobs::Auto), &[], 0, 8).unwrap(), vec![cpu(8)]);
        let gpus = slots(Some(Jobs::Auto), &[], 4, 16).unwrap();
        assert_eq!(
            gpus.iter().map(|s| s.device).collect::<Vec<_>>(),
            (0..4).map(DevicePref::Cuda).collect::<Vec<_>>()
        );
        assert!(gpus.iter().all(|s| s.threads == 4));
        let listed = slots(None, &[DevicePref::Cuda(1), DevicePref::Cpu], 2, 4).unwrap();
        assert_eq!(listed[0].device, DevicePref::Cuda(1));
        assert_eq!(listed[1], cpu(3));
    }

    #[test]
    fn impossible_worker_counts_are_refused_with_the_flag() {
        let error = slots(Some(Jobs::Count(3)), &[], 2, 8)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--jobs 3") && error.contains("sees 2 GPU"),
            "{error}"
        );
        let error = slots(None, &[DevicePref::Cuda(0), DevicePref::Cuda(0)], 2, 8)
            .unwrap_err()
            .to_string();
        assert!(error.contains("names cuda:0 twice"), "{error}");
    }
}
