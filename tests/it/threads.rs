//! The CPU threads a run trains with: recorded in its log with the reason,
//! shown by `runs show`, and reused by a resume, since the count decides
//! the numbers a run trains to (dropout's masks are split between threads).

use crate::common;

use common::{atelier, WAIT};
use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::Path,
    process::Stdio,
    time::Duration,
};

use atelier::{
    protocol::ThreadReason,
    store::{RunRecord, RunStatus, RunStore},
    train::checkpoint,
};
use tch::Tensor;

/// A CNN with dropout after its convolution: 16 × 64 × 14 × 14 units a
/// step, enough for the masks to be drawn on every thread.
const PLAN: &str = r#"
[defaults]
epochs = 3
batch_size = 16
seed = 3
device = "cpu"

[[run]]
name = "drop"
model = { kind = "cnn", conv = [64], dense = 16, dropout = true }
"#;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

fn final_weights(runs: &Path) -> BTreeMap<String, Tensor> {
    let record = only_record(runs);
    Tensor::read_safetensors(runs.join(&record.id).join(checkpoint::FINAL_FILE))
        .unwrap()
        .into_iter()
        .collect()
}

fn same(a: &BTreeMap<String, Tensor>, b: &BTreeMap<String, Tensor>) -> bool {
    a.len() == b.len() && a.iter().all(|(name, tensor)| tensor.equal(&b[name]))
}

fn only_record(runs: &Path) -> RunRecord {
    let (records, _) = RunStore::open(runs).unwrap().list();
    assert_eq!(records.len(), 1, "one run in {}", runs.display());
    records.into_iter().next().unwrap()
}

fn train(data: &Path, runs: &Path, plan: &Path, extra: &[&str]) -> String {
    let output = atelier(data, runs)
        .args(["train", "--plan"])
        .arg(plan)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Trains the plan with `--threads 1` until its first epoch is saved, then
/// kills it without a chance to record how it ended.
fn train_and_kill_after_epoch_one(data: &Path, runs: &Path, plan: &Path) {
    let mut child = atelier(data, runs)
        .args(["train", "--threads", "1", "--plan"])
        .arg(plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first_epoch = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|line| line.starts_with("Epoch 1/3"));
    assert!(first_epoch.is_some(), "the run printed no first epoch");
    let record = only_record(runs);
    let last = runs.join(&record.id).join(checkpoint::LAST_FILE);
    let deadline = std::time::Instant::now() + WAIT;
    while !last.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {}",
            last.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    common::signal(child.id(), libc::SIGSTOP);
    common::signal(child.id(), libc::SIGKILL);
    child.wait().unwrap();
}

#[test]
fn a_resumed_run_trains_on_the_threads_it_started_with() {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 1_000, 100);
    let plan = data.path().join("drop.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let (one, killed, unset) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );

    train(data.path(), one.path(), &plan, &["--threads", "1"]);
    let record = only_record(one.path());
    assert_eq!(
        (record.threads, record.thread_reason),
        (Some(1), Some(ThreadReason::Asked))
    );

    // Too short to be worth timing: every core, and the log says so.
    train(data.path(), unset.path(), &plan, &[]);
    let record = only_record(unset.path());
    let every_core = u16::try_from(cores()).unwrap();
    assert_eq!(
        (record.threads, record.thread_reason),
        (Some(every_core), Some(ThreadReason::Short))
    );
    if cores() > 1 {
        assert!(
            !same(&final_weights(one.path()), &final_weights(unset.path())),
            "another thread count trains to other numbers, so a resume must reuse the count"
        );
    }

    train_and_kill_after_epoch_one(data.path(), killed.path(), &plan);
    let resumed = atelier(data.path(), killed.path())
        .args(["resume", "drop"])
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let record = only_record(killed.path());
    assert_eq!(record.status, RunStatus::Done);
    assert_eq!(
        (record.threads, record.thread_reason),
        (Some(1), Some(ThreadReason::Asked)),
        "the resume reused the count and kept why it was chosen"
    );
    assert!(
        same(&final_weights(one.path()), &final_weights(killed.path())),
        "resumed on the count it started with, it ends as an uninterrupted run"
    );
    let events =
        std::fs::read_to_string(killed.path().join(&record.id).join("events.jsonl")).unwrap();
    assert!(events.contains(r#""reason":{"by":"resumed"}"#), "{events}");

    let shown = atelier(data.path(), killed.path())
        .args(["runs", "show", "drop"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("threads     1 (as asked)"), "{shown}");
}

#[test]
fn a_measured_choice_is_said_recorded_and_shown() {
    if cores() < 2 {
        return common::missing("a second core to choose between thread counts");
    }
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 300, 100);
    let plan = data.path().join("drop.toml");
    std::fs::write(&plan, PLAN.replace("epochs = 3", "epochs = 1")).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let output = atelier(data.path(), runs.path())
        .env(atelier::train::threads::PROBE_ENV, "always")
        .args(["train", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let record = only_record(runs.path());
    let Some(ThreadReason::Measured { rates }) = &record.thread_reason else {
        panic!("not measured: {:?}\n{stdout}", record.thread_reason);
    };
    let counts: Vec<u16> = rates.iter().map(|rate| rate.threads).collect();
    assert_eq!(counts, atelier::train::threads::candidates(cores()));
    assert_eq!(
        record.threads,
        Some(atelier::train::threads::fastest(rates))
    );
    let said = format!("training on {} CPU thread", record.threads.unwrap());
    assert!(
        stdout.contains(&said) && stdout.contains("measured: 1 thread → "),
        "{stdout}"
    );
    let shown = atelier(data.path(), runs.path())
        .args(["runs", "show", "drop"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("(measured: 1 thread → "), "{shown}");
}

#[test]
fn a_queue_trained_at_once_gives_each_run_its_share() {
    if cores() < 2 {
        return common::missing("a second core to train two runs at once");
    }
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 300, 100);
    let plan = data.path().join("seeds.toml");
    std::fs::write(
        &plan,
        "[defaults]\nepochs = 1\nbatch_size = 16\ndevice = \"cpu\"\n\n\
         [[sweep]]\nname = \"tiny\"\nmodel = { kind = \"mlp\", hidden = [32] }\nseeds = 3\n",
    )
    .unwrap();
    let runs = tempfile::tempdir().unwrap();
    let output = atelier(data.path(), runs.path())
        .env(atelier::train::threads::PROBE_ENV, "always")
        .args(["train", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let (records, _) = RunStore::open(runs.path()).unwrap().list();
    assert_eq!(records.len(), 3);
    // Whether workers win depends on this machine's timings; either way
    // each run's record must say what it trained on and why.
    let at_once = stdout.contains(" at once, ");
    for record in &records {
        assert_eq!(record.status, RunStatus::Done, "{stdout}");
        match (&record.thread_reason, at_once) {
            (Some(ThreadReason::Shared { jobs }), true) => assert!(*jobs >= 2),
            (Some(ThreadReason::Measured { .. }), false) => {}
            (reason, _) => panic!("{reason:?} with at_once {at_once}:\n{stdout}"),
        }
    }
}
