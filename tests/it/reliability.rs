//! Faults injected into real training, and what survives them: a run
//! stopped mid-way and resumed ends with the same weights as one that never
//! stopped (in-process and after SIGKILL); a full disk fails the run with
//! the reason and keeps what was saved; an allocation failure fails one run
//! and the next still trains; a run being written cannot be taken over.

use crate::common;

use common::{atelier, wait_for, WAIT};
use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::Path,
    process::{Command as Process, Stdio},
    time::Duration,
};

use atelier::plan::DevicePref;
use atelier::{
    model::ModelSpec,
    plan::RunSpec,
    protocol::{Command, Event, RunId, RunRequest},
    store::{RunStatus, RunStore, StoreError},
    train::{checkpoint, Trainer},
};
use tch::Tensor;

/// An MLP with dropout, so resuming must restore the random streams too.
fn spec(name: &str, epochs: u32) -> RunSpec {
    RunSpec {
        epochs,
        batch_size: 16,
        seed: 7,
        device: DevicePref::Cpu,
        ..RunSpec::new(
            name,
            ModelSpec::Mlp {
                hidden: vec![64, 32],
                dropout: true,
            },
        )
    }
}

fn queue(store: &RunStore, spec: RunSpec) -> (RunId, Command) {
    let id = store.new_id(&spec.name);
    let command = Command::Queue(Box::new(RunRequest {
        id: id.clone(),
        plan: "test".into(),
        spec,
    }));
    (id, command)
}

fn weights(path: &Path) -> BTreeMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .into_iter()
        .collect()
}

fn assert_same_weights(a: &Path, b: &Path) {
    let (a, b) = (weights(a), weights(b));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, tensor) in &a {
        assert!(tensor.equal(&b[name]), "{name} differs");
    }
}

#[test]
fn a_run_cancelled_mid_epoch_and_continued_ends_like_an_uninterrupted_one() {
    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let trainer = Trainer::spawn(
        common::synthetic_source(data.path(), 1_200, 200),
        store.clone(),
    )
    .unwrap();

    let (whole, command) = queue(&store, spec("whole", 3));
    trainer.send(command);
    wait_for(
        &trainer,
        "the whole run's end",
        |event| matches!(event, Event::Finished { run, .. } if *run == whole),
    );

    let (stopped, command) = queue(&store, spec("stopped", 3));
    trainer.send(command);
    wait_for(
        &trainer,
        "epoch 1 of the stopped run",
        |event| matches!(event, Event::EpochEnd { run, epoch: 1, .. } if *run == stopped),
    );
    trainer.send(Command::Cancel { run: None });
    let Event::Cancelled { epochs_done, .. } = wait_for(
        &trainer,
        "the cancellation",
        |event| matches!(event, Event::Cancelled { run, .. } if *run == stopped),
    ) else {
        unreachable!()
    };
    assert!((1..3).contains(&epochs_done), "{epochs_done}");
    let record = store.load(&stopped).unwrap();
    assert_eq!(
        (record.status, record.epochs_done),
        (RunStatus::Interrupted, epochs_done)
    );

    trainer.send(Command::Continue {
        run: stopped.clone(),
        device: None,
    });
    let Event::Started { resumed_after, .. } = wait_for(
        &trainer,
        "the restart",
        |event| matches!(event, Event::Started { run, .. } if *run == stopped),
    ) else {
        unreachable!()
    };
    assert_eq!(resumed_after, epochs_done);
    wait_for(
        &trainer,
        "the continued run's end",
        |event| matches!(event, Event::Finished { run, .. } if *run == stopped),
    );
    trainer.shutdown();

    assert_same_weights(
        &store.run_dir(&whole).join(checkpoint::FINAL_FILE),
        &store.run_dir(&stopped).join(checkpoint::FINAL_FILE),
    );
    let record = store.load(&stopped).unwrap();
    assert_eq!((record.status, record.epochs_done), (RunStatus::Done, 3));
    let whole_record = store.load(&whole).unwrap();
    assert_eq!(record.test_accuracy, whole_record.test_accuracy);
    let history = atelier::store::History::from_events(&store.events(&stopped).unwrap().events);
    let epochs: Vec<u32> = history.epochs.iter().map(|row| row.epoch).collect();
    assert_eq!(
        epochs,
        [1, 2, 3],
        "the history continues without gaps or repeats"
    );

    // A finished run has nothing left to continue.
    match store.reopen(&stopped) {
        Err(StoreError::NotResumable { reason, .. }) => assert!(reason.contains("finished")),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

const PLAN: &str = r#"
[defaults]
epochs = 4
batch_size = 16
seed = 3

[[run]]
name = "wide"
model = { kind = "mlp", hidden = [512, 512], dropout = true }
"#;

#[test]
fn a_killed_training_resumes_from_its_last_epoch_to_the_same_weights() {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 2_000, 200);
    let plan = data.path().join("wide.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let (whole_runs, killed_runs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let whole = atelier(data.path(), whole_runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(
        whole.status.success(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );

    let mut child = atelier(data.path(), killed_runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let store = RunStore::open(killed_runs.path()).unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first_epoch = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|line| line.starts_with("Epoch 1/4"));
    assert!(first_epoch.is_some(), "the run printed no first epoch");
    let (records, _) = store.list();
    let id = records[0].id.clone();
    // The epoch's checkpoint follows its log line.
    let last = store.run_dir(&id).join(checkpoint::LAST_FILE);
    let deadline = std::time::Instant::now() + WAIT;
    while !last.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {}",
            last.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Frozen at once, then killed: no chance to record how it ended.
    common::signal(child.id(), libc::SIGSTOP);
    let (records, _) = store.list();
    assert_eq!(
        records[0].status,
        RunStatus::Running,
        "killed while running"
    );
    common::signal(child.id(), libc::SIGKILL);
    child.wait().unwrap();

    let listing = atelier(data.path(), killed_runs.path())
        .arg("runs")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("crashed"), "{listing}");
    let kept = store.load(&id).unwrap().epochs_done;
    assert!(kept >= 1, "completed epochs are kept: {kept}");

    let resumed = atelier(data.path(), killed_runs.path())
        .args(["resume", "wide"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        resumed.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(stdout.contains("resuming after epoch"), "{stdout}");
    assert!(
        !stdout.contains("Epoch 1/4"),
        "epoch 1 is not trained again: {stdout}"
    );
    let record = store.load(&id).unwrap();
    assert_eq!((record.status, record.epochs_done), (RunStatus::Done, 4));

    let (whole_records, _) = RunStore::open(whole_runs.path()).unwrap().list();
    assert_same_weights(
        &whole_runs
            .path()
            .join(&whole_records[0].id)
            .join(checkpoint::FINAL_FILE),
        &store.run_dir(&id).join(checkpoint::FINAL_FILE),
    );
    assert_eq!(record.test_accuracy, whole_records[0].test_accuracy);

    let again = atelier(data.path(), killed_runs.path())
        .args(["resume", &id])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to resume"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Runs `command` with its files limited to `bytes` each, as on a nearly
/// full disk: writes past the limit fail with EFBIG (SIGXFSZ ignored).
fn with_file_size_limit(command: &mut Process, bytes: u64) -> &mut Process {
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (setrlimit and signal), on values owned by the closure.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &raw const limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        })
    }
}

/// A small dataset, the wide plan with `epochs`, and a runs folder that
/// already holds a finished run (what a fault must leave alone).
fn store_with_an_earlier_run(
    epochs: u32,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    tempfile::TempDir,
    RunStore,
    RunId,
) {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 600, 100);
    let plan = data.path().join("wide.toml");
    std::fs::write(
        &plan,
        PLAN.replace("epochs = 4", &format!("epochs = {epochs}")),
    )
    .unwrap();
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let earlier = common::stored_run(&store, "earlier", 2);
    (data, plan, runs, store, earlier)
}

#[test]
fn a_full_disk_fails_the_run_with_the_reason_and_keeps_what_was_saved() {
    let (data, plan, runs, store, earlier) = store_with_an_earlier_run(2);
    let earlier_log = std::fs::read(store.run_dir(&earlier).join("events.jsonl")).unwrap();

    // The log and record fit in 256 kB; the 2.7 MB checkpoints do not.
    let output = with_file_size_limit(
        atelier(data.path(), runs.path())
            .args(["train", "--plan"])
            .arg(&plan),
        256 << 10,
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("FAILED") && stderr.contains("best.safetensors: cannot write"),
        "{stderr}"
    );
    let (records, errors) = store.list();
    assert!(errors.is_empty(), "{errors:?}");
    let failed = records
        .iter()
        .find(|record| record.spec.name == "wide")
        .unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or("")
            .contains("best.safetensors"),
        "{failed:?}"
    );
    let log = store.events(&failed.id).unwrap();
    assert!(log.skipped.is_empty() && !log.torn_tail);
    assert!(matches!(log.events.last(), Some(Event::Failed { .. })));
    // Nothing half-written is left, and the earlier run is untouched.
    let leftovers: Vec<_> = std::fs::read_dir(store.run_dir(&failed.id))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp") || name.ends_with(".safetensors"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(
        std::fs::read(store.run_dir(&earlier).join("events.jsonl")).unwrap(),
        earlier_log
    );
    assert_eq!(store.load(&earlier).unwrap().status, RunStatus::Done);
}

#[test]
fn too_little_free_space_is_refused_before_training() {
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    store.check_room(1 << 20, "a small run").unwrap();
    let message = store
        .check_room(u64::MAX / 2, "M9 · huge")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("not enough free space to train M9 · huge")
            && message.contains(&runs.path().display().to_string())
            && message.contains("MB are free"),
        "{message}"
    );
}

#[test]
fn a_run_being_written_cannot_be_taken_over_until_its_writer_is_gone() {
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let request = common::request(&store, "busy", 3);
    let writer = store.create(&request).unwrap();
    match store.reopen(&request.id) {
        Err(error @ StoreError::RunBusy { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(request.id.as_str())
                    && message.contains(&format!("pid {}", std::process::id())),
                "{message}"
            );
        }
        other => panic!("expected the run to be busy, got {other:?}"),
    }
    // The writer goes (as a dead process's lock does): the run is free again.
    drop(writer);
    let reopened = store.reopen(&request.id).unwrap();
    assert_eq!(reopened.run_record().status, RunStatus::Interrupted);
}

#[test]
fn a_torn_log_line_is_cut_before_a_continued_run_appends() {
    let runs = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs.path()).unwrap();
    let request = common::request(&store, "torn", 3);
    let mut writer = store.create(&request).unwrap();
    for event in common::run_events(&request.id, 3).iter().take(12) {
        writer.record(event).unwrap();
    }
    drop(writer);
    let log_path = store.run_dir(&request.id).join("events.jsonl");
    let mut bytes = std::fs::read(&log_path).unwrap();
    bytes.extend_from_slice(br#"{"type":"progress","run":"#);
    std::fs::write(&log_path, &bytes).unwrap();
    assert!(store.events(&request.id).unwrap().torn_tail);

    let mut writer = store.reopen(&request.id).unwrap();
    writer
        .record(&Event::Paused {
            run: request.id.clone(),
        })
        .unwrap();
    drop(writer);
    let log = store.events(&request.id).unwrap();
    assert!(
        !log.torn_tail && log.skipped.is_empty(),
        "{:?}",
        log.skipped
    );
    assert!(matches!(log.events.last(), Some(Event::Paused { .. })));
}

const OUT_OF_MEMORY_PLAN: &str = r#"
[defaults]
epochs = 1
batch_size = 32

[[run]]
name = "small"
model = { kind = "mlp", hidden = [8] }

[[run]]
name = "huge"
model = { kind = "cnn", conv = [8192], dense = 16 }

[[run]]
name = "after"
model = { kind = "mlp", hidden = [8] }
"#;

#[test]
fn an_allocation_failure_fails_that_run_and_the_next_one_trains() {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 600, 100);
    let plan = data.path().join("oom.toml");
    std::fs::write(&plan, OUT_OF_MEMORY_PLAN).unwrap();
    let runs = tempfile::tempdir().unwrap();
    let mut command = atelier(data.path(), runs.path());
    command.args(["train", "--plan"]).arg(&plan);
    // 1.5 GB of data segment: libtorch and the small runs fit; the huge
    // run's first convolution output (709 MB, then its ReLU and pooling)
    // does not, as a GPU's memory would not.
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1_500_000_000,
                rlim_max: 1_500_000_000,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &raw const limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("huge: FAILED: DefaultCPUAllocator: can't allocate memory"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("frame #"),
        "{stderr}"
    );
    let store = RunStore::open(runs.path()).unwrap();
    let (records, _) = store.list();
    let status = |name: &str| {
        records
            .iter()
            .find(|record| record.spec.name == name)
            .map(|record| record.status)
    };
    assert_eq!(status("small"), Some(RunStatus::Done));
    assert_eq!(status("huge"), Some(RunStatus::Failed));
    assert_eq!(status("after"), Some(RunStatus::Done), "{stdout}");
}

/// Makes `dir` read-only for this process: a read-only bind mount when
/// running as root (permissions do not stop root), else mode 0555. Undone
/// on drop. `None` when neither is possible here.
struct ReadOnly {
    dir: std::path::PathBuf,
    mounted: bool,
}

impl ReadOnly {
    fn make(dir: &Path) -> Option<Self> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).ok()?;
            return Some(Self {
                dir: dir.to_path_buf(),
                mounted: false,
            });
        }
        let mount = |args: &[&str]| {
            Process::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .status()
                .is_ok_and(|status| status.success())
        };
        if !mount(&["--bind"]) {
            return None;
        }
        let guard = Self {
            dir: dir.to_path_buf(),
            mounted: true,
        };
        mount(&["-o", "remount,bind,ro"]).then_some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Process::new("umount").arg(&self.dir).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_read_only_runs_folder_is_refused_before_training_and_its_runs_still_list() {
    let (data, plan, runs, _store, earlier) = store_with_an_earlier_run(1);
    let Some(_read_only) = ReadOnly::make(runs.path()) else {
        eprintln!(
            "skipped: this machine cannot make a read-only folder (no mount, no permissions)"
        );
        return;
    };
    let output = atelier(data.path(), runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(
        (stderr.contains("Read-only file system") || stderr.contains("Permission denied"))
            && stderr.contains(&runs.path().display().to_string()),
        "{stderr}"
    );
    assert!(!stdout.contains("Epoch 1/1"), "nothing trains: {stdout}");
    let listing = atelier(data.path(), runs.path())
        .arg("runs")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains(earlier.as_str()) && listing.contains("done"),
        "{listing}"
    );
}
