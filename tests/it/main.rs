//! The integration tests, one binary: each module is one area (the binary
//! end to end, the trainer's protocol, the store's golden files, the app in
//! tmux, Slurm, interop clients, hostile input). One binary links libtorch
//! once, where one per file linked it twenty times.
//!
//! Two suites stand alone because they need a process of their own:
//! `tests/training.rs` (bit-identical training holds libtorch's global
//! random generator) and `tests/fuzz_corpus.rs` (a counting global
//! allocator).

mod common;

mod alerts;
mod architecture;
mod cli;
mod cli_output;
mod docs;
mod event_loop;
mod experiments;
mod fetch;
mod fetch_debian;
mod golden;
mod hostile;
mod interop_onnx;
mod interop_tensorboard;
mod naming;
mod real_data;
mod reliability;
mod remote;
mod report;
mod shell;
mod slurm;
mod sshd;
mod sweep_labels;
mod sweeps;
mod threads;
mod train_cli;
mod trainer;
mod tui_props;
mod tui_tmux;
mod watch;
mod workers;
