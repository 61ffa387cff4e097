//! What the commands print, for people and for scripts: tables whose
//! columns line up with their content, one JSON document per `--json`,
//! `error:` coloured only on request or on a terminal (never under
//! `NO_COLOR`), `report`'s one-line summary, and help grouped under
//! headings with the short flags people expect and atelier's own commands
//! hidden.

use std::{
    path::Path,
    process::{Command, Output},
};

use atelier::store::RunStore;

use crate::common;

/// The binary with a clean environment: no runs or data folder of the
/// caller's, no colour settings.
fn atelier_env() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    for name in [
        "ATELIER_RUNS",
        "ATELIER_DATA",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "ATELIER_SLURM_BIN",
    ] {
        command.env_remove(name);
    }
    command
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the atelier binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "atelier panicked: {stderr}");
    output
}

/// `atelier --runs-dir RUNS ARGS…`.
fn atelier(runs: &Path, args: &[&str]) -> Output {
    run(atelier_env().arg("--runs-dir").arg(runs).args(args))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `stdout` parsed as one JSON document, after a successful run.
fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|error| panic!("not one JSON document ({error}):\n{}", stdout(output)))
}

/// Where `word` starts in `line`, in characters (the columns a terminal shows
/// for this text).
fn start(line: &str, word: &str) -> usize {
    let byte = line
        .find(word)
        .unwrap_or_else(|| panic!("{word:?} missing from {line:?}"));
    line[..byte].chars().count()
}

/// The character at column `at` of `line`, a space past its end.
fn at(line: &str, at: usize) -> char {
    line.chars().nth(at).unwrap_or(' ')
}

/// A store of three finished runs: a short name, a longer one, and a
/// sweep-like one whose id runs long.
fn store_of_three() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let base = atelier::testing::tiny_spec("M2 lr=3e-4 batch=64 dropout=0.25 wd=1e-4", 1);
    let ids = vec![
        common::stored_run(&store, "alpha", 3).to_string(),
        common::stored_run(&store, "a-rather-longer-run-name", 1).to_string(),
        common::run_with_accuracy(&store, &base, 7, 0.91).to_string(),
    ];
    (dir, ids)
}

#[test]
fn the_runs_table_lines_up_with_its_header_and_ends_each_row_with_the_id() {
    let (dir, ids) = store_of_three();
    let output = atelier(dir.path(), &["runs"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "a header, 3 rows, a summary:\n{text}");
    let header = lines[0];
    assert!(header.starts_with("MODEL "), "{text}");
    let status = start(header, "STATUS");
    let epochs_end = start(header, "EPOCHS") + "EPOCHS".len();
    let run = start(header, "RUN");
    for row in &lines[1..4] {
        // Left-aligned: each cell starts where its header does.
        assert_eq!(start(row, "done"), status, "STATUS misaligned:\n{text}");
        assert!(at(row, status - 1) == ' ', "{text}");
        // Right-aligned: each count ends where its header does.
        assert!(
            at(row, epochs_end - 1).is_ascii_digit(),
            "EPOCHS misaligned:\n{text}"
        );
        assert_eq!(at(row, epochs_end), ' ', "EPOCHS misaligned:\n{text}");
        // The id last, whole, at the RUN column.
        let id: String = row.chars().skip(run).collect();
        assert!(ids.contains(&id), "{id:?} is not an id:\n{text}");
        assert!(!row.ends_with(' '), "trailing spaces:\n{text}");
    }
    assert_eq!(lines[4], format!("3 runs in {}", dir.path().display()));
    // No box drawing, whatever the output is.
    assert!(!text.contains(['│', '─', '┌', '|']), "{text}");
}

#[test]
fn the_groups_and_compare_tables_line_up_too() {
    let (dir, ids) = store_of_three();
    let output = atelier(dir.path(), &["runs", "groups"]);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let runs_end = start(lines[0], "RUNS") + "RUNS".len();
    for row in &lines[1..4] {
        assert!(at(row, runs_end - 1).is_ascii_digit(), "{text}");
        assert_eq!(at(row, runs_end), ' ', "{text}");
    }
    assert!(text.contains("3 groups of 3 runs in "), "{text}");
    let output = atelier(dir.path(), &["compare", &ids[0], &ids[1]]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let accuracy = start(lines[0], "TEST ACCURACY");
    assert_eq!(start(lines[1], "0.9000"), accuracy, "{text}");
    assert_eq!(start(lines[2], "0.9000"), accuracy, "{text}");
    assert!(
        lines[1].ends_with(&ids[0]) && lines[2].ends_with(&ids[1]),
        "{text}"
    );
}

#[test]
fn an_empty_store_says_so_in_words_and_counts_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path()).unwrap();
    let output = atelier(dir.path(), &["runs"]);
    assert!(
        stdout(&output).starts_with("no runs yet in "),
        "{}",
        stdout(&output)
    );
    let id = common::stored_run(&store, "solo", 1);
    let text = stdout(&atelier(dir.path(), &["runs"]));
    assert!(text.contains("\n1 run in "), "{text}");
    let text = stdout(&atelier(dir.path(), &["runs", "show", &id]));
    assert!(text.contains("settings    1 epoch, batch"), "{text}");
    let text = stdout(&atelier(dir.path(), &["runs", "groups"]));
    assert!(text.contains("1 group of 1 run in "), "{text}");
}

#[test]
fn the_dry_run_is_a_table_or_json_and_names_its_plan_once() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[[run]]\nname = \"solo\"\nmodel = { kind = \"mlp\", hidden = [8] }\nepochs = 1\n",
    )
    .unwrap();
    let plan = plan.to_str().unwrap();
    let output = atelier(dir.path(), &["train", "-n", "--plan", plan]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("RUN "), "{text}");
    // A plan named "plan" no longer reads "plan plan", and one run is one.
    assert!(
        text.contains("plan \"plan\": 1 run in 1 group; nothing trained"),
        "{text}"
    );
    let value = json(&atelier(dir.path(), &["train", "--dry-run", "--json"]));
    assert_eq!(value["plan"], "seed");
    let runs = value["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6, "{value}");
    assert_eq!(runs[0]["name"], "M1");
    assert!(runs[0]["spec"]["epochs"].as_u64().unwrap() > 0, "{value}");
    // --json is the dry run's: training prints progress, not a document.
    let output = atelier(dir.path(), &["train", "--json"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--dry-run"), "{}", stderr(&output));
}

#[test]
fn data_where_and_verify_print_json() {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 20, 10);
    let folder = data.path().to_str().unwrap();
    let value = json(&run(atelier_env().args([
        "--data-dir",
        folder,
        "data",
        "where",
        "--json",
    ])));
    assert_eq!(value["folder"], folder);
    assert_eq!(value["found_by"], "--data-dir");
    assert_eq!(value["format"], "IDX (gzip)");
    assert_eq!(value["files"].as_array().unwrap().len(), 4);
    // A copy that is not the official one: exit 1, and still one document.
    let output = run(atelier_env().args(["--data-dir", folder, "data", "verify", "--json"]));
    assert!(!output.status.success());
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["ok"], false);
    assert_eq!(value["train_images"], 20);
    assert_eq!(value["classes"].as_array().unwrap().len(), 10);
    assert_eq!(value["checksums"][0]["ok"], false);
    assert!(value["problems"].as_array().unwrap().len() > 1, "{value}");
}

#[test]
fn export_prints_what_it_wrote_as_json() {
    let (dir, ids) = store_of_three();
    let out = tempfile::tempdir().unwrap();
    let logs = out.path().join("tb");
    let value = json(&atelier(
        dir.path(),
        &[
            "export",
            &ids[0],
            &ids[1],
            "--tensorboard",
            logs.to_str().unwrap(),
            "--json",
        ],
    ));
    assert!(value["onnx"].is_null(), "{value}");
    assert_eq!(value["tensorboard"]["dir"], logs.to_str().unwrap());
    let runs = value["tensorboard"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run"], ids[0].as_str());
    assert!(runs[0]["scalars"].as_u64().unwrap() > 0, "{value}");
    assert!(runs[0]["partial_status"].is_null(), "{value}");
    assert!(Path::new(runs[1]["file"].as_str().unwrap()).is_file());
}

#[test]
fn slurm_status_is_a_table_or_json() {
    let (dir, _) = store_of_three();
    let bin = tempfile::tempdir().unwrap();
    for (tool, script) in [("sbatch", "echo 4242\n"), ("squeue", "exit 0\n")] {
        common::fake_tool(bin.path(), tool, script);
    }
    let slurm = |args: &[&str]| {
        run(atelier_env()
            .env("ATELIER_SLURM_BIN", bin.path())
            .arg("--runs-dir")
            .arg(dir.path())
            .args(args))
    };
    let output = slurm(&["slurm", "status", "--json"]);
    assert_eq!(json(&output), serde_json::json!([]));
    let output = slurm(&[
        "slurm", "submit", "--only", "M1", "--seeds", "2", "--epochs", "1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("(2 tasks) as "),
        "{}",
        stdout(&output)
    );
    let output = slurm(&["slurm", "status"]);
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("job 4242)"), "{text}");
    assert!(lines[1].starts_with("  TASK "), "{text}");
    let slurm_column = start(lines[1], "SLURM");
    for row in &lines[2..4] {
        assert!(row.starts_with("  4242_"), "{text}");
        assert_eq!(start(row, "queued"), start(lines[1], "STATUS"), "{text}");
        assert_eq!(start(row, "lost"), slurm_column, "{text}");
    }
    let value = json(&slurm(&["slurm", "status", "--json"]));
    let tasks = value[0]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{value}");
    assert_eq!(tasks[1]["task"], "4242_1");
    assert_eq!(tasks[1]["status"], "queued");
    assert_eq!(tasks[1]["slurm"], "lost");
    assert_eq!(value[0]["jobs"][0]["job_id"], "4242");
}

#[test]
fn report_ends_with_one_summary_line_and_lists_files_when_asked() {
    let (dir, _) = store_of_three();
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("report");
    let folder = folder.to_str().unwrap();
    let output = atelier(dir.path(), &["report", "-o", folder]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("wrote ") && text.contains(&format!(" files to {folder} (")),
        "{text}"
    );
    assert!(
        text.contains(" figures, ") && text.trim_end().ends_with("for 3 runs"),
        "{text}"
    );
    let value = json(&atelier(dir.path(), &["report", "-o", folder, "--json"]));
    let files = value["files"].as_array().unwrap();
    assert!(
        text.starts_with(&format!("wrote {} files", files.len())),
        "{text}"
    );
    let output = atelier(dir.path(), &["report", "-o", folder, "-v"]);
    let verbose = stdout(&output);
    assert_eq!(verbose.lines().count(), files.len() + 1, "{verbose}");
    assert_eq!(verbose.lines().last(), text.lines().next());
}

#[test]
fn error_labels_are_coloured_when_asked_and_never_under_no_color() {
    let missing = Path::new("/nonexistent/atelier-runs");
    let coloured = "\u{1b}[1m\u{1b}[31merror:\u{1b}[0m ";
    let output = atelier(missing, &["--color", "always", "runs"]);
    assert!(
        stderr(&output).starts_with(coloured),
        "{:?}",
        stderr(&output)
    );
    // Not a terminal: auto means plain.
    let output = atelier(missing, &["runs"]);
    assert!(
        stderr(&output).starts_with("error: "),
        "{:?}",
        stderr(&output)
    );
    for plain in [
        atelier(missing, &["--color=never", "runs"]),
        run(atelier_env().env("NO_COLOR", "1").args([
            "--runs-dir",
            "/nonexistent/atelier-runs",
            "runs",
        ])),
        run(atelier_env().args(["--color", "never", "runs", "--bogus"])),
        run(atelier_env().env("NO_COLOR", "1").args(["runs", "--bogus"])),
    ] {
        assert!(!stderr(&plain).contains('\u{1b}'), "{:?}", stderr(&plain));
        assert!(
            stderr(&plain).starts_with("error: "),
            "{:?}",
            stderr(&plain)
        );
    }
    // clap's own errors and help follow --color too; --color always wins over NO_COLOR.
    let output = run(atelier_env()
        .env("NO_COLOR", "1")
        .args(["--color", "always", "runs", "--bogus"]));
    assert!(
        stderr(&output).starts_with(coloured.trim_end()),
        "{:?}",
        stderr(&output)
    );
    let output = run(atelier_env().args(["--color", "always", "train", "--help"]));
    assert!(stdout(&output).contains('\u{1b}'), "{}", stdout(&output));
    let output = run(atelier_env().args(["--color", "pink", "runs"]));
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("invalid value 'pink'"),
        "{}",
        stderr(&output)
    );
}

fn help(args: &[&str]) -> String {
    let output = run(atelier_env().args(args).arg("--help"));
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn help_says_the_app_opens_alone_groups_options_and_hides_internal_commands() {
    let root = help(&[]);
    assert!(root.contains("`atelier` alone opens the app"), "{root}");
    assert!(
        root.contains("Run `atelier` with no command to open the app"),
        "{root}"
    );
    assert!(!root.contains("\n  stream "), "{root}");
    let train = help(&["train"]);
    for line in [
        "Selection:",
        "Budget:",
        "Hardware:",
        "Output:",
        "Data and storage:",
        "-n, --dry-run",
        "-j, --jobs <N|auto>",
        "-y, --yes",
        "--epochs <N>",
        "--seed <SEED>",
        "--color <WHEN>",
    ] {
        assert!(
            train.contains(line),
            "train --help lacks {line:?}:\n{train}"
        );
    }
    let report = help(&["report"]);
    for line in ["-o, --output <DIR>", "-v, --verbose", "--json"] {
        assert!(
            report.contains(line),
            "report --help lacks {line:?}:\n{report}"
        );
    }
    let submit = help(&["slurm", "submit"]);
    for line in [
        "Slurm resources:",
        "--max-parallel <N>",
        "--cpus-per-task <N>",
        "-n, --dry-run",
    ] {
        assert!(
            submit.contains(line),
            "slurm submit --help lacks {line:?}:\n{submit}"
        );
    }
    let slurm = help(&["slurm"]);
    assert!(!slurm.contains("\n  task "), "{slurm}");
    assert!(slurm.contains("\n  status "), "{slurm}");
    assert!(!help(&["resume"]).contains("--worker"));
    // Hidden, not gone: atelier still runs them.
    assert!(help(&["slurm", "task"]).contains("--submission"));
    assert!(help(&["stream"]).contains("--stall-after"));
}
