//! What a session's runs came to, and the exit status that says it: the
//! one rule for `train`, `resume`, `train --jobs` and a Slurm task.

use std::process::ExitCode;

use crate::protocol::Event;

/// The exit status of a session that was stopped (as a shell reports Ctrl-C).
pub const STOPPED: u8 = 130;

/// How the runs of a session ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Runs that failed, or whose worker died before they ended.
    pub failed: usize,
    /// A run was stopped (Ctrl-C, a signal), or never started.
    pub interrupted: bool,
}

impl Outcome {
    /// Counts an event that ends a run; other events change nothing.
    pub fn note(&mut self, event: &Event) {
        match event {
            Event::Failed { .. } => self.failed += 1,
            Event::Cancelled { .. } => self.interrupted = true,
            _ => {}
        }
    }

    /// 1 when a run failed, else 130 when one was stopped, else 0.
    pub fn exit_status(self) -> u8 {
        if self.failed > 0 {
            1
        } else if self.interrupted {
            STOPPED
        } else {
            0
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.exit_status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_outweighs_a_stop_and_a_stop_outweighs_success() {
        let mut outcome = Outcome::default();
        assert_eq!(outcome.exit_status(), 0);
        outcome.note(&Event::Cancelled {
            run: "a".into(),
            epochs_done: 1,
        });
        assert_eq!(outcome.exit_status(), STOPPED);
        outcome.note(&Event::Failed {
            run: "b".into(),
            message: "out of memory".into(),
        });
        assert_eq!(outcome.exit_status(), 1);
        outcome.note(&Event::Paused { run: "c".into() });
        assert_eq!(outcome.failed, 1);
    }
}
