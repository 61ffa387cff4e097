//! `atelier export RUN… --tensorboard DIR`: stored runs out of atelier.

use std::{path::Path, path::PathBuf, process::ExitCode};

use anyhow::{bail, Context};
use atelier::{
    export::tensorboard,
    store::{groups::find_target, RunRecord, RunStore, Target},
};
use clap::Args;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Runs or groups (a group exports all its runs): names, ids, or unique
    /// prefixes of an id or a group key, as `atelier compare` takes them.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<String>,
    /// Write TensorBoard event files, one folder per run, under this folder
    /// (then `tensorboard --logdir DIR`).
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
}

pub fn run(args: &ExportArgs, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let Some(dir) = &args.tensorboard else {
        bail!("nothing to export to: give --tensorboard DIR");
    };
    let store = RunStore::resolve(runs_dir)?;
    let records = resolve(&store, &args.runs)?;
    for record in &records {
        let exported = tensorboard::export_run(&store, record, dir)
            .with_context(|| format!("exporting {} to TensorBoard", record.id))?;
        let partial = if exported.partial {
            format!(" (the run is {}: what it logged so far)", record.status)
        } else {
            String::new()
        };
        println!(
            "{}: {} scalar points → {}{partial}",
            record.spec.name,
            exported.scalars,
            exported.file.display()
        );
    }
    println!("tensorboard --logdir {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Every run the queries name, each once, in the order named.
fn resolve(store: &RunStore, queries: &[String]) -> anyhow::Result<Vec<RunRecord>> {
    let mut records: Vec<RunRecord> = Vec::new();
    for query in queries {
        let found = match find_target(store, query)? {
            Target::Run(record) => vec![*record],
            Target::Group { runs, .. } => runs,
        };
        for record in found {
            if !records.iter().any(|known| known.id == record.id) {
                records.push(record);
            }
        }
    }
    Ok(records)
}
