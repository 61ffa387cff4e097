//! `atelier export RUN --onnx FILE`, `atelier export RUN… --tensorboard DIR`:
//! stored runs and their networks out of atelier.

use std::{path::Path, path::PathBuf, process::ExitCode};

use anyhow::{bail, Context};
use atelier::{
    edge::{output::Policy, printable},
    interop::{onnx, tensorboard},
    outln,
    store::{naming::find_runs, RunRecord, RunStore},
};
use clap::Args;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Runs to export: ids, id starts, run names (the latest run), group or
    /// sweep names (every run of it); several, or a comma list.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<String>,
    /// Write `TensorBoard` event files, one folder per run, under this folder
    /// (then `tensorboard --logdir DIR`).
    #[arg(long, value_name = "DIR", help_heading = crate::cli::heading::OUTPUT)]
    pub tensorboard: Option<PathBuf>,
    /// Write the run's network as an ONNX model: input `images` N×1×28×28
    /// float in [0, 1], output `probabilities` N×10 (one run only).
    #[arg(long, value_name = "FILE", help_heading = crate::cli::heading::OUTPUT)]
    pub onnx: Option<PathBuf>,
    /// Which weights the ONNX model gets: the last epoch's (what the test
    /// results and stored predictions are of) or the best validation epoch's.
    #[arg(long, value_enum, default_value = "final", requires = "onnx", value_name = "WEIGHTS", help_heading = crate::cli::heading::SELECTION)]
    pub weights: WeightsArg,
    /// Output the raw logits (named `logits`) instead of probabilities.
    #[arg(long, requires = "onnx", help_heading = crate::cli::heading::OUTPUT)]
    pub logits: bool,
    /// Replace an existing file even when it is not of the kind written
    /// (never a run's own files, a link or a device).
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub force: bool,
    /// Print what was written as JSON, for scripts.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum WeightsArg {
    /// The last epoch's weights (what the test results are of).
    Final,
    /// The best validation epoch's weights.
    Best,
}

pub fn run(args: &ExportArgs, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    if args.tensorboard.is_none() && args.onnx.is_none() {
        bail!("nothing to export to: give --onnx FILE or --tensorboard DIR");
    }
    let store = RunStore::existing(runs_dir)?;
    let records = find_runs(&store, &args.runs)?;
    let policy = Policy::new(args.force, Some(store.dir().to_path_buf()));
    let mut written = Written::default();
    if let Some(file) = &args.onnx {
        let model = onnx_model(args, &store, &records, file, &policy)?;
        if !args.json {
            outln!(
                "{}: {} weights ({}), {} nodes, {} stored values, output {} → {} ({} bytes)",
                printable(&model.name),
                model.weights,
                model.run,
                model.nodes,
                model.stored_values,
                model.output,
                model.file.display(),
                model.bytes
            )?;
        }
        written.onnx = Some(model);
    }
    if let Some(dir) = &args.tensorboard {
        let runs = tensorboard_runs(&store, &records, dir, &policy)?;
        if !args.json {
            for run in &runs {
                let partial = run
                    .partial_status
                    .as_ref()
                    .map_or_else(String::new, |status| {
                        format!(" (the run is {status}: what it logged so far)")
                    });
                outln!(
                    "{}: {} scalar points → {}{partial}",
                    printable(&run.name),
                    run.scalars,
                    run.file.display()
                )?;
            }
            outln!("tensorboard --logdir {}", dir.display())?;
        }
        written.tensorboard = Some(TensorboardWritten {
            dir: dir.clone(),
            runs,
        });
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&written)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `export` wrote, as `--json` prints it.
#[derive(Debug, Default, serde::Serialize)]
struct Written {
    onnx: Option<OnnxWritten>,
    tensorboard: Option<TensorboardWritten>,
}

/// The ONNX model written.
#[derive(Debug, serde::Serialize)]
struct OnnxWritten {
    name: String,
    run: String,
    /// The weights file it came from (`final.safetensors`, …).
    weights: &'static str,
    nodes: usize,
    stored_values: usize,
    /// The output's name: `probabilities` or `logits`.
    output: &'static str,
    file: PathBuf,
    bytes: usize,
}

/// The `TensorBoard` folder written, one event file per run.
#[derive(Debug, serde::Serialize)]
struct TensorboardWritten {
    dir: PathBuf,
    runs: Vec<TensorboardRun>,
}

#[derive(Debug, serde::Serialize)]
struct TensorboardRun {
    name: String,
    run: String,
    scalars: usize,
    file: PathBuf,
    /// The run's status when it had not finished (its file holds what it
    /// logged so far); `None` for a finished run.
    partial_status: Option<String>,
}

fn onnx_model(
    args: &ExportArgs,
    store: &RunStore,
    records: &[RunRecord],
    file: &Path,
    policy: &Policy,
) -> anyhow::Result<OnnxWritten> {
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
    Ok(OnnxWritten {
        name: record.spec.name.clone(),
        run: record.id.to_string(),
        weights: weights.file(),
        nodes: exported.nodes,
        stored_values: exported.parameters,
        output: output.name(),
        file: file.to_path_buf(),
        bytes: exported.bytes,
    })
}

fn tensorboard_runs(
    store: &RunStore,
    records: &[RunRecord],
    dir: &Path,
    policy: &Policy,
) -> anyhow::Result<Vec<TensorboardRun>> {
    let mut runs = Vec::new();
    for record in records {
        let exported = tensorboard::export_run(store, record, dir, policy)
            .with_context(|| format!("exporting {} to TensorBoard", record.id))?;
        runs.push(TensorboardRun {
            name: record.spec.name.clone(),
            run: record.id.to_string(),
            scalars: exported.scalars,
            file: exported.file,
            partial_status: exported.partial.then(|| record.status.to_string()),
        });
    }
    Ok(runs)
}
