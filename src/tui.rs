//! The terminal app's core, kept free of the terminal: state that events
//! update ([`state`]) and keys that change it ([`input`]). Drawing will read
//! this state and never change it.

pub mod event_loop;
pub mod input;
pub mod panes;
pub mod render_mode;
pub mod run_view;
pub mod series;
pub mod state;
pub mod ui;

pub use input::Action;
pub use render_mode::{ColorMode, RenderMode};
pub use run_view::{RunView, UiStatus};
pub use state::{App, Confirm, Overlay, View};

#[cfg(test)]
mod screen_tests;
