//! How long libtorch's idle OpenMP threads spin before they sleep.
//!
//! libtorch runs its CPU kernels on a GNU OpenMP team. Between kernels the
//! idle threads spin for up to 300,000 iterations by default, which is
//! harmless on an otherwise idle machine and ruinous on a shared one: when
//! anything else wants a core (the app drawing, an SSH session, a compile,
//! another training) the spinners take its time slices from the thread
//! doing the work. Measured here with one of the two cores busy elsewhere,
//! M1 trained at 214 images/s with the default and 4,563 with passive
//! waiting. libgomp reads its settings once, when it is loaded (before
//! `main`), so the only way to change them from inside is to run the
//! program again with the variable set; a variable the user set wins.

use std::{ffi::OsString, path::Path};

/// libgomp's wait policy variable, and the value atelier runs with.
pub const WAIT_POLICY_ENV: &str = "OMP_WAIT_POLICY";
pub const WAIT_POLICY: &str = "PASSIVE";
/// libgomp's finer knob; when the user set either, nothing is changed.
pub const SPIN_COUNT_ENV: &str = "GOMP_SPINCOUNT";

/// Whether the process should run again with [`WAIT_POLICY`] set.
pub fn needs_restart(env: impl Fn(&str) -> Option<OsString>) -> bool {
    env(WAIT_POLICY_ENV).is_none() && env(SPIN_COUNT_ENV).is_none()
}

/// Replaces this process (same pid, same arguments) with the same program
/// run with passive OpenMP waiting. Returns only if that fails; the caller
/// then simply carries on with the default.
#[cfg(unix)]
pub fn restart_with_passive_waiting(exe: &Path, args: &[OsString]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(exe)
        .args(args)
        .env(WAIT_POLICY_ENV, WAIT_POLICY)
        .exec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_only_when_the_user_chose_nothing() {
        assert!(needs_restart(|_| None));
        assert!(!needs_restart(
            |name| (name == WAIT_POLICY_ENV).then(|| "ACTIVE".into())
        ));
        assert!(!needs_restart(
            |name| (name == SPIN_COUNT_ENV).then(|| "1000".into())
        ));
    }
}
