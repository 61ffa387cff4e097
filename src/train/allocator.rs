//! Keeps memory that libtorch frees inside the process.
//!
//! libtorch allocates every activation and gradient with the C allocator.
//! glibc serves blocks over its mmap threshold (at most 32 MiB) with a fresh
//! `mmap` and unmaps them on free, so each training step of a wide CNN mapped
//! and zero-filled hundreds of megabytes anew: a profile of M4 showed a
//! quarter of the time in page faults, page clearing and `munmap`. Serving
//! all blocks from the heap and never trimming it lets freed blocks be reused
//! at the cost of keeping the peak footprint, which training reaches anyway.
//! Threads other than the first get their own arenas, whose heaps are
//! unmapped when they empty, so there is one arena: the trainer thread
//! allocates from the same heap as the rest (libtorch's worker threads
//! hardly allocate, so the shared lock costs nothing measurable).

use std::sync::Once;

/// Heap top kept instead of being returned to the system (1 GiB).
const TRIM_THRESHOLD: i32 = 1 << 30;

/// Switches the C allocator to reuse freed memory. Call it first thing in
/// `main`: a thread that allocated before the call keeps its own arena.
/// Later calls do nothing; so does the call where the C library is not glibc.
pub fn keep_freed_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `mallopt` only changes allocator parameters; glibc applies
        // them under its own locks, so calling it while other threads
        // allocate is allowed.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    });
}
