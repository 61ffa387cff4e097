//! `atelier report`: the original notebook's figures and results table, from stored runs.

use std::{path::PathBuf, process::ExitCode};

use atelier::{edge::output::Policy, outln, report, store::RunStore};
use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Runs to report (id, id prefix or name), in this order [default: every finished run].
    #[arg(long, value_delimiter = ',', value_name = "RUNS")]
    pub runs: Vec<String>,
    /// Folder for the PNG figures, results.md and results.csv.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Replace existing files of other kinds in DIR (never a run's own
    /// files, a link or a device).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &ReportArgs, runs_dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::existing(runs_dir)?;
    let ids = args
        .runs
        .iter()
        .map(|query| store.find(query))
        .collect::<Result<Vec<_>, _>>()?;
    let (runs, skipped) = report::collect(&store, &ids)?;
    for id in &skipped {
        eprintln!("skipped {id}: it has no test results (not finished)");
    }
    if runs.is_empty() {
        return Err(
            report::ReportError::NothingToReport(format!(" in {}", store.dir().display())).into(),
        );
    }
    let policy = Policy::new(args.force, Some(store.dir().to_path_buf()));
    for path in report::write(&runs, &args.output, &policy)? {
        outln!("{}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
