//! One file per pane; each draws from `&App` and changes nothing.

pub mod alerts;
pub mod compare;
pub mod confusion;
pub mod diff;
pub mod gallery;
pub mod live;
pub mod prompt;
pub mod runs;
pub mod sources;
pub mod sweep;
pub mod text;
pub mod theme;
pub mod thumbnail;
