//! `atelier export RUN --onnx FILE`, `atelier export RUN… --tensorboard DIR`:
//! stored runs and their networks out of atelier.

use std::{path::Path, path::PathBuf, process::ExitCode};

use anyhow::{bail, Context};
use atelier::{
    edge::{output::Policy, printable},
    interop::{onnx, tensorboard},
    outln,
    store::{groups::find_runs, RunRecord, RunStore},
};
use clap::Args;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Runs or groups (a group exports all its runs): names, ids, or unique
    /// prefixes of an id or a group key, as `atelier compare` takes them.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<String>,
    /// Write `TensorBoard` event files, one folder per run, under this folder
    /// (then `tensorboard --logdir DIR`).
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
    /// Write the run's network as an ONNX model: input `images` N×1×28×28
    /// float in [0, 1], output `probabilities` N×10 (one run only).
    #[arg(long, value_name = "FILE")]
    pub onnx: Option<PathBuf>,
    /// Which weights the ONNX model gets: the last epoch's (what the test
    /// results and stored predictions are of) or the best validation epoch's.
    #[arg(long, value_enum, default_value = "final", requires = "onnx")]
    pub weights: WeightsArg,
    /// Output the raw logits (named `logits`) instead of probabilities.
    #[arg(long, requires = "onnx")]
    pub logits: bool,
    /// Replace an existing file even when it is not of the kind written
    /// (never a run's own files, a link or a device).
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum WeightsArg {
    Final,
    Best,
}

pub fn run(args: &ExportArgs, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    if args.tensorboard.is_none() && args.onnx.is_none() {
        bail!("nothing to export to: give --onnx FILE or --tensorboard DIR");
    }
    let store = RunStore::existing(runs_dir)?;
    let records = find_runs(&store, &args.runs)?;
    let policy = Policy::new(args.force, Some(store.dir().to_path_buf()));
    if let Some(file) = &args.onnx {
        onnx_model(args, &store, &records, file, &policy)?;
    }
    if let Some(dir) = &args.tensorboard {
        tensorboard_runs(&store, &records, dir, &policy)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn onnx_model(
    args: &ExportArgs,
    store: &RunStore,
    records: &[RunRecord],
    file: &Path,
    policy: &Policy,
) -> anyhow::Result<()> {
    let [record] = records else {
        let names: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        bail!(
            "--onnx writes one run's model, but {} name {} runs: {}; name one run id",
            args.runs.join(" "),
            records.len(),
            names.join(", ")
        );
    };
    let weights = match args.weights {
        WeightsArg::Final => onnx::Weights::Final,
        WeightsArg::Best => onnx::Weights::Best,
    };
    let output = if args.logits {
        onnx::Output::Logits
    } else {
        onnx::Output::Probabilities
    };
    let run_dir = store.run_dir(&record.id);
    let exported = onnx::export_model(record, &run_dir, weights, output, file, policy)
        .with_context(|| format!("exporting {} as ONNX", record.id))?;
    outln!(
        "{}: {} weights ({}), {} nodes, {} stored values, output {} → {} ({} bytes)",
        printable(&record.spec.name),
        weights.file(),
        record.id,
        exported.nodes,
        exported.parameters,
        output.name(),
        file.display(),
        exported.bytes
    )?;
    Ok(())
}

fn tensorboard_runs(
    store: &RunStore,
    records: &[RunRecord],
    dir: &Path,
    policy: &Policy,
) -> anyhow::Result<()> {
    for record in records {
        let exported = tensorboard::export_run(store, record, dir, policy)
            .with_context(|| format!("exporting {} to TensorBoard", record.id))?;
        let partial = if exported.partial {
            format!(" (the run is {}: what it logged so far)", record.status)
        } else {
            String::new()
        };
        outln!(
            "{}: {} scalar points → {}{partial}",
            printable(&record.spec.name),
            exported.scalars,
            exported.file.display()
        )?;
    }
    outln!("tensorboard --logdir {}", dir.display())?;
    Ok(())
}
