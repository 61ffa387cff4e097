//! `atelier sweep [NAME]`: a whole sweep read at once: its configurations
//! ranked, the effect of each setting, and a verdict on every pair,
//! corrected for how many pairs there are.

use std::{path::Path, process::ExitCode};

use atelier::{
    analysis::sweep::{choose, margin_of, SweepReport},
    outln,
    report::sweep::{check_by, csv, text},
    store::RunStore,
};
use clap::Args;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep's name, as its plan gives it; the sweep trained last when not given.
    #[arg(value_name = "SWEEP")]
    pub name: Option<String>,
    /// Show only these keys' effects; with two keys, also their heat table
    /// (the first key's values as rows, the second's as columns).
    #[arg(long, value_name = "KEY[,KEY]", value_delimiter = ',', num_args = 1, help_heading = crate::cli::heading::SELECTION)]
    pub by: Vec<String>,
    /// The practical margin, in accuracy points: two configurations whose
    /// difference surely lies within ±margin are equivalent. Without it,
    /// the sweep's own (its plan's `margin`), else 0.5.
    #[arg(long, value_name = "POINTS", value_parser = atelier::plan::parse_margin, help_heading = crate::cli::heading::SELECTION)]
    pub margin: Option<f64>,
    /// Print the whole analysis as JSON, for scripts.
    #[arg(long, conflicts_with = "csv", help_heading = crate::cli::heading::OUTPUT)]
    pub json: bool,
    /// Print the configurations' table as CSV.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub csv: bool,
}

pub fn run(args: &SweepArgs, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    if args.by.len() > 2 {
        anyhow::bail!(
            "--by {}: give one key, or two for a heat table",
            args.by.join(",")
        );
    }
    let store = RunStore::existing(runs_dir)?;
    let (records, errors) = store.list();
    for error in &errors {
        atelier::noteln!("skipped: {error}");
    }
    let name = choose(&records, args.name.as_deref())?;
    let margin = args.margin.unwrap_or_else(|| margin_of(&records, &name));
    let report = SweepReport::of(&name, &records, margin);
    check_by(&report, &args.by)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else if args.csv {
        outln!("{}", csv(&report)?.trim_end())?;
    } else {
        outln!("{}", text(&report, &args.by).trim_end())?;
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
