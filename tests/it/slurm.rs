//! `atelier slurm` against a real Slurm: the one-node cluster that
//! `.ci/slurm up` starts (CI starts it; elsewhere these tests are skipped
//! with a note when `sinfo` finds no cluster). A job array of tiny runs
//! finishes; a task sent USR1 mid-epoch checkpoints, requeues, continues and
//! ends with the weights of an uninterrupted local run, byte for byte; a
//! cancelled submission's runs are interrupted and a resubmission finishes them.

use crate::common;

use std::{
    path::Path,
    process::Command,
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use atelier::{
    protocol::Event,
    slurm::Submission,
    store::{RunStatus, RunStore},
    train::checkpoint,
};

/// The cluster has one node of 2 CPUs: these tests take turns on it.
static CLUSTER: Mutex<()> = Mutex::new(());

/// Whether a Slurm cluster answers; CI must have one.
fn cluster_up() -> bool {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|out| out.status.success() && !out.stdout.is_empty());
    if !up {
        common::missing("no Slurm cluster answers (`sudo bash .ci/slurm up` starts one)");
    }
    up
}

fn atelier(data: &Path, runs: &Path, args: &[&str]) -> String {
    let out = common::atelier(data, runs).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "atelier {args:?} failed:\n{text}");
    text
}

fn plan(dir: &Path, text: &str) -> String {
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A turn on the cluster for one test: a synthetic dataset of `train` and
/// `test` images and a plan file; `None` (the test skips) without a cluster.
struct Turn {
    _turn: std::sync::MutexGuard<'static, ()>,
    data: tempfile::TempDir,
    runs: tempfile::TempDir,
    plan: String,
}

fn turn(train: usize, test: usize, plan_text: &str) -> Option<Turn> {
    let turn = CLUSTER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !cluster_up() {
        return None;
    }
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), train, test);
    Some(Turn {
        _turn: turn,
        plan: plan(data.path(), plan_text),
        data,
        runs: tempfile::tempdir().unwrap(),
    })
}

fn only_submission(runs: &Path) -> Submission {
    let mut all = Submission::list(runs).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

/// Waits until every run of the submission satisfies `ready`.
fn wait_for_runs(
    runs: &Path,
    what: &str,
    limit: Duration,
    ready: impl Fn(RunStatus) -> bool,
) -> Submission {
    let store = RunStore::open(runs).unwrap();
    let started = Instant::now();
    loop {
        let submission = only_submission(runs);
        let statuses: Vec<RunStatus> = submission
            .runs
            .iter()
            .map(|run| store.load(run).unwrap().status)
            .collect();
        if statuses.iter().all(|status| ready(*status)) {
            return submission;
        }
        assert!(
            started.elapsed() < limit,
            "not {what} within {limit:?}: {statuses:?}\nsqueue: {}\nlogs:\n{}",
            squeue(),
            logs(runs, &submission)
        );
        thread::sleep(Duration::from_millis(500));
    }
}

/// Sends USR1 to task 0's batch shell (as Slurm does before a time limit)
/// once its run has logged an event that is `wanted`.
fn usr1_once(runs: &Path, submission: &Submission, what: &str, wanted: impl Fn(&Event) -> bool) {
    let store = RunStore::open(runs).unwrap();
    let started = Instant::now();
    while !store
        .events(&submission.runs[0])
        .map(|log| log.events)
        .unwrap_or_default()
        .iter()
        .any(&wanted)
    {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no {what} in the log; squeue: {}\n{}",
            squeue(),
            logs(runs, submission)
        );
        thread::sleep(Duration::from_millis(100));
    }
    let task = submission.job_task_id(0).unwrap();
    let signal = Command::new("scancel")
        .args(["--signal=USR1", "--batch", &task])
        .status()
        .unwrap();
    assert!(signal.success());
}

fn squeue() -> String {
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T %r"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn logs(runs: &Path, submission: &Submission) -> String {
    let dir = submission.log_dir(runs);
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        text += &format!(
            "== {}\n{}",
            entry.path().display(),
            std::fs::read_to_string(entry.path()).unwrap_or_default()
        );
    }
    text
}

#[test]
fn an_array_of_four_tiny_runs_trains_as_one_sweep() {
    let Some(Turn {
        _turn,
        data,
        runs,
        plan,
    }) = turn(
        500,
        100,
        r#"
[defaults]
epochs = 2
batch_size = 32

[[sweep]]
name = "tiny"
model = { kind = "mlp", hidden = [16] }
grid = { learning_rate = [0.001, 0.002] }
seeds = 2
"#,
    )
    else {
        return;
    };
    let out = atelier(
        data.path(),
        runs.path(),
        &[
            "slurm",
            "submit",
            "--plan",
            &plan,
            "--cpus-per-task",
            "1",
            "--max-parallel",
            "2",
            "--time",
            "5",
        ],
    );
    assert!(out.contains("submitted job array"), "{out}");
    assert!(out.contains("4 tasks, 2 at a time"), "{out}");
    let submission = wait_for_runs(runs.path(), "all done", Duration::from_secs(240), |s| {
        s == RunStatus::Done
    });
    assert_eq!(submission.runs.len(), 4);
    let job = &submission.jobs[0].job_id;
    for index in 0..4 {
        let log = runs
            .path()
            .join("slurm")
            .join(&submission.id)
            .join("logs")
            .join(format!("{job}_{index}.out"));
        let text =
            std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert!(text.contains("test accuracy"), "{text}");
    }
    let store = RunStore::open(runs.path()).unwrap();
    let sweeps: Vec<Option<String>> = submission
        .runs
        .iter()
        .map(|run| store.load(run).unwrap().spec.sweep)
        .collect();
    assert!(
        sweeps.iter().all(|sweep| sweep.as_deref() == Some("tiny")),
        "{sweeps:?}"
    );
    let attempts: Vec<Event> = store
        .events(&submission.runs[0])
        .unwrap()
        .events
        .into_iter()
        .filter(|event| matches!(event, Event::Attempt { .. }))
        .collect();
    assert!(
        matches!(&attempts[..], [Event::Attempt { job: task, restart: 0, .. }] if *task == format!("{job}_0")),
        "{attempts:?}"
    );
    let status = atelier(data.path(), runs.path(), &["slurm", "status", "tiny"]);
    let done = status
        .lines()
        .filter(|line| line.contains(" done "))
        .count();
    assert_eq!(done, 4, "{status}");
}

#[test]
fn a_task_signalled_mid_epoch_requeues_and_ends_with_the_weights_of_an_uninterrupted_run() {
    // Dropout, so the requeued attempt must restore the mask stream too.
    let Some(Turn {
        _turn,
        data,
        runs,
        plan,
    }) = turn(
        20_000,
        200,
        r#"
[defaults]
epochs = 3
batch_size = 32
seed = 11

[[run]]
name = "M2"
model = { kind = "cnn", conv = [64], dense = 16, dropout = true }
"#,
    )
    else {
        return;
    };
    atelier(
        data.path(),
        runs.path(),
        &["slurm", "submit", "--plan", &plan, "--cpus-per-task", "1"],
    );
    let submission = only_submission(runs.path());
    let store = RunStore::open(runs.path()).unwrap();
    let run = submission.runs[0].clone();
    // USR1 as soon as epoch 2 is under way, as Slurm sends it before a limit.
    usr1_once(
        runs.path(),
        &submission,
        "epoch 2 under way",
        |event| matches!(event, Event::Progress { epoch: 2, step, steps, .. } if *step < steps / 2),
    );
    wait_for_runs(
        runs.path(),
        "done after the requeue",
        Duration::from_secs(300),
        |s| s == RunStatus::Done,
    );
    let events = store.events(&run).unwrap().events;
    let saved = events.iter().find_map(|event| match event {
        Event::Checkpointed { epoch, step, .. } => Some((*epoch, *step)),
        _ => None,
    });
    let Some((2, step)) = saved else {
        panic!("no mid-epoch checkpoint in epoch 2: {saved:?}");
    };
    assert!(step > 0, "saved at the epoch's start, not mid-epoch");
    assert!(events.iter().any(|e| matches!(e, Event::Requeued { .. })));
    let restarts: Vec<u32> = events
        .iter()
        .filter_map(|event| match event {
            Event::Attempt { restart, .. } => Some(*restart),
            _ => None,
        })
        .collect();
    assert_eq!(restarts, [0, 1], "one attempt, then one after the requeue");
    assert!(events.iter().any(|event| matches!(
        event,
        Event::Started { resumed_after: 1, resumed_at_step, .. } if *resumed_at_step == step
    )));

    // The same run trained here without a stop, with the task's one thread.
    let local = tempfile::tempdir().unwrap();
    atelier(
        data.path(),
        local.path(),
        &["train", "--plan", &plan, "--threads", "1"],
    );
    let local_store = RunStore::open(local.path()).unwrap();
    let (records, _) = local_store.list();
    let local_final = local_store
        .run_dir(&records[0].id)
        .join(checkpoint::FINAL_FILE);
    let slurm_final = store.run_dir(&run).join(checkpoint::FINAL_FILE);
    assert!(
        std::fs::read(&local_final).unwrap() == std::fs::read(&slurm_final).unwrap(),
        "{} and {} differ",
        local_final.display(),
        slurm_final.display()
    );
}

#[test]
fn a_cancelled_submission_is_interrupted_and_a_resubmission_finishes_it() {
    let Some(Turn {
        _turn,
        data,
        runs,
        plan,
    }) = turn(
        8_000,
        100,
        r#"
[defaults]
epochs = 2
batch_size = 32

[[sweep]]
name = "slow"
model = { kind = "cnn", conv = [32], dense = 16 }
seeds = 2
"#,
    )
    else {
        return;
    };
    atelier(
        data.path(),
        runs.path(),
        &[
            "slurm",
            "submit",
            "--plan",
            &plan,
            "--cpus-per-task",
            "1",
            "--max-parallel",
            "1",
        ],
    );
    let store = RunStore::open(runs.path()).unwrap();
    let submission = only_submission(runs.path());
    // Cancel while the first trains and the second waits its turn.
    let started = Instant::now();
    while store.load(&submission.runs[0]).unwrap().status != RunStatus::Running {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never ran: {}",
            squeue()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let out = atelier(data.path(), runs.path(), &["slurm", "cancel", "slow"]);
    assert!(out.contains("cancelled job"), "{out}");
    wait_for_runs(runs.path(), "interrupted", Duration::from_secs(90), |s| {
        s == RunStatus::Interrupted
    });
    // Slurm may still be finishing the cancelled task for a moment.
    let started = Instant::now();
    loop {
        let out = common::atelier(data.path(), runs.path())
            .args(["slurm", "resubmit", "slow"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            assert!(text.contains("resubmitted 2 runs"), "{text}");
            break;
        }
        assert!(
            text.contains("is still") && started.elapsed() < Duration::from_secs(90),
            "{text}"
        );
        thread::sleep(Duration::from_secs(1));
    }
    let submission = wait_for_runs(runs.path(), "done", Duration::from_secs(240), |s| {
        s == RunStatus::Done
    });
    assert_eq!(
        submission.jobs.len(),
        2,
        "the first job and the resubmission"
    );
    assert_eq!(submission.jobs[1].indices, [0, 1]);
}

/// What a user without a working Slurm meets: clear words, nothing left half-made.
#[test]
fn missing_or_refusing_slurm_tools_are_named_and_leave_nothing_running() {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 100, 50);
    let runs = tempfile::tempdir().unwrap();
    let plan = plan(
        data.path(),
        "[[run]]\nname = \"tiny\"\nmodel = { kind = \"mlp\", hidden = [8] }\n",
    );
    let submit = |bin: &Path, extra: &[&str]| {
        let out = common::atelier(data.path(), runs.path())
            .env("ATELIER_SLURM_BIN", bin)
            .args(["slurm", "submit", "--plan", &plan])
            .args(extra)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let empty = tempfile::tempdir().unwrap();
    let said = submit(empty.path(), &[]);
    assert!(
        said.contains("sbatch") && said.contains("does not exist"),
        "{said}"
    );
    assert!(
        RunStore::open(runs.path()).unwrap().list().0.is_empty(),
        "no run was created"
    );

    let said = submit(empty.path(), &["--time", "soon"]);
    assert!(
        said.contains("--time \"soon\" is not a Slurm time limit"),
        "{said}"
    );

    let refusing = tempfile::tempdir().unwrap();
    common::fake_tool(
        refusing.path(),
        "sbatch",
        "echo 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n",
    );
    let said = submit(refusing.path(), &["--partition", "gpu"]);
    assert!(said.contains("invalid partition specified: gpu"), "{said}");
    assert!(said.contains("nothing was submitted"), "{said}");
    // A refused submission leaves nothing: no run, no submission record.
    let (records, _) = RunStore::open(runs.path()).unwrap().list();
    assert!(records.is_empty(), "{records:?}");
    assert!(Submission::list(runs.path()).unwrap().is_empty());

    let out = common::atelier(data.path(), runs.path())
        .env_remove("SLURM_ARRAY_TASK_ID")
        .args(["slurm", "task", "--submission"])
        .arg(runs.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("SLURM_ARRAY_TASK_ID is not set"),
        "{said}"
    );
}

/// `atelier watch` from the "login node" while an array runs one task at a
/// time: the run list shows the running task's host and the others pending.
#[test]
fn watch_shows_pending_and_running_tasks_while_the_array_runs() {
    let Some(Turn {
        _turn,
        data,
        runs,
        plan,
    }) = turn(
        8_000,
        100,
        r#"
# Three models, not seeds of one: a collapsed group would show one row.
# The first outlasts several 20 s squeue polls (it is cancelled at the end).
[defaults]
epochs = 2
batch_size = 32

[[run]]
name = "wide"
model = { kind = "cnn", conv = [32], dense = 16 }
epochs = 100

[[run]]
name = "middle"
model = { kind = "cnn", conv = [24], dense = 16 }

[[run]]
name = "narrow"
model = { kind = "cnn", conv = [16], dense = 16 }
"#,
    )
    else {
        return;
    };
    let tmux_found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tmux_found {
        common::missing("tmux is not installed");
        return;
    }
    atelier(
        data.path(),
        runs.path(),
        &[
            "slurm",
            "submit",
            "--plan",
            &plan,
            "--cpus-per-task",
            "1",
            "--max-parallel",
            "1",
        ],
    );
    let socket = format!("atelier-slurm-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket])
            .args(args)
            .output()
            .unwrap()
    };
    let command = format!(
        "{} --data-dir '{}' --runs-dir '{}' watch; sleep 30",
        env!("CARGO_BIN_EXE_atelier"),
        data.path().display(),
        runs.path().display()
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "watch",
        "-x",
        "160",
        "-y",
        "40",
        "sh",
        "-c",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");
    let begun = Instant::now();
    let (mut saw_running, mut saw_pending) = (false, false);
    let mut screen = String::new();
    while !(saw_running && saw_pending) && begun.elapsed() < Duration::from_secs(90) {
        screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "watch"]).stdout)
            .into_owned();
        saw_running |= screen.contains("running on ");
        saw_pending |= screen.contains("pending (");
        thread::sleep(Duration::from_millis(300));
    }
    tmux(&["kill-server"]);
    let _ = common::atelier(data.path(), runs.path())
        .args(["slurm", "cancel", "plan"])
        .output();
    // The next test gets the node once the cancelled task has let go of it.
    wait_for_runs(runs.path(), "stopped", Duration::from_secs(90), |s| {
        matches!(s, RunStatus::Interrupted | RunStatus::Done)
    });
    let job = only_submission(runs.path()).jobs[0].job_id.clone();
    let begun = Instant::now();
    while squeue()
        .lines()
        .any(|line| line.starts_with(&format!("{job}_")))
        && begun.elapsed() < Duration::from_secs(60)
    {
        thread::sleep(Duration::from_millis(500));
    }
    assert!(saw_running, "no running task shown; last screen:\n{screen}");
    assert!(saw_pending, "no pending task shown; last screen:\n{screen}");
    assert!(screen.contains("slurm"), "{screen}");
}

/// A run that has been requeued as often as its submission allows is left
/// interrupted on the next USR1, for a `resubmit` to go on with.
#[test]
fn a_task_past_its_requeue_cap_is_left_interrupted() {
    let Some(Turn {
        _turn,
        data,
        runs,
        plan,
    }) = turn(
        20_000,
        100,
        r#"
[defaults]
epochs = 20
batch_size = 32

[[run]]
name = "capped"
model = { kind = "cnn", conv = [64], dense = 16 }
"#,
    )
    else {
        return;
    };
    atelier(
        data.path(),
        runs.path(),
        &[
            "slurm",
            "submit",
            "--plan",
            &plan,
            "--cpus-per-task",
            "1",
            "--max-requeues",
            "0",
        ],
    );
    let submission = only_submission(runs.path());
    let store = RunStore::open(runs.path()).unwrap();
    let run = submission.runs[0].clone();
    usr1_once(runs.path(), &submission, "training", |event| {
        matches!(event, Event::Progress { .. })
    });
    wait_for_runs(runs.path(), "interrupted", Duration::from_secs(60), |s| {
        s == RunStatus::Interrupted
    });
    let events = store.events(&run).unwrap().events;
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Checkpointed { .. })));
    assert!(!events.iter().any(|e| matches!(e, Event::Requeued { .. })));
    let log = logs(runs.path(), &submission);
    assert!(log.contains("the most this submission allows"), "{log}");
}
