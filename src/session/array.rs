//! A plan as one Slurm job array, from the login node: its runs created
//! queued, the job script written beside a submission record, `sbatch`
//! asked, the job recorded; and later the array cancelled or its unfinished
//! runs submitted again. Slurm decides where and when each task runs; each
//! task is a session of its own ([`super::task`]).

use std::path::{Path, PathBuf};

use super::{requests, SessionError};
use crate::{
    plan::Plan,
    protocol::{RunId, RunRequest},
    slurm::{self, array_spec, render, Resources, ScriptSpec, Submission, Tools},
    store::{RunStatus, RunStore},
};

/// What `atelier slurm submit` was asked besides the plan.
#[derive(Clone, Debug)]
pub struct SubmitOptions<'a> {
    /// The sweep's name in Slurm and in `slurm status` (default: the plan's).
    pub name: Option<String>,
    pub resources: Resources,
    /// Shell lines each task runs before atelier (`module load …`).
    pub prologue: Option<String>,
    pub max_requeues: u32,
    /// `--data-dir`, passed on to every task.
    pub data_dir: Option<&'a Path>,
}

/// A submission ready to go: a request per run, its record and its script,
/// nothing written yet (what `--dry-run` shows).
#[derive(Debug)]
pub struct Planned {
    pub requests: Vec<RunRequest>,
    pub submission: Submission,
    pub script: String,
}

/// A submission Slurm took.
#[derive(Debug)]
pub struct Submitted {
    pub job: String,
    pub script: PathBuf,
}

/// The runs of `plan` as one array of `store`, checked, nothing written.
pub fn plan(
    store: &RunStore,
    plan: &Plan,
    options: &SubmitOptions<'_>,
) -> Result<Planned, SessionError> {
    options.resources.validate()?;
    let sweep = options.name.clone().unwrap_or_else(|| sweep_name(plan));
    let requests = requests::requests(store, plan);
    let runs: Vec<RunId> = requests.iter().map(|r| r.id.clone()).collect();
    let mut submission = Submission::new(&sweep, &plan.name, runs);
    submission.max_requeues = options.max_requeues;
    let spec = ScriptSpec {
        job_name: format!("atelier-{sweep}"),
        indices: (0..requests.len()).collect(),
        submission_dir: submission.dir(store.dir()),
        log_dir: submission.log_dir(store.dir()),
        atelier: std::env::current_exe()
            .map_err(|error| SessionError::system("cannot find the atelier executable", error))?,
        runs_dir: store.dir().to_path_buf(),
        data_dir: options.data_dir.map(Path::to_path_buf),
        prologue: options.prologue.clone(),
        resources: options.resources.clone(),
    };
    Ok(Planned {
        script: render(&spec)?,
        requests,
        submission,
    })
}

/// Creates the runs as queued, writes the script and the record, and asks
/// `sbatch`. When `sbatch` refuses (or cannot be run), nothing was
/// submitted, and what was created for it is removed again: the runs, the
/// submission's folder, and the submissions folder if this made it. Only
/// when it is unclear whether Slurm took the job (`sbatch` killed, or its
/// answer unreadable) do the runs stay, stored as interrupted.
pub fn submit(
    store: &RunStore,
    tools: &Tools,
    planned: &mut Planned,
) -> Result<Submitted, SessionError> {
    let submissions = store.dir().join(slurm::submission::SUBMISSIONS_DIR);
    let had_submissions = submissions.exists();
    let mut created: Vec<RunId> = Vec::new();
    let mut folder = None;
    let sent = send(store, tools, planned, &mut created, &mut folder);
    let submission = &mut planned.submission;
    let job = match sent {
        Ok(job) => job,
        Err(Sent::Unclear(error)) => {
            interrupt_queued(store, &submission.runs);
            return Err(SessionError::NotSubmitted {
                error: Box::new(error),
                runs: submission.runs.len(),
                dir: store.dir().to_path_buf(),
                id: submission.id.clone(),
            });
        }
        Err(Sent::Not(error)) => {
            let leftovers = undo(
                store,
                &created,
                folder.as_deref(),
                &submissions,
                had_submissions,
            );
            return Err(match (error, leftovers) {
                (SessionError::Slurm(error), None) => SessionError::SubmitRefused {
                    error: Box::new(error),
                    runs: created.len(),
                    dir: store.dir().to_path_buf(),
                },
                (error, None) => error,
                (error, Some(leftover)) => SessionError::System {
                    what: format!(
                        "{error}\nnothing was submitted, but not all it had created could be removed"
                    ),
                    error: std::io::Error::other(leftover.to_string()),
                },
            });
        }
    };
    let script = submission.script_path(store.dir());
    submission.record_job(&job, (0..planned.requests.len()).collect());
    submission.save(store.dir())?;
    Ok(Submitted { job, script })
}

/// Why a submission did not go through.
enum Sent {
    /// Nothing reached Slurm: what was created may be removed.
    Not(SessionError),
    /// `sbatch` may have queued the job (it was killed, or its answer could
    /// not be read): the runs stay.
    Unclear(slurm::SlurmError),
}

/// Creates the runs and the submission's folder (noting each in `created`
/// and `folder`, for [`undo`]), writes the script and the record, and runs
/// `sbatch`; the job id.
fn send(
    store: &RunStore,
    tools: &Tools,
    planned: &mut Planned,
    created: &mut Vec<RunId>,
    folder: &mut Option<PathBuf>,
) -> Result<String, Sent> {
    for request in &planned.requests {
        store
            .create_queued(request)
            .map_err(|error| Sent::Not(error.into()))?;
        created.push(request.id.clone());
    }
    let submission = &mut planned.submission;
    *folder = Some(
        submission
            .create_dir(store.dir())
            .map_err(|error| Sent::Not(error.into()))?,
    );
    let script = submission.script_path(store.dir());
    write_script(&script, &planned.script).map_err(Sent::Not)?;
    submission
        .save(store.dir())
        .map_err(|error| Sent::Not(error.into()))?;
    tools
        .sbatch(&script, &submission.dir(store.dir()))
        .map_err(|error| match error {
            slurm::SlurmError::Refused { code: None, .. } | slurm::SlurmError::BadOutput { .. } => {
                Sent::Unclear(error)
            }
            error => Sent::Not(error.into()),
        })
}

/// Removes the runs and the submission folder a submission that did not
/// go through created, and the submissions folder if it made that and it
/// is empty now; what could not be removed, if anything.
fn undo(
    store: &RunStore,
    created: &[RunId],
    folder: Option<&Path>,
    submissions: &Path,
    had_submissions: bool,
) -> Option<SessionError> {
    let mut leftover = None;
    for run in created {
        if let Err(error) = store.discard(run) {
            leftover.get_or_insert(SessionError::Store(error));
        }
    }
    if let Some(folder) = folder {
        if let Err(error) = std::fs::remove_dir_all(folder) {
            leftover.get_or_insert(SessionError::system(
                format!("cannot remove {}", folder.display()),
                error,
            ));
        }
    }
    if !had_submissions {
        // Only if empty: another submission may have begun meanwhile.
        let _ = std::fs::remove_dir(submissions);
    }
    leftover
}

/// The plan's one sweep when every run comes from it, else the plan's name.
fn sweep_name(plan: &Plan) -> String {
    let mut sweeps = plan.runs.iter().map(|run| run.sweep.as_deref());
    match sweeps.next() {
        Some(Some(first)) if sweeps.all(|sweep| sweep == Some(first)) => first.to_string(),
        _ => plan.name.clone(),
    }
}

fn write_script(path: &Path, text: &str) -> Result<(), SessionError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)
        .map_err(|error| SessionError::system(format!("cannot write {}", path.display()), error))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|error| {
        SessionError::system(format!("cannot make {} executable", path.display()), error)
    })
}

/// Runs that no task took up are stored as interrupted; how many.
fn interrupt_queued(store: &RunStore, runs: &[RunId]) -> usize {
    runs.iter()
        .filter(|run| store.interrupt_if_queued(run))
        .count()
}

/// A cancelled submission: its job ids, and how many of its queued runs
/// were stored as interrupted.
#[derive(Debug)]
pub struct Cancelled {
    pub submission: Submission,
    pub jobs: Vec<String>,
    pub interrupted: usize,
}

/// One `scancel` of exactly the submission's job ids; its queued runs are
/// stored as interrupted (running tasks checkpoint and do so themselves).
pub fn cancel(store: &RunStore, tools: &Tools, query: &str) -> Result<Cancelled, SessionError> {
    let submission = Submission::find(store.dir(), query)?;
    let jobs = submission.job_ids();
    if jobs.is_empty() {
        return Err(SessionError::NeverSubmitted(submission.id));
    }
    tools.scancel(&jobs)?;
    let interrupted = interrupt_queued(store, &submission.runs);
    Ok(Cancelled {
        submission,
        jobs,
        interrupted,
    })
}

/// A submission's unfinished runs, submitted again.
#[derive(Debug)]
pub struct Resubmitted {
    pub submission: Submission,
    pub runs: usize,
    pub job: String,
    /// `sbatch`'s `--array` value.
    pub array: String,
}

/// Submits the runs of `query` that are not done as a new array, at most
/// `max_parallel` at once (default: as first submitted); `None` when every
/// run is done. Refused while Slurm still has a task of one of them.
pub fn resubmit(
    store: &RunStore,
    tools: &Tools,
    query: &str,
    max_parallel: Option<u32>,
) -> Result<Option<Resubmitted>, SessionError> {
    let mut submission = Submission::find(store.dir(), query)?;
    let indices: Vec<usize> = submission
        .runs
        .iter()
        .enumerate()
        .filter(|(_, run)| {
            store
                .load(run)
                .map_or(true, |record| record.status != RunStatus::Done)
        })
        .map(|(index, _)| index)
        .collect();
    if indices.is_empty() {
        return Ok(None);
    }
    refuse_if_active(&submission, &indices, tools)?;
    let script = submission.script_path(store.dir());
    let max_parallel = max_parallel.or_else(|| first_max_parallel(&script));
    let array = array_spec(&indices, max_parallel);
    let job = tools.sbatch_array(&script, &submission.dir(store.dir()), &array)?;
    submission.record_job(&job, indices.clone());
    submission.save(store.dir())?;
    Ok(Some(Resubmitted {
        submission,
        runs: indices.len(),
        job,
        array,
    }))
}

/// A run must not train in two tasks at once: refused while Slurm still
/// has a task of it pending or running.
fn refuse_if_active(
    submission: &Submission,
    indices: &[usize],
    tools: &Tools,
) -> Result<(), SessionError> {
    let tasks = tools.squeue(&submission.job_ids())?;
    for &index in indices {
        let active = submission.jobs.iter().find_map(|job| {
            slurm::task_of(&tasks, &job.job_id, index).filter(|task| !task.state.is_finished())
        });
        if let Some(task) = active {
            return Err(SessionError::TaskActive {
                index,
                run: submission.runs[index].clone(),
                state: task.state.label(),
                job: task.job_id.clone(),
                id: submission.id.clone(),
            });
        }
    }
    Ok(())
}

/// The `%K` of the script's `#SBATCH --array=…%K` line, if it has one.
fn first_max_parallel(script: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(script).ok()?;
    let line = text.lines().find(|l| l.starts_with("#SBATCH --array="))?;
    line.rsplit_once('%')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resubmission_keeps_the_first_parallelism() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("job.sh");
        std::fs::write(&script, "#!/bin/bash\n#SBATCH --array=0-3%2\n").unwrap();
        assert_eq!(first_max_parallel(&script), Some(2));
        std::fs::write(&script, "#!/bin/bash\n#SBATCH --array=0-3\n").unwrap();
        assert_eq!(first_max_parallel(&script), None);
    }

    /// A folder holding an `sbatch` that runs `body`.
    fn fake_sbatch(body: &str) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let sbatch = bin.path().join("sbatch");
        std::fs::write(&sbatch, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    fn planned(store: &RunStore) -> Planned {
        let options = SubmitOptions {
            name: None,
            resources: Resources::default(),
            prologue: None,
            max_requeues: 1,
            data_dir: None,
        };
        plan(store, &crate::plan::seed_plan(), &options).unwrap()
    }

    #[test]
    fn a_refused_submission_leaves_the_store_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let bin = fake_sbatch("echo 'sbatch: error: Invalid generic resource' >&2; exit 1");
        let tools = Tools::in_folder(Some(bin.path().to_path_buf()));
        let mut planned = planned(&store);
        let runs = planned.requests.len();
        let error = submit(&store, &tools, &mut planned).unwrap_err();
        assert!(
            matches!(&error, SessionError::SubmitRefused { runs: n, .. } if *n == runs),
            "{error}"
        );
        let message = error.to_string();
        assert!(message.contains("Invalid generic resource"), "{message}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_submission_slurm_may_have_taken_keeps_its_runs_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        let bin = fake_sbatch("echo 'Submitted batch job, probably'");
        let tools = Tools::in_folder(Some(bin.path().to_path_buf()));
        let mut planned = planned(&store);
        let error = submit(&store, &tools, &mut planned).unwrap_err();
        assert!(
            matches!(error, SessionError::NotSubmitted { .. }),
            "{error}"
        );
        let (records, _) = store.list();
        assert_eq!(records.len(), planned.requests.len());
        assert!(records
            .iter()
            .all(|record| record.status == RunStatus::Interrupted));
    }

    #[test]
    fn a_sweep_is_named_after_its_one_sweep_else_the_plan() {
        let mut plan = crate::plan::seed_plan();
        assert_eq!(sweep_name(&plan), "seed");
        for run in &mut plan.runs {
            run.sweep = Some("lr".into());
        }
        assert_eq!(sweep_name(&plan), "lr");
    }
}
