//! `atelier runs rm RUN…`: removes stored runs, after saying which and,
//! on a terminal, asking.

use std::{
    io::{BufRead, IsTerminal, Write},
    process::ExitCode,
    time::SystemTime,
};

use anyhow::{bail, Context};
use atelier::{
    edge::printable,
    outln,
    store::{liveness, RunStore},
    units::count,
};
use clap::Args;

/// `atelier runs rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Runs to remove: ids, id starts, run names (the latest run), group or
    /// sweep names (every run of it); several, or a comma list.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<String>,
    /// Remove without asking (needed where there is no terminal to ask on).
    #[arg(short = 'y', long, help_heading = crate::cli::heading::SELECTION)]
    pub yes: bool,
}

pub fn run(store: &RunStore, args: &RmArgs) -> anyhow::Result<ExitCode> {
    let records = store.find_all(&args.runs)?;
    let how_many = count(records.len(), "run");
    let active: Vec<String> = records
        .iter()
        .filter_map(|record| {
            store
                .active(record)
                .map(|why| format!("  {}: {why}", printable(&record.id)))
        })
        .collect();
    if !active.is_empty() {
        bail!(
            "nothing removed: {} of the {how_many} named {} active, and an active run is never removed:\n{}",
            active.len(),
            if active.len() == 1 { "is" } else { "are" },
            active.join("\n")
        );
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "nothing removed: standard input is not a terminal to ask on; pass -y (--yes) to remove {how_many} without asking"
            );
        }
        if !confirmed(store, &records, &how_many)? {
            atelier::noteln!("nothing removed");
            return Ok(ExitCode::FAILURE);
        }
    }
    for (done, record) in records.iter().enumerate() {
        store.remove(&record.id).with_context(|| {
            format!(
                "{} of the {how_many} removed; stopped at {}",
                done,
                printable(&record.id)
            )
        })?;
        outln!(
            "removed {} ({})",
            printable(&record.id),
            printable(&record.spec.name)
        )?;
    }
    outln!("{how_many} removed from {}", store.dir().display())?;
    Ok(ExitCode::SUCCESS)
}

/// Lists the runs on standard error and asks; whether the answer is yes.
fn confirmed(
    store: &RunStore,
    records: &[atelier::store::RunRecord],
    how_many: &str,
) -> anyhow::Result<bool> {
    let mut err = std::io::stderr().lock();
    writeln!(err, "{how_many} to remove from {}:", store.dir().display())?;
    for record in records {
        writeln!(
            err,
            "  {}  {}  {}",
            printable(&record.id),
            printable(&record.spec.name),
            liveness::shown_status(store, record, SystemTime::now())
        )?;
    }
    write!(
        err,
        "remove {how_many} and their files? This cannot be undone. [y/N] "
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
