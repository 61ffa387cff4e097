//! atelier attacked as an adversarial but realistic user would: output paths
//! that name a run's own files, links, FIFOs and devices; standard output
//! closed or full; a run named twice; damaged run folders and checkpoints;
//! escapes in names; endless inputs; mistyped folders. Each case is a
//! reproduction of a defect once found, kept so it stays fixed. The plan
//! battery is fixture-driven: `tests/fixtures/hostile/plans/*.toml`, each
//! naming the error it must get in its first line.

use crate::common;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    time::{Duration, Instant},
};

use atelier::plan::DevicePref;
use atelier::{
    model::ModelSpec,
    plan::RunSpec,
    protocol::{Event, RunRequest},
    store::{RunStatus, RunStore},
    train::{checkpoint, Trainer},
};
use tch::Tensor;

/// A tiny plan: an MLP that trains in a second on the synthetic data.
const PLAN: &str = r#"
[[run]]
name = "T"
epochs = 2
batch_size = 50
device = "cpu"
model = { kind = "mlp", hidden = [16] }
"#;

/// How long any one command may take before the test calls it hung.
const HANG: Duration = Duration::from_secs(120);

/// A synthetic dataset, a runs folder and one finished run of [`PLAN`].
struct Bench {
    data: tempfile::TempDir,
    runs: tempfile::TempDir,
    plan: PathBuf,
    id: String,
}

impl Bench {
    fn new() -> Self {
        let data = tempfile::tempdir().unwrap();
        common::write_idx_dataset(data.path(), 1_000, 200);
        let plan = data.path().join("tiny.toml");
        fs::write(&plan, PLAN).unwrap();
        let runs = tempfile::tempdir().unwrap();
        let bench = Self {
            data,
            runs,
            plan,
            id: String::new(),
        };
        let output = captured(&mut bench.train());
        assert!(output.status.success(), "{}", text(&output.stderr));
        let id = bench.store().list().0[0].id.to_string();
        Self { id, ..bench }
    }

    fn atelier(&self) -> Command {
        common::atelier(self.data.path(), self.runs.path())
    }

    fn train(&self) -> Command {
        let mut command = self.atelier();
        command.args(["train", "--plan"]).arg(&self.plan);
        command
    }

    fn store(&self) -> RunStore {
        RunStore::open(self.runs.path()).unwrap()
    }

    fn run_dir(&self) -> PathBuf {
        self.runs.path().join(&self.id)
    }

    /// Runs `args` to the end (or fails the test after [`HANG`]).
    fn run(&self, args: &[&str]) -> Output {
        captured(self.atelier().args(args))
    }
}

/// Runs `command` with its output captured, to the end or [`HANG`].
fn captured(command: &mut Command) -> Output {
    finish(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Waits for `child` with its output, killing it and failing after [`HANG`].
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + HANG;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a command hung for {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fails when `status` is a panic's (101) or a success.
fn assert_clean_failure(status: ExitStatus, stderr: &str) {
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Every file under `dir` with its bytes, to show nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let kind = fs::symlink_metadata(&path).unwrap().file_type();
            if kind.is_symlink() {
                let target = fs::read_link(&path).unwrap();
                files.push((path, target.into_os_string().into_encoded_bytes()));
            } else if kind.is_dir() {
                stack.push(path);
            } else if !path.to_string_lossy().ends_with(".lock") {
                let bytes = fs::read(&path).unwrap_or_default();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
}

/// A character device like /dev/full in `dir`, where this process may make
/// one (root); never the real /dev nodes, which a regression would replace.
fn char_device(dir: &Path) -> Option<PathBuf> {
    let path = dir.join("full.txt");
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; (1, 7) is the kernel's "full".
    let made = unsafe { libc::mknod(name.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 7)) };
    (made == 0).then_some(path)
}

#[test]
fn no_output_path_replaces_a_run_file_a_link_a_fifo_or_a_device() {
    let bench = Bench::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let keep = elsewhere.path().join("keep.txt");
    fs::write(&keep, "mine").unwrap();
    let link = elsewhere.path().join("link.txt");
    std::os::unix::fs::symlink(&keep, &link).unwrap();
    let fifo = elsewhere.path().join("fifo.txt");
    mkfifo(&fifo);
    let loose = bench.runs.path().join("notes.txt");
    fs::write(&loose, "runs-folder notes").unwrap();
    let mut targets = vec![
        bench.run_dir().join("run.json"),
        bench.run_dir().join("final.safetensors"),
        bench.run_dir().join("events.jsonl"),
        loose.clone(),
        link.clone(),
        fifo.clone(),
    ];
    targets.extend(char_device(elsewhere.path()));
    let before = snapshot(bench.runs.path());
    for target in &targets {
        let path = target.to_str().unwrap();
        for args in [
            vec!["export", &bench.id, "--onnx", path],
            vec!["export", &bench.id, "--onnx", path, "--force"],
            vec!["screenshot", "--view", "runs", "-o", path],
            vec!["screenshot", "--view", "runs", "-o", path, "--force"],
            vec!["export", &bench.id, "--tensorboard", path, "--force"],
            vec!["report", "-o", path, "--force"],
        ] {
            let output = bench.run(&args);
            let stderr = text(&output.stderr);
            assert_clean_failure(output.status, &stderr);
            assert!(stderr.contains(path), "{args:?}: {stderr}");
        }
    }
    assert_eq!(snapshot(bench.runs.path()), before, "a stored byte changed");
    assert_eq!(fs::read_to_string(&keep).unwrap(), "mine");
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    // The report writes a folder of files: into a run's folder, never over them.
    let output = bench.run(&["report", "-o", bench.runs.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listed = bench.run(&["runs"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(text(&listed.stdout).contains(&bench.id));
}

#[test]
fn an_existing_file_of_another_kind_is_replaced_only_with_force() {
    let bench = Bench::new();
    let out = tempfile::tempdir().unwrap();
    let model = out.path().join("model.onnx");
    fs::write(&model, "my notes, not a model").unwrap();
    let path = model.to_str().unwrap();
    let refused = bench.run(&["export", &bench.id, "--onnx", path]);
    let stderr = text(&refused.stderr);
    assert_clean_failure(refused.status, &stderr);
    assert!(
        stderr.contains("is not an ONNX model") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&model).unwrap(), "my notes, not a model");
    let forced = bench.run(&["export", &bench.id, "--onnx", path, "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    // An older model is replaced without asking, as an older screenshot is.
    let again = bench.run(&["export", &bench.id, "--onnx", path]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let shot = out.path().join("runs.txt");
    for _ in 0..2 {
        let output = bench.run(&["screenshot", "--view", "runs", "-o", shot.to_str().unwrap()]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
}

/// Queues a run in `bench`'s store and leaves it interrupted before it
/// trained, as a cancelled Slurm task or `--jobs` worker leaves one.
fn interrupted_run(bench: &Bench) -> String {
    let store = bench.store();
    let request = RunRequest {
        id: store.new_id("U"),
        plan: "test".into(),
        spec: RunSpec {
            epochs: 1,
            batch_size: 50,
            device: DevicePref::Cpu,
            ..RunSpec::new("U", ModelSpec::tiny_mlp())
        },
    };
    store.create_queued(&request).unwrap();
    assert!(store.interrupt_if_queued(&request.id));
    request.id.to_string()
}

#[test]
fn a_run_named_twice_is_resumed_once_and_no_command_leaves_its_lock_held() {
    let bench = Bench::new();
    let store = bench.store();
    let twice = interrupted_run(&bench);
    let by_id_and_name = interrupted_run(&bench);
    let cases: Vec<Vec<&str>> = vec![
        vec!["resume", &twice, &twice],
        vec!["resume", &by_id_and_name, "U"],
        vec!["resume", &bench.id],
        vec!["resume", "no-such-run"],
        vec!["resume", &bench.id, "no-such-run"],
        vec!["train", "--plan", "/nonexistent.toml"],
        vec!["train", "--only", "M1", "--limit-train", "1000000"],
    ];
    for args in cases {
        let output = bench.run(&args);
        assert!(!text(&output.stderr).contains("panicked"), "{args:?}");
        let lock = store.lock_device("cpu");
        assert!(
            lock.is_ok(),
            "{args:?} left the cpu lock held: {:?}",
            lock.err()
        );
    }
    for id in [&twice, &by_id_and_name] {
        assert_eq!(store.load(id).unwrap().status, RunStatus::Done, "{id}");
    }
    // And training goes on in that folder.
    let output = captured(&mut bench.train());
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// Commands that only print, as a user would run them on `bench`.
fn printing_commands(bench: &Bench) -> Vec<Vec<String>> {
    let plan = bench.plan.to_str().unwrap();
    let out = bench.data.path().join("out");
    fs::create_dir_all(&out).unwrap();
    [
        vec!["runs"],
        vec!["runs", "--json"],
        vec!["runs", "show", &bench.id],
        vec!["runs", "groups"],
        vec!["runs", "groups", "--json"],
        vec!["compare", &bench.id, &bench.id],
        vec!["data", "info"],
        vec!["train", "--plan", plan, "--dry-run"],
        vec![
            "export",
            &bench.id,
            "--onnx",
            out.join("m.onnx").to_str().unwrap(),
        ],
        vec!["report", "-o", out.join("report").to_str().unwrap()],
        vec![
            "screenshot",
            "--view",
            "runs",
            "-o",
            out.join("s.txt").to_str().unwrap(),
        ],
        vec!["completions", "bash"],
        vec![
            "bench",
            "MLP",
            "--synthetic",
            "--steps",
            "2",
            "--rounds",
            "1",
            "--threads",
            "1",
        ],
    ]
    .iter()
    .map(|args| args.iter().map(ToString::to_string).collect())
    .collect()
}

#[test]
fn a_full_or_closed_standard_output_ends_commands_with_an_error_never_a_panic() {
    let bench = Bench::new();
    for args in printing_commands(&bench) {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let output = finish(
            bench
                .atelier()
                .args(&args)
                .stdout(full)
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let stderr = text(&output.stderr);
        assert_clean_failure(output.status, &stderr);
        assert!(
            stderr.contains("standard output") || stderr.contains("to stdout"),
            "{args:?}: {stderr}"
        );

        let mut child = bench
            .atelier()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = finish(child);
        let stderr = text(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(output.status.code(), Some(101), "{args:?}: {stderr}");
    }
}

#[test]
fn training_outlives_a_closed_or_full_standard_output_and_stores_its_run() {
    let bench = Bench::new();
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = finish(
        bench
            .train()
            .stdout(full)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("training goes on"), "{stderr}");

    // `| head -1`: the reader takes one line and goes away.
    let mut child = bench
        .train()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let output = finish(child);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let (records, errors) = bench.store().list();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 3);
    for record in records {
        assert_eq!(record.status, RunStatus::Done, "{}", record.id);
        assert_eq!(record.epochs_done, 2);
        assert!(bench
            .runs
            .path()
            .join(record.id.as_str())
            .join("final.safetensors")
            .is_file());
    }
}

#[test]
fn a_damaged_or_unreadable_run_is_named_by_every_command_that_asks_for_it() {
    let bench = Bench::new();
    let record = bench.run_dir().join("run.json");
    let whole = fs::read(&record).unwrap();
    fs::write(&record, &whole[..whole.len() / 2]).unwrap();
    let out = bench.data.path().join("out");
    let path = record.display().to_string();
    let cases: Vec<Vec<String>> = [
        vec!["runs", "show", &bench.id],
        vec!["runs", "show", "T"],
        vec!["compare", &bench.id, "T"],
        vec![
            "export",
            &bench.id,
            "--onnx",
            out.join("m.onnx").to_str().unwrap(),
        ],
        vec!["resume", &bench.id],
        vec![
            "screenshot",
            "--run",
            &bench.id,
            "-o",
            out.join("s.txt").to_str().unwrap(),
        ],
        vec!["runs"],
        vec!["runs", "--json"],
    ]
    .iter()
    .map(|args| args.iter().map(ToString::to_string).collect())
    .collect();
    for args in cases {
        let output = finish(
            bench
                .atelier()
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let stderr = text(&output.stderr);
        assert_clean_failure(output.status, &stderr);
        assert!(stderr.contains(&path), "{args:?}: {stderr}");
    }
    assert_eq!(
        fs::read(&record).unwrap(),
        &whole[..whole.len() / 2],
        "nothing rewrote it"
    );
}

#[test]
fn a_runs_folder_the_user_cannot_read_is_an_error_not_an_empty_list() {
    let bench = Bench::new();
    fs::set_permissions(bench.runs.path(), fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads every folder: ask as `nobody` where this test runs as root.
    let binary = env!("CARGO_BIN_EXE_atelier");
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--", binary]);
        command
    } else {
        Command::new(binary)
    };
    command
        .arg("--runs-dir")
        .arg(bench.runs.path())
        .args(["runs", "--json"]);
    let output = command.output();
    fs::set_permissions(bench.runs.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let output = output.expect("runuser (util-linux) runs the command as nobody");
    let stderr = text(&output.stderr);
    if stderr.contains("Permission denied") && !stderr.contains("runs folder") {
        // `nobody` cannot reach the binary itself (a private checkout).
        eprintln!("skipped: nobody cannot run {binary}: {stderr}");
        return;
    }
    assert_clean_failure(output.status, &stderr);
    assert!(stderr.contains("cannot read the runs folder"), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
}

#[test]
fn export_refuses_weights_of_another_shape() {
    let bench = Bench::new();
    let final_weights = bench.run_dir().join(checkpoint::FINAL_FILE);
    let mut tensors = Tensor::read_safetensors(&final_weights).unwrap();
    tensors[0].1 = Tensor::zeros([3, 3], tch::kind::FLOAT_CPU);
    let named: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    Tensor::write_safetensors(&named, &final_weights).unwrap();
    let out = tempfile::tempdir().unwrap();
    let model = out.path().join("m.onnx");
    let output = bench.run(&["export", &bench.id, "--onnx", model.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_clean_failure(output.status, &stderr);
    assert!(
        stderr.contains("has shape [3, 3]") && stderr.contains("final.safetensors"),
        "{stderr}"
    );
    assert!(!model.exists(), "no broken model written");
}

/// A run of [`PLAN`]'s model trained for one epoch of three and stopped,
/// with its `last.safetensors`; returns the trainer's store and the run id.
fn stopped_after_one_epoch(data: &Path, runs: &Path) -> (RunStore, String) {
    let store = RunStore::open(runs).unwrap();
    let trainer =
        Trainer::spawn(common::synthetic_source(data, 1_000, 200), store.clone()).unwrap();
    let request = common::request(&store, "C", 3);
    let id = request.id.to_string();
    trainer.send(atelier::protocol::Command::Queue(Box::new(request)));
    common::wait_for(&trainer, "epoch 1", |event| {
        matches!(event, Event::EpochEnd { epoch: 1, .. })
    });
    trainer.send(atelier::protocol::Command::Cancel { run: None });
    common::wait_for(&trainer, "the stop", Event::is_terminal);
    trainer.shutdown();
    (store, id)
}

/// `last.safetensors` with `key` set to `value`.
fn set_checkpoint_number(path: &Path, key: &str, value: i64) {
    let mut tensors = Tensor::read_safetensors(path).unwrap();
    match tensors.iter_mut().find(|(name, _)| name == key) {
        Some((_, tensor)) => *tensor = Tensor::from(value),
        None => tensors.push((key.to_string(), Tensor::from(value))),
    }
    let named: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    Tensor::write_safetensors(&named, path).unwrap();
}

#[test]
fn resume_refuses_a_checkpoint_past_the_runs_end_and_keeps_what_was_saved() {
    let data = tempfile::tempdir().unwrap();
    let runs = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, i64)], &str); 3] = [
        (
            &[("resume.epochs_done", 7)],
            "resume.epochs_done is 7, but the run has only 3 epochs",
        ),
        (
            &[("resume.best_epoch", 2)],
            "resume.best_epoch is 2, after the 1 epoch done",
        ),
        (
            &[
                ("resume.within.step", 1_000),
                ("resume.within.loss_sum", 0),
                ("resume.within.correct", 0),
                ("resume.within.samples", 0),
                ("resume.within.dropout_state", 0),
                ("resume.within.seconds", 0),
            ],
            "resume.within.step is 1000, but an epoch of this run has",
        ),
    ];
    for (damage, expected) in cases {
        let (store, id) = stopped_after_one_epoch(data.path(), runs.path());
        let last = store.run_dir(&id).join(checkpoint::LAST_FILE);
        for (key, value) in damage {
            set_checkpoint_number(&last, key, *value);
        }
        let damaged = fs::read(&last).unwrap();
        let output = common::atelier(data.path(), runs.path())
            .args(["resume", &id])
            .output()
            .unwrap();
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        assert_clean_failure(output.status, &stderr);
        assert!(
            stderr.contains(expected) && stderr.contains("last.safetensors"),
            "{stdout}{stderr}"
        );
        let record = store.load(&id).unwrap();
        assert_ne!(record.status, RunStatus::Done, "{stdout}");
        assert_eq!(record.epochs_done, 1);
        assert_eq!(fs::read(&last).unwrap(), damaged, "the checkpoint is kept");
    }
}

/// A run stored by an older version, with escapes in its name and label.
fn escaped_run(bench: &Bench) -> String {
    let store = bench.store();
    let mut request = common::request(&store, "E", 1);
    request.spec.name = "E\u{1b}[2J\u{1b}[Hcleared".into();
    request.spec.label = Some("\u{1b}[31mred\nsecond line".into());
    let mut writer = store.create(&request).unwrap();
    for event in common::run_events(&request.id, 1) {
        writer.record(&event).unwrap();
    }
    request.id.to_string()
}

#[test]
fn escapes_in_stored_names_never_reach_the_terminal() {
    let bench = Bench::new();
    let id = escaped_run(&bench);
    let report = bench.data.path().join("report");
    for args in [
        vec!["runs"],
        vec!["runs", "show", &id],
        vec!["runs", "groups"],
        vec!["compare", &id, &bench.id],
        vec!["report", "-o", report.to_str().unwrap()],
    ] {
        let output = bench.run(&args);
        let stdout = text(&output.stdout);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(!stdout.contains('\u{1b}'), "{args:?}: {stdout:?}");
        assert!(
            stdout.contains("\\u{1b}") || args[0] == "report",
            "{args:?}: {stdout}"
        );
    }
    for file in ["results.md", "results.csv", "groups.csv"] {
        let written = fs::read_to_string(report.join(file)).unwrap();
        assert!(!written.contains('\u{1b}'), "{file}: {written:?}");
    }
}

/// Each `tests/fixtures/hostile/plans/*.toml` names the error it must get on
/// its first line (`# expect: …`); none may pass, panic or train.
#[test]
fn every_hostile_plan_is_refused_with_its_own_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/plans");
    let mut plans: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    plans.sort();
    assert!(plans.len() >= 10, "the battery is in {}", dir.display());
    let runs = tempfile::tempdir().unwrap();
    for plan in plans {
        let text_of_plan = fs::read_to_string(&plan).unwrap();
        let expected = text_of_plan
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: no `# expect:` line", plan.display()));
        let output = Command::new(env!("CARGO_BIN_EXE_atelier"))
            .arg("--runs-dir")
            .arg(runs.path())
            .args(["train", "--dry-run", "--plan"])
            .arg(&plan)
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(1 | 2)) && stderr.contains(expected),
            "{}: expected {expected:?}, got {:?}: {stderr}",
            plan.display(),
            output.status.code()
        );
    }
    let endless = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["train", "--dry-run", "--plan", "/dev/zero"])
        .output()
        .unwrap();
    let stderr = text(&endless.stderr);
    assert_clean_failure(endless.status, &stderr);
    assert!(stderr.contains("/dev/zero: larger than 4 MiB"), "{stderr}");
}

#[test]
fn read_only_commands_on_a_mistyped_runs_folder_create_nothing() {
    let bench = Bench::new();
    let missing = bench.data.path().join("runz");
    let out = bench.data.path().join("out");
    for args in [
        vec!["runs"],
        vec!["runs", "show", "T"],
        vec!["runs", "groups"],
        vec!["compare", "T", "T"],
        vec!["report", "-o", out.to_str().unwrap()],
        vec!["screenshot", "-o", out.join("s.txt").to_str().unwrap()],
        vec![
            "export",
            "T",
            "--onnx",
            out.join("m.onnx").to_str().unwrap(),
        ],
        vec!["resume", "T"],
    ] {
        let output = common::atelier(bench.data.path(), &missing)
            .args(&args)
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_clean_failure(output.status, &stderr);
        assert!(stderr.contains("no such runs folder"), "{args:?}: {stderr}");
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

#[test]
fn atelier_s_own_slurm_folder_is_no_broken_run() {
    let bench = Bench::new();
    let submission = bench
        .runs
        .path()
        .join("slurm")
        .join("20261206-000000-sweep");
    fs::create_dir_all(&submission).unwrap();
    fs::write(submission.join("submission.json"), "{}").unwrap();
    let output = bench.run(&["runs"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("skipped"), "{stderr}");
}

#[test]
fn small_inputs_are_checked_where_they_enter() {
    let bench = Bench::new();
    let page = bench.run(&[
        "screenshot",
        "--view",
        "gallery",
        "--page",
        "0",
        "-o",
        "/tmp/never.txt",
    ]);
    assert_eq!(page.status.code(), Some(2), "{}", text(&page.stderr));
    assert!(text(&page.stderr).contains("pages count from 1"));
    let seeds = bench.run(&["train", "--dry-run", "--seeds", "10001"]);
    assert_eq!(seeds.status.code(), Some(2));
    let limit = bench.run(&[
        "train",
        "--dry-run",
        "--only",
        "M1",
        "--limit-train",
        "48001",
    ]);
    let stderr = text(&limit.stderr);
    assert_clean_failure(limit.status, &stderr);
    assert!(
        stderr.contains("limit_train is 48001, more than the 48000 training images"),
        "{stderr}"
    );
    // Impossible values in a stored record name the file and the key.
    let record = bench.run_dir().join("run.json");
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    json["test_accuracy"] = serde_json::json!(7.5);
    fs::write(&record, json.to_string()).unwrap();
    let shown = bench.run(&["runs", "show", &bench.id]);
    let stderr = text(&shown.stderr);
    assert_clean_failure(shown.status, &stderr);
    assert!(
        stderr.contains("\"test_accuracy\" is 7.5, expected an accuracy in [0, 1]"),
        "{stderr}"
    );
}

#[test]
fn parallel_workers_are_never_more_than_the_runs() {
    let bench = Bench::new();
    let output = captured(bench.train().args(["--jobs", "3", "--threads", "1"]));
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("1 run on 1 worker"), "{stdout}");
}

/// One way a run folder gets damaged: a name for the report, and the damage.
type Damage = (&'static str, fn(&Path));

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
}

fn edit_record(run: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = run.join("run.json");
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut json);
    write(&path, json.to_string().as_bytes());
}

/// The corrupted folders of the red-team battery.
const DAMAGE: &[Damage] = &[
    ("run.json truncated", |run| {
        let bytes = fs::read(run.join("run.json")).unwrap();
        write(&run.join("run.json"), &bytes[..bytes.len() / 3]);
    }),
    ("run.json empty", |run| write(&run.join("run.json"), b"")),
    ("run.json binary", |run| {
        write(&run.join("run.json"), b"\x00\xff\x1b[2J\xfe");
    }),
    ("run.json of wrong types", |run| {
        write(&run.join("run.json"), br#"{"id": 3, "spec": []}"#);
    }),
    ("run.json of another folder", |run| {
        edit_record(run, |json| json["id"] = "elsewhere".into());
    }),
    ("run.json accuracy below 0", |run| {
        edit_record(run, |json| json["test_accuracy"] = (-1.0).into());
    }),
    ("run.json best epoch 99", |run| {
        edit_record(run, |json| json["best_epoch"] = 99.into());
    }),
    ("run.json 17 MiB", |run| {
        write(&run.join("run.json"), &vec![b' '; 17 << 20]);
    }),
    ("run.json endless", |run| {
        fs::remove_file(run.join("run.json")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", run.join("run.json")).unwrap();
    }),
    ("run.json a folder", |run| {
        fs::remove_file(run.join("run.json")).unwrap();
        fs::create_dir(run.join("run.json")).unwrap();
    }),
    ("run.json gone", |run| {
        fs::remove_file(run.join("run.json")).unwrap();
    }),
    ("events.jsonl garbage", |run| {
        write(&run.join("events.jsonl"), b"{\"kind\":\n\x00\x01\n");
    }),
    ("events.jsonl gone", |run| {
        fs::remove_file(run.join("events.jsonl")).unwrap();
    }),
    ("final.safetensors truncated", |run| {
        write(&run.join("final.safetensors"), b"\x08\x00\x00");
    }),
    ("predictions.safetensors garbage", |run| {
        write(
            &run.join("predictions.safetensors"),
            b"\xff\x00\x00\x00\x00\x00\x00\x00{}",
        );
    }),
    ("a file where a run folder was", |run| {
        fs::remove_dir_all(run).unwrap();
        write(run, b"not a folder");
    }),
];

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every read command on every damaged folder: no panic, no hang, and no
/// stored byte changed.
#[test]
fn damaged_run_folders_are_read_without_a_panic_or_a_change() {
    let bench = Bench::new();
    let out = tempfile::tempdir().unwrap();
    for (name, damage) in DAMAGE {
        let runs = tempfile::tempdir().unwrap();
        copy_tree(bench.runs.path(), runs.path());
        damage(&runs.path().join(&bench.id));
        let before = snapshot(runs.path());
        let onnx = out.path().join("m.onnx");
        let shot = out.path().join("s.txt");
        for args in [
            vec!["runs"],
            vec!["runs", "show", &bench.id],
            vec!["runs", "groups", "--json"],
            vec!["compare", &bench.id, "T"],
            vec!["export", &bench.id, "--onnx", onnx.to_str().unwrap()],
            vec![
                "screenshot",
                "--view",
                "confusion",
                "-o",
                shot.to_str().unwrap(),
            ],
            vec!["report", "-o", out.path().join("report").to_str().unwrap()],
        ] {
            let output = captured(common::atelier(bench.data.path(), runs.path()).args(&args));
            let stderr = text(&output.stderr);
            assert!(
                !stderr.contains("panicked") && output.status.code() != Some(101),
                "{name}: {args:?}: {stderr}"
            );
        }
        assert_eq!(
            snapshot(runs.path()),
            before,
            "{name}: a stored byte changed"
        );
    }
}
