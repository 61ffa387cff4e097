//! The real binary inside tmux, driven by keys as a person would: start a
//! run, watch it finish, read the confusion grid, open a cell's test images, start a second, compare
//! them, quit, and find the terminal restored; and train detached in one
//! terminal, close it, and watch the run live to its end from another. CI installs tmux; elsewhere
//! the test is skipped with a note when tmux is missing.

use crate::common;

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
    /// The session that `screen`, `keys` and `wait_for` look at.
    target: String,
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
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", &self.target]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.target.as_str()];
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
    if !found {
        common::missing("tmux is not installed (.ci/run installs it)");
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
        target: "app".into(),
    };
    tmux.session("app", &command);
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
        "finished: 1 epoch",
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

    // The confusion view's cursor opens the cell's test images: the loop
    // reads the run's predictions and the test set on the way.
    tmux.keys(&["2", "Enter"]);
    let gallery = tmux.wait_for("the gallery of a cell", limit, |s| {
        s.contains("Gallery · tiny · T-shirt/top → T-shirt/top")
    });
    assert!(
        gallery.contains(" of ") && gallery.contains('▀') && gallery.contains("0 T-shirt/top ")
            || gallery.contains("No test images in this cell."),
        "{gallery}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the confusion view again", limit, |s| {
        s.contains("Confusion · test set") && !s.contains("Gallery")
    });
    tmux.keys(&["1", "Tab", "Tab"]);
    tmux.wait_for("the compare view", limit, |s| {
        s.contains("Compare · 1 finished run in 1 group") && s.contains("tiny n=1")
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

impl Tmux {
    /// Starts a detached session running `command` in a `160 × 48` terminal.
    fn session(&self, name: &str, command: &str) {
        let started = self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "160",
            "-y",
            "48",
            "-e",
            "NO_COLOR=",
            "sh",
            "-c",
            command,
        ]);
        assert!(
            started.status.success(),
            "{}",
            String::from_utf8_lossy(&started.stderr)
        );
    }
}

#[test]
fn train_detached_close_the_terminal_and_watch_from_another() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 1_000, 300);
    let runs = tempfile::tempdir().unwrap();
    let shots = tempfile::tempdir().unwrap();
    let plan = data.path().join("long.toml");
    std::fs::write(&plan, PLAN.replace("epochs = 1", "epochs = 40")).unwrap();
    let atelier = format!(
        "{} --data-dir {} --runs-dir {}",
        env!("CARGO_BIN_EXE_atelier"),
        quoted(data.path()),
        quoted(runs.path())
    );
    let mut tmux = Tmux {
        socket: format!("atelier-detach-{}", std::process::id()),
        target: "login".into(),
    };
    let limit = Duration::from_secs(120);
    // The first terminal: start training in the background, then close the terminal.
    tmux.session(
        "login",
        &format!(
            "{atelier} train --detach --plan {} --only tiny; echo DETACHED=$?; sleep 60",
            quoted(&plan)
        ),
    );
    let login = tmux.wait_for("the detached start", limit, |s| s.contains("DETACHED="));
    assert!(login.contains("DETACHED=0"), "{login}");
    assert!(
        login.contains("training in the background on cpu (pid"),
        "{login}"
    );
    assert!(login.contains("  log "), "{login}");
    let _stop = StopOnDrop(background_pid(&login));
    // An idle session keeps the tmux server up: with none left, the server
    // exits, and a client connecting while it shuts down is refused.
    tmux.session("keep", "sleep 600");
    tmux.run(&["kill-session", "-t", "login"]);

    // Another terminal: the run goes on, and the viewer follows it live.
    tmux.target = "watch".into();
    tmux.session(
        "watch",
        &format!(
            "{atelier} --screenshots-dir {} watch; echo EXIT=$?; sleep 60",
            quoted(shots.path())
        ),
    );
    let live = tmux.wait_for("the run training live", limit, |s| {
        s.contains("▶ running") && s.contains("tiny · MLP [32]") && s.contains("/40")
    });
    assert!(live.contains("read-only"), "{live}");
    let done = tmux.wait_for("the run to finish", limit, |s| {
        s.contains("✓ done") && s.contains("most confused")
    });
    assert!(done.contains("40/40"), "{done}");

    // A screenshot of what the viewer shows, in all five formats.
    tmux.keys(&["s"]);
    tmux.wait_for("the screenshot message", limit, |s| {
        s.contains("screenshot saved")
    });
    let mut saved: Vec<String> = std::fs::read_dir(shots.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    saved.sort();
    let extensions: Vec<&str> = saved
        .iter()
        .map(|name| name.rsplit('.').next().unwrap())
        .collect();
    assert_eq!(
        extensions,
        ["ansi", "html", "png", "svg", "txt"],
        "{saved:?}"
    );
    let text_name = saved.iter().find(|name| name.ends_with(".txt")).unwrap();
    let text = std::fs::read_to_string(shots.path().join(text_name)).unwrap();
    assert!(
        text.contains("✓ done") && text.contains("tiny · MLP [32]"),
        "{text}"
    );

    // Read-only: Enter does not start anything.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the read-only note", limit, |s| {
        s.contains("read-only: this viewer follows runs")
    });
    tmux.keys(&["q"]);
    tmux.wait_for("the viewer to exit", limit, |s| s.contains("EXIT=0"));
}

/// The pid `train --detach` says it trains in (`… (pid 4242)`).
fn background_pid(said: &str) -> u32 {
    said.split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .expect("the background pid")
}

/// Stops the background training if the test ends before it does.
struct StopOnDrop(u32);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill(2) takes plain integers; a process already gone is fine.
        unsafe { libc::kill(self.0 as libc::pid_t, libc::SIGINT) };
    }
}

#[test]
fn watch_a_training_live_over_ssh_beside_a_local_folder() {
    let Some((server, data)) = ssh_and_data() else {
        return;
    };
    let far = tempfile::tempdir().unwrap();
    let here = tempfile::tempdir().unwrap();
    let here_store = atelier::store::RunStore::open(here.path()).unwrap();
    common::stored_run(&here_store, "kept", 1);
    let tmux = Tmux {
        socket: format!("atelier-remote-{}", std::process::id()),
        target: "watch".into(),
    };
    let atelier = env!("CARGO_BIN_EXE_atelier");
    tmux.session(
        "watch",
        &format!(
            "ATELIER_SSH={ssh} {atelier} --data-dir {data} watch --remote-atelier {atelier} {remote}:{far} {here}; echo EXIT=$?; sleep 60",
            ssh = shell_words::quote(&server.ssh_command()),
            data = quoted(data.path()),
            remote = server.destination(),
            far = quoted(far.path()),
            here = quoted(here.path()),
        ),
    );
    let limit = Duration::from_secs(120);
    // The viewer is connected before the remote host starts training: all it shows comes live.
    atelier::store::RunStore::open(far.path()).unwrap();
    let waiting = tmux.wait_for("the remote source connected", limit, |s| {
        s.contains("connected") && s.contains("kept")
    });
    assert!(!waiting.contains("tiny"), "{waiting}");
    let plan = data.path().join("long.toml");
    std::fs::write(&plan, PLAN.replace("epochs = 1", "epochs = 30")).unwrap();
    // The "remote" host trains in the background.
    let detached = common::atelier(data.path(), far.path())
        .args(["train", "--detach", "--only", "tiny", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&detached.stderr).into_owned()
        + &String::from_utf8_lossy(&detached.stdout);
    assert!(detached.status.success(), "{said}");
    let _stop = StopOnDrop(background_pid(&said));
    let live = tmux.wait_for("the remote run", limit, |s| {
        s.contains("127.0.0.1") && s.contains("tiny · MLP [32]")
    });
    assert!(
        live.contains("kept"),
        "the local run is listed too:\n{live}"
    );
    assert!(live.contains("local"), "{live}");
    let done = tmux.wait_for("the remote run to finish", limit, |s| {
        s.contains("30/30") && s.matches("✓ done").count() >= 2
    });
    assert!(done.contains("connected"), "{done}");
    tmux.keys(&["q"]);
    tmux.wait_for("the viewer to exit", limit, |s| s.contains("EXIT=0"));
}

/// A loopback sshd and a small dataset, when tmux and OpenSSH are there.
fn ssh_and_data() -> Option<(crate::sshd::Sshd, tempfile::TempDir)> {
    if !tmux_available() {
        return None;
    }
    let server = crate::sshd::start()?;
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 1_000, 300);
    Some((server, data))
}

#[test]
fn the_app_shows_a_remote_folder_beside_its_plan() {
    let Some((server, data)) = ssh_and_data() else {
        return;
    };
    let far = tempfile::tempdir().unwrap();
    let far_store = atelier::store::RunStore::open(far.path()).unwrap();
    common::stored_run(&far_store, "elsewhere", 1);
    let runs = tempfile::tempdir().unwrap();
    let plan = data.path().join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let tmux = Tmux {
        socket: format!("atelier-app-remote-{}", std::process::id()),
        target: "app".into(),
    };
    let atelier = env!("CARGO_BIN_EXE_atelier");
    tmux.session(
        "app",
        &format!(
            "ATELIER_SSH={ssh} {atelier} --data-dir {data} --runs-dir {runs} --plan {plan} --remote-atelier {atelier} --source {remote}:{far}; echo EXIT=$?; sleep 60",
            ssh = shell_words::quote(&server.ssh_command()),
            data = quoted(data.path()),
            runs = quoted(runs.path()),
            plan = quoted(&plan),
            remote = server.destination(),
            far = quoted(far.path()),
        ),
    );
    let limit = Duration::from_secs(60);
    let screen = tmux.wait_for("the remote run beside the plan", limit, |s| {
        s.contains("elsewhere") && s.contains("tiny · MLP [32]") && s.contains("127.0.0.1")
    });
    assert!(screen.contains("connected"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("the app to exit", limit, |s| s.contains("EXIT=0"));
}

/// The app on a dataset of 1,000 images and `plan` (two runs, `tiny` and
/// `wide`), in tmux, once it shows both planned; `env` is put before the
/// command (`KEY=value `). Returns tmux, the runs folder and the data folder.
fn app_on_plan(name: &str, plan: &str, env: &str) -> (Tmux, tempfile::TempDir, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    common::write_idx_dataset(data.path(), 1_000, 300);
    let runs = tempfile::tempdir().unwrap();
    let plan_path = data.path().join(format!("{name}.toml"));
    std::fs::write(&plan_path, plan).unwrap();
    let command = format!(
        "{env}{} --data-dir {} --runs-dir {} --plan {}; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_atelier"),
        quoted(data.path()),
        quoted(runs.path()),
        quoted(&plan_path)
    );
    let tmux = Tmux {
        socket: format!("atelier-{name}-{}", std::process::id()),
        target: "app".into(),
    };
    tmux.session("app", &command);
    tmux.wait_for("the plan's runs", Duration::from_secs(90), |s| {
        s.contains("wide · MLP [64]") && s.matches("· planned").count() >= 2
    });
    (tmux, runs, data)
}

/// Each stored run's `run.json`, as JSON, by run name.
fn records(runs: &Path) -> Vec<(String, serde_json::Value)> {
    let mut records: Vec<(String, serde_json::Value)> = std::fs::read_dir(runs)
        .unwrap()
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.ok()?.path().join("run.json")).ok()?;
            let record: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some((record["spec"]["name"].as_str()?.to_string(), record))
        })
        .collect();
    records.sort_by(|a, b| a.0.cmp(&b.0));
    records
}

/// Waits until every stored run's record satisfies `ready`.
fn wait_for_records(
    runs: &Path,
    what: &str,
    limit: Duration,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> Vec<(String, serde_json::Value)> {
    let started = Instant::now();
    loop {
        let records = records(runs);
        if records.len() == 2 && records.iter().all(|(_, record)| ready(record)) {
            return records;
        }
        assert!(
            started.elapsed() < limit,
            "no {what} within {limit:?}: {records:?}"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// `a` on a plan with `[workers] jobs = 2`: both runs train at once, each in
/// a worker process of the app, shown live as the app's own; quitting asks
/// first, stops both, and stores them as interrupted.
#[test]
fn queue_all_trains_in_workers_and_quitting_stops_them() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    // Long enough to be stopped mid-way on any machine.
    // No plateau alert: its badge would stand in the rows' status column.
    let text = PLAN.replace("epochs = 1", "epochs = 5000")
        + "\n[workers]\njobs = 2\n\n[alerts]\nplateau_epochs = 10000\n";
    let (tmux, runs, _data) = app_on_plan("workers", &text, "");
    let limit = Duration::from_secs(90);
    tmux.keys(&["a"]);
    // Rows of the run list, above the live pane (which names one run too).
    tmux.wait_for("both runs training at once", limit, |s| {
        s.lines()
            .take_while(|line| !line.contains("┌ Live"))
            .filter(|line| line.contains("▶ running"))
            .count()
            == 2
    });
    let training = wait_for_records(runs.path(), "worker threads", limit, |record| {
        record["thread_reason"]["by"] == "shared"
    });
    for (name, record) in &training {
        assert_eq!(record["thread_reason"]["jobs"], 2, "{name}: {record}");
        assert_eq!(record["status"], "running", "{name}: {record}");
    }
    let pids: Vec<&serde_json::Value> = training.iter().map(|(_, r)| &r["writer"]["pid"]).collect();
    assert_ne!(pids[0], pids[1], "a worker process each: {training:?}");

    // They are the app's: quitting asks, then stops both.
    tmux.keys(&["q"]);
    tmux.wait_for("the quit question", limit, |s| {
        s.contains("Training is under way. Quit?")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the app to exit", limit, |s| s.contains("EXIT=0"));
    let stopped = records(runs.path());
    assert_eq!(stopped.len(), 2, "{stopped:?}");
    for (name, record) in &stopped {
        assert_eq!(record["status"], "interrupted", "{name}: {record}");
    }
}

/// `a` on a CPU plan without `[workers]`: the app times the runs off its
/// drawing thread, says what it chose, and trains them all, in workers or
/// one at a time, whichever the timing found faster on this machine.
#[test]
fn queue_all_times_the_runs_and_trains_them_the_faster_way() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let probe = format!("{}=always ", atelier::train::threads::PROBE_ENV);
    let (tmux, runs, _data) =
        app_on_plan("timed", &PLAN.replace("epochs = 1", "epochs = 3"), &probe);
    let limit = Duration::from_secs(120);
    tmux.keys(&["a"]);
    let done = wait_for_records(runs.path(), "both runs done", limit, |record| {
        record["status"] == "done"
    });
    let reasons: Vec<&serde_json::Value> = done
        .iter()
        .map(|(_, record)| &record["thread_reason"]["by"])
        .collect();
    // Workers each train on their share; the trainer measures each run.
    assert!(
        reasons.iter().all(|by| *by == "shared") || reasons.iter().all(|by| *by == "measured"),
        "{done:?}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the app to exit", limit, |s| s.contains("EXIT=0"));
}
