//! `--detach`: the same command again, as a background process in its own
//! session (no terminal, so closing the terminal or the SSH connection does
//! not stop it), writing a log in the runs folder. This process waits until
//! the background one has taken its device and signed the lock with its run
//! ids, then says so.

use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::{locks::LOG_ENV, SessionError};
use crate::{
    protocol::RunId,
    store::{lock::read_holder, Holder, RunStore},
    units::utc_stamp,
};

/// How long the background process may take to load its plan and start.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A session going on in the background.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detached {
    pub pid: u32,
    pub devices: Vec<String>,
    pub runs: Vec<RunId>,
    pub log: PathBuf,
}

/// Starts this command line again without `--detach` in the background,
/// and returns once it has taken `devices` (the first one's lock signed
/// with its runs), or with an error when one is taken already (checked
/// before anything starts), when it stopped, or when it took too long.
pub fn start(store: &RunStore, devices: &[String]) -> Result<Detached, SessionError> {
    super::locks::check_free(store, devices)?;
    let log = store.dir().join(format!("train-{}.log", utc_stamp()));
    let mut child = spawn_background(&log)?;
    let holder = wait_until_training(&mut child, store, devices, &log)?;
    Ok(Detached {
        pid: child.id(),
        devices: devices.to_vec(),
        runs: holder.runs,
        log,
    })
}

/// This command line without `--detach`, in a new session (no terminal,
/// so a closed SSH connection does not stop it), its output into `log`.
fn spawn_background(log: &Path) -> Result<Child, SessionError> {
    let output = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|error| {
            SessionError::system(
                format!("cannot create the training log {}", log.display()),
                error,
            )
        })?;
    let errors = output.try_clone().map_err(|error| {
        SessionError::system(format!("cannot open {} twice", log.display()), error)
    })?;
    // Global options keep their places.
    let args: Vec<OsString> = std::env::args_os()
        .skip(1)
        .filter(|arg| arg != "--detach")
        .collect();
    let exe = std::env::current_exe()
        .map_err(|error| SessionError::system("cannot find the atelier executable", error))?;
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
    command.spawn().map_err(|error| {
        SessionError::system(
            format!("cannot start {} in the background", exe.display()),
            error,
        )
    })
}

/// Waits until the child holds the first device's lock and has signed it
/// with its runs; an error when it stops first or takes too long.
fn wait_until_training(
    child: &mut Child,
    store: &RunStore,
    devices: &[String],
    log: &Path,
) -> Result<Holder, SessionError> {
    let pid = child.id();
    let started = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|error| SessionError::system("cannot watch the background process", error))?
        {
            return Err(SessionError::Detach(format!(
                "the background training stopped at once ({status}); its log {} ends with:\n{}",
                log.display(),
                tail(log)
            )));
        }
        if let Some(holder) = devices
            .first()
            .and_then(|device| read_holder(&store.lock_path(device)))
            .filter(|holder| holder.pid == pid)
        {
            return Ok(holder);
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(SessionError::Detach(format!(
                "the background training (pid {pid}) has not started after {}s; see {}",
                START_TIMEOUT.as_secs(),
                log.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `--runs-dir DIR` when the store is not the one `atelier watch` finds by itself.
pub fn runs_dir_flag(store: &RunStore) -> String {
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
        let length = file.metadata().map_or(0, |m| m.len());
        let _ = file.seek(SeekFrom::Start(length.saturating_sub(4096)));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
