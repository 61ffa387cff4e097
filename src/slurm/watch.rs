//! Following a runs folder's Slurm submissions for the app: one `squeue`
//! for every job at once, turned into a short label per submitted run
//! (`pending (Priority)`, `running on node7`, `requeued`, `lost`), and a
//! thread that does so every [`SLURM_POLL`] while the app listens.

use std::{
    collections::BTreeMap,
    io,
    path::{Path, PathBuf},
    thread,
    time::Duration,
};

use crossbeam_channel::{never, unbounded, Receiver, Sender};

use super::{submission::SUBMISSIONS_DIR, summary, task_of, SlurmError, Submission, Tools};
use crate::{
    protocol::RunId,
    store::{RunStatus, RunStore},
};

/// How often the app asks squeue: the issue asks for 15–30 s, as every call
/// is a request to the controller that every user of the cluster shares.
pub const SLURM_POLL: Duration = Duration::from_secs(20);

/// The label of a run whose submission has no job yet (its `sbatch` is
/// under way, or failed).
pub const NOT_SUBMITTED: &str = "not submitted";

/// What one look at the queue found, as the poller sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Every submitted run's label; runs left out were not submitted.
    Labels(Vec<(RunId, String)>),
    /// Why squeue (or a submission record) could not be read this time.
    Failed(String),
}

/// Each submitted run in `runs_dir` with its Slurm label, by run id.
///
/// Asks squeue once, about the jobs that still have a run that is not
/// `finished`; a finished run's job is not asked about (it is `done`), so
/// old submissions cost no call, and no submission means no call at all.
pub fn slurm_labels(
    runs_dir: &Path,
    tools: &Tools,
    finished: impl Fn(&RunId) -> bool,
) -> Result<Vec<(RunId, String)>, SlurmError> {
    let tasks = submitted_tasks(&Submission::list(runs_dir)?);
    let ended: BTreeMap<&RunId, bool> = tasks.keys().map(|run| (run, finished(run))).collect();
    let mut asked: Vec<String> = tasks
        .iter()
        .filter(|(run, _)| !ended[run])
        .filter_map(|(_, task)| task.as_ref().map(|(job, _)| job.clone()))
        .collect();
    asked.sort();
    asked.dedup();
    let states = tools.squeue(&asked)?;
    let label = |run: &RunId, task: &Option<(String, usize)>| match task {
        None => NOT_SUBMITTED.to_string(),
        Some((job, index)) if asked.contains(job) => {
            summary(task_of(&states, job, *index), ended[run])
        }
        Some(_) => summary(None, true),
    };
    Ok(tasks
        .iter()
        .map(|(run, task)| (run.clone(), label(run, task)))
        .collect())
}

/// Each submitted run's task, `(job id, index)` in its latest job, `None`
/// before the first `sbatch`; a run submitted again belongs to the latest
/// submission (`submissions` are oldest first).
fn submitted_tasks(submissions: &[Submission]) -> BTreeMap<RunId, Option<(String, usize)>> {
    let mut tasks = BTreeMap::new();
    for submission in submissions {
        for (index, run) in submission.runs.iter().enumerate() {
            let task = submission
                .job_of(index)
                .map(|job| (job.job_id.clone(), index));
            tasks.insert(run.clone(), task);
        }
    }
    tasks
}

/// Starts the thread that sends a [`Poll`] of `runs_dir` at once, then every
/// `every`, with `finished` telling which runs have ended. Failures are sent
/// too, every time, so that the thread learns at its next send that the
/// receiver is gone and ends; the app shows each failure once.
pub fn spawn_poller(
    runs_dir: PathBuf,
    tools: Tools,
    every: Duration,
    finished: impl Fn(&RunId) -> bool + Send + 'static,
) -> io::Result<Receiver<Poll>> {
    let (sender, receiver) = unbounded();
    thread::Builder::new()
        .name("slurm-poller".into())
        .spawn(move || poll_until_dropped(&sender, &runs_dir, &tools, every, finished))?;
    Ok(receiver)
}

/// What squeue says of `store`'s runs, every [`SLURM_POLL`], when some came
/// from Slurm (the runs folder has a folder of submissions); no thread and no
/// squeue otherwise. The thread ends when the receiver is dropped.
pub fn poll_store(store: &RunStore, tools: Tools) -> io::Result<Receiver<Poll>> {
    let dir = store.dir().to_path_buf();
    if !dir.join(SUBMISSIONS_DIR).is_dir() {
        return Ok(never());
    }
    let runs = store.clone();
    // Done and failed runs will not run again: squeue need not be asked
    // about them. An interrupted one may be requeued, so it still is.
    let finished = move |run: &RunId| {
        runs.load(run)
            .is_ok_and(|record| matches!(record.status, RunStatus::Done | RunStatus::Failed))
    };
    spawn_poller(dir, tools, SLURM_POLL, finished)
}

/// The poller's body: polls until a send fails.
fn poll_until_dropped(
    sender: &Sender<Poll>,
    runs_dir: &Path,
    tools: &Tools,
    every: Duration,
    finished: impl Fn(&RunId) -> bool,
) {
    loop {
        let poll = match slurm_labels(runs_dir, tools, &finished) {
            Ok(labels) => Poll::Labels(labels),
            Err(error) => Poll::Failed(error.to_string()),
        };
        if sender.send(poll).is_err() {
            return;
        }
        thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Mutex;

    use super::*;

    /// Held while writing and running fakes: a fork in another of these
    /// tests while a fake is still open for writing would make running it
    /// fail (ETXTBSY).
    static SPAWNING: Mutex<()> = Mutex::new(());

    /// What a fake squeue prints: task 0 of job 41 pending, task 1 running,
    /// task 2 requeued, task 3 gone (lost); job 57 (task 4, resubmitted) pending.
    const QUEUE: &str = "\
41_0|41|PENDING|Priority|
41_1|42|RUNNING|None|node7
41_2|43|PENDING|BeginTime|
57_4|57|PENDING|Resources|
";

    /// A runs folder with one submission of runs r0..r5: job 41 for tasks
    /// 0–4, job 57 for task 4 again; r5 has no job yet.
    fn runs_folder() -> tempfile::TempDir {
        let runs = tempfile::tempdir().unwrap();
        let ids = (0..6).map(|i| RunId::from(format!("r{i}"))).collect();
        let mut submission = Submission::new("sw", "seed", ids);
        submission.create_dir(runs.path()).unwrap();
        submission.record_job("41", vec![0, 1, 2, 3, 4]);
        submission.record_job("57", vec![4]);
        submission.save(runs.path()).unwrap();
        runs
    }

    /// A folder with a fake squeue that notes its arguments in `calls` and
    /// prints `out`.
    fn fake_squeue(out: &str) -> (tempfile::TempDir, Tools) {
        let bin = tempfile::tempdir().unwrap();
        let path = bin.path().join("squeue");
        let body =
            format!("#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/calls\"\nprintf '%s' '{out}'\n");
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tools = Tools::in_folder(Some(bin.path().to_path_buf()));
        (bin, tools)
    }

    fn calls(bin: &tempfile::TempDir) -> Vec<String> {
        std::fs::read_to_string(bin.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn label_of<'a>(labels: &'a [(RunId, String)], run: &str) -> &'a str {
        labels
            .iter()
            .find(|(id, _)| id.as_str() == run)
            .map_or("(none)", |(_, label)| label)
    }

    #[test]
    fn every_submitted_run_gets_its_tasks_label_from_one_squeue() {
        let _guard = SPAWNING.lock().unwrap();
        let runs = runs_folder();
        let (bin, tools) = fake_squeue(QUEUE);
        let labels = slurm_labels(runs.path(), &tools, |run| run.as_str() == "r3").unwrap();
        let shown: Vec<(&str, &str)> = labels
            .iter()
            .map(|(run, label)| (run.as_str(), label.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("r0", "pending (Priority)"),
                ("r1", "running on node7"),
                ("r2", "requeued"),
                ("r3", "done"),
                ("r4", "pending (Resources)"),
                ("r5", NOT_SUBMITTED),
            ]
        );
        let asked = calls(&bin);
        assert_eq!(asked.len(), 1, "one squeue for all jobs: {asked:?}");
        assert!(asked[0].contains("-j 41,57 "), "{asked:?}");
        // The same task gone while its run has not ended: lost.
        let labels = slurm_labels(runs.path(), &tools, |_| false).unwrap();
        assert_eq!(label_of(&labels, "r3"), "lost");
    }

    #[test]
    fn no_submissions_or_only_finished_runs_mean_no_squeue() {
        let _guard = SPAWNING.lock().unwrap();
        let (bin, tools) = fake_squeue(QUEUE);
        let empty = tempfile::tempdir().unwrap();
        assert!(slurm_labels(empty.path(), &tools, |_| false)
            .unwrap()
            .is_empty());
        let runs = runs_folder();
        let labels = slurm_labels(runs.path(), &tools, |_| true).unwrap();
        assert_eq!(label_of(&labels, "r1"), "done");
        assert_eq!(label_of(&labels, "r5"), NOT_SUBMITTED);
        assert!(calls(&bin).is_empty(), "squeue ran: {:?}", calls(&bin));
    }

    #[test]
    fn a_run_submitted_again_takes_the_latest_submissions_task() {
        let _guard = SPAWNING.lock().unwrap();
        let runs = runs_folder();
        let mut again = Submission::new("sw", "seed", vec!["r3".into()]);
        // Sorts after the first: ids start with their time.
        again.id = format!("{}-later", again.id);
        again.create_dir(runs.path()).unwrap();
        again.record_job("90", vec![0]);
        again.save(runs.path()).unwrap();
        let (bin, tools) = fake_squeue(&format!("{QUEUE}90_0|91|RUNNING|None|node2\n"));
        let labels = slurm_labels(runs.path(), &tools, |_| false).unwrap();
        assert_eq!(label_of(&labels, "r3"), "running on node2");
        assert_eq!(labels.len(), 6, "r3 once: {labels:?}");
        assert!(calls(&bin)[0].contains("-j 41,57,90 "));
    }

    #[test]
    fn the_poller_sends_at_once_says_why_it_failed_and_ends_when_nobody_listens() {
        let _guard = SPAWNING.lock().unwrap();
        let runs = runs_folder();
        let (bin, tools) = fake_squeue(QUEUE);
        let (sender, receiver) = unbounded();
        let every = Duration::from_millis(10);
        let dir = runs.path().to_path_buf();
        let poller = thread::spawn(move || {
            poll_until_dropped(&sender, &dir, &tools, every, |_| false);
        });
        let Ok(Poll::Labels(labels)) = receiver.recv() else {
            panic!("no labels first");
        };
        assert_eq!(label_of(&labels, "r1"), "running on node7");
        // Without its squeue, the poller says so, and goes on asking.
        std::fs::remove_file(bin.path().join("squeue")).unwrap();
        let failure = receiver
            .iter()
            .find_map(|poll| match poll {
                Poll::Failed(message) => Some(message),
                Poll::Labels(_) => None,
            })
            .unwrap();
        assert!(
            failure.contains("names a folder without squeue"),
            "{failure}"
        );
        assert!(matches!(receiver.recv(), Ok(Poll::Failed(_))));
        drop(receiver);
        poller.join().unwrap();
    }
}
