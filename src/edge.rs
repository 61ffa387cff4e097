//! Where atelier meets what it does not control: standard output that may be
//! closed or full, output paths that may name anything, text from files that
//! may carry terminal escapes, and inputs of any size. Every room may use it.
//! - [`console`]: printing that fails as an error (commands) or quietly
//!   stops (training), never as a panic;
//! - [`output`]: files written for the user, never over what is not theirs
//!   to replace;
//! - [`escape`]: stored text made harmless before it reaches a terminal;
//! - [`read`]: small inputs read with a size limit;
//! - [`table`]: plain-text tables aligned to their content.

pub mod console;
pub mod escape;
pub mod output;
pub mod read;
pub mod table;

pub use escape::{has_control, printable, printable_lines};
