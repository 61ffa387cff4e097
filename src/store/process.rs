//! The process writing a run, as `run.json` records it: enough to tell, on
//! the same machine, whether it still runs.

use serde::{Deserialize, Serialize};

/// The process writing a run: enough to tell, on the same machine, whether
/// it still runs (the start time guards against a reused pid).
// Its one unsafe call, `kill(pid, 0)`, only asks: any deserialized pid is fine.
#[allow(clippy::unsafe_derive_deserialize)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterProcess {
    pub host: String,
    pub pid: u32,
    /// Start time in clock ticks since boot (Linux); absent elsewhere.
    #[serde(default)]
    pub started: Option<u64>,
}

impl WriterProcess {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            host: host_name(),
            pid,
            started: start_ticks(pid),
        }
    }

    /// Whether this is the current process.
    pub fn is_current(&self) -> bool {
        self.pid == std::process::id() && self.host == host_name()
    }

    /// Whether the process still runs: `Some` only on the writer's own host.
    pub fn is_alive(&self) -> Option<bool> {
        if self.host != host_name() {
            return None;
        }
        if cfg!(target_os = "linux") {
            return Some(match (start_ticks(self.pid), self.started) {
                (None, _) => false,
                (Some(now), Some(then)) => now == then,
                (Some(_), None) => true,
            });
        }
        // SAFETY: kill with signal 0 sends nothing; it only checks the pid.
        let status = unsafe { libc::kill(self.pid as libc::pid_t, 0) };
        Some(status == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
    }
}

fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return String::new();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Field 22 of `/proc/PID/stat`: when the process started.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}
