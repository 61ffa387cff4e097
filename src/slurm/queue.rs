//! Reading `squeue`: one line per array task, in [`SQUEUE_FORMAT`].
//!
//! Seen on Slurm 22.05 with `-r`: a task not yet started is `7_3` with the
//! array's own job id in `%A`; a running one has its own job id (`7_0|8`),
//! except the array's last task, which runs as the array's id; a requeued
//! task goes `COMPLETING`, then `PENDING` with reason `BeginTime` for about
//! 30 s (or the array's limit reason, e.g. `JobArrayTaskLimit`) and keeps the
//! job id it ran as. Without `-r`, pending tasks share one line, `7_[1-4%2]`;
//! those are expanded too, should a Slurm print them even with `-r`.

use super::SlurmError;

/// squeue's `-o` format: array task (`%i`), the task's own job id (`%A`),
/// state (`%T`), reason (`%r`), nodes (`%N`, empty while pending).
pub const SQUEUE_FORMAT: &str = "%i|%A|%T|%r|%N";

/// A Slurm job state, as `%T` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Running,
    Completing,
    Completed,
    Cancelled,
    Failed,
    Timeout,
    Preempted,
    Requeued,
    Suspended,
    NodeFail,
    OutOfMemory,
    /// Any state this list lacks, as printed.
    Other(String),
}

impl JobState {
    /// The state `%T` printed (`PENDING`, `NODE_FAIL`, …).
    pub fn parse(text: &str) -> Self {
        match text {
            "PENDING" => Self::Pending,
            "RUNNING" => Self::Running,
            "COMPLETING" => Self::Completing,
            "COMPLETED" => Self::Completed,
            "CANCELLED" => Self::Cancelled,
            "FAILED" => Self::Failed,
            "TIMEOUT" => Self::Timeout,
            "PREEMPTED" => Self::Preempted,
            "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" => Self::Requeued,
            "SUSPENDED" => Self::Suspended,
            "NODE_FAIL" => Self::NodeFail,
            "OUT_OF_MEMORY" => Self::OutOfMemory,
            other => Self::Other(other.to_string()),
        }
    }

    /// Whether Slurm is done with the task (it will not run again unless requeued).
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Cancelled
                | Self::Failed
                | Self::Timeout
                | Self::Preempted
                | Self::NodeFail
                | Self::OutOfMemory
        )
    }

    /// Lower-case words for people.
    pub fn label(&self) -> String {
        match self {
            Self::Pending => "pending".into(),
            Self::Running => "running".into(),
            Self::Completing => "completing".into(),
            Self::Completed => "completed".into(),
            Self::Cancelled => "cancelled".into(),
            Self::Failed => "failed".into(),
            Self::Timeout => "timed out".into(),
            Self::Preempted => "preempted".into(),
            Self::Requeued => "requeued".into(),
            Self::Suspended => "suspended".into(),
            Self::NodeFail => "node failed".into(),
            Self::OutOfMemory => "out of memory".into(),
            Self::Other(text) => text.to_lowercase().replace('_', " "),
        }
    }
}

/// One task (or plain job) as squeue shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    /// The array's job id (the job id, for a job that is no array).
    pub job_id: String,
    /// The array task index, `None` for a job that is no array.
    pub index: Option<usize>,
    /// The job id the task runs (or last ran) as; see the module docs.
    pub task_job_id: String,
    /// Its state.
    pub state: JobState,
    /// Why it waits (`Priority`, `Resources`, `BeginTime`), `None` if it does not.
    pub reason: String,
    /// The nodes it runs on, empty while pending.
    pub node: String,
}

impl TaskState {
    /// Whether the task has run before and waits to run again.
    pub fn is_requeued(&self) -> bool {
        match self.state {
            JobState::Requeued => true,
            // A task that never started carries the array's id; only a task
            // that ran has its own (the array's last task runs as the array,
            // but then a requeue shows as BeginTime).
            JobState::Pending => self.reason == "BeginTime" || self.task_job_id != self.job_id,
            _ => false,
        }
    }
}

/// What is wrong with a line of squeue's output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("{0} fields, expected 5")]
    Fields(usize),
    #[error("no state")]
    NoState,
    #[error("job id {0:?} is not a number")]
    JobId(String),
    #[error("array job id {0:?} is not a number")]
    ArrayJobId(String),
    #[error("task range {0:?} runs backwards")]
    Backwards(String),
    #[error("task index {0:?} is not a number")]
    TaskIndex(String),
}

/// The tasks in `text`, squeue's output in [`SQUEUE_FORMAT`] with `-h`.
pub fn parse_squeue(text: &str) -> Result<Vec<TaskState>, SlurmError> {
    let mut tasks = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        parse_line(line, &mut tasks).map_err(|problem| SlurmError::BadSqueueLine {
            line: line.to_string(),
            problem: problem.to_string(),
        })?;
    }
    Ok(tasks)
}

fn parse_line(line: &str, tasks: &mut Vec<TaskState>) -> Result<(), LineProblem> {
    let fields: Vec<&str> = line.trim_end_matches(['\r', '\n']).splitn(5, '|').collect();
    let [id, task_job_id, state, reason, node] = fields[..] else {
        return Err(LineProblem::Fields(fields.len()));
    };
    if state.is_empty() {
        return Err(LineProblem::NoState);
    }
    let (job_id, indices) = parse_task_id(id)?;
    if !is_job_number(task_job_id) {
        return Err(LineProblem::JobId(task_job_id.to_string()));
    }
    let task = |index| TaskState {
        job_id: job_id.to_string(),
        index,
        task_job_id: task_job_id.to_string(),
        state: JobState::parse(state),
        reason: reason.to_string(),
        node: node.trim().to_string(),
    };
    match indices {
        None => tasks.push(task(None)),
        Some(indices) => tasks.extend(indices.into_iter().map(|index| task(Some(index)))),
    }
    Ok(())
}

/// `7` → (7, none), `7_3` → (7, [3]), `7_[1-3,5%2]` → (7, [1, 2, 3, 5]).
fn parse_task_id(id: &str) -> Result<(&str, Option<Vec<usize>>), LineProblem> {
    let Some((job, task)) = id.split_once('_') else {
        return if is_job_number(id) {
            Ok((id, None))
        } else {
            Err(LineProblem::JobId(id.to_string()))
        };
    };
    if !is_job_number(job) {
        return Err(LineProblem::ArrayJobId(job.to_string()));
    }
    let indices = match task.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        Some(ranges) => expand_ranges(ranges)?,
        None => vec![parse_index(task)?],
    };
    Ok((job, Some(indices)))
}

/// `1-3,5%2` → [1, 2, 3, 5]; also `0-8:4` (a step) → [0, 4, 8].
fn expand_ranges(text: &str) -> Result<Vec<usize>, LineProblem> {
    let ranges = text.split_once('%').map_or(text, |(ranges, _limit)| ranges);
    let mut indices = Vec::new();
    for range in ranges.split(',') {
        let (span, step) = match range.split_once(':') {
            Some((span, step)) => (span, parse_index(step)?.max(1)),
            None => (range, 1),
        };
        let (start, end) = match span.split_once('-') {
            Some((start, end)) => (parse_index(start)?, parse_index(end)?),
            None => (parse_index(span)?, parse_index(span)?),
        };
        if end < start {
            return Err(LineProblem::Backwards(range.to_string()));
        }
        indices.extend((start..=end).step_by(step));
    }
    Ok(indices)
}

fn parse_index(text: &str) -> Result<usize, LineProblem> {
    text.parse()
        .map_err(|_| LineProblem::TaskIndex(text.to_string()))
}

fn is_job_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// The state of task `index` of array `job_id` in `tasks`.
pub fn task_of<'a>(tasks: &'a [TaskState], job_id: &str, index: usize) -> Option<&'a TaskState> {
    tasks
        .iter()
        .find(|task| task.job_id == job_id && task.index == Some(index))
}

/// A short label for a run's task: `pending (Priority)`, `running on node7`,
/// `requeued`; `lost` when squeue no longer shows it while the run is not
/// `finished` (its job died without a word), `done` when it is.
pub fn summary(task: Option<&TaskState>, finished: bool) -> String {
    let Some(task) = task else {
        return if finished { "done" } else { "lost" }.to_string();
    };
    let waiting = !matches!(task.reason.as_str(), "" | "None");
    if task.is_requeued() {
        return match task.reason.as_str() {
            "BeginTime" | "" | "None" => "requeued".to_string(),
            reason => format!("requeued, pending ({reason})"),
        };
    }
    match (&task.state, task.node.is_empty()) {
        (JobState::Pending, _) if waiting => format!("pending ({})", task.reason),
        (JobState::Running, false) => format!("running on {}", task.node),
        (state, _) => state.label(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What squeue printed on the test cluster (Slurm 22.05, `-h -r -t all`).
    const SEEN: &str = "\
3_2|3|PENDING|JobArrayTaskLimit|
3_0|4|PENDING|JobArrayTaskLimit|
7_1|7|PENDING|BeginTime|
3_1|5|RUNNING|None|localhost
7_1|7|COMPLETING|None|localhost
13_1|13|COMPLETED|None|localhost
7_0|8|CANCELLED|None|localhost
";

    #[test]
    fn squeue_lines_become_task_states() {
        let tasks = parse_squeue(SEEN).unwrap();
        assert_eq!(tasks.len(), 7);
        assert_eq!(
            tasks[3],
            TaskState {
                job_id: "3".into(),
                index: Some(1),
                task_job_id: "5".into(),
                state: JobState::Running,
                reason: "None".into(),
                node: "localhost".into(),
            }
        );
        let states: Vec<&JobState> = tasks.iter().map(|task| &task.state).collect();
        assert_eq!(
            states[4..],
            [
                &JobState::Completing,
                &JobState::Completed,
                &JobState::Cancelled
            ]
        );
    }

    #[test]
    fn grouped_pending_tasks_are_expanded() {
        let tasks = parse_squeue("9_[1-3,7,10-12:2%1]|9|PENDING|JobArrayTaskLimit|\n").unwrap();
        let indices: Vec<Option<usize>> = tasks.iter().map(|task| task.index).collect();
        let expected = [1, 2, 3, 7, 10, 12].map(Some);
        assert_eq!(indices, expected);
        let plain = parse_squeue("11|11|PENDING|Resources|").unwrap();
        assert_eq!(plain[0].index, None);
    }

    #[test]
    fn unreadable_lines_are_quoted() {
        for bad in [
            "3_1|5|RUNNING",
            "x_1|5|RUNNING|None|n",
            "3_a|3|PENDING|None|",
            "3_[4-2]|3|PENDING|None|",
            "3_1||PENDING|None|",
            "3_1|5||None|",
        ] {
            let message = parse_squeue(bad).unwrap_err().to_string();
            assert!(message.contains(&format!("{bad:?}")), "{message}");
        }
    }

    #[test]
    fn unknown_states_are_kept_as_printed() {
        assert_eq!(
            JobState::parse("BOOT_FAIL"),
            JobState::Other("BOOT_FAIL".into())
        );
        assert_eq!(JobState::parse("BOOT_FAIL").label(), "boot fail");
        assert!(JobState::Timeout.is_finished() && !JobState::Requeued.is_finished());
    }

    #[test]
    fn summaries_say_where_a_run_is() {
        let tasks = parse_squeue(SEEN).unwrap();
        let label = |job: &str, index| summary(task_of(&tasks, job, index), false);
        assert_eq!(label("3", 2), "pending (JobArrayTaskLimit)");
        assert_eq!(label("3", 0), "requeued, pending (JobArrayTaskLimit)");
        assert_eq!(label("3", 1), "running on localhost");
        assert_eq!(summary(Some(&tasks[2]), false), "requeued");
        assert_eq!(summary(Some(&tasks[4]), false), "completing");
        assert_eq!(label("7", 0), "cancelled");
        assert_eq!(label("99", 0), "lost");
        assert_eq!(summary(None, true), "done");
        let pending = parse_squeue("5_0|5|PENDING|None|").unwrap();
        assert_eq!(summary(pending.first(), false), "pending");
    }
}
