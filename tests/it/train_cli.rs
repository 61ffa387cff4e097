//! `atelier train` end to end on a small synthetic dataset: a plan file,
//! Keras-like output, the stored run, bad plans, and Ctrl-C.

use crate::common;

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
};

const PLAN: &str = r#"
[defaults]
epochs = 2
batch_size = 16

[[run]]
name = "tiny"
label = "MLP [32]"
model = { kind = "mlp", hidden = [32] }
"#;

use common::atelier;

fn setup() -> (tempfile::TempDir, tempfile::TempDir, std::path::PathBuf) {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 1_000, 300);
    let runs = tempfile::tempdir().unwrap();
    let plan = data.path().join("tiny.toml");
    std::fs::write(&plan, PLAN).unwrap();
    (data, runs, plan)
}

#[test]
fn trains_a_plan_file_and_lists_the_run() {
    let (data, runs, plan) = setup();
    let output = atelier(data.path(), runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .args(["--device", "cpu"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "tiny · MLP [32]: 25,450 parameters on cpu, 800 training / 200 validation images"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Epoch 1/2 - "), "{stdout}");
    assert!(stdout.contains("- val_accuracy: "), "{stdout}");
    assert!(stdout.contains("Epoch 2/2 - "), "{stdout}");
    assert!(
        stdout.contains("tiny · MLP [32]: test accuracy "),
        "{stdout}"
    );

    let listing = atelier(data.path(), runs.path())
        .arg("runs")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("tiny") && listing.contains("done"),
        "{listing}"
    );
}

#[test]
fn bad_plan_is_reported_before_training() {
    let (data, runs, plan) = setup();
    std::fs::write(&plan, PLAN.replace("hidden = [32]", "hidden = [32, 0]")).unwrap();
    let output = atelier(data.path(), runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("tiny.toml")
            && stderr.contains("hidden[1]: width must be positive, found 0"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn ctrl_c_stores_the_run_as_interrupted() {
    let (data, runs, plan) = setup();
    let mut child = atelier(data.path(), runs.path())
        .args(["train", "--epochs", "1000", "--plan"])
        .arg(&plan)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Training has begun once the first epoch line is out.
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let started = line.starts_with("Epoch 1/1000");
        seen.push(line);
        if started {
            break;
        }
    }
    common::signal(child.id(), libc::SIGINT);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen:?} {rest:?}");
    let text = rest.join("\n");
    assert!(
        text.contains("interrupted after") && text.contains("complete epoch"),
        "{text}"
    );
    let listing = atelier(data.path(), runs.path())
        .arg("runs")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("interrupted"), "{listing}");
}

#[test]
fn runs_show_prints_history_test_results_and_confusions() {
    let (data, runs, plan) = setup();
    let trained = atelier(data.path(), runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(trained.status.success());
    let output = atelier(data.path(), runs.path())
        .args(["runs", "show", "tiny"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for expected in [
        "tiny · MLP [32]",
        "model       MLP hidden [32]",
        "parameters  25,450",
        "epoch     loss  accuracy  val_loss val_accuracy  seconds",
        "test accuracy ",
        "confusion matrix (rows: true class, columns: predicted)",
        "Ankle boot",
        "recall precision",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    let rows = stdout
        .lines()
        .filter(|line| line.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(rows >= 2, "two epoch rows expected:\n{stdout}");

    let unknown = atelier(data.path(), runs.path())
        .args(["runs", "show", "nope"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert!(stderr.contains("no run matches \"nope\""), "{stderr}");
}

#[test]
fn the_shipped_plans_parse() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/plans");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let plan = atelier::plan::load_plan(&path).unwrap_or_else(|error| panic!("{error}"));
        assert!(!plan.runs.is_empty(), "{}", path.display());
        plan.check_size(false)
            .unwrap_or_else(|error| panic!("{error}"));
        names.push(plan.name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "ablation",
            "beyond",
            "m2-seeds",
            "original-5-seeds",
            "original-5-seeds-gpu",
            "seed",
            "sweep"
        ]
    );
    let ablation = atelier::plan::load_plan(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/plans/ablation.toml"),
    )
    .unwrap();
    assert_eq!(ablation.runs.len(), 24, "2 × 2 × 2 configurations, 3 seeds");
}

#[test]
fn detached_training_outlives_its_parent_and_holds_the_device() {
    let (data, runs, plan) = setup();
    // Long enough that the background run is surely still going when it is
    // frozen below (tiny epochs take milliseconds).
    std::fs::write(&plan, PLAN.replace("epochs = 2", "epochs = 60")).unwrap();
    let output = atelier(data.path(), runs.path())
        .args(["train", "--detach", "--device", "cpu", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The parent has exited; the background process carries the run.
    let pid: u32 = stdout
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {stdout}"));
    let run = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("run "))
        .unwrap_or_else(|| panic!("no run id in {stdout}"))
        .to_string();
    let log = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("log "))
        .map_or_else(|| panic!("no log in {stdout}"), std::path::PathBuf::from);
    // Frozen, so it is certainly still training while a second start is tried.
    common::signal(pid, libc::SIGSTOP);
    for args in [&["train", "--detach"][..], &["train"][..]] {
        let refused = atelier(data.path(), runs.path())
            .args(args)
            .args(["--device", "cpu", "--plan"])
            .arg(&plan)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{args:?} was not refused");
        assert!(
            stderr.contains("already training on cpu")
                && stderr.contains(&format!("pid {pid}"))
                && stderr.contains(&run),
            "{stderr}"
        );
    }
    common::signal(pid, libc::SIGCONT);
    let record = runs.path().join(&run).join("run.json");
    let started = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(&record).unwrap_or_default();
        if text.contains("\"status\": \"done\"") {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the detached run did not finish: {text}\nlog: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("Epoch 60/60"), "{log_text}");
    assert!(log_text.contains("done in"), "{log_text}");
}

#[test]
fn seeds_repeat_a_run_as_one_group_that_resume_keeps() {
    let (data, runs, plan) = setup();
    let output = atelier(data.path(), runs.path())
        .args(["train", "--plan"])
        .arg(&plan)
        .args(["--device", "cpu", "--epochs", "1", "--seeds", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("queued tiny seed=1 · MLP [32]"), "{stdout}");
    assert!(stdout.contains("queued tiny seed=2 · MLP [32]"), "{stdout}");
    assert!(
        stdout.contains("runs: 1/2 done · 0 failed · 1 left · ETA "),
        "{stdout}"
    );
    let store = atelier::store::RunStore::open(runs.path()).unwrap();
    let (records, _) = store.list();
    assert_eq!(records.len(), 2);
    let seeds: Vec<u64> = records.iter().map(|r| r.spec.seed).collect();
    assert_eq!(seeds, [1, 2]);
    let stored: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let text = std::fs::read_to_string(store.run_dir(&r.id).join("run.json")).unwrap();
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["group"].clone()
        })
        .collect();
    assert_eq!(stored[0], stored[1], "one group, written in run.json");
    assert_eq!(stored[0]["name"], "tiny");
    // Continued with more epochs after an interruption, a run keeps its group.
    let id = records[0].id.clone();
    let mut record = store.load(&id).unwrap();
    record.status = atelier::store::RunStatus::Interrupted;
    record.save(&store.run_dir(&id).join("run.json")).unwrap();
    let output = atelier(data.path(), runs.path())
        .args(["resume", id.as_str()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || stderr.contains("nothing to resume"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(store.load(&id).unwrap().group(), records[0].group());
}

#[test]
fn quiet_training_prints_one_line_per_run_as_it_ends() {
    if atelier::data::discover(None).is_err() {
        common::missing("the real dataset is missing: quiet training trains on it");
        return;
    }
    let runs = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--runs-dir")
        .arg(runs.path())
        .env_remove("ATELIER_RUNS")
        .args(["train", "-q", "--limit-train", "500", "--epochs", "1"])
        .args(["--only", "MLP", "--device", "cpu"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(stderr.trim().is_empty(), "{stderr}");
    assert!(!stdout.contains("Epoch"), "{stdout}");
    let store = atelier::store::RunStore::open(runs.path()).unwrap();
    let (records, _) = store.list();
    assert_eq!(records.len(), 1);
    let (head, place) = lines[0]
        .split_once("; stored in ")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(
        std::path::Path::new(place),
        store.run_dir(&records[0].id),
        "{stdout}"
    );
    let (title, done) = head.split_once(": done in ").unwrap();
    assert!(title.starts_with("MLP · "), "{stdout}");
    let (seconds, accuracy) = done.split_once("s, test accuracy ").unwrap();
    assert!(seconds.parse::<u64>().is_ok(), "{stdout}");
    assert_eq!(accuracy.len(), "0.1234".len(), "{stdout}");
    let accuracy: f64 = accuracy.parse().unwrap();
    assert!((0.0..=1.0).contains(&accuracy), "{stdout}");
}
