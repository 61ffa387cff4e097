//! `atelier report`: the original notebook's figures and results table, from stored runs.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use atelier::{edge::output::Policy, outln, report, store::RunStore, units::count};
use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Runs to report, in this order: ids, id starts, run names, group or
    /// sweep names (every run of it); repeat it or give a comma list
    /// [default: every finished run]. `--runs` is the same flag.
    #[arg(long = "run", visible_alias = "runs", value_name = "RUN", help_heading = crate::cli::heading::SELECTION)]
    pub runs: Vec<String>,
    /// Folder for the PNG figures, results.md and results.csv.
    #[arg(short, long, value_name = "DIR", help_heading = crate::cli::heading::OUTPUT)]
    pub output: PathBuf,
    /// Replace existing files of other kinds in DIR (never a run's own
    /// files, a link or a device).
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub force: bool,
    /// List every file written, not only how many.
    #[arg(short, long, help_heading = crate::cli::heading::OUTPUT)]
    pub verbose: bool,
    /// Print the folder and every file written as JSON, for scripts.
    #[arg(long, conflicts_with = "verbose", help_heading = crate::cli::heading::OUTPUT)]
    pub json: bool,
}

pub fn run(args: &ReportArgs, runs_dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::existing(runs_dir)?;
    let ids: Vec<_> = store
        .find_all(&args.runs)
        .context("--run")?
        .into_iter()
        .map(|record| record.id)
        .collect();
    let (runs, skipped) = report::collect(&store, &ids)?;
    for id in &skipped {
        atelier::noteln!("skipped {id}: it has no test results (not finished)");
    }
    if runs.is_empty() {
        return Err(
            report::ReportError::NothingToReport(format!(" in {}", store.dir().display())).into(),
        );
    }
    let policy = Policy::new(args.force, Some(store.dir().to_path_buf()));
    let written = report::write(&runs, &args.output, &policy)?;
    if args.json {
        let value = serde_json::json!({
            "dir": args.output,
            "runs": runs.len(),
            "skipped": skipped,
            "files": written,
        });
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.verbose {
        for path in &written {
            outln!("{}", path.display())?;
        }
    }
    outln!("{}", summary(&written, &args.output, runs.len()))?;
    Ok(ExitCode::SUCCESS)
}

/// `wrote 79 files to DIR (14 figures, 4 tables, 61 other files) for 6 runs`.
fn summary(written: &[PathBuf], dir: &Path, runs: usize) -> String {
    let extension = |path: &PathBuf| {
        path.extension()
            .and_then(|ext| ext.to_str())
            .map(str::to_ascii_lowercase)
    };
    let figures = written
        .iter()
        .filter(|path| extension(path).as_deref() == Some("png"))
        .count();
    let tables = written
        .iter()
        .filter(|path| matches!(extension(path).as_deref(), Some("md" | "csv")))
        .count();
    let mut kinds = vec![count(figures, "figure"), count(tables, "table")];
    let others = written.len() - figures - tables;
    if others > 0 {
        kinds.push(count(others, "other file"));
    }
    format!(
        "wrote {} to {} ({}) for {}",
        count(written.len(), "file"),
        dir.display(),
        kinds.join(", "),
        count(runs, "run")
    )
}
