//! `atelier train --detach`: the same command again, as a background process
//! in its own session (no terminal, so closing the terminal or the SSH
//! connection does not stop it), writing a log in the runs folder. This
//! process waits until the background one has taken its device and signed
//! the lock with its run ids, prints them, and exits.

use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom},
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use atelier::{
    sayln,
    store::{lock::read_holder, Holder, RunStore},
};

/// Tells the background process where its output goes (for its lock note).
pub const LOG_ENV: &str = "ATELIER_TRAIN_LOG";

/// How long the background process may take to load its plan and start.
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub fn start(store: &RunStore, devices: &[String]) -> anyhow::Result<ExitCode> {
    let log = store
        .dir()
        .join(format!("train-{}.log", atelier::units::utc_stamp()));
    let mut child = spawn_background(&log)?;
    let holder = wait_until_training(&mut child, store, devices, &log)?;
    let pid = child.id();
    sayln!(
        "training in the background on {} (pid {pid})",
        devices.join(", ")
    );
    for run in &holder.runs {
        sayln!("  run {run}");
    }
    sayln!("  log {}", log.display());
    sayln!(
        "follow it from any terminal with `atelier watch{}`; stop it with `kill -INT {pid}`",
        runs_dir_flag(store)
    );
    Ok(ExitCode::SUCCESS)
}

/// This command line without `--detach`, in a new session (no terminal,
/// so a closed SSH connection does not stop it), its output into `log`.
fn spawn_background(log: &Path) -> anyhow::Result<Child> {
    let output = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot create the training log {}", log.display()))?;
    let errors = output
        .try_clone()
        .with_context(|| format!("cannot open {} twice", log.display()))?;
    // Global options keep their places.
    let args: Vec<OsString> = std::env::args_os()
        .skip(1)
        .filter(|arg| arg != "--detach")
        .collect();
    let exe = std::env::current_exe().context("cannot find the atelier executable")?;
    let mut command = Command::new(&exe);
    command
        .args(&args)
        .env(LOG_ENV, log)
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors);
    // SAFETY: setsid is async-signal-safe, the one call allowed between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
        .spawn()
        .with_context(|| format!("cannot start {} in the background", exe.display()))
}

/// Waits until the child holds the first device's lock and has signed it
/// with its runs; an error when it stops first or takes too long.
fn wait_until_training(
    child: &mut Child,
    store: &RunStore,
    devices: &[String],
    log: &Path,
) -> anyhow::Result<Holder> {
    let pid = child.id();
    let started = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot watch the background process")?
        {
            bail!(
                "the background training stopped at once ({status}); its log {} ends with:\n{}",
                log.display(),
                tail(log)
            );
        }
        if let Some(holder) = devices
            .first()
            .and_then(|device| read_holder(&store.lock_path(device)))
            .filter(|holder| holder.pid == pid)
        {
            return Ok(holder);
        }
        if started.elapsed() > START_TIMEOUT {
            bail!(
                "the background training (pid {pid}) has not started after {}s; see {}",
                START_TIMEOUT.as_secs(),
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `--runs-dir DIR` when the store is not the one `atelier watch` finds by itself.
fn runs_dir_flag(store: &RunStore) -> String {
    if RunStore::default_dir().is_some_and(|dir| dir == store.dir()) {
        String::new()
    } else {
        format!(" --runs-dir {}", store.dir().display())
    }
}

/// The last lines of a log, for a start that failed.
fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let length = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(length.saturating_sub(4096)));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
