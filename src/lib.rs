//! atelier: train and compare CNN and MLP classifiers on Fashion-MNIST, live in
//! the terminal.
//!
//! The library holds everything but the terminal edge, so tests and benches
//! reach it directly. Each top-level module is one room of the architecture:
//! - [`data`]: reading, finding, fetching and verifying Fashion-MNIST;
//! - [`paths`]: where atelier keeps its files on this machine.

pub mod data;
pub mod paths;
