//! The trainer thread.

/// Placeholder handle until the thread lands in this change.
pub struct Trainer;
