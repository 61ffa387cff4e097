//! `atelier report`: the original notebook's figures and results table, from stored runs.

use std::{path::PathBuf, process::ExitCode};

use atelier::{report, store::RunStore};
use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Runs to report (id, id prefix or name), in this order [default: every finished run].
    #[arg(long, value_delimiter = ',', value_name = "RUNS")]
    pub runs: Vec<String>,
    /// Folder for the PNG figures, results.md and results.csv.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
}

pub fn run(args: &ReportArgs, runs_dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::resolve(runs_dir)?;
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
    for path in report::write(&runs, &args.output)? {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
