//! `atelier stream`: what a remote source runs on its host over ssh. It
//! follows the runs folder and writes JSON lines for the viewer at the other
//! end; it writes nothing to the folder.

use std::{io::IsTerminal, path::Path, process::ExitCode, time::Duration};

use atelier::{
    remote::stream::{serve, StreamOptions},
    slurm::Tools,
    store::{liveness::DEFAULT_STALL_AFTER, RunStore},
};
use clap::Args;

/// `atelier stream`'s options.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// A run that writes nothing for this long is reported as stalled [default: 5m].
    #[arg(long, value_name = "DURATION")]
    stall_after: Option<humantime::Duration>,
}

pub fn run(args: &StreamArgs, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::existing(runs_dir)?;
    let stdin = std::io::stdin();
    let options = StreamOptions {
        stall_after: args.stall_after.map_or(DEFAULT_STALL_AFTER, Duration::from),
        slurm: Tools::from_env(),
        // A person trying it in a terminal sends no resume line.
        read_input: !stdin.is_terminal(),
    };
    serve(&store, stdin, &mut std::io::stdout().lock(), options)?;
    Ok(ExitCode::SUCCESS)
}
