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
    edge::{
        printable,
        table::{Align, Table},
    },
    outln,
    protocol::RunRequest,
    session::{
        array::{self, SubmitOptions},
        SessionError,
    },
    slurm::{self, node_local_warning, Resources, Submission, Tools},
    store::{RunStatus, RunStore},
    units::count,
};
use clap::{Args, Subcommand};

use super::train::PlanArgs;

#[derive(Debug, Subcommand)]
pub enum SlurmCommand {
    /// Create a plan's runs as queued and submit them as one job array (one task per run).
    Submit(Box<SubmitArgs>),
    /// What each array task runs (from the job script): train or continue its run.
    #[command(hide = true)]
    Task(task::TaskArgs),
    /// The submission's array tasks with their Slurm state beside the runs' progress.
    Status {
        /// A submission id (or unique prefix) or sweep name [default: every submission].
        #[arg(value_name = "SWEEP")]
        sweep: Option<String>,
        /// Print the submissions, their tasks and runs as JSON, for scripts.
        #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
        json: bool,
    },
    /// Cancel a submission's jobs (one scancel of exactly its job ids).
    Cancel {
        /// A submission id (or unique prefix) or sweep name.
        #[arg(value_name = "SWEEP")]
        sweep: String,
    },
    /// Submit again the runs of a submission that are not done, as a new array.
    Resubmit {
        /// A submission id (or unique prefix) or sweep name.
        #[arg(value_name = "SWEEP")]
        sweep: String,
        /// At most this many tasks at once [default: as first submitted].
        #[arg(long, value_name = "N", help_heading = crate::cli::heading::SLURM)]
        max_parallel: Option<u32>,
    },
}

/// `atelier slurm submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// The sweep's name in Slurm and in `slurm status` [default: the plan's name].
    #[arg(long, value_name = "NAME", help_heading = crate::cli::heading::SELECTION)]
    pub name: Option<String>,
    /// Slurm partition(s) for the tasks.
    #[arg(long, value_name = "PARTITION", help_heading = crate::cli::heading::SLURM)]
    pub partition: Option<String>,
    /// Time limit per task (Slurm's format: 30, 2:00:00, 1-12:00:00); USR1
    /// comes --signal-lead seconds before it, and the run is requeued.
    #[arg(long, value_name = "TIME", help_heading = crate::cli::heading::SLURM)]
    pub time: Option<String>,
    /// GPUs per task (each run trains on one).
    #[arg(long, value_name = "N", help_heading = crate::cli::heading::SLURM)]
    pub gpus_per_task: Option<u32>,
    /// CPUs per task; libtorch gets as many threads.
    #[arg(long, value_name = "N", help_heading = crate::cli::heading::SLURM)]
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks at once (`--array=…%N`).
    #[arg(long, value_name = "N", help_heading = crate::cli::heading::SLURM)]
    pub max_parallel: Option<u32>,
    /// Seconds before the time limit at which a task checkpoints and requeues.
    #[arg(long, value_name = "SECONDS", default_value_t = slurm::TASK_SIGNAL_LEAD_SECS, help_heading = crate::cli::heading::SLURM)]
    pub signal_lead: u32,
    /// How often one run may be requeued before it is left interrupted.
    #[arg(long, value_name = "N", default_value_t = slurm::submission::DEFAULT_MAX_REQUEUES, help_heading = crate::cli::heading::SLURM)]
    pub max_requeues: u32,
    /// A file of shell lines to run before atelier in each task (`module load …`).
    #[arg(long, value_name = "FILE", help_heading = crate::cli::heading::SLURM)]
    pub prologue: Option<PathBuf>,
    /// Print the job script and the runs; create and submit nothing.
    #[arg(short = 'n', long, help_heading = crate::cli::heading::OUTPUT)]
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
        SlurmCommand::Status { sweep, json } => status(sweep.as_deref(), *json, &tools, runs_dir),
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
    // The job script runs elsewhere (the submission's folder, a compute
    // node): relative folders would name other places there.
    let runs_dir = absolute(runs_dir, "--runs-dir")?;
    let runs_dir = runs_dir.as_deref();
    let data_dir = absolute(data_dir, "--data-dir")?;
    let data_dir = data_dir.as_deref();
    let had_runs_dir = runs_dir
        .map(Path::to_path_buf)
        .or_else(RunStore::default_dir)
        .is_some_and(|dir| dir.exists());
    let store = if args.dry_run {
        RunStore::if_exists(runs_dir)?
    } else {
        RunStore::resolve(runs_dir)?
    };
    if let Some(warning) = node_local_warning(store.dir()) {
        atelier::warnln!("{warning}");
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
            "dry run: {}; nothing created or submitted",
            count(planned.requests.len(), "array task")
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let submitted = match array::submit(&store, tools, &mut planned) {
        Ok(submitted) => submitted,
        Err(error @ SessionError::SubmitRefused { .. }) => {
            // Nothing of it stays: not even the runs folder it made, if empty.
            if !had_runs_dir {
                let _ = std::fs::remove_dir(store.dir());
            }
            return Err(error.into());
        }
        Err(error) => return Err(error.into()),
    };
    let submission = &planned.submission;
    print_runs(&planned.requests)?;
    outln!(
        "submitted job array {} ({}{}) as {}",
        submitted.job,
        count(planned.requests.len(), "task"),
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

/// `dir` made absolute (from the current folder), if given.
fn absolute(dir: Option<&Path>, flag: &str) -> anyhow::Result<Option<PathBuf>> {
    dir.map(|dir| {
        std::path::absolute(dir)
            .with_context(|| format!("{flag} {}: cannot make it absolute", dir.display()))
    })
    .transpose()
}

fn print_runs(requests: &[RunRequest]) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        ("TASK", Align::Right),
        ("NAME", Align::Left),
        ("RUN", Align::Left),
    ])
    .indent(2);
    for (index, request) in requests.iter().enumerate() {
        table.row([
            index.to_string(),
            request.spec.title(),
            request.id.to_string(),
        ]);
    }
    table.print()?;
    Ok(())
}

fn status(
    query: Option<&str>,
    json: bool,
    tools: &Tools,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = RunStore::existing(runs_dir)?;
    let submissions = match query {
        Some(query) => vec![Submission::find(store.dir(), query)?],
        None => Submission::list(store.dir())?,
    };
    if submissions.is_empty() && !json {
        outln!(
            "no Slurm submissions in {} (`atelier slurm submit` makes one)",
            store.dir().display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<String> = submissions.iter().flat_map(Submission::job_ids).collect();
    let (tasks, problem) = if ids.is_empty() {
        (Vec::new(), None)
    } else {
        match tools.squeue(&ids) {
            Ok(tasks) => (tasks, None),
            Err(error) => (Vec::new(), Some(error)),
        }
    };
    let rows: Vec<Vec<TaskRow>> = submissions
        .iter()
        .map(|submission| task_rows(submission, &store, &tasks, problem.is_some()))
        .collect();
    if json {
        let all: Vec<serde_json::Value> = submissions
            .iter()
            .zip(&rows)
            .map(|(submission, rows)| submission_json(submission, rows))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&all)?)?;
    } else {
        for (number, (submission, rows)) in submissions.iter().zip(&rows).enumerate() {
            if number > 0 {
                outln!()?;
            }
            print_submission(submission, rows)?;
        }
    }
    if let Some(problem) = problem {
        atelier::edge::console::labelled(
            atelier::edge::console::Label::Note,
            format_args!("the Slurm column is unknown: {problem}"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One array task of a submission, as `slurm status` shows it.
#[derive(Debug, serde::Serialize)]
struct TaskRow {
    /// The index in the submission (the first array's task index).
    index: usize,
    /// `JOB_INDEX` of the array that last ran it, else the index.
    task: String,
    run: String,
    /// The run's name and settings; `None` when its record is missing.
    title: Option<String>,
    /// The run's stored status, `missing` when its record is gone.
    status: String,
    epochs_done: Option<u32>,
    epochs: Option<u32>,
    /// Slurm's word on the task; `None` when squeue could not be asked.
    slurm: Option<String>,
}

fn task_rows(
    submission: &Submission,
    store: &RunStore,
    tasks: &[slurm::TaskState],
    unknown: bool,
) -> Vec<TaskRow> {
    submission
        .runs
        .iter()
        .enumerate()
        .map(|(index, run)| {
            let record = store.load(run).ok();
            let done = record
                .as_ref()
                .is_some_and(|record| record.status == RunStatus::Done);
            let slurm = match (submission.job_of(index), unknown) {
                (None, _) => Some("not submitted".to_string()),
                (Some(_), true) => None,
                (Some(job), false) => Some(slurm::summary(
                    slurm::task_of(tasks, &job.job_id, index),
                    done,
                )),
            };
            TaskRow {
                index,
                task: submission
                    .job_task_id(index)
                    .unwrap_or_else(|| index.to_string()),
                run: run.to_string(),
                title: record.as_ref().map(|record| record.spec.title()),
                status: record
                    .as_ref()
                    .map_or_else(|| "missing".to_string(), |r| r.status.to_string()),
                epochs_done: record.as_ref().map(|record| record.epochs_done),
                epochs: record.as_ref().map(|record| record.spec.epochs),
                slurm,
            }
        })
        .collect()
}

fn submission_json(submission: &Submission, rows: &[TaskRow]) -> serde_json::Value {
    serde_json::json!({
        "id": submission.id,
        "sweep": submission.sweep,
        "plan": submission.plan,
        "jobs": submission.jobs,
        "max_requeues": submission.max_requeues,
        "tasks": rows,
    })
}

fn print_submission(submission: &Submission, rows: &[TaskRow]) -> anyhow::Result<()> {
    let jobs: Vec<&str> = submission.jobs.iter().map(|j| j.job_id.as_str()).collect();
    outln!(
        "{} (sweep {}, {} {})",
        submission.id,
        printable(&submission.sweep),
        if jobs.len() == 1 { "job" } else { "jobs" },
        if jobs.is_empty() {
            "none".to_string()
        } else {
            jobs.join(", ")
        }
    )?;
    let mut table = Table::new(&[
        ("TASK", Align::Left),
        ("STATUS", Align::Left),
        ("EPOCHS", Align::Right),
        ("SLURM", Align::Left),
        ("RUN", Align::Left),
    ])
    .indent(2);
    for row in rows {
        let epochs = match (row.epochs_done, row.epochs) {
            (Some(done), Some(epochs)) => format!("{done}/{epochs}"),
            _ => "-".to_string(),
        };
        table.row([
            row.task.as_str(),
            &row.status,
            &epochs,
            row.slurm.as_deref().unwrap_or("?"),
            &row.run,
        ]);
    }
    table.print()?;
    Ok(())
}

fn cancel(query: &str, tools: &Tools, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::resolve(runs_dir)?;
    let cancelled = array::cancel(&store, tools, query)?;
    outln!(
        "cancelled {} {} of {}: running tasks checkpoint and store their runs as interrupted; {} stored as interrupted",
        if cancelled.jobs.len() == 1 { "job" } else { "jobs" },
        cancelled.jobs.join(", "),
        cancelled.submission.id,
        count(cancelled.interrupted, "queued run")
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
            "resubmitted {} of {} as job array {} (--array={})",
            count(done.runs, "run"),
            done.submission.id,
            done.job,
            done.array
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
