//! `atelier sweep` on stored sweeps, its statistics checked against scipy
//! and statsmodels (the interop venv runs `sweep_reference.py`).

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use atelier::{plan::parse_plan, store::RunStore};
use serde_json::{json, Value};

use crate::common;

/// Stores the runs of `plan_text`'s sweep whose index `keep` accepts, each
/// with an accuracy drawn around `truth` of its settings; returns the runs
/// as the reference script reads them.
fn store_sweep(
    store: &RunStore,
    plan_text: &str,
    keys: &[&str],
    keep: impl Fn(usize) -> bool,
    truth: impl Fn(&atelier::plan::RunSpec) -> f64,
) -> Vec<Value> {
    let plan = parse_plan(plan_text, "sweep", Path::new("sweep.toml")).unwrap();
    let mut noise = fastrand::Rng::with_seed(27);
    let mut runs = Vec::new();
    for (index, spec) in plan.runs.iter().enumerate() {
        let accuracy = truth(spec) + (noise.f64() - 0.5) * 0.01;
        if !keep(index) {
            continue;
        }
        common::run_with_accuracy(store, spec, spec.seed, accuracy);
        let settings = spec.settings();
        let values: serde_json::Map<String, Value> = keys
            .iter()
            .map(|key| {
                let value = settings.iter().find(|(k, _)| k == key).unwrap().1.clone();
                ((*key).to_string(), Value::String(value))
            })
            .collect();
        runs.push(json!({"keys": values, "accuracy": accuracy}));
    }
    runs
}

fn sweep_json(runs_dir: &Path, args: &[&str]) -> Value {
    let output = common::atelier(runs_dir, runs_dir)
        .arg("sweep")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The reference statistics of `runs`, or `None` where the venv is missing.
fn reference(keys: &[&str], runs: &[Value], interactions: bool) -> Option<Value> {
    let python = common::interop_python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/sweep_reference.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = json!({"keys": keys, "margin": 0.5, "runs": runs, "interactions": interactions});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

fn close(found: &Value, expected: &Value, what: &str) {
    let (found, expected) = (found.as_f64().unwrap(), expected.as_f64().unwrap());
    assert!(
        (found - expected).abs() <= 1e-7 * expected.abs().max(1e-12) + 1e-12,
        "{what}: atelier {found}, reference {expected}"
    );
}

/// atelier's effects and pairs against scipy's and statsmodels'.
fn check_against_reference(report: &Value, keys: &[&str], runs: &[Value]) {
    let interactions = !report["interactions"].as_array().unwrap().is_empty();
    let Some(reference) = reference(keys, runs, interactions) else {
        return;
    };
    for effect in report["effects"].as_array().unwrap() {
        let key = effect["key"].as_str().unwrap();
        let line = &reference["anova"][key];
        close(&effect["f"], &line["f"], &format!("F of {key}"));
        close(&effect["p"], &line["p"], &format!("p of {key}"));
        assert_eq!(effect["df"][0].as_f64(), line["df"].as_f64(), "df of {key}");
    }
    for interaction in report["interactions"].as_array().unwrap() {
        let name = format!(
            "{} × {}",
            interaction["keys"][0].as_str().unwrap(),
            interaction["keys"][1].as_str().unwrap()
        );
        close(&interaction["f"], &reference["anova"][&name]["f"], &name);
        close(&interaction["p"], &reference["anova"][&name]["p"], &name);
    }
    let expected = reference["pairs"].as_array().unwrap();
    assert_eq!(report["family"].as_u64(), Some(expected.len() as u64));
    for theirs in expected {
        let (a, b) = (theirs["a"].as_str().unwrap(), theirs["b"].as_str().unwrap());
        let ours = report["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| {
                let (x, y) = (p["a"].as_str().unwrap(), p["b"].as_str().unwrap());
                (x, y) == (a, b) || (x, y) == (b, a)
            })
            .unwrap_or_else(|| panic!("no pair {a} / {b}"));
        close(&ours["p"], &theirs["p"], &format!("p of {a} / {b}"));
        close(
            &ours["p_holm"],
            &theirs["p_holm"],
            &format!("Holm p of {a} / {b}"),
        );
        close(
            &ours["p_equivalence"],
            &theirs["p_tost"],
            &format!("TOST p of {a} / {b}"),
        );
    }
}

const GRID: &str = r#"
[[sweep]]
name = "M1"
model = { kind = "cnn", conv = [64], dense = 16 }
epochs = 2
seeds = 3
grid = { learning_rate = [3e-3, 1e-3, 3e-4], "model.dropout" = [false, true], batch_size = [32, 64] }
"#;

fn truth(spec: &atelier::plan::RunSpec) -> f64 {
    let lr = (spec.learning_rate.log10() + 3.0) * 0.01;
    let dropout = if spec.title().contains("dropout=true") {
        0.003
    } else {
        0.0
    };
    0.90 + lr + dropout + f64::from(spec.batch_size) * 1e-5
}

#[test]
fn an_unbalanced_three_by_two_by_two_sweep_matches_statsmodels() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    let keys = ["batch", "lr", "dropout"];
    // Two runs failed: one configuration has two seeds, another two.
    let runs = store_sweep(
        &store,
        GRID,
        &keys,
        |index| index != 5 && index != 30,
        truth,
    );
    assert_eq!(runs.len(), 34);
    let report = sweep_json(runs_dir.path(), &[]);
    assert_eq!(report["sweep"], "M1");
    assert_eq!(report["keys"], json!(keys));
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 12);
    let mut labels: Vec<&str> = groups
        .iter()
        .map(|g| g["label"].as_str().unwrap())
        .collect();
    for (rank, group) in groups.iter().enumerate() {
        assert_eq!(group["rank"], json!(rank + 1));
        let label = group["label"].as_str().unwrap();
        for key in keys {
            let value = group["keys"][key].as_str().unwrap();
            assert!(label.contains(&format!("{key}={value}")), "{label}");
        }
        assert!(group["ci"].as_array().unwrap().len() == 2, "{group}");
    }
    let means: Vec<f64> = groups.iter().map(|g| g["mean"].as_f64().unwrap()).collect();
    assert!(
        means.windows(2).all(|w| w[0] >= w[1]),
        "best first: {means:?}"
    );
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), 12, "every configuration told apart");
    assert_eq!(report["pairs"].as_array().unwrap().len(), 66);
    let ns: Vec<u64> = groups.iter().map(|g| g["n"].as_u64().unwrap()).collect();
    assert_eq!(ns.iter().filter(|&&n| n == 2).count(), 2);
    let lr = &report["effects"][1];
    assert_eq!(lr["key"], "lr");
    assert_eq!(lr["levels"].as_array().unwrap().len(), 3);
    assert!(
        lr["p"].as_f64().unwrap() < 1e-6,
        "the learning rate matters: {lr}"
    );
    for pair in report["pairs"].as_array().unwrap() {
        let verdict = pair["verdict"].as_str().unwrap();
        assert!(
            ["different", "equivalent", "undecided"].contains(&verdict),
            "{pair}"
        );
        assert!(pair["p_holm"].as_f64() >= pair["p"].as_f64());
    }
    check_against_reference(&report, &keys, &runs);
}

#[test]
fn a_two_by_two_sweep_of_two_seeds_matches_statsmodels() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    let plan = r#"
        [[sweep]]
        name = "small"
        model = { kind = "mlp", hidden = [32] }
        seeds = 2
        grid = { learning_rate = [1e-3, 1e-4], "model.dropout" = [false, true] }
    "#;
    let keys = ["lr", "dropout"];
    let runs = store_sweep(&store, plan, &keys, |_| true, truth);
    let report = sweep_json(runs_dir.path(), &["small", "--margin", "0.5"]);
    assert_eq!(report["groups"].as_array().unwrap().len(), 4);
    assert_eq!(
        report["interactions"].as_array().unwrap().len(),
        1,
        "8 runs for 4 parameters leave 4 degrees of freedom"
    );
    check_against_reference(&report, &keys, &runs);
}

#[test]
fn sweep_prints_its_table_csv_and_heat_table_and_names_bad_flags() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    store_sweep(&store, GRID, &["batch", "lr", "dropout"], |_| true, truth);
    let run = |args: &[&str]| {
        common::atelier(runs_dir.path(), runs_dir.path())
            .arg("sweep")
            .args(args)
            .output()
            .unwrap()
    };
    let text = run(&["--by", "lr,dropout"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success(), "{stdout}");
    assert!(
        stdout.contains("sweep M1 · 12 configurations · 36 runs"),
        "{stdout}"
    );
    assert!(stdout.contains("lr \\ dropout"), "{stdout}");
    assert!(stdout.contains("Holm over 66"), "{stdout}");
    assert!(
        !stdout.contains("  batch  F("),
        "--by lr,dropout leaves batch's effect out"
    );
    let csv = run(&["--csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("rank,label,batch,lr,dropout,n,mean,sd,ci_low,ci_high,like_best")
    );
    assert_eq!(lines.count(), 12);
    for (args, expected) in [
        (
            vec!["--by", "momentum"],
            "--by momentum: the sweep M1 does not vary momentum; it varies batch, lr, dropout",
        ),
        (vec!["M9"], "no sweep named \"M9\"; the stored sweeps: M1"),
        (
            vec!["--margin", "0"],
            "expected accuracy points between 0 and 100",
        ),
        (
            vec!["--by", "lr,dropout,batch"],
            "give one key, or two for a heat table",
        ),
    ] {
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let empty = tempfile::tempdir().unwrap();
    RunStore::open(empty.path()).unwrap();
    let output = common::atelier(empty.path(), empty.path())
        .arg("sweep")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("no sweep among the stored runs"));
}

#[test]
fn runs_groups_and_compare_name_a_sweeps_groups_by_what_differs() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    store_sweep(&store, GRID, &["batch", "lr", "dropout"], |_| true, truth);
    let run = |args: &[&str]| {
        let output = common::atelier(runs_dir.path(), runs_dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let table = run(&["runs", "groups"]);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("M1 ")).collect();
    assert_eq!(rows.len(), 12, "{table}");
    let mut names: Vec<&str> = rows.iter().map(|row| &row[..34]).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 12, "every group told apart: {table}");
    assert!(
        table.contains("M1 batch=64 lr=3e-4 dropout=true "),
        "{table}"
    );
    assert!(
        table.contains("sweep M1: its configurations share epochs=2 "),
        "{table}"
    );
    let json: Value = serde_json::from_str(&run(&["runs", "groups", "--json"])).unwrap();
    let group = &json.as_array().unwrap()[0];
    assert_eq!(group["sweep"], "M1");
    assert!(
        group["label"].as_str().unwrap().starts_with("batch="),
        "{group}"
    );
    let verdict = run(&[
        "compare",
        "M1 batch=32 lr=3e-3 dropout=true",
        "M1 batch=32 lr=1e-3 dropout=true",
    ]);
    assert!(verdict.contains(", Holm over 66 pairs p "), "{verdict}");
    assert!(
        verdict.contains("in sweep M1, one of 66 tested pairs: Holm-adjusted p = "),
        "{verdict}"
    );
    let listed = run(&["runs"]);
    assert!(
        listed.contains("M1 batch=32 lr=1e-3 dropout=false seed=2"),
        "{listed}"
    );
}

#[test]
fn report_writes_the_sweeps_table_effects_and_verdicts() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    let plan = r#"
        [[sweep]]
        name = "small"
        model = { kind = "mlp", hidden = [8] }
        epochs = 1
        seeds = 2
        grid = { learning_rate = [1e-3, 1e-4], "model.dropout" = [false, true] }
    "#;
    store_sweep(&store, plan, &["lr", "dropout"], |_| true, truth);
    let out = runs_dir.path().join("report");
    let output = common::atelier(runs_dir.path(), runs_dir.path())
        .args(["report", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let markdown = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(markdown.starts_with("# Sweep small\n"), "{markdown}");
    assert!(
        markdown.contains("| rank | lr | dropout | n | mean | sd | 95% CI | |"),
        "{markdown}"
    );
    assert!(markdown.contains("| lr | 1e-3 | 4 |"), "{markdown}");
    assert!(
        markdown.contains("6 pairs, 6 tested; p-values adjusted by Holm"),
        "{markdown}"
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
}

#[test]
fn sweep_reads_with_the_plans_margin_unless_told_another() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    let plan = r#"
        [[sweep]]
        name = "wide"
        model = { kind = "mlp", hidden = [8] }
        seeds = 2
        margin = 1.5
        grid = { learning_rate = [1e-3, 1e-4] }
    "#;
    store_sweep(&store, plan, &["lr"], |_| true, truth);
    let report = sweep_json(runs_dir.path(), &[]);
    assert_eq!(report["margin_points"], json!(1.5), "{report}");
    let told = sweep_json(runs_dir.path(), &["--margin", "0.7"]);
    assert_eq!(told["margin_points"], json!(0.7));
    let output = common::atelier(runs_dir.path(), runs_dir.path())
        .arg("sweep")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("margin ±1.50 points"), "{text}");
}

const THREE_KEYS: &str = r#"
    [[sweep]]
    name = "small"
    model = { kind = "mlp", hidden = [8] }
    epochs = 1
    seeds = 2
    margin = 1.0
    grid = { learning_rate = [1e-3, 1e-4], "model.dropout" = [false, true], batch_size = [32, 64] }
"#;

#[test]
fn report_draws_each_keys_effect_and_the_heat_table_of_the_two_that_matter() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    store_sweep(
        &store,
        THREE_KEYS,
        &["batch", "lr", "dropout"],
        |_| true,
        truth,
    );
    let out = runs_dir.path().join("report");
    let output = common::atelier(runs_dir.path(), runs_dir.path())
        .args(["report", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        common::png_size(&out.join("sweep-effects.png")),
        atelier::report::sweep_figures::effects_size(3)
    );
    assert_eq!(
        common::png_size(&out.join("sweep-heat.png")),
        atelier::report::sweep_figures::HEAT_SIZE
    );
    let markdown = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(
        markdown.contains("margin ±1.00 points"),
        "the plan's margin"
    );
}

#[test]
fn a_refused_sweep_figure_leaves_the_report_folder_as_it_was() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    store_sweep(
        &store,
        THREE_KEYS,
        &["batch", "lr", "dropout"],
        |_| true,
        truth,
    );
    let out = tempfile::tempdir().unwrap();
    let notes = out.path().join("sweep-heat.png");
    std::fs::write(&notes, "my notes, not a picture\n").unwrap();
    let output = common::atelier(runs_dir.path(), runs_dir.path())
        .args(["report", "--output"])
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("sweep-heat.png") && stderr.contains("--force"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("sweep-heat.png")]);
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "my notes, not a picture\n"
    );
}

/// The app's sweep view, drawn from stored runs with no terminal: every
/// configuration on its own row at 80×24, the best marked, and the
/// settings' effects below.
#[test]
fn the_sweep_view_draws_a_stored_sweep_at_80x24() {
    let runs_dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(runs_dir.path()).unwrap();
    store_sweep(&store, GRID, &["batch", "lr", "dropout"], |_| true, truth);
    let shot = runs_dir.path().join("sweep.txt");
    let output = common::atelier(runs_dir.path(), runs_dir.path())
        .args([
            "screenshot",
            "--view",
            "sweep",
            "--size",
            "80x24",
            "--output",
        ])
        .arg(&shot)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let screen = std::fs::read_to_string(&shot).unwrap();
    assert!(
        screen.contains("Sweep M1 · 12 configurations · 36 of 36 runs finished"),
        "{screen}"
    );
    let rows: Vec<&str> = screen
        .lines()
        .filter(|line| line.contains(" 3   ") && line.contains('['))
        .collect();
    assert_eq!(rows.len(), 12, "{screen}");
    let mut distinct = rows.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        12,
        "every configuration told apart:\n{screen}"
    );
    assert_eq!(
        screen.matches('★').count(),
        2,
        "the best row and the legend: {screen}"
    );
    assert!(screen.contains("lr p < 0.001:"), "{screen}");
}
