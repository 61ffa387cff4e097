//! Subnormal floats flushed to zero on every thread that trains.
//!
//! On x86 an operation on a subnormal float (below 1.2e-38 in magnitude)
//! takes a microcode assist many times slower than the operation itself.
//! Training produces them steadily: a weight whose gradient is exactly zero
//! (the MLP's weights from pixels that are 0 in every image) keeps an Adam
//! first moment that decays by 0.9 a step and turns subnormal after about
//! 800 steps, so epochs got slower and slower from the middle of the first
//! one (the MLP went from 6 s to 13 s an epoch). TensorFlow flushes them on
//! its threads by default; libtorch leaves it to the caller
//! (`torch.set_flush_denormal`). The change is below 1e-38: such values
//! become zero, which changes no accuracy (README, *Measured*).
//!
//! The switch is per thread (MXCSR), so [`flush`] sets it on the calling
//! thread and its OpenMP team (`denormals.cpp`); threads created later by
//! the caller (Adam's and dropout's helpers) inherit it from their parent.
//! `ATELIER_DENORMALS=keep` leaves the CPU as it is, for measuring.

use std::ffi::c_int;

/// The variable that turns flushing off, and its one accepted value.
pub const ENV: &str = "ATELIER_DENORMALS";
pub const KEEP: &str = "keep";

extern "C" {
    fn atelier_flush_denormals(on: c_int) -> c_int;
    fn atelier_denormal_flushing_threads(team: *mut c_int) -> c_int;
    fn atelier_denormals_flushed_here() -> c_int;
}

/// Whether this process flushes subnormals (everything but `ATELIER_DENORMALS=keep`).
pub fn wanted() -> bool {
    std::env::var(ENV).map_or(true, |value| value != KEEP)
}

/// Flushes subnormals to zero on this thread and on libtorch's OpenMP team
/// for it, unless the user asked to keep them. Returns how many threads
/// now flush (0 where the CPU cannot, or when kept). Cheap: call it at the
/// start of every training, after any change of the thread count.
pub fn flush() -> usize {
    set(wanted())
}

/// Sets flushing on or off for this thread and its team; how many accepted.
pub fn set(on: bool) -> usize {
    // SAFETY: plain C, no pointers; it only writes this team's MXCSR registers.
    let accepted = unsafe { atelier_flush_denormals(c_int::from(on)) };
    if on {
        usize::try_from(accepted).unwrap_or(0)
    } else {
        0
    }
}

/// How many of the calling thread's OpenMP team flush subnormals, and the
/// team's size; `None` where the CPU's state cannot be read (not x86).
pub fn flushing_threads() -> Option<(usize, usize)> {
    let mut team: c_int = 0;
    // SAFETY: `team` is a live c_int the function writes once.
    let flushing = unsafe { atelier_denormal_flushing_threads(&raw mut team) };
    let flushing = usize::try_from(flushing).ok()?;
    Some((flushing, usize::try_from(team).unwrap_or(0)))
}

/// Whether the calling thread flushes subnormals; `None` where unknown.
pub fn flushed_here() -> Option<bool> {
    // SAFETY: plain C, no arguments.
    match unsafe { atelier_denormals_flushed_here() } {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subnormal survives arithmetic unless the thread flushes. `black_box`
    /// keeps the compiler from folding it away at compile time.
    fn subnormal_survives() -> bool {
        let tiny = std::hint::black_box(1e-39_f32);
        std::hint::black_box(tiny * 1.5) != 0.0
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn flushing_reaches_this_thread_its_team_and_threads_it_starts() {
        // A fresh thread, so the test leaves the harness's threads as they were.
        std::thread::spawn(|| {
            tch::set_num_threads(2);
            set(false);
            assert!(subnormal_survives());
            assert_eq!(flushed_here(), Some(false));
            assert_eq!(set(true), 2);
            assert_eq!(flushed_here(), Some(true));
            assert!(!subnormal_survives());
            assert_eq!(flushing_threads(), Some((2, 2)));
            // Threads started afterwards (Adam's helpers) inherit the switch.
            let child = std::thread::spawn(|| (flushed_here(), subnormal_survives()));
            assert_eq!(child.join().unwrap(), (Some(true), false));
            set(false);
            assert_eq!(flushing_threads(), Some((0, 2)));
            assert!(subnormal_survives());
        })
        .join()
        .unwrap();
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn libtorch_kernels_flush_once_set() {
        std::thread::spawn(|| {
            tch::set_num_threads(2);
            let tiny = tch::Tensor::full([1 << 16], 1e-39, (tch::Kind::Float, tch::Device::Cpu));
            set(false);
            assert!((&tiny * 1.5).abs().sum(tch::Kind::Double).double_value(&[]) > 0.0);
            set(true);
            // Big enough that libtorch splits it across the team.
            assert_eq!(
                (&tiny * 1.5).abs().sum(tch::Kind::Double).double_value(&[]),
                0.0
            );
            set(false);
        })
        .join()
        .unwrap();
    }
}
