//! atelier: train and compare CNN and MLP classifiers on Fashion-MNIST, live in
//! the terminal.
//!
//! The library holds everything but the terminal edge, so tests and benches
//! reach it directly. Each top-level module is one room of the architecture:
//! - [`data`]: reading, finding, fetching and verifying Fashion-MNIST;
//! - [`model`]: model specs as data, and the tch networks built from them;
//! - [`plan`]: experiment plans (the built-in `seed` plan, TOML plan files);
//! - [`protocol`]: the contracts: commands, events, run ids, the on-disk log;
//! - [`store`]: the run store on disk (`run.json`, `events.jsonl`, checkpoints);
//! - [`analysis`]: verdicts on stored runs and groups, above the store;
//! - [`train`]: the trainer thread, which speaks the protocol and writes the store;
//! - [`slurm`]: sweeps as Slurm job arrays: job scripts, submission records, `squeue`;
//! - [`session`]: a training session: plan, requests, locks, workers, outcome;
//! - [`remote`]: runs from anywhere: remote runs folders over ssh, merged with local ones;
//! - [`tui`]: the app's state, keys, panes and event loop;
//! - [`draw`]: pictures in memory: canvas, PNG, fonts, colours, per-run figures;
//! - [`screen`]: screenshots of a drawn screen (text, ANSI, HTML, SVG, PNG);
//! - [`interop`]: runs out to other tools: ONNX models, `TensorBoard` event files;
//! - [`report`]: the original's figures and results table, from stored runs;
//! - [`stats`]: summaries, confidence intervals and tests of differences;
//! - [`edge`]: standard output, output files, terminal text and inputs, as
//!   the hostile things they are;
//! - [`paths`]: where atelier keeps its files on this machine;
//! - [`units`]: numbers and durations as people read them;
//! - `testing` (feature `test-support`): fixtures the tests and benches share.

pub mod analysis;
pub mod data;
pub mod draw;
pub mod edge;
pub mod interop;
pub mod model;
pub mod paths;
pub mod plan;
pub mod protocol;
pub mod remote;
pub mod report;
pub mod screen;
pub mod session;
pub mod slurm;
pub mod stats;
pub mod store;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod train;
pub mod tui;
pub mod units;
