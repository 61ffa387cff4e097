//! Pausing, unpausing and cancelling a run that another atelier process
//! trains on this machine (a `train --jobs` worker, a detached `train`), by
//! signalling that process: SIGINT stops it as Ctrl-C does, and two
//! real-time signals pause and unpause its running run.

use serde::{Deserialize, Serialize};

/// What the app can ask of another training process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    Pause,
    Unpause,
    /// Stop the process's training (its runs are stored as interrupted).
    Cancel,
}

/// The signal that pauses a training process's running run.
pub fn pause_signal() -> i32 {
    libc::SIGRTMIN()
}

/// The signal that lets it go on.
pub fn unpause_signal() -> i32 {
    libc::SIGRTMIN() + 1
}

impl Control {
    fn signal(self) -> i32 {
        match self {
            Self::Pause => pause_signal(),
            Self::Unpause => unpause_signal(),
            Self::Cancel => libc::SIGINT,
        }
    }
}

/// Sends `control` to the training process `pid`.
pub fn send(pid: u32, control: Control) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(pid, control.signal()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signals_are_distinct_and_a_gone_process_is_an_error() {
        assert_ne!(pause_signal(), unpause_signal());
        assert!(pause_signal() > libc::SIGUSR2);
        // pid 0 would signal our own group; a pid far beyond pid_max exists nowhere.
        assert!(send(u32::MAX / 2, Control::Pause).is_err());
    }
}
