//! `atelier train --jobs 2` end to end on a synthetic dataset: two runs
//! train at once, in worker processes, to the same weights as one at a
//! time; a worker killed mid-run leaves its run crashed (and resumable)
//! while the others finish.

use crate::common;

use std::{
    process::{Child, Stdio},
    thread,
    time::{Duration, Instant},
};

use atelier::{
    store::{RunStatus, RunStore},
    train::checkpoint,
};

const PLAN: &str = r#"
[defaults]
epochs = 2
batch_size = 16
device = "cpu"

[[sweep]]
name = "small"
model = { kind = "cnn", conv = [16], dense = 16, dropout = true }
seeds = 3
"#;

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 3_000, 200);
    let plan = data.path().join("small.toml");
    std::fs::write(&plan, PLAN).unwrap();
    (data, plan)
}

fn spawn(data: &std::path::Path, runs: &std::path::Path, args: &[&str]) -> Child {
    common::atelier(data, runs)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The most runs seen running at once while `child` works.
fn most_running_at_once(store: &RunStore, child: &mut Child) -> usize {
    let mut most = 0;
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        let (records, _) = store.list();
        let running = records
            .iter()
            .filter(|record| record.status == RunStatus::Running)
            .count();
        most = most.max(running);
        assert!(started.elapsed() < common::WAIT, "the sweep did not end");
        thread::sleep(Duration::from_millis(20));
    }
    most
}

fn final_weights(store: &RunStore) -> Vec<(String, Vec<u8>)> {
    let (mut records, errors) = store.list();
    assert!(errors.is_empty(), "{errors:?}");
    records.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    records
        .iter()
        .map(|record| {
            assert_eq!(record.status, RunStatus::Done, "{}", record.id);
            let path = store.run_dir(&record.id).join(checkpoint::FINAL_FILE);
            (record.spec.name.clone(), std::fs::read(path).unwrap())
        })
        .collect()
}

#[test]
fn two_workers_train_at_once_to_the_weights_of_one_at_a_time() {
    let (data, plan) = setup();
    let plan = plan.display().to_string();
    let parallel = tempfile::tempdir().unwrap();
    let store = RunStore::open(parallel.path()).unwrap();
    let mut child = spawn(
        data.path(),
        parallel.path(),
        &["train", "--plan", &plan, "--jobs", "2"],
    );
    let most = most_running_at_once(&store, &mut child);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("3 runs on 2 workers: 2 × cpu (1 thread each)"),
        "{stdout}"
    );
    assert!(stdout.contains("small seed=2: epoch 2/2 - "), "{stdout}");
    assert_eq!(most, 2, "two runs should have trained at once\n{stdout}");
    assert_eq!(stdout.matches("runs: ").count(), 2, "{stdout}");

    // One at a time, with the workers' one thread: the same arithmetic.
    let serial = tempfile::tempdir().unwrap();
    let output = common::atelier(data.path(), serial.path())
        .args(["train", "--plan", &plan, "--threads", "1"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let serial = RunStore::open(serial.path()).unwrap();
    assert_eq!(final_weights(&store), final_weights(&serial));
}

#[test]
fn a_killed_worker_leaves_its_run_crashed_and_the_others_finish() {
    let (data, plan) = setup();
    let plan = plan.display().to_string();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let child = spawn(
        data.path(),
        runs.path(),
        &["train", "--plan", &plan, "--jobs", "2"],
    );
    let started = Instant::now();
    let victim = loop {
        let (records, _) = store.list();
        if let Some(record) = records
            .iter()
            .find(|record| record.status == RunStatus::Running)
        {
            break record.clone();
        }
        assert!(started.elapsed() < common::WAIT, "no run started");
        thread::sleep(Duration::from_millis(20));
    };
    let pid = victim.writer.as_ref().unwrap().pid;
    assert_ne!(
        pid,
        child.id(),
        "the run trains in a worker, not the parent"
    );
    // Listed by `ps` under atelier's own name.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let name = cmdline.split(|byte| *byte == 0).next().unwrap_or_default();
    assert_eq!(
        name,
        env!("CARGO_BIN_EXE_atelier").as_bytes(),
        "{}",
        String::from_utf8_lossy(&cmdline)
    );
    common::signal(pid, libc::SIGKILL);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "its worker signal: 9 (SIGKILL) before the run ended; it stands crashed, continue it with `atelier resume {}`",
            victim.id
        )),
        "{stdout}"
    );
    let (records, _) = store.list();
    for record in &records {
        let expected = if record.id == victim.id {
            RunStatus::Running
        } else {
            RunStatus::Done
        };
        assert_eq!(record.status, expected, "{}", record.id);
    }
    let resumed = common::atelier(data.path(), runs.path())
        .args(["resume", victim.id.as_str()])
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(store.load(&victim.id).unwrap().status, RunStatus::Done);
}

/// A rebuild that replaces the executable mid-sweep (`cargo build`, a new
/// release installed over it) does not stop the sweep: the workers started
/// after it run the parent's own executable.
#[test]
fn workers_start_after_the_executable_is_replaced() {
    let (data, plan) = setup();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let bin = tempfile::tempdir().unwrap();
    let copy = bin.path().join("atelier");
    std::fs::copy(env!("CARGO_BIN_EXE_atelier"), &copy).unwrap();
    let child = std::process::Command::new(&copy)
        .arg("--data-dir")
        .arg(data.path())
        .arg("--runs-dir")
        .arg(runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .args(["--jobs", "2"])
        .env_remove("ATELIER_RUNS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !store
        .list()
        .0
        .iter()
        .any(|record| record.status == RunStatus::Running)
    {
        assert!(started.elapsed() < common::WAIT, "no run started");
        thread::sleep(Duration::from_millis(20));
    }
    // Three runs on two workers: the third starts after this.
    std::fs::remove_file(&copy).unwrap();
    std::fs::write(&copy, "#!/bin/sh\nexit 3\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (records, _) = store.list();
    assert_eq!(records.len(), 3, "{said}");
    for record in &records {
        assert_eq!(record.status, RunStatus::Done, "{}: {said}", record.id);
    }
}

/// What the app does to a run another process trains here: a pause, an
/// unpause and a stop, by signal, each logged by that process.
#[test]
fn a_training_process_pauses_goes_on_and_stops_when_signalled() {
    use atelier::{
        protocol::Event,
        session::control::{self, Control},
    };
    let (data, plan) = setup();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let mut child = spawn(
        data.path(),
        runs.path(),
        &[
            "train",
            "--plan",
            &plan.display().to_string(),
            "--epochs",
            "50",
        ],
    );
    let events = |wanted: fn(&Event) -> bool| {
        let started = Instant::now();
        loop {
            let (records, _) = store.list();
            if let Some(record) = records.first() {
                let log = store.events(&record.id).unwrap().events;
                if log.iter().any(wanted) {
                    return record.clone();
                }
            }
            assert!(started.elapsed() < common::WAIT, "the event never came");
            thread::sleep(Duration::from_millis(50));
        }
    };
    let record = events(|e| matches!(e, Event::Progress { .. }));
    let pid = record.writer.as_ref().unwrap().pid;
    control::send(pid, Control::Pause).unwrap();
    events(|e| matches!(e, Event::Paused { .. }));
    control::send(pid, Control::Unpause).unwrap();
    events(|e| matches!(e, Event::Unpaused { .. }));
    control::send(pid, Control::Cancel).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        store.load(&record.id).unwrap().status,
        RunStatus::Interrupted
    );
}
