//! Runs the app queues together (`a`, Enter on a group), trained as
//! `atelier train` would train them: on a plan's `[workers]` when it has
//! them; else, when they all train on the CPU, [`at_once::choose`] times
//! them on a thread of its own (the app keeps drawing) and they go to
//! worker processes ([`Pool`]) when that is faster, or back to the app's
//! trainer, one at a time. While workers train, runs queued later join them.

use std::path::{Path, PathBuf};

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::{
    at_once::{self, AtOnce},
    slots::{self, describe, Slot},
    workers::{self, Pool},
    SessionError,
};
use crate::{
    edge::printable,
    plan::{RunSpec, Workers},
    protocol::{RunId, RunRequest},
    store::RunStore,
};

/// What the timing thread found: workers that are faster, `None` to train
/// one at a time, or why it could not time.
#[derive(Debug)]
pub struct Verdict(Result<Option<AtOnce>, String>);

/// What the caller does next with runs it queued.
#[derive(Debug, Default, PartialEq)]
pub struct Handed {
    /// For the app's own trainer, in order.
    pub to_trainer: Vec<RunRequest>,
    /// What to tell the user.
    pub message: Option<String>,
}

impl Handed {
    /// Every run for the trainer, nothing to say.
    pub fn to_trainer(requests: Vec<RunRequest>) -> Self {
        Self {
            to_trainer: requests,
            message: None,
        }
    }

    fn said(message: String) -> Self {
        Self {
            to_trainer: Vec::new(),
            message: Some(message),
        }
    }
}

/// A queued run taken back before it started.
#[derive(Debug, PartialEq, Eq)]
pub enum Withdrawn {
    /// It waited for a worker; it is stored as interrupted.
    Cancelled,
    /// It waits for the timing to end; ask again in a moment.
    NotYet,
    /// This batch does not have it (the trainer may).
    NotHere,
}

/// What the workers did since the last look.
#[derive(Debug, Default)]
pub struct Tick {
    /// Runs a worker has just taken: the app follows them from the store now.
    pub started: Vec<RunId>,
    /// Runs whose worker exited before they ended, with what to say.
    pub crashed: Vec<(RunId, String)>,
    /// Runs stored as interrupted before they started: no worker could be
    /// started (`problem` says why), so every worker was stopped.
    pub stopped: Vec<RunId>,
    pub problem: Option<String>,
}

/// The app's runs queued together, from offer to their workers' end.
pub struct Batch {
    workers: Workers,
    gpus: usize,
    cores: usize,
    store: RunStore,
    data_dir: Option<PathBuf>,
    /// Runs waiting for the timing's verdict.
    deciding: Vec<RunRequest>,
    pool: Option<Pool>,
    verdicts: (Sender<Verdict>, Receiver<Verdict>),
}

impl Batch {
    /// A batch for runs of `store`, with a plan's `[workers]` settings, on
    /// this machine's GPUs and cores.
    pub fn new(workers: Workers, store: &RunStore, data_dir: Option<&Path>) -> Self {
        let gpus = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
        Self::on(workers, store, data_dir, gpus, slots::cores())
    }

    /// [`Batch::new`] on `gpus` GPUs and `cores` cores.
    pub fn on(
        workers: Workers,
        store: &RunStore,
        data_dir: Option<&Path>,
        gpus: usize,
        cores: usize,
    ) -> Self {
        Self {
            workers,
            gpus,
            cores,
            store: store.clone(),
            data_dir: data_dir.map(Path::to_path_buf),
            deciding: Vec::new(),
            pool: None,
            verdicts: unbounded(),
        }
    }

    /// Where the timing's verdicts arrive; hand each to [`Batch::decided`].
    pub fn verdicts(&self) -> Receiver<Verdict> {
        self.verdicts.1.clone()
    }

    /// Whether runs wait for timing or workers train.
    pub fn is_busy(&self) -> bool {
        !self.deciding.is_empty() || self.pool.is_some()
    }

    /// Takes runs queued together (their ids claimed); `trainer_idle`: the
    /// app's trainer has nothing to do. Runs join a batch already timing or
    /// training; a lone run, or runs queued behind the trainer's, go to the
    /// trainer.
    pub fn offer(
        &mut self,
        requests: Vec<RunRequest>,
        trainer_idle: bool,
    ) -> Result<Handed, SessionError> {
        if !self.deciding.is_empty() {
            self.deciding.extend(requests);
            return Ok(Handed::default());
        }
        if let Some(pool) = &mut self.pool {
            for request in &requests {
                self.store.create_queued(request)?;
                pool.push(request.id.clone());
            }
            return Ok(Handed::default());
        }
        if requests.len() < 2 || !trainer_idle {
            return Ok(Handed::to_trainer(requests));
        }
        if let Some(slots) = slots::plan(&self.workers, self.gpus, self.cores)? {
            let used = &slots[..slots.len().min(requests.len())];
            let message = format!(
                "training {} at once ([workers] of the plan): {}",
                used.len(),
                describe(used)
            );
            self.hand_to_workers(requests, &slots)?;
            return Ok(Handed::said(message));
        }
        let specs: Vec<RunSpec> = requests.iter().map(|r| r.spec.clone()).collect();
        if self.workers.threads.is_some() || !at_once::applies(&specs, self.gpus, self.cores) {
            return Ok(Handed::to_trainer(requests));
        }
        let (gpus, cores) = (self.gpus, self.cores);
        let answer = self.verdicts.0.clone();
        let names = kinds(&specs);
        std::thread::Builder::new()
            .name("timing-queue".into())
            .spawn(move || {
                let verdict = at_once::choose(&specs, gpus, cores).map_err(|e| e.to_string());
                let _ = answer.send(Verdict(verdict));
            })
            .map_err(|error| SessionError::system("cannot start the timing thread", error))?;
        self.deciding = requests;
        Ok(Handed::said(format!(
            "timing {names} to choose how many runs train at once…"
        )))
    }

    /// The timing's verdict: the waiting runs go to workers, or to the trainer.
    pub fn decided(&mut self, verdict: Verdict) -> Result<Handed, SessionError> {
        let requests = std::mem::take(&mut self.deciding);
        match verdict.0 {
            Ok(Some(at_once)) => {
                let message = at_once.summary();
                self.hand_to_workers(requests, &at_once.slots)?;
                Ok(Handed::said(message))
            }
            Ok(None) => Ok(Handed::to_trainer(requests)),
            Err(problem) => Ok(Handed {
                to_trainer: requests,
                message: Some(format!(
                    "could not time the runs ({}); training them one at a time",
                    printable(&problem)
                )),
            }),
        }
    }

    /// Starts workers on free slots and looks at the ones that ended.
    pub fn tick(&mut self) -> Result<Tick, SessionError> {
        let Some(pool) = &mut self.pool else {
            return Ok(Tick::default());
        };
        let mut tick = Tick::default();
        match pool.start_free_slots() {
            Ok(started) => tick.started = started,
            Err(error) => {
                tick.problem = Some(format!(
                    "{error}; the runs not started are stored as interrupted"
                ));
                tick.stopped = pool.stop();
                self.pool = None;
                return Ok(tick);
            }
        }
        for (run, status) in pool.reap(false)? {
            if !workers::ends_in_store(&self.store, &run) {
                let said = workers::worker_died(run.as_str(), &run, status);
                tick.crashed.push((run, said));
            }
        }
        if pool.is_idle() {
            self.pool = None;
        }
        Ok(tick)
    }

    /// Takes `run` out of the queue before it starts.
    pub fn withdraw(&mut self, run: &RunId) -> Withdrawn {
        if self.deciding.iter().any(|request| request.id == *run) {
            return Withdrawn::NotYet;
        }
        let cancelled = self
            .pool
            .as_mut()
            .is_some_and(|pool| pool.cancel_pending(run));
        if cancelled {
            Withdrawn::Cancelled
        } else {
            Withdrawn::NotHere
        }
    }

    /// Stops every worker and waits for them (their runs stored as
    /// interrupted, as the trainer's are when the app quits).
    pub fn stop(&mut self) {
        if let Some(mut pool) = self.pool.take() {
            pool.stop();
        }
    }

    /// Creates the runs as queued for workers on `slots` (no more than runs).
    fn hand_to_workers(
        &mut self,
        requests: Vec<RunRequest>,
        slots: &[Slot],
    ) -> Result<(), SessionError> {
        let slots = &slots[..slots.len().min(requests.len())];
        let pool = self
            .pool
            .insert(Pool::new(slots, &self.store, self.data_dir.as_deref()));
        // Each run created joins the pool at once: one the store refuses
        // leaves those before it to their workers.
        for request in &requests {
            self.store.create_queued(request)?;
            pool.push(request.id.clone());
        }
        Ok(())
    }
}

/// `M1, M2 and MLP`: the group names of the runs, each once.
fn kinds(specs: &[RunSpec]) -> String {
    let mut names: Vec<String> = Vec::new();
    for spec in specs {
        let name = printable(&spec.group().name).into_owned();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        plan::{DevicePref, Jobs},
        store::RunStatus,
        testing::tiny_spec,
    };

    fn requests(names: &[&str]) -> Vec<RunRequest> {
        names
            .iter()
            .map(|name| RunRequest {
                id: RunId::from(format!("run-{name}")),
                plan: "test".into(),
                // Too few images to be worth timing: the timing thread
                // answers at once, and these tests give their own verdicts.
                spec: RunSpec {
                    limit_train: Some(100),
                    ..tiny_spec(name, 1)
                },
            })
            .collect()
    }

    fn ids(requests: &[RunRequest]) -> Vec<String> {
        requests.iter().map(|r| r.id.to_string()).collect()
    }

    fn batch(workers: Workers, gpus: usize) -> (tempfile::TempDir, Batch) {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let batch = Batch::on(workers, &store, None, gpus, 2);
        (dir, batch)
    }

    #[test]
    fn a_lone_run_or_runs_behind_the_trainers_go_to_the_trainer() {
        let (_dir, mut batch) = batch(Workers::default(), 0);
        let handed = batch.offer(requests(&["a"]), true).unwrap();
        assert_eq!(ids(&handed.to_trainer), ["run-a"]);
        let handed = batch.offer(requests(&["b", "c"]), false).unwrap();
        assert_eq!(ids(&handed.to_trainer), ["run-b", "run-c"]);
        assert!(!batch.is_busy());
    }

    #[test]
    fn runs_on_a_gpu_or_with_threads_set_are_not_timed() {
        let mut on_gpu = requests(&["a", "b"]);
        for request in &mut on_gpu {
            request.spec.device = DevicePref::Auto;
        }
        let (_dir, mut batch) = super::tests::batch(Workers::default(), 1);
        assert_eq!(batch.offer(on_gpu, true).unwrap().to_trainer.len(), 2);
        let threads = Workers {
            threads: Some(1),
            ..Workers::default()
        };
        let (_dir, mut batch) = super::tests::batch(threads, 0);
        assert_eq!(
            batch
                .offer(requests(&["a", "b"]), true)
                .unwrap()
                .to_trainer
                .len(),
            2
        );
        assert!(!batch.is_busy());
    }

    #[test]
    fn runs_queued_while_timing_wait_with_the_others_and_follow_the_verdict() {
        let (_dir, mut batch) = batch(Workers::default(), 0);
        let handed = batch.offer(requests(&["M1", "MLP", "M1"]), true).unwrap();
        assert!(handed.to_trainer.is_empty());
        assert_eq!(
            handed.message.as_deref(),
            Some("timing M1 and MLP to choose how many runs train at once…")
        );
        assert!(batch.is_busy());
        // Queued meanwhile: it waits too, even with the trainer idle.
        let later = batch.offer(requests(&["late"]), true).unwrap();
        assert_eq!(later, Handed::default());
        assert_eq!(batch.withdraw(&"run-late".into()), Withdrawn::NotYet);
        let handed = batch.decided(Verdict(Ok(None))).unwrap();
        assert_eq!(
            ids(&handed.to_trainer),
            ["run-M1", "run-MLP", "run-M1", "run-late"]
        );
        assert!(!batch.is_busy());
    }

    #[test]
    fn a_timing_that_fails_says_so_and_hands_the_runs_to_the_trainer() {
        let (_dir, mut batch) = batch(Workers::default(), 0);
        batch.offer(requests(&["a", "b"]), true).unwrap();
        let handed = batch.decided(Verdict(Err("out of memory".into()))).unwrap();
        assert_eq!(ids(&handed.to_trainer), ["run-a", "run-b"]);
        assert_eq!(
            handed.message.as_deref(),
            Some("could not time the runs (out of memory); training them one at a time")
        );
    }

    #[test]
    fn workers_get_the_runs_created_queued_and_a_waiting_one_can_be_withdrawn() {
        let two = Workers {
            jobs: Some(Jobs::Count(2)),
            ..Workers::default()
        };
        let (dir, mut batch) = batch(two, 0);
        let store = RunStore::open(dir.path()).unwrap();
        let handed = batch.offer(requests(&["a", "b", "c"]), true).unwrap();
        assert!(handed.to_trainer.is_empty());
        assert_eq!(
            handed.message.as_deref(),
            Some("training 2 at once ([workers] of the plan): 2 × cpu (1 thread each)")
        );
        // Queued later, it joins the workers' queue.
        assert_eq!(
            batch.offer(requests(&["d"]), true).unwrap(),
            Handed::default()
        );
        for name in ["a", "b", "c", "d"] {
            let record = store.load(&format!("run-{name}")).unwrap();
            assert_eq!(record.status, RunStatus::Queued, "{name}");
            assert!(record.writer.is_none(), "handed over: {name}");
        }
        assert_eq!(batch.withdraw(&"run-c".into()), Withdrawn::Cancelled);
        assert_eq!(store.load("run-c").unwrap().status, RunStatus::Interrupted);
        assert_eq!(batch.withdraw(&"run-x".into()), Withdrawn::NotHere);
        // Quitting before any worker started: the rest are stored as interrupted.
        batch.stop();
        for name in ["a", "b", "d"] {
            let status = store.load(&format!("run-{name}")).unwrap().status;
            assert_eq!(status, RunStatus::Interrupted, "{name}");
        }
        assert!(!batch.is_busy());
    }
}
