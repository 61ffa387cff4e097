//! `atelier compare A B`: is the difference between two runs or two groups real?

use std::{path::Path, process::ExitCode};

use atelier::{
    analysis::{
        compare_in_sweep,
        sweep::{Pair, SweepReport},
    },
    edge::{
        printable,
        table::{Align, Table},
    },
    outln,
    plan::Reference,
    stats::{verdict::signed, Summary},
    store::{naming::find_target, GroupRuns, RunRecord, RunStore, Target},
};
use clap::Args;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A run or a group: a group's name (`M2`, `M2 lr=3e-4`), a run's name
    /// (its latest run), a run id, or a unique start of a run id or group key.
    #[arg(value_name = "A")]
    pub a: String,
    /// The other side; the verdict is about A − B.
    #[arg(value_name = "B")]
    pub b: String,
    /// Print the verdict as JSON, for scripts.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub json: bool,
}

pub fn run(args: &CompareArgs, runs_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = RunStore::existing(runs_dir)?;
    let a = find_target(&store, &args.a)?;
    let b = find_target(&store, &args.b)?;
    let (verdict, in_sweep) = compare_in_sweep(&store, &a, &b);
    if args.json {
        let mut value = serde_json::to_value(&verdict)?;
        if let Some((report, pair)) = &in_sweep {
            value["sweep"] = serde_json::json!({
                "name": report.sweep,
                "family": report.family,
                "pair": pair,
            });
        }
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        let mut table = Table::new(&[
            ("NAME", Align::Left),
            ("RUNS", Align::Right),
            ("DONE", Align::Right),
            ("TEST ACCURACY", Align::Left),
            ("ORIGINAL", Align::Left),
            ("RUN OR GROUP KEY", Align::Left),
        ]);
        for target in [&a, &b] {
            table.row(side_row(target));
        }
        table.print()?;
        for line in verdict.text().lines() {
            outln!("{}", printable(line))?;
        }
        if let Some((report, pair)) = &in_sweep {
            outln!("{}", printable(&sweep_line(report, pair)))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `in sweep M1, one of 66 pairs: Holm-adjusted p = 0.3400: undecided (≈7 seeds each)`.
fn sweep_line(report: &SweepReport, pair: &Pair) -> String {
    let adjusted = pair
        .p_holm
        .map_or_else(|| "no test".into(), |p| format!("Holm-adjusted p = {p:.4}"));
    let seeds = pair.seeds_needed.map_or_else(String::new, |n| {
        format!(" (≈{n} seeds each would likely decide it)")
    });
    format!(
        "in sweep {}, one of {} tested pairs: {adjusted}, margin ±{:.2} points: {}{seeds}",
        report.sweep,
        report.family,
        report.margin_points,
        pair.verdict.text()
    )
}

/// One side's row: `M2  5  5  0.8940 ± 0.0033, 95% CI 0.8899 … 0.8981  0.8952, −0.12 points  3f2a…`.
fn side_row(target: &Target) -> [String; 6] {
    match target {
        Target::Run(record) => [
            record.spec.name.clone(),
            "1".to_string(),
            u8::from(record.test_accuracy.is_some()).to_string(),
            record
                .test_accuracy
                .map_or_else(|| "-".to_string(), |a| format!("{a:.4}")),
            original(record.spec.reference, record.test_accuracy),
            record.id.to_string(),
        ],
        Target::Group { group, runs } => {
            let refs: Vec<&RunRecord> = runs.iter().collect();
            let stats = GroupRuns {
                group: group.clone(),
                runs: refs,
            }
            .stats();
            [
                group.name.clone(),
                stats.runs.to_string(),
                stats.done.to_string(),
                summary_text(&stats.test_accuracy),
                original(stats.reference, stats.test_accuracy.mean),
                group.key.clone(),
            ]
        }
    }
}

/// `0.8940 ± 0.0033, 95% CI 0.8899 … 0.8981`, or as much of it as there is.
pub fn summary_text(summary: &Summary) -> String {
    match (summary.mean, summary.sd, summary.ci) {
        (Some(mean), Some(sd), Some((low, high))) => {
            format!("{mean:.4} ± {sd:.4}, 95% CI {low:.4} … {high:.4}")
        }
        (Some(mean), _, _) => format!("{mean:.4} (one run: no interval)"),
        _ => "- (no finished run)".to_string(),
    }
}

/// `0.9094, −0.74 points` (the original's accuracy, and the value's
/// distance from it), `-` without an original.
fn original(reference: Option<Reference>, value: Option<f64>) -> String {
    reference.map_or_else(
        || "-".to_string(),
        |reference| {
            let delta = value
                .map(|a| format!(", {} points", signed((a - reference.test_accuracy) * 100.0)))
                .unwrap_or_default();
            format!("{:.4}{delta}", reference.test_accuracy)
        },
    )
}
