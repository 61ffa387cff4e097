//! `atelier slurm task`: what one array task runs (see
//! [`atelier::session::task`]).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use atelier::{session::task, slurm::Tools};
use clap::Args;

/// `atelier slurm task`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The submission folder (`<runs>/slurm/<id>`), as the job script names it.
    #[arg(long, value_name = "DIR")]
    pub submission: PathBuf,
}

pub fn run(
    args: &TaskArgs,
    tools: &Tools,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let status = task::run(&args.submission, tools, data_dir, runs_dir)?;
    Ok(ExitCode::from(status))
}
