//! One way to name runs, in every command that takes them: an id, a unique
//! start of one, a run name, a group name or a sweep name; where one run is
//! wanted a set is refused with a short listing of the closest runs, where
//! several are taken groups and sweeps expand. Also `runs rm`, `screenshot
//! --view diff` without `--base`, and a Slurm submission that `sbatch`
//! refuses, which leaves the runs folder as it was.

use crate::common;

use std::{
    collections::BTreeSet,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use atelier::{plan::RunSpec, protocol::RunId, store::RunStore};

/// A runs folder: M1 and M2 with three seeds each, a sweep `lr` of two
/// configurations with two seeds each, and a single run `tiny`; all
/// finished, in that order.
struct Fixture {
    dir: tempfile::TempDir,
    store: RunStore,
    m1: Vec<RunId>,
    m2: Vec<RunId>,
    lr: Vec<RunId>,
    tiny: RunId,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::open(dir.path().join("runs")).unwrap();
    let seeds = |base: &RunSpec, accuracy: f64| -> Vec<RunId> {
        (1..=3)
            .map(|seed| common::run_with_accuracy(&store, base, seed, accuracy))
            .collect()
    };
    let m1 = seeds(&atelier::testing::tiny_spec("M1", 1), 0.90);
    let m2 = seeds(&atelier::testing::tiny_spec("M2", 1), 0.91);
    let mut lr = Vec::new();
    for (label, rate) in [("lr=1e-3", 1e-3), ("lr=2e-3", 2e-3)] {
        let mut base = atelier::testing::tiny_spec(&format!("lr {label}"), 1);
        base.learning_rate = rate;
        base.group = Some(base.name.clone());
        base.sweep = Some("lr".into());
        for seed in 1..=2 {
            lr.push(common::run_with_accuracy(&store, &base, seed, 0.88));
        }
    }
    let tiny = common::stored_run(&store, "tiny", 1);
    Fixture {
        dir,
        store,
        m1,
        m2,
        lr,
        tiny,
    }
}

/// What one `atelier` command said: success, stdout, stderr.
struct Said {
    ok: bool,
    out: String,
    err: String,
}

impl Fixture {
    fn runs(&self) -> &Path {
        self.store.dir()
    }

    fn atelier(&self, args: &[&str]) -> Said {
        let output = common::atelier(self.dir.path(), self.runs())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let said = Said {
            ok: output.status.success(),
            out: String::from_utf8_lossy(&output.stdout).into_owned(),
            err: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(!said.err.contains("panicked"), "{args:?}: {}", said.err);
        said
    }

    fn ok(&self, args: &[&str]) -> String {
        let said = self.atelier(args);
        assert!(said.ok, "{args:?} failed:\n{}{}", said.out, said.err);
        said.out
    }

    fn fails(&self, args: &[&str]) -> String {
        let said = self.atelier(args);
        assert!(!said.ok, "{args:?} succeeded:\n{}", said.out);
        said.err
    }

    /// The run folders in the runs folder, and everything else in it.
    fn entries(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.runs())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The listing lines of an error (indented), checked to be few and short.
fn listing(error: &str) -> Vec<&str> {
    let lines: Vec<&str> = error.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(!lines.is_empty(), "no listing in {error}");
    assert!(lines.len() <= 9, "too long a listing:\n{error}");
    for line in error.lines() {
        assert!(line.chars().count() < 160, "a long line in\n{error}");
    }
    lines
}

#[test]
fn runs_show_takes_an_id_its_start_or_a_run_name() {
    let f = fixture();
    for query in [f.m1[1].as_str(), "m1 SEED=2"] {
        let out = f.ok(&["runs", "show", query]);
        assert!(out.contains(f.m1[1].as_str()), "{query}: {out}");
    }
    for query in [&f.tiny[..f.tiny.len() - 1], "tiny"] {
        let out = f.ok(&["runs", "show", query]);
        assert!(out.contains(f.tiny.as_str()), "{query}: {out}");
    }
}

#[test]
fn one_run_wanted_and_a_group_sweep_or_shared_start_given_lists_the_closest_runs() {
    let f = fixture();
    let error = f.fails(&["runs", "show", "M1"]);
    assert!(
        error.contains("\"M1\" names group \"M1\" of 3 runs in "),
        "{error}"
    );
    assert!(error.contains("one run is wanted here"), "{error}");
    let lines = listing(&error);
    assert_eq!(lines.len(), 3, "{error}");
    // Closest first: equally close, the newest first; each with id, name, group, state.
    assert!(lines[0].contains(f.m1[2].as_str()), "{error}");
    for part in ["\"M1 seed=3\"", "group \"M1\"", "done"] {
        assert!(lines[0].contains(part), "{part} missing: {error}");
    }

    let error = f.fails(&["runs", "show", "lr"]);
    assert!(error.contains("names sweep \"lr\" of 4 runs"), "{error}");
    assert_eq!(listing(&error).len(), 4);

    // Every id starts with the year: 11 runs, 8 listed and a count of the rest.
    let year = &f.tiny[..4];
    let error = f.fails(&["runs", "show", year]);
    assert!(
        error.contains(&format!("\"{year}\" is the start of 11 run ids")),
        "{error}"
    );
    let lines = listing(&error);
    assert_eq!(lines.len(), 9, "{error}");
    assert!(lines[8].contains("and 3 more"), "{error}");

    // Nothing matches: the closest, first.
    let error = f.fails(&["runs", "show", "tinny"]);
    assert!(error.contains("no run matches \"tinny\" in "), "{error}");
    assert!(listing(&error)[0].contains(f.tiny.as_str()), "{error}");
    let error = f.fails(&["runs", "show", "M1 seed=4"]);
    assert!(listing(&error)[0].contains("M1 seed="), "{error}");
}

#[test]
fn screenshot_names_its_runs_as_runs_show_does() {
    let f = fixture();
    let shot = f.out("shot.txt");
    let shot_text = shot.to_str().unwrap();
    for query in [&f.tiny[..f.tiny.len() - 1], "tiny", "M2 seed=1"] {
        f.ok(&["screenshot", "--run", query, "-o", shot_text, "--force"]);
    }
    std::fs::remove_file(&shot).unwrap();
    let error = f.fails(&["screenshot", "--run", "M2", "-o", shot_text]);
    assert!(
        error.contains("--run: \"M2\" names group \"M2\" of 3 runs"),
        "{error}"
    );
    assert_eq!(listing(&error).len(), 3);
    let error = f.fails(&[
        "screenshot",
        "--view",
        "diff",
        "--run",
        "M1 seed=1",
        "--base",
        "lr",
        "-o",
        shot_text,
    ]);
    assert!(
        error.contains("--base: \"lr\" names sweep \"lr\""),
        "{error}"
    );
    assert!(!shot.exists());
    common::write_predictions(&f.store, &f.m1[0], &[1, 2]);
    common::write_predictions(&f.store, &f.m2[0], &[3]);
    f.ok(&[
        "screenshot",
        "--view",
        "diff",
        "--run",
        "M1 seed=1",
        "--base",
        "M2 seed=1",
        "-o",
        shot_text,
    ]);
    assert!(shot.exists());
}

#[test]
fn a_diff_without_base_is_an_error_naming_the_flag_and_writes_nothing() {
    let f = fixture();
    let shot = f.out("diff.png");
    let error = f.fails(&[
        "screenshot",
        "--view",
        "diff",
        "--run",
        "tiny",
        "-o",
        shot.to_str().unwrap(),
    ]);
    assert!(
        error.contains("--view diff") && error.contains("--base"),
        "{error}"
    );
    assert!(!shot.exists());
}

#[test]
fn commands_of_several_runs_expand_groups_and_sweeps_and_take_comma_lists() {
    let f = fixture();
    // report: --run, repeatable, comma lists; --runs as before.
    let rows = |dir: &Path| -> Vec<String> {
        let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
        csv.lines().skip(1).map(ToString::to_string).collect()
    };
    for (args, count) in [
        (&["--run", "M1"][..], 3),
        (&["--run", "lr", "--run", "tiny"][..], 5),
        (&["--runs", "M1,M2 seed=2"][..], 4),
        (&["--run", "lr lr=2e-3"][..], 2),
    ] {
        let out = f.out(&format!(
            "report-{}",
            args.join("-").replace(['=', ' ', ','], "_")
        ));
        let mut all = vec!["report", "-o", out.to_str().unwrap()];
        all.extend_from_slice(args);
        f.ok(&all);
        assert_eq!(rows(&out).len(), count, "{args:?}: {:?}", rows(&out));
    }
    let error = f.fails(&[
        "report",
        "--run",
        "M1,M7",
        "-o",
        f.out("r").to_str().unwrap(),
    ]);
    assert!(
        error.contains("--run: no run, group or sweep matches \"M7\""),
        "{error}"
    );

    // export: positional runs, the same way.
    let board = f.out("board");
    let out = f.ok(&[
        "export",
        "lr",
        "tiny",
        "--tensorboard",
        board.to_str().unwrap(),
    ]);
    assert_eq!(out.matches("scalar points").count(), 5, "{out}");
    let error = f.fails(&["export", "M1", "--onnx", f.out("m.onnx").to_str().unwrap()]);
    assert!(error.contains("3 runs"), "{error}");

    // compare: a run or a group each side; a sweep is refused with its groups.
    let out = f.ok(&["compare", "M2", "M1"]);
    assert!(out.contains("M2") && out.contains("M1"), "{out}");
    f.ok(&["compare", "lr lr=1e-3", &f.m1[0]]);
    let error = f.fails(&["compare", "lr", "M1"]);
    assert!(error.contains("names sweep \"lr\" of 4 runs"), "{error}");
    let lines = listing(&error);
    assert_eq!(lines.len(), 2, "{error}");
    assert!(
        lines.iter().all(|l| l.contains("group \"lr lr=")),
        "{error}"
    );
    let error = f.fails(&["compare", "M3", "M1"]);
    assert!(
        error.contains("no run, group or sweep matches \"M3\""),
        "{error}"
    );
    assert!(listing(&error)[0].contains("\"M"), "{error}");
    let error = f.fails(&["compare", &f.tiny[..4], "M1"]);
    assert!(error.contains("is the start of 11 run ids"), "{error}");

    // resume: a group's unfinished runs; all finished, it says so.
    let error = f.fails(&["resume", "M1"]);
    assert!(
        error.contains("group \"M1\" of 3 runs has no run to resume"),
        "{error}"
    );
    let error = f.fails(&["resume", "tiny"]);
    assert!(error.contains("finished every epoch"), "{error}");

    // watch: runs of the folder, named the same way.
    let error = f.fails(&["watch", "--alerts", "M9"]);
    assert!(
        error.contains("no run, group or sweep matches \"M9\""),
        "{error}"
    );
}

#[test]
fn runs_rm_asks_refuses_without_a_terminal_and_removes_with_yes() {
    let f = fixture();
    let before = f.entries();
    let error = f.fails(&["runs", "rm", "M1"]);
    assert!(error.contains("pass -y (--yes)"), "{error}");
    assert_eq!(f.entries(), before, "nothing removed");

    let out = f.ok(&["runs", "rm", "-y", "M1", &f.tiny]);
    assert_eq!(out.matches("removed 2026").count(), 4, "{out}");
    assert!(out.contains("4 runs removed"), "{out}");
    let after = f.entries();
    let gone: Vec<&String> = before.difference(&after).collect();
    let mut expected: Vec<String> = f.m1.iter().map(ToString::to_string).collect();
    expected.push(f.tiny.to_string());
    expected.sort();
    assert_eq!(gone, expected.iter().collect::<Vec<_>>());
    assert!(after.is_subset(&before), "nothing new (no leftovers)");
    // Others intact and still readable.
    let listed = f.ok(&["runs"]);
    assert!(listed.contains(f.m2[0].as_str()) && listed.contains(f.lr[3].as_str()));
    let error = f.fails(&["runs", "rm", "-y", "M1"]);
    assert!(
        error.contains("no run, group or sweep matches \"M1\""),
        "{error}"
    );
}

#[test]
fn runs_rm_refuses_an_active_run_and_removes_nothing() {
    let f = fixture();
    // A run this test process writes: running, its lock held.
    let request = common::request(&f.store, "live", 3);
    let mut writer = f.store.create(&request).unwrap();
    writer
        .record(&atelier::testing::started(request.id.clone()).event())
        .unwrap();
    let before = f.entries();
    let error = f.fails(&["runs", "rm", "-y", "tiny,live"]);
    assert!(
        error.contains("nothing removed: 1 of the 2 runs named is active"),
        "{error}"
    );
    assert!(
        error.contains(&format!("{}: it is running", request.id)),
        "{error}"
    );
    assert_eq!(f.entries(), before);
    // Queued for a Slurm task (no process of its own yet): refused too.
    let queued = common::request(&f.store, "queued", 1);
    f.store.create_queued(&queued).unwrap();
    let error = f.fails(&["runs", "rm", "-y", "queued"]);
    assert!(error.contains("queued for a Slurm task"), "{error}");
    drop(writer);
    // Once its writer is gone (interrupted), it goes.
    f.ok(&["runs", "rm", "-y", "live"]);
    assert!(!f.store.run_dir(&request.id).exists());
}

/// `runs rm` on a terminal (`script` gives it one): no keeps, yes removes.
#[test]
fn runs_rm_on_a_terminal_lists_and_asks() {
    let f = fixture();
    let found = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        common::missing("script (util-linux) is not installed");
        return;
    }
    let ask = |answer: &str| {
        let command = format!(
            "'{}' --runs-dir '{}' runs rm M2",
            env!("CARGO_BIN_EXE_atelier"),
            f.runs().display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("ATELIER_RUNS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let before = f.entries();
    let (ok, said) = ask("n\n");
    assert!(!ok, "{said}");
    assert!(said.contains("3 runs to remove from"), "{said}");
    assert!(
        said.contains(f.m2[0].as_str()) && said.contains("[y/N]"),
        "{said}"
    );
    assert!(said.contains("nothing removed"), "{said}");
    assert_eq!(f.entries(), before);
    let (ok, said) = ask("y\n");
    assert!(ok, "{said}");
    assert!(said.contains("3 runs removed"), "{said}");
    assert!(f.m2.iter().all(|id| !f.store.run_dir(id).exists()));
}

/// A fake `sbatch` that refuses as a cluster without GPUs does.
fn refusing_sbatch(dir: &Path) {
    common::fake_tool(
        dir,
        "sbatch",
        "echo 'sbatch: error: Invalid generic resource (gres) specification' >&2\nexit 1\n",
    );
}

fn plan_file(dir: &Path) -> String {
    let path = dir.join("plan.toml");
    std::fs::write(
        &path,
        "[[sweep]]\nname = \"wide\"\nmodel = { kind = \"mlp\", hidden = [8] }\nseeds = 3\n",
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn a_submission_sbatch_refuses_leaves_the_runs_folder_as_it_was() {
    let f = fixture();
    let bin = tempfile::tempdir().unwrap();
    refusing_sbatch(bin.path());
    let plan = plan_file(f.dir.path());
    let before = f.entries();
    let submit = |runs: &Path| {
        let output = common::atelier(f.dir.path(), runs)
            .env("ATELIER_SLURM_BIN", bin.path())
            .args(["slurm", "submit", "--plan", &plan, "--gpus-per-task", "1"])
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let error = submit(f.runs());
    assert!(
        error.contains("Invalid generic resource (gres) specification"),
        "{error}"
    );
    assert!(
        error.contains("nothing was submitted; the 3 runs and the submission record"),
        "{error}"
    );
    assert_eq!(f.entries(), before, "no run, no slurm folder left");
    // A runs folder the submission made is gone again too.
    let fresh = f.dir.path().join("fresh");
    submit(&fresh);
    assert!(!fresh.exists());
}

/// The same against a real Slurm (`.ci/slurm up`), which has no GPU to give.
#[test]
fn a_submission_a_real_slurm_refuses_leaves_the_runs_folder_as_it_was() {
    let up = Command::new("sinfo")
        .args(["-h", "-o", "%T"])
        .output()
        .is_ok_and(|out| out.status.success() && !out.stdout.is_empty());
    if !up {
        common::missing("no Slurm cluster answers (`sudo bash .ci/slurm up` starts one)");
        return;
    }
    let f = fixture();
    let plan = plan_file(f.dir.path());
    let before = f.entries();
    let output = common::atelier(f.dir.path(), f.runs())
        .env_remove("ATELIER_SLURM_BIN")
        .args(["slurm", "submit", "--plan", &plan, "--gpus-per-task", "1"])
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{error}");
    assert!(error.contains("sbatch: error:"), "{error}");
    assert!(error.contains("nothing was submitted"), "{error}");
    assert_eq!(f.entries(), before);
}
