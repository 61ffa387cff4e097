//! Delivering alerts once: a bell, a desktop notification through the
//! terminal (OSC 9 or OSC 777, which pass through SSH and tmux's
//! passthrough), and `--notify-cmd`, remembered in a ledger so that a
//! restarted watcher does not repeat them.
//!
//! A watcher's loop: for each poll, `alerts = sentinel.observe_poll(..)`;
//! for each run the sentinel has seen unended, [`Notifier::watching`] (and
//! [`Notifier::watching_sweep`] for its plan); then for each alert,
//! [`Notifier::offer`] with [`Sentinel::saw_unended`], and
//! [`Notifier::deliver`] when it says so. An alert of a run only ever seen
//! ended is history: recorded, never delivered, unless the ledger says an
//! earlier watcher saw the run unended (it finished while no one watched).
//!
//! [`Sentinel::saw_unended`]: crate::store::alerts::Sentinel::saw_unended

use std::{
    collections::HashSet,
    fs::{File, OpenOptions},
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread::JoinHandle,
};

use serde::{Deserialize, Serialize};

use crate::{
    edge::escape::printable,
    protocol::RunId,
    store::{Alert, AlertKind},
};

/// The ledger's file name in atelier's state folder.
pub const LEDGER_FILE: &str = "alerts.jsonl";

/// Why an alert could not be remembered or delivered, naming the file or command.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{path}: {what}: {error}")]
    Ledger {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
    #[error("notify command {command:?}: {problem}")]
    Command { command: String, problem: String },
    #[error("cannot write the alert to the terminal: {0}")]
    Terminal(std::io::Error),
}

/// A desktop notification terminals show when asked by an escape sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Osc {
    /// `ESC ] 9 ; text BEL`: iTerm2, `WezTerm`, Windows Terminal, kitty.
    Osc9,
    /// `ESC ] 777 ; notify ; title ; body BEL`: urxvt, foot, Ghostty, VTE.
    Osc777,
}

/// How alerts reach the person watching.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Ring the terminal's bell.
    pub bell: bool,
    /// Ask the terminal for a desktop notification.
    pub osc: Option<Osc>,
    /// `--notify-cmd`: run by `sh -c`, the alert as JSON on its standard input.
    pub command: Option<String>,
}

/// What tells two alerts apart in the ledger: host, run (or `sweep:` and
/// the plan) and kind; a requeue also by its detail, which names the
/// restart, so each requeue is told.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Key {
    host: String,
    target: String,
    kind: AlertKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    occurrence: String,
}

impl Key {
    fn of(alert: &Alert) -> Self {
        Self {
            host: alert.host.clone().unwrap_or_default(),
            target: target(alert),
            kind: alert.kind,
            occurrence: if alert.kind == AlertKind::Requeued {
                alert.detail.clone()
            } else {
                String::new()
            },
        }
    }
}

/// The run id, or `sweep:` and the plan for a sweep's alert.
fn target(alert: &Alert) -> String {
    alert
        .run
        .as_ref()
        .map_or_else(|| format!("sweep:{}", alert.plan), ToString::to_string)
}

/// One line of the ledger.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Entry {
    /// An alert decided on: delivered, or history that must never fire.
    Alert {
        #[serde(flatten)]
        key: Key,
        delivered: bool,
    },
    /// A run (or sweep) seen unended: its alerts are news, even after a restart.
    Watched { host: String, target: String },
}

/// Which alerts were decided on and which runs were watched: an
/// append-only JSON-lines file, so a restarted watcher neither repeats an
/// alert nor misses the end of a run it was watching. Processes sharing
/// the file append whole lines; each reads the others' only when it opens.
#[derive(Debug)]
pub struct Ledger {
    file: Option<(PathBuf, File)>,
    decided: HashSet<Key>,
    watched: HashSet<(String, String)>,
}

impl Ledger {
    /// Opens (creating it and its folders if needed) the ledger at `path`.
    /// A damaged line is skipped; a torn last line is closed first, so the
    /// next entry starts a line of its own.
    pub fn open(path: &Path) -> Result<Self, NotifyError> {
        let error = |what| {
            move |error| NotifyError::Ledger {
                path: path.to_path_buf(),
                what,
                error,
            }
        };
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(error("cannot create the ledger's folder"))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(error("cannot open the alert ledger"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(error("cannot read the alert ledger"))?;
        if bytes.last().is_some_and(|&last| last != b'\n') {
            file.write_all(b"\n")
                .map_err(error("cannot write the alert ledger"))?;
        }
        let mut ledger = Self::in_memory();
        for entry in bytes
            .split(|&b| b == b'\n')
            .filter_map(|line| serde_json::from_slice(line).ok())
        {
            ledger.remember(entry);
        }
        ledger.file = Some((path.to_path_buf(), file));
        Ok(ledger)
    }

    /// A ledger kept only for this process (tests, `--no-ledger` uses).
    pub fn in_memory() -> Self {
        Self {
            file: None,
            decided: HashSet::new(),
            watched: HashSet::new(),
        }
    }

    /// `alerts.jsonl` in atelier's per-user state folder (the local data
    /// folder where the platform has no state folder); `None` without a home.
    pub fn default_path() -> Option<PathBuf> {
        let dirs = directories::ProjectDirs::from("", "", "atelier")?;
        let dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
        Some(dir.join(LEDGER_FILE))
    }

    /// Keeps `entry` in memory and appends it to the file as one line.
    fn record(&mut self, entry: Entry) -> Result<(), NotifyError> {
        if let Some((path, file)) = &mut self.file {
            let mut line = serde_json::to_vec(&entry).expect("a ledger entry is plain data");
            line.push(b'\n');
            file.write_all(&line).map_err(|error| NotifyError::Ledger {
                path: path.clone(),
                what: "cannot write the alert ledger",
                error,
            })?;
        }
        self.remember(entry);
        Ok(())
    }

    fn remember(&mut self, entry: Entry) {
        match entry {
            Entry::Alert { key, .. } => {
                self.decided.insert(key);
            }
            Entry::Watched { host, target } => {
                self.watched.insert((host, target));
            }
        }
    }

    /// Marks `target` on `host` watched, once.
    fn watch(&mut self, host: Option<&str>, target: String) -> Result<(), NotifyError> {
        let host = host.unwrap_or_default().to_string();
        if self.watched.contains(&(host.clone(), target.clone())) {
            return Ok(());
        }
        self.record(Entry::Watched { host, target })
    }
}

/// Decides which alerts to deliver, and delivers them.
#[derive(Debug)]
pub struct Notifier {
    delivery: Delivery,
    ledger: Ledger,
    /// `--notify-cmd` processes not yet reaped.
    commands: Vec<JoinHandle<Result<(), NotifyError>>>,
}

impl Notifier {
    /// A notifier delivering by `delivery` and remembering in `ledger`.
    pub fn new(delivery: Delivery, ledger: Ledger) -> Self {
        Self {
            delivery,
            ledger,
            commands: Vec::new(),
        }
    }

    /// Notes that `run` on `host` was seen queued or running: its alerts
    /// are news, even to a watcher started after it ended.
    pub fn watching(&mut self, host: Option<&str>, run: &RunId) -> Result<(), NotifyError> {
        self.ledger.watch(host, run.to_string())
    }

    /// [`Notifier::watching`] for a sweep (a plan of several runs).
    pub fn watching_sweep(&mut self, host: Option<&str>, plan: &str) -> Result<(), NotifyError> {
        self.ledger.watch(host, format!("sweep:{plan}"))
    }

    /// Whether to deliver `alert` now: not decided on before, and about a
    /// run this watcher (`seen_unended`) or an earlier one watched. Either
    /// way it is recorded, so it never fires again.
    pub fn offer(&mut self, alert: &Alert, seen_unended: bool) -> Result<bool, NotifyError> {
        let key = Key::of(alert);
        if self.ledger.decided.contains(&key) {
            return Ok(false);
        }
        let watched = (key.host.clone(), key.target.clone());
        let deliver = seen_unended || self.ledger.watched.contains(&watched);
        self.ledger.record(Entry::Alert {
            key,
            delivered: deliver,
        })?;
        Ok(deliver)
    }

    /// Delivers `alert`: bell and OSC to `terminal` only when it is a
    /// terminal (escape sequences would garble a file or a pipe), and the
    /// command started without waiting for it.
    pub fn deliver(
        &mut self,
        alert: &Alert,
        terminal: &mut dyn Write,
        is_terminal: bool,
    ) -> Result<(), NotifyError> {
        if is_terminal {
            let mut text = String::new();
            if self.delivery.bell {
                text.push('\x07');
            }
            if let Some(osc) = self.delivery.osc {
                text.push_str(&osc_sequence(osc, alert));
            }
            if !text.is_empty() {
                terminal
                    .write_all(text.as_bytes())
                    .and_then(|()| terminal.flush())
                    .map_err(NotifyError::Terminal)?;
            }
        }
        if let Some(command) = self.delivery.command.clone() {
            self.run_command(&command, alert)?;
        }
        Ok(())
    }

    /// Problems of the commands that have ended since the last call (one
    /// that exited with a failure, one that could not be waited for).
    pub fn command_errors(&mut self) -> Vec<NotifyError> {
        let (ended, running) = std::mem::take(&mut self.commands)
            .into_iter()
            .partition(JoinHandle::is_finished);
        self.commands = running;
        reap(ended)
    }

    /// Waits for every command started (before exiting, so that the last
    /// alert's JSON is written whole); their problems.
    pub fn wait_commands(&mut self) -> Vec<NotifyError> {
        reap(std::mem::take(&mut self.commands))
    }

    /// Starts `sh -c command` with the alert as one line of JSON on its
    /// standard input; a thread writes it and waits, so a slow command
    /// never holds the caller. Its output is discarded: it would tear the
    /// app's screen.
    fn run_command(&mut self, command: &str, alert: &Alert) -> Result<(), NotifyError> {
        let problem = |problem: String| NotifyError::Command {
            command: command.to_string(),
            problem,
        };
        let mut json = serde_json::to_vec(alert).expect("an alert is plain data");
        json.push(b'\n');
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| problem(format!("cannot start it: {error}")))?;
        let stdin = child.stdin.take();
        let name = command.to_string();
        let handle = std::thread::Builder::new()
            .name("notify-cmd".into())
            .spawn(move || {
                // A command that does not read its input is no failure.
                if let Some(mut stdin) = stdin {
                    let _ = stdin.write_all(&json);
                }
                let problem = |problem| NotifyError::Command {
                    command: name.clone(),
                    problem,
                };
                match child.wait() {
                    Ok(status) if status.success() => Ok(()),
                    Ok(status) => Err(problem(format!("ended with {status}"))),
                    Err(error) => Err(problem(format!("cannot wait for it: {error}"))),
                }
            })
            .map_err(|error| problem(format!("cannot start a thread for it: {error}")))?;
        self.commands.push(handle);
        Ok(())
    }
}

/// Joins command threads; the problems they report.
fn reap(handles: Vec<JoinHandle<Result<(), NotifyError>>>) -> Vec<NotifyError> {
    handles
        .into_iter()
        .filter_map(|handle| handle.join().ok()?.err())
        .collect()
}

/// The escape sequence asking for a desktop notification of `alert`. The
/// text is plain (no ESC or BEL could end the sequence early), and OSC
/// 777's fields hold no `;`, which would split them.
pub fn osc_sequence(osc: Osc, alert: &Alert) -> String {
    let title = format!("atelier: {} {}", who(alert), alert.kind.word());
    let detail = printable(&alert.detail);
    match osc {
        Osc::Osc9 if detail.is_empty() => format!("\x1b]9;{title}\x07"),
        Osc::Osc9 => format!("\x1b]9;{title}: {detail}\x07"),
        Osc::Osc777 => format!(
            "\x1b]777;notify;{};{}\x07",
            title.replace(';', ","),
            detail.replace(';', ",")
        ),
    }
}

/// The one line `watch --alerts` prints:
/// `gpu-box  20261206-101500-M1  finished: test accuracy 0.9123`.
pub fn alert_line(alert: &Alert) -> String {
    let host = printable(alert.host.as_deref().unwrap_or("local")).into_owned();
    let mut line = format!("{host}  {}  {}", who(alert), alert.kind.word());
    if !alert.detail.is_empty() {
        line.push_str(&format!(": {}", printable(&alert.detail)));
    }
    line
}

/// The run id, or `sweep <plan>`, as plain text.
fn who(alert: &Alert) -> String {
    match &alert.run {
        Some(run) => printable(run).into_owned(),
        None => format!("sweep {}", printable(&alert.plan)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(run: &str, kind: AlertKind, detail: &str) -> Alert {
        Alert {
            kind,
            run: Some(RunId::from(run)),
            plan: "grid".into(),
            detail: detail.into(),
            host: None,
        }
    }

    fn finished() -> Alert {
        alert(
            "20261206-101500-M1",
            AlertKind::Finished,
            "test accuracy 0.9123",
        )
    }

    fn osc(osc: Osc) -> Notifier {
        let delivery = Delivery {
            bell: true,
            osc: Some(osc),
            command: None,
        };
        Notifier::new(delivery, Ledger::in_memory())
    }

    #[test]
    fn alert_lines_name_host_run_or_sweep_and_escape_controls() {
        let mut alert = finished();
        alert.host = Some("gpu-box".into());
        assert_eq!(
            alert_line(&alert),
            "gpu-box  20261206-101500-M1  finished: test accuracy 0.9123"
        );
        let sweep = Alert {
            kind: AlertKind::SweepFinished,
            run: None,
            plan: "grid".into(),
            detail: "best: M2\x1b[2J".into(),
            host: None,
        };
        assert_eq!(
            alert_line(&sweep),
            "local  sweep grid  finished: best: M2\\u{1b}[2J"
        );
    }

    #[test]
    fn osc_9_and_777_are_written_exactly_and_only_to_a_terminal() {
        let mut alert = finished();
        alert.detail = "lr=3e-4; bad\x07".into();
        let mut out = Vec::new();
        osc(Osc::Osc9).deliver(&alert, &mut out, true).unwrap();
        assert_eq!(
            out,
            b"\x07\x1b]9;atelier: 20261206-101500-M1 finished: lr=3e-4; bad\\u{7}\x07"
        );
        let mut out = Vec::new();
        osc(Osc::Osc777).deliver(&alert, &mut out, true).unwrap();
        assert_eq!(
            out,
            b"\x07\x1b]777;notify;atelier: 20261206-101500-M1 finished;lr=3e-4, bad\\u{7}\x07"
        );
        for kind in [Osc::Osc9, Osc::Osc777] {
            let mut out = Vec::new();
            osc(kind).deliver(&alert, &mut out, false).unwrap();
            assert!(out.is_empty(), "{out:?}");
        }
    }

    #[test]
    fn historical_alerts_are_recorded_but_watched_runs_are_delivered_once() {
        let mut notifier = Notifier::new(Delivery::default(), Ledger::in_memory());
        let old = alert("old", AlertKind::Finished, "");
        assert!(!notifier.offer(&old, false).unwrap());
        assert!(
            !notifier.offer(&old, true).unwrap(),
            "history never fires later"
        );
        let watched = alert("new", AlertKind::Failed, "out of memory");
        notifier.watching(None, &RunId::from("new")).unwrap();
        assert!(notifier.offer(&watched, false).unwrap());
        assert!(!notifier.offer(&watched, true).unwrap());
        let live = alert("live", AlertKind::Stalled, "");
        assert!(notifier.offer(&live, true).unwrap());
        let mut elsewhere = live.clone();
        elsewhere.host = Some("gpu-box".into());
        assert!(notifier.offer(&elsewhere, true).unwrap());
        let requeued = |detail| alert("live", AlertKind::Requeued, detail);
        assert!(notifier
            .offer(&requeued("requeued by Slurm (restart 1)"), true)
            .unwrap());
        assert!(notifier
            .offer(&requeued("requeued by Slurm (restart 2)"), true)
            .unwrap());
    }

    #[test]
    fn the_ledger_persists_across_reopening_and_skips_a_damaged_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join(LEDGER_FILE);
        let told = finished();
        let later = alert("later", AlertKind::Finished, "");
        let mut notifier = Notifier::new(Delivery::default(), Ledger::open(&path).unwrap());
        assert!(notifier.offer(&told, true).unwrap());
        notifier.watching(None, &RunId::from("later")).unwrap();
        drop(notifier);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{not json\n{\"type\":\"alert\",\"torn")
            .unwrap();
        drop(file);

        let mut notifier = Notifier::new(Delivery::default(), Ledger::open(&path).unwrap());
        assert!(!notifier.offer(&told, true).unwrap(), "no repeat");
        assert!(notifier.offer(&later, false).unwrap(), "watched before");
        let mut notifier = Notifier::new(Delivery::default(), Ledger::open(&path).unwrap());
        assert!(!notifier.offer(&later, true).unwrap());
    }

    #[test]
    fn an_unreadable_ledger_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let message = Ledger::open(dir.path()).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{}: cannot ", dir.path().display())),
            "{message}"
        );
    }

    #[test]
    fn the_command_gets_the_alert_as_json_on_its_input() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("alert.json");
        let delivery = Delivery {
            command: Some(format!("cat > '{}'", out.display())),
            ..Delivery::default()
        };
        let mut notifier = Notifier::new(delivery, Ledger::in_memory());
        let mut terminal = Vec::new();
        notifier.deliver(&finished(), &mut terminal, true).unwrap();
        assert!(notifier.wait_commands().is_empty());
        assert!(terminal.is_empty());
        let json = serde_json::to_string(&finished()).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), format!("{json}\n"));

        let delivery = Delivery {
            command: Some("exit 3".into()),
            ..Delivery::default()
        };
        let mut notifier = Notifier::new(delivery, Ledger::in_memory());
        notifier.deliver(&finished(), &mut terminal, false).unwrap();
        let errors: Vec<String> = notifier
            .wait_commands()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            ["notify command \"exit 3\": ended with exit status: 3"]
        );
    }
}
