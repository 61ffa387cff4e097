//! `atelier slurm …`: a sweep handed to a Slurm cluster as one job array,
//! followed, cancelled and resubmitted from the login node. atelier does
//! not schedule anything itself: Slurm decides where and when each task
//! runs; atelier creates the runs, writes the job script, and makes each
//! task survive time limits and preemption (see [`task`]).

mod task;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use atelier::{
    edge::printable,
    outln,
    protocol::RunRequest,
    session::array::{self, SubmitOptions},
    slurm::{self, node_local_warning, Resources, Submission, Tools},
    store::{RunStatus, RunStore},
};
use clap::{Args, Subcommand};

use super::train::PlanArgs;

#[derive(Debug, Subcommand)]
pub enum SlurmCommand {
    /// Create a plan's runs as queued and submit them as one job array (one task per run).
    Submit(Box<SubmitArgs>),
    /// What each array task runs (from the job script): train or continue its run.
    Task(task::TaskArgs),
    /// The submission's array tasks with their Slurm state beside the runs' progress.
    Status {
        /// A submission id (or unique prefix) or sweep name [default: every submission].
        #[arg(value_name = "SWEEP")]
        sweep: Option<String>,
    },
    /// Cancel a submission's jobs (one scancel of exactly its job ids).
    Cancel {
        #[arg(value_name = "SWEEP")]
        sweep: String,
    },
    /// Submit again the runs of a submission that are not done, as a new array.
    Resubmit {
        #[arg(value_name = "SWEEP")]
        sweep: String,
        /// At most this many tasks at once [default: as first submitted].
        #[arg(long, value_name = "K")]
        max_parallel: Option<u32>,
    },
}

/// `atelier slurm submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The sweep's name in Slurm and in `slurm status` [default: the plan's name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Slurm partition(s) for the tasks.
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// Time limit per task (Slurm's format: 30, 2:00:00, 1-12:00:00); USR1
    /// comes --signal-lead seconds before it, and the run is requeued.
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
    /// GPUs per task (each run trains on one).
    #[arg(long, value_name = "G")]
    pub gpus_per_task: Option<u32>,
    /// CPUs per task; libtorch gets as many threads.
    #[arg(long, value_name = "C")]
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks at once (`--array=…%K`).
    #[arg(long, value_name = "K")]
    pub max_parallel: Option<u32>,
    /// Seconds before the time limit at which a task checkpoints and requeues.
    #[arg(long, value_name = "SECONDS", default_value_t = slurm::TASK_SIGNAL_LEAD_SECS)]
    pub signal_lead: u32,
    /// How often one run may be requeued before it is left interrupted.
    #[arg(long, value_name = "N", default_value_t = slurm::submission::DEFAULT_MAX_REQUEUES)]
    pub max_requeues: u32,
    /// A file of shell lines to run before atelier in each task (`module load …`).
    #[arg(long, value_name = "FILE")]
    pub prologue: Option<PathBuf>,
    /// Print the job script and the runs; create and submit nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl SubmitArgs {
    fn resources(&self) -> Resources {
        Resources {
            partition: self.partition.clone(),
            time: self.time.clone(),
            gpus_per_task: self.gpus_per_task,
            cpus_per_task: self.cpus_per_task,
            max_parallel: self.max_parallel,
            signal_lead_secs: self.signal_lead,
        }
    }
}

pub fn run(
    command: &SlurmCommand,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let tools = Tools::from_env();
    match command {
        SlurmCommand::Submit(args) => submit(args, &tools, data_dir, runs_dir),
        SlurmCommand::Task(args) => task::run(args, &tools, data_dir, runs_dir),
        SlurmCommand::Status { sweep } => status(sweep.as_deref(), &tools, runs_dir),
        SlurmCommand::Cancel { sweep } => cancel(sweep, &tools, runs_dir),
        SlurmCommand::Resubmit {
            sweep,
            max_parallel,
        } => resubmit(sweep, *max_parallel, &tools, runs_dir),
    }
}

fn submit(
    args: &SubmitArgs,
    tools: &Tools,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let plan = args.plan.choice().resolve()?;
    let prologue = match &args.prologue {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("--prologue {}: cannot read it", path.display()))?,
        ),
        None => None,
    };
    let store = RunStore::resolve(runs_dir)?;
    if let Some(warning) = node_local_warning(store.dir()) {
        atelier::noteln!("warning: {warning}");
    }
    let options = SubmitOptions {
        name: args.name.clone(),
        resources: args.resources(),
        prologue,
        max_requeues: args.max_requeues,
        data_dir,
    };
    // Checked (resources included) before Slurm is asked anything.
    let mut planned = array::plan(&store, &plan, &options)?;
    if !args.dry_run {
        tools.check("sbatch")?;
    }
    if args.dry_run {
        atelier::edge::console::write_text(&planned.script)?;
        print_runs(&planned.requests)?;
        outln!(
            "dry run: {} array task(s); nothing created or submitted",
            planned.requests.len()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let submitted = array::submit(&store, tools, &mut planned)?;
    let submission = &planned.submission;
    print_runs(&planned.requests)?;
    outln!(
        "submitted job array {} ({} task(s){}) as {}",
        submitted.job,
        planned.requests.len(),
        options
            .resources
            .max_parallel
            .map_or_else(String::new, |k| format!(", {k} at a time")),
        submission.id
    )?;
    outln!("  script {}", submitted.script.display())?;
    outln!(
        "  follow: atelier --runs-dir {} watch   ·   atelier --runs-dir {0} slurm status {}",
        store.dir().display(),
        submission.id
    )?;
    Ok(ExitCode::SUCCESS)
}

fn print_runs(requests: &[RunRequest]) -> anyhow::Result<()> {
    for (index, request) in requests.iter().enumerate() {
        outln!(
            "  task {index:>3}: {} ({})",
            request.id,
            printable(&request.spec.title())
        )?;
    }
    Ok(())
}

fn status(query: Option<&str>, tools: &Tools, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::existing(runs_dir)?;
    let submissions = match query {
        Some(query) => vec![Submission::find(store.dir(), query)?],
        None => Submission::list(store.dir())?,
    };
    if submissions.is_empty() {
        outln!(
            "no Slurm submissions in {} (`atelier slurm submit` makes one)",
            store.dir().display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<String> = submissions.iter().flat_map(Submission::job_ids).collect();
    let (tasks, problem) = match tools.squeue(&ids) {
        Ok(tasks) => (tasks, None),
        Err(error) => (Vec::new(), Some(error)),
    };
    for submission in &submissions {
        print_submission(submission, &store, &tasks, problem.is_some())?;
    }
    if let Some(problem) = problem {
        atelier::noteln!("note: the Slurm column is unknown: {problem}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_submission(
    submission: &Submission,
    store: &RunStore,
    tasks: &[slurm::TaskState],
    unknown: bool,
) -> anyhow::Result<()> {
    let jobs: Vec<&str> = submission.jobs.iter().map(|j| j.job_id.as_str()).collect();
    outln!(
        "{} (sweep {}, job(s) {})",
        submission.id,
        printable(&submission.sweep),
        if jobs.is_empty() {
            "none".to_string()
        } else {
            jobs.join(", ")
        }
    )?;
    outln!(
        "  {:<8} {:<36} {:<12} {:>7}  SLURM",
        "TASK",
        "RUN",
        "STATUS",
        "EPOCHS"
    )?;
    for (index, run) in submission.runs.iter().enumerate() {
        let record = store.load(run).ok();
        let (status, epochs, done) = record.as_ref().map_or_else(
            || ("missing".to_string(), "-".to_string(), false),
            |record| {
                (
                    record.status.to_string(),
                    format!("{}/{}", record.epochs_done, record.spec.epochs),
                    record.status == RunStatus::Done,
                )
            },
        );
        let job = submission.job_of(index);
        let slurm = match (job, unknown) {
            (None, _) => "not submitted".to_string(),
            (Some(_), true) => "?".to_string(),
            (Some(job), false) => slurm::summary(slurm::task_of(tasks, &job.job_id, index), done),
        };
        let task = submission
            .job_task_id(index)
            .unwrap_or_else(|| index.to_string());
        outln!(
            "  {task:<8} {:<36} {status:<12} {epochs:>7}  {slurm}",
            run.as_str()
        )?;
    }
    Ok(())
}

fn cancel(query: &str, tools: &Tools, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::resolve(runs_dir)?;
    let cancelled = array::cancel(&store, tools, query)?;
    outln!(
        "cancelled job(s) {} of {}: running tasks checkpoint and store their runs as interrupted; {} queued run(s) stored as interrupted",
        cancelled.jobs.join(", "),
        cancelled.submission.id,
        cancelled.interrupted
    )?;
    outln!(
        "  continue them later: atelier --runs-dir {} slurm resubmit {}",
        store.dir().display(),
        cancelled.submission.id
    )?;
    Ok(ExitCode::SUCCESS)
}

fn resubmit(
    query: &str,
    max_parallel: Option<u32>,
    tools: &Tools,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = RunStore::resolve(runs_dir)?;
    match array::resubmit(&store, tools, query, max_parallel)? {
        None => outln!(
            "every run of {} is done; nothing to resubmit",
            Submission::find(store.dir(), query)?.id
        )?,
        Some(done) => outln!(
            "resubmitted {} run(s) of {} as job array {} (--array={})",
            done.runs,
            done.submission.id,
            done.job,
            done.array
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
