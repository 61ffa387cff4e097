//! The command line: global options and one subcommand per job.
//!
//! This is the binary edge: commands return `anyhow` errors with context,
//! while the library underneath speaks its own typed errors.

mod data;
mod overview;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

/// Train and compare CNN and MLP classifiers on Fashion-MNIST, live in the terminal.
#[derive(Debug, Parser)]
#[command(name = "atelier", version, about)]
pub struct Cli {
    /// Folder holding Fashion-MNIST (IDX .gz/raw or Kaggle CSV); overrides discovery.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find, download or check the dataset.
    #[command(subcommand)]
    Data(data::DataCommand),
}

impl Cli {
    /// Runs the chosen command; `atelier` alone opens the app.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let data_dir = self.data_dir.as_deref();
        match self.command {
            None => overview::run(data_dir),
            Some(Command::Data(command)) => command.run(data_dir),
        }
    }
}
