//! `atelier watch --alerts`, the binary end to end: runs written while it
//! watches, each end told once (also to `--notify-cmd`, as JSON), the exit
//! status saying whether any run failed, and a restarted watcher that
//! repeats nothing; and the same through a remote source over ssh.

use std::{
    io::Read,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use atelier::{
    protocol::Event,
    store::{RunStore, RunWriter},
};

use crate::{common, sshd};

/// `watch --alerts` on `sources`, remembering in `ledger`, telling `notified`.
fn watcher(runs: &Path, sources: &[String], ledger: &Path, notified: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    command
        .arg("--runs-dir")
        .arg(runs)
        .args(["watch", "--alerts", "--alert-ledger"])
        .arg(ledger)
        .arg("--notify-cmd")
        .arg(format!("cat >> '{}'", notified.display()))
        .args(sources)
        .env_remove("ATELIER_RUNS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` to exit by itself; kills it and fails after a minute.
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let mut said = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut said)
                .unwrap();
            panic!("watch --alerts did not end: {said}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A run that has started: its writer, for the rest.
fn started(store: &RunStore, name: &str) -> (String, RunWriter) {
    let request = common::request(store, name, 2);
    let mut writer = store.create(&request).unwrap();
    let events = common::run_events(&request.id, 2);
    for event in &events[..3] {
        writer.record(event).unwrap();
    }
    (request.id.to_string(), writer)
}

fn complete(writer: &mut RunWriter, run: &str) {
    for event in &common::run_events(run, 2)[3..] {
        writer.record(event).unwrap();
    }
}

fn fail(writer: &mut RunWriter, run: &str) {
    writer
        .record(&Event::Failed {
            run: run.into(),
            message: "the loss became NaN at epoch 1, step 4".into(),
        })
        .unwrap();
}

/// Waits until `path` has `lines` lines (the notify commands run apart).
fn lines_of(path: &Path, lines: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines || start.elapsed() > Duration::from_secs(10) {
            return text.lines().map(str::to_string).collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn each_end_is_told_once_and_a_failure_sets_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let store = RunStore::open(&runs).unwrap();
    let (good, mut good_writer) = started(&store, "good");
    let (bad, mut bad_writer) = started(&store, "bad");
    let ledger = dir.path().join("ledger.jsonl");
    let notified = dir.path().join("notified.jsonl");
    let child = watcher(&runs, &[], &ledger, &notified).spawn().unwrap();
    // The watcher sees both running first.
    std::thread::sleep(Duration::from_secs(2));
    complete(&mut good_writer, &good);
    fail(&mut bad_writer, &bad);
    drop((good_writer, bad_writer));
    let output = finish(child);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let finished: Vec<&str> = stdout.lines().filter(|line| line.contains(&good)).collect();
    assert_eq!(finished.len(), 1, "{stdout}");
    assert!(
        finished[0].starts_with("local") && finished[0].contains("finished: test accuracy 0.9000"),
        "{stdout}"
    );
    let failed: Vec<&str> = stdout.lines().filter(|line| line.contains(&bad)).collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(
        failed[0].contains("failed: the loss became NaN at epoch 1, step 4"),
        "{stdout}"
    );
    assert!(stdout.contains("1 done, 1 failed"), "{stdout}");
    // No escape sequence reaches a pipe.
    assert!(!stdout.contains('\x1b') && !stdout.contains('\x07'));
    // Both runs are the plan `test`: a sweep, finished, with its best group.
    let sweep: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("sweep test"))
        .collect();
    assert_eq!(sweep.len(), 1, "{stdout}");
    assert!(sweep[0].contains("best: good"), "{stdout}");
    let json = lines_of(&notified, 3);
    let kinds: Vec<String> = json
        .iter()
        .map(|line| serde_json::from_str::<atelier::store::Alert>(line).unwrap())
        .map(|alert| {
            format!(
                "{:?} {}",
                alert.kind,
                alert.run.map_or(alert.plan, String::from)
            )
        })
        .collect();
    assert_eq!(kinds.len(), 3, "{json:?}");
    assert!(kinds.contains(&format!("Finished {good}")), "{kinds:?}");
    assert!(kinds.contains(&format!("Failed {bad}")), "{kinds:?}");
    assert!(
        kinds.contains(&"SweepFinished test".to_string()),
        "{kinds:?}"
    );

    // A restarted watcher repeats nothing, and still says how the runs ended.
    let again = finish(watcher(&runs, &[], &ledger, &notified).spawn().unwrap());
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lines_of(&notified, 3).len(), 3);
}

#[test]
fn a_remote_run_s_end_is_told_with_its_host() {
    let Some(server) = sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let far = dir.path().join("far");
    let store = RunStore::open(&far).unwrap();
    let (run, mut writer) = started(&store, "far");
    let ledger = dir.path().join("ledger.jsonl");
    let notified = dir.path().join("notified.jsonl");
    let source = format!("{}:{}", server.destination(), far.display());
    let child = watcher(
        &dir.path().join("none"),
        &[
            source,
            "--remote-atelier".into(),
            env!("CARGO_BIN_EXE_atelier").into(),
        ],
        &ledger,
        &notified,
    )
    .env("ATELIER_SSH", server.ssh_command())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    complete(&mut writer, &run);
    drop(writer);
    let output = finish(child);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let told: Vec<&str> = stdout.lines().filter(|line| line.contains(&run)).collect();
    assert_eq!(told.len(), 1, "{stdout}");
    assert!(
        told[0].starts_with("127.0.0.1") && told[0].contains("finished"),
        "{stdout}"
    );
    assert!(stderr.contains("connected"), "{stderr}");
}

#[test]
fn a_mistyped_folder_is_named_not_taken_for_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("runz");
    let output = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["watch", "--alerts"])
        .arg(&missing)
        .env_remove("ATELIER_RUNS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{:?}: no such runs folder",
            missing.display().to_string()
        )),
        "{stderr}"
    );
    assert!(!missing.exists());
}
