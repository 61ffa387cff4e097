//! The `atelier` binary end to end: data discovery and bad input give clear
//! errors that name the file, a non-zero exit, and never a panic.

use crate::common;

use std::{path::Path, process::Command};

use atelier::data::idx;

fn atelier(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(args)
        .env_remove("ATELIER_DATA")
        .output()
        .expect("the atelier binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "atelier panicked: {stderr}");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    )
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn data_where_reports_the_flag_folder() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 20, 10);
    let (ok, stdout, _) = atelier(&["--data-dir", path_str(dir.path()), "data", "where"]);
    assert!(ok);
    assert!(
        stdout.contains("IDX (gzip)") && stdout.contains("--data-dir"),
        "{stdout}"
    );
}

#[test]
fn overview_loads_a_small_dataset() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 20, 10);
    let (ok, stdout, stderr) = atelier(&["--data-dir", path_str(dir.path()), "data", "info"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("20 training and 10 test images"),
        "{stdout}"
    );
    assert!(stdout.contains("16 train / 4 validation"), "{stdout}");
}

#[test]
fn missing_data_lists_the_place_and_remedies() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = atelier(&["--data-dir", path_str(dir.path()), "data", "where"]);
    assert!(!ok);
    assert!(stderr.contains(path_str(dir.path())), "{stderr}");
    assert!(
        stderr.contains("apt-get install dataset-fashion-mnist"),
        "{stderr}"
    );
}

#[test]
fn count_mismatch_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 20, 10);
    let labels = dir.path().join(format!("{}.gz", idx::TEST_LABELS));
    std::fs::write(&labels, common::gzip(&idx::encode_labels(&[1; 9]))).unwrap();
    let (ok, _, stderr) = atelier(&["--data-dir", path_str(dir.path()), "data", "info"]);
    assert!(!ok);
    assert!(stderr.contains("holds 10 images but"), "{stderr}");
    assert!(
        stderr.contains("t10k-labels-idx1-ubyte.gz holds 9 labels"),
        "{stderr}"
    );
}

#[test]
fn corrupt_file_is_named_with_its_problem() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 20, 10);
    let images = dir.path().join(format!("{}.gz", idx::TRAIN_IMAGES));
    std::fs::write(&images, b"\x1f\x8bnot really gzip").unwrap();
    let (ok, _, stderr) = atelier(&["--data-dir", path_str(dir.path()), "data", "verify"]);
    assert!(!ok);
    assert!(
        stderr.contains("train-images-idx3-ubyte.gz: not a valid gzip stream"),
        "{stderr}"
    );
}

#[test]
fn verify_flags_a_copy_that_is_not_the_official_one() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 20, 10);
    let (ok, stdout, _) = atelier(&["--data-dir", path_str(dir.path()), "data", "verify"]);
    assert!(!ok, "a 20-image copy must not verify");
    assert!(
        stdout.contains("training split: expected 60000 images, found 20"),
        "{stdout}"
    );
    assert!(stdout.contains("MISMATCH"), "{stdout}");
}

#[test]
fn the_app_refuses_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 20, 10);
    let (ok, _, stderr) = atelier(&["--data-dir", path_str(dir.path())]);
    assert!(!ok);
    assert!(stderr.contains("the app needs a terminal"), "{stderr}");
}

#[test]
fn runs_lists_a_run_whose_process_died_as_crashed() {
    use atelier::store::{RunStatus, RunStore, WriterProcess};
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let finished = common::stored_run(&store, "finished", 1);
    // A run left "running" by a process that is gone (a kill -9, a reboot).
    let request = common::request(&store, "orphan", 2);
    let mut record = atelier::store::RunRecord::new(&request);
    record.status = RunStatus::Running;
    let mut child = Command::new("true").spawn().unwrap();
    record.writer = Some(WriterProcess {
        pid: child.id(),
        ..WriterProcess::current()
    });
    child.wait().unwrap();
    std::fs::create_dir_all(store.run_dir(&record.id)).unwrap();
    record
        .save(&store.run_dir(&record.id).join("run.json"))
        .unwrap();
    let (ok, stdout, stderr) = atelier(&["--runs-dir", path_str(dir.path()), "runs"]);
    assert!(ok, "{stderr}");
    let line = |id: &str| {
        stdout
            .lines()
            .find(|line| line.ends_with(id))
            .unwrap_or_else(|| panic!("{id} missing from\n{stdout}"))
            .to_string()
    };
    assert!(line(&record.id).contains(" crashed "), "{stdout}");
    assert!(line(&finished).contains(" done "), "{stdout}");
}

#[test]
fn bench_prints_json_lines_for_the_peer_comparison_and_names_unknown_models() {
    let (ok, stdout, stderr) = atelier(&[
        "bench",
        "--json",
        "--synthetic",
        "--steps",
        "2",
        "--rounds",
        "1",
        "MLP",
    ]);
    assert!(ok, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["peer"], "atelier");
    assert_eq!(line["model"], "MLP");
    assert!(line["images_per_sec"][0].as_f64().unwrap() > 0.0);
    // The steps belong to the synthetic measurement; epochs to the real one.
    let (ok, _, stderr) = atelier(&["bench", "--steps", "2", "MLP"]);
    assert!(!ok);
    assert!(stderr.contains("--synthetic"), "{stderr}");
    let (ok, _, stderr) = atelier(&["bench", "M9"]);
    assert!(!ok);
    assert!(
        stderr.contains("no model is named \"M9\"; the seed models are M1, M2, M3, M4, M5, MLP, the beyond plan's B1, "),
        "{stderr}"
    );
}

#[test]
fn bench_times_real_epochs_after_warm_ones() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 200, 20);
    let (ok, stdout, stderr) = atelier(&[
        "--data-dir",
        path_str(dir.path()),
        "bench",
        "--json",
        "--images",
        "64",
        "--warm-epochs",
        "1",
        "--timed-epochs",
        "2",
        "MLP",
    ]);
    assert!(ok, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["images_per_sec"].as_array().unwrap().len(), 2);
    assert!(line["first_epoch_images_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(line["epochs"]["images"], 64);
    assert_eq!(line["steps"], 2);
}

#[test]
fn a_slurm_dry_run_creates_no_runs_folder() {
    let scratch = tempfile::tempdir().unwrap();
    let runs = scratch.path().join("shared/me/runs");
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/plans/sweep.toml");
    let (ok, stdout, stderr) = atelier(&[
        "--runs-dir",
        path_str(&runs),
        "slurm",
        "submit",
        "--plan",
        plan,
        "--time",
        "0:30:00",
        "--dry-run",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("#SBATCH --array=0-14"), "{stdout}");
    assert!(stdout.contains("nothing created or submitted"), "{stdout}");
    assert!(
        !scratch.path().join("shared").exists(),
        "a dry run made {}",
        runs.display()
    );
}
