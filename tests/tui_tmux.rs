//! The real binary inside tmux, driven by keys as a person would: start a
//! run, watch it finish, read the confusion grid, start a second, compare
//! them, quit, and find the terminal restored. CI installs tmux; elsewhere
//! the test is skipped with a note when tmux is missing.

mod common;

use std::{
    path::Path,
    process::{Command, Output},
    thread,
    time::{Duration, Instant},
};

const PLAN: &str = r#"
[defaults]
epochs = 1
batch_size = 16
device = "cpu"

[[run]]
name = "tiny"
label = "MLP [32]"
model = { kind = "mlp", hidden = [32] }

[[run]]
name = "wide"
label = "MLP [64]"
model = { kind = "mlp", hidden = [64] }
"#;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "app"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "app"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits until the screen satisfies `ready`; fails the test with the screen after `limit`.
    fn wait_for(&self, what: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                started.elapsed() < limit,
                "no {what} within {limit:?}; screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true but tmux is not installed (.ci/run installs it)");
    }
    found
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

#[test]
fn start_watch_compare_and_quit_with_the_keyboard() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 2_000, 500);
    let runs = tempfile::tempdir().unwrap();
    let plan = data.path().join("tiny.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let command = format!(
        "{} --data-dir {} --runs-dir {} --plan {}; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_atelier"),
        quoted(data.path()),
        quoted(runs.path()),
        quoted(&plan)
    );
    let tmux = Tmux {
        socket: format!("atelier-test-{}", std::process::id()),
    };
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "app",
        "-x",
        "160",
        "-y",
        "48",
        "-e",
        "NO_COLOR=",
        "sh",
        "-c",
        &command,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let limit = Duration::from_secs(60);

    tmux.wait_for("the plan's run", limit, |s| {
        s.contains("· planned") && s.contains("tiny · MLP [32]")
    });
    tmux.keys(&["Enter"]);
    let done = tmux.wait_for("a finished run", limit, |s| {
        s.contains("✓ done") && s.contains("most confused")
    });
    for expected in [
        "T-shirt/top",
        "Ankle boot",
        "recall precision",
        "finished: 1 epoch(s)",
    ] {
        assert!(done.contains(expected), "missing {expected:?} in\n{done}");
    }
    let grid_row = done
        .lines()
        .find(|line| line.contains("│Trouser"))
        .expect("a grid row for Trouser");
    assert!(
        grid_row
            .split_whitespace()
            .filter(|cell| cell.parse::<u32>().is_ok())
            .count()
            >= 10,
        "{grid_row}"
    );

    tmux.keys(&["Tab", "Tab"]);
    tmux.wait_for("the compare view", limit, |s| {
        s.contains("Compare · 1 finished run(s)") && s.contains("★tiny")
    });

    tmux.keys(&["q"]);
    let after = tmux.wait_for("the app to exit", limit, |s| s.contains("EXIT=0"));
    assert!(
        !after.contains("Compare ·"),
        "the alternate screen was left:\n{after}"
    );

    let stored = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--runs-dir")
        .arg(runs.path())
        .arg("runs")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&stored.stdout).contains("done"));
}
