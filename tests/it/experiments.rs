//! Experiments end to end: sweep plans expanded and refused, runs grouped
//! by their settings, and `atelier compare` / `runs --json` read by scripts.

use crate::common;

use std::{path::Path, process::Command};

use atelier::{
    model::ModelSpec,
    plan::{Reference, RunSpec},
    store::RunStore,
};

/// Runs the binary on a runs folder; (success, stdout, stderr).
fn atelier(runs: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--runs-dir")
        .arg(runs)
        .args(args)
        .env_remove("ATELIER_RUNS")
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

fn plan_file(dir: &Path, text: &str) -> String {
    let path = dir.join("grid.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn a_dry_run_lists_the_expanded_sweep_in_training_order() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(
        dir.path(),
        "[[sweep]]\nname = \"M2\"\nmodel = { kind = \"cnn\", conv = [64], dense = 16 }\nseeds = 2\ngrid = { learning_rate = [1e-3, 3e-4] }\n",
    );
    let (ok, stdout, stderr) = atelier(dir.path(), &["train", "--plan", &plan, "--dry-run"]);
    assert!(ok, "{stderr}");
    let names: Vec<&str> = stdout
        .lines()
        .skip(1)
        .filter_map(|line| line.split("  ").next())
        .take(4)
        .collect();
    assert_eq!(
        names,
        [
            "M2 lr=1e-3 seed=1",
            "M2 lr=3e-4 seed=1",
            "M2 lr=1e-3 seed=2",
            "M2 lr=3e-4 seed=2"
        ]
    );
    assert!(
        stdout.contains("4 runs in 2 groups; nothing trained"),
        "{stdout}"
    );
    assert!(!dir.path().join("20").exists());
    // --seeds replaces the sweep's own seeds; --only picks a group.
    let (ok, stdout, _) = atelier(
        dir.path(),
        &[
            "train",
            "--plan",
            &plan,
            "--dry-run",
            "--seeds",
            "3",
            "--only",
            "M2 lr=3e-4",
        ],
    );
    assert!(ok);
    assert!(stdout.contains("3 runs in 1 group;"), "{stdout}");
    assert!(stdout.contains("M2 lr=3e-4 seed=3"), "{stdout}");
}

#[test]
fn the_dry_run_shows_each_runs_recipe_where_it_is_not_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = atelier(
        dir.path(),
        &[
            "train",
            "--plan",
            "beyond",
            "--only",
            "B1,B1-const",
            "--dry-run",
        ],
    );
    assert!(ok, "{stderr}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in {stdout}"))
            .to_string()
    };
    // The two rows share a model; only their recipes tell them apart.
    assert!(row("B1 ").contains("one-cycle") && !row("B1 ").contains("crop"));
    assert!(row("B1-const").contains("crop ±2 px") && !row("B1-const").contains("one-cycle"));
    let (_, seed, _) = atelier(dir.path(), &["train", "--only", "M1", "--dry-run"]);
    assert!(
        !seed.contains(" · "),
        "the seed plan has no recipe to show: {seed}"
    );
}

#[test]
fn a_bad_sweep_is_refused_before_anything_trains() {
    let dir = tempfile::tempdir().unwrap();
    let bad = plan_file(
        dir.path(),
        "[[sweep]]\nname = \"wide\"\nmodel = { kind = \"mlp\", hidden = [8] }\ngrid = { \"model.conv\" = [[8]] }\n",
    );
    let (ok, _, stderr) = atelier(dir.path(), &["train", "--plan", &bad]);
    assert!(!ok);
    assert!(
        stderr.contains("grid.toml: sweep \"wide\": model.conv: the sweep's model is an MLP"),
        "{stderr}"
    );
    let big = plan_file(
        dir.path(),
        "[[sweep]]\nname = \"big\"\nmodel = { kind = \"mlp\", hidden = [8] }\nseeds = 60\n",
    );
    let (ok, _, stderr) = atelier(
        dir.path(),
        &["train", "--plan", &big, "--limit-train", "10"],
    );
    assert!(!ok);
    assert!(
        stderr.contains("sweep \"big\" expands to 60 runs, more than 50; raise the sweep's max_runs or pass --yes"),
        "{stderr}"
    );
    let (ok, _, stderr) = atelier(dir.path(), &["train", "--plan", &big, "--dry-run", "--yes"]);
    assert!(ok, "--yes confirms: {stderr}");
    let (ok, _, stderr) = atelier(dir.path(), &["train", "--seeds", "9", "--dry-run"]);
    assert!(!ok);
    assert!(
        stderr.contains("with --seeds it expands to 54 runs"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the plan file: no run folder was made"
    );
}

/// Five M1 and five M2 seeds, and an MLP, stored by hand.
fn study(store: &RunStore) -> (Vec<String>, Vec<String>) {
    let reference = Some(Reference {
        test_accuracy: 0.9094,
        test_loss: 0.3163,
    });
    let m1 = RunSpec {
        epochs: 2,
        reference,
        ..RunSpec::new("M1", ModelSpec::tiny_mlp())
    };
    let m2 = RunSpec {
        model: ModelSpec::Mlp {
            hidden: vec![8],
            dropout: true,
        },
        ..RunSpec::new("M2", ModelSpec::tiny_mlp())
    };
    let m2 = RunSpec { epochs: 2, ..m2 };
    let ones: Vec<String> = [0.8990, 0.8960, 0.9011, 0.8952, 0.8942]
        .iter()
        .enumerate()
        .map(|(i, &a)| common::run_with_accuracy(store, &m1, i as u64 + 1, a).to_string())
        .collect();
    let twos: Vec<String> = [0.8950, 0.8921, 0.8990, 0.8902, 0.8937]
        .iter()
        .enumerate()
        .map(|(i, &a)| common::run_with_accuracy(store, &m2, i as u64 + 1, a).to_string())
        .collect();
    (ones, twos)
}

#[test]
fn compare_gives_welchs_verdict_on_two_groups_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    study(&store);
    let (ok, stdout, stderr) = atelier(dir.path(), &["compare", "M2", "M1"]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("NAME "), "{stdout}");
    assert!(
        lines[1].starts_with("M2 ") && lines[1].contains(" 5     5  "),
        "{stdout}"
    );
    assert!(lines[2].contains("  0.9094, −1.23 points  "), "{stdout}");
    // scipy.stats.ttest_ind(m2, m1, equal_var=False): p = 0.1535.
    assert_eq!(
        lines[3],
        "M2 (5 seeds) − M1 (5 seeds): −0.31 points, 95% CI −0.76 … +0.14, p = 0.154: not significant at 0.05"
    );
    let (ok, stdout, _) = atelier(dir.path(), &["compare", "m2", "m1", "--json"]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["compared"], "groups");
    assert_eq!(json["test"], "welch");
    assert_eq!(json["a"]["n"], 5);
    assert!(
        (json["p"].as_f64().unwrap() - 0.153_547).abs() < 1e-5,
        "{json}"
    );
    assert!((json["difference_points"].as_f64().unwrap() + 0.31).abs() < 1e-9);
    assert_eq!(json["significant"], false);
}

#[test]
fn compare_gives_mcnemars_verdict_on_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let (ones, twos) = study(&store);
    // On 200 images: the first gets 12 wrong, the second 2 (one of them shared).
    common::write_predictions(&store, &ones[0], &(0..12).collect::<Vec<_>>());
    common::write_predictions(&store, &twos[0], &[0, 150]);
    let (ok, stdout, stderr) = atelier(dir.path(), &["compare", &twos[0], &ones[0], "--json"]);
    assert!(ok, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["compared"], "runs");
    assert_eq!(json["test"], "mcnemar");
    assert_eq!(
        (json["only_a"].as_u64(), json["only_b"].as_u64()),
        (Some(11), Some(1))
    );
    // scipy.stats.binomtest(1, 12).pvalue = 0.006347656.
    assert!(
        (json["p"].as_f64().unwrap() - 0.006_347_656).abs() < 1e-8,
        "{json}"
    );
    assert_eq!(json["significant"], true);
    // A run without predictions is compared on its accuracy alone, and says why.
    let (ok, stdout, _) = atelier(dir.path(), &["compare", &twos[1], &ones[1]]);
    assert!(ok);
    assert!(
        stdout.contains("untested: run M2 seed=2 has no stored test predictions"),
        "{stdout}"
    );
}

#[test]
fn a_name_that_matches_nothing_lists_the_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    study(&store);
    let (ok, _, stderr) = atelier(dir.path(), &["compare", "M3", "M1"]);
    assert!(!ok);
    assert!(
        stderr.contains("no run, group or sweep matches \"M3\" in"),
        "{stderr}"
    );
    // The closest first, one a line: the groups, then their runs.
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(
        lines[..2]
            .iter()
            .any(|l| l.starts_with("  group \"M1\"  5 runs  2 epochs  key ")),
        "{stderr}"
    );
    assert!(
        lines[..2]
            .iter()
            .any(|l| l.starts_with("  group \"M2\"  5 runs")),
        "{stderr}"
    );
    // "2026…" starts every id: several runs, the closest 8 listed.
    let (ok, _, stderr) = atelier(dir.path(), &["compare", "20", "M1"]);
    assert!(!ok);
    assert!(
        stderr.contains("\"20\" is the start of 10 run ids") && stderr.contains("and 2 more"),
        "{stderr}"
    );
    assert!(stderr.contains(" seed=5\""), "{stderr}");
}

#[test]
fn runs_json_says_what_the_tables_say() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let (ones, _) = study(&store);
    let (ok, stdout, stderr) = atelier(dir.path(), &["runs", "--json"]);
    assert!(ok, "{stderr}");
    let runs: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 10);
    assert_eq!(runs[0]["id"], ones[0].as_str());
    assert_eq!(runs[0]["shown_status"], "done");
    assert_eq!(runs[0]["group"]["name"], "M1");
    assert_eq!(runs[0]["spec"]["seed"], 1);
    let (ok, stdout, _) = atelier(dir.path(), &["runs", "show", &ones[0], "--json"]);
    assert!(ok);
    let run: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run["record"]["test_accuracy"], 0.899);
    assert_eq!(run["epochs"].as_array().unwrap().len(), 2);
    assert_eq!(run["test"]["confusion"][0][0], 18);
    let (ok, stdout, _) = atelier(dir.path(), &["runs", "groups"]);
    assert!(ok);
    assert!(
        stdout.contains("M1") && stdout.contains("0.8971 ± 0.0029, 95% CI 0.8935 … 0.9007"),
        "{stdout}"
    );
    let (ok, stdout, _) = atelier(dir.path(), &["runs", "groups", "--json"]);
    assert!(ok);
    let groups: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(groups[1]["name"], "M2");
    assert_eq!(groups[1]["test_accuracy"]["n"], 5);
}

#[test]
fn a_listing_cut_short_by_its_reader_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    // 12,000 lines: far more than a pipe holds, so the writer meets the closed end.
    let mut child = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--runs-dir")
        .arg(dir.path())
        .args(["train", "--dry-run", "--seeds", "2000", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("RUN "), "{first}");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
