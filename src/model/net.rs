//! The tch network built from a [`super::ModelSpec`].

/// Placeholder until the network lands in this change.
pub struct Net;
