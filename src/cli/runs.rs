//! `atelier runs`: the stored runs, and one run in detail.

use std::{path::Path, process::ExitCode, time::SystemTime};

use atelier::{
    analysis::sweep::{group_labels, margin_of, sweeps, SweepReport},
    data::CLASS_NAMES,
    edge::{
        printable,
        table::{fit, Align, Table},
    },
    outln,
    plan::settings::GroupLabel,
    stats::confusion as metrics,
    store::{group_runs, liveness, GroupRuns, History, RunRecord, RunStore},
    units::{clock, count, thousands},
};
use clap::Subcommand;

mod remove;

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// One run in detail: settings, per-epoch history, test results, confusion matrix.
    Show {
        /// Run id, a unique start of one, or a run name (its latest run);
        /// a group or sweep is refused with its closest runs.
        #[arg(value_name = "RUN")]
        run: String,
        /// Print it as JSON: the record, the epochs and the test result.
        #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
        json: bool,
    },
    /// Runs that differ only in their seed, as groups: n, mean ± sd and the
    /// 95% interval of the test accuracy.
    Groups {
        /// Print them as JSON.
        #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
        json: bool,
    },
    /// Remove stored runs and their files: lists them and asks first
    /// (-y to skip); active runs are refused.
    #[command(visible_alias = "remove")]
    Rm(remove::RmArgs),
}

pub fn run(
    command: Option<&RunsCommand>,
    json: bool,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = RunStore::existing(runs_dir)?;
    match command {
        None => list(&store, json),
        Some(RunsCommand::Show { run, json }) => show(&store, run, *json),
        Some(RunsCommand::Groups { json }) => groups(&store, *json),
        Some(RunsCommand::Rm(args)) => remove::run(&store, args),
    }
}

/// A record as `runs --json` prints it: the record, with the status the
/// text table shows (`crashed`, `stalled 400s`) beside the stored one.
fn record_json(store: &RunStore, record: &RunRecord) -> serde_json::Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    value["shown_status"] = liveness::shown_status(store, record, SystemTime::now()).into();
    value
}

fn list(store: &RunStore, json: bool) -> anyhow::Result<ExitCode> {
    let (records, errors) = store.list();
    let code = skipped(&errors);
    if json {
        let all: Vec<serde_json::Value> = records.iter().map(|r| record_json(store, r)).collect();
        outln!("{}", serde_json::to_string_pretty(&all)?)?;
        return Ok(code);
    }
    if records.is_empty() {
        outln!("no runs yet in {}", store.dir().display())?;
        return Ok(code);
    }
    let labels = group_labels(&records);
    // The id last: a sweep's ids run to 56 characters, and what a row says
    // (the model and its settings, how it went) lines up before it.
    let mut table = Table::new(&[
        ("MODEL", Align::Left),
        ("STATUS", Align::Left),
        ("EPOCHS", Align::Right),
        ("BEST VAL", Align::Right),
        ("TEST ACC", Align::Right),
        ("DEVICE", Align::Left),
        ("TIME", Align::Right),
        ("RUN", Align::Left),
    ]);
    for record in &records {
        // A sweep's run is named by what varies in it, its seed after that.
        let model = match labels.get(&record.group().id()) {
            Some(label) if label.sweep.is_some() => GroupLabel {
                label: format!("{} seed={}", label.label, record.spec.seed),
                ..label.clone()
            }
            .fit(40),
            _ => fit(&record.spec.title(), 40),
        };
        table.row([
            model,
            liveness::shown_status(store, record, SystemTime::now()),
            format!("{}/{}", record.epochs_done, record.spec.epochs),
            optional(record.best_val_accuracy),
            optional(record.test_accuracy),
            record.device.clone().unwrap_or_else(|| "-".into()),
            record.seconds.map_or_else(|| "-".into(), clock),
            record.id.to_string(),
        ]);
    }
    table.print()?;
    outln!(
        "{} in {}",
        count(records.len(), "run"),
        store.dir().display()
    )?;
    Ok(code)
}

/// Names each run folder that could not be read; as `ls` does, whatever
/// could be read is listed, and the exit status says something could not.
fn skipped(errors: &[atelier::store::StoreError]) -> ExitCode {
    for error in errors {
        atelier::noteln!("skipped: {error}");
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The widest a group's label gets in `runs groups` before its sweep's
/// name, then its own end, is cut.
const GROUP_WIDTH: usize = 40;

/// `atelier runs groups`: one line per group, a sweep's named by the keys
/// that vary in it; then what each sweep's configurations share.
fn groups(store: &RunStore, json: bool) -> anyhow::Result<ExitCode> {
    let (records, errors) = store.list();
    let code = skipped(&errors);
    let grouped = group_runs(&records);
    let labels = group_labels(&records);
    let label_of = |group: &GroupRuns| {
        labels
            .get(&group.group.id())
            .cloned()
            .unwrap_or(GroupLabel {
                sweep: None,
                label: group.group.name.clone(),
            })
    };
    if json {
        let all: Vec<serde_json::Value> = grouped
            .iter()
            .map(|group| {
                let mut value = serde_json::to_value(group.stats()).unwrap_or_default();
                let label = label_of(group);
                value["label"] = label.label.into();
                value["sweep"] = label.sweep.into();
                value
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&all)?)?;
        return Ok(code);
    }
    let mut table = Table::new(&[
        ("GROUP", Align::Left),
        ("RUNS", Align::Right),
        ("DONE", Align::Right),
        ("TEST ACCURACY (mean ± sd, 95% CI)", Align::Left),
        ("ORIGINAL", Align::Right),
    ]);
    for group in &grouped {
        let stats = group.stats();
        table.row([
            label_of(group).fit(GROUP_WIDTH),
            stats.runs.to_string(),
            stats.done.to_string(),
            super::compare::summary_text(&stats.test_accuracy),
            stats
                .reference
                .map_or_else(|| "-".into(), |r| format!("{:.4}", r.test_accuracy)),
        ]);
    }
    table.print()?;
    outln!(
        "{} of {} in {}",
        count(grouped.len(), "group"),
        count(records.len(), "run"),
        store.dir().display()
    )?;
    for sweep in sweeps(&records) {
        let report = SweepReport::of(&sweep, &records, margin_of(&records, &sweep));
        let shared: Vec<String> = report
            .shared
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        outln!(
            "sweep {}: its configurations share {} (atelier sweep {} reads it whole)",
            printable(&sweep),
            printable(&shared.join(" ")),
            printable(&sweep)
        )?;
    }
    Ok(code)
}

fn show(store: &RunStore, query: &str, json: bool) -> anyhow::Result<ExitCode> {
    let id = store.find(query)?;
    let record = store.load(&id)?;
    let log = store.events(&id)?;
    let history = History::from_events(&log.events);
    if json {
        let value = serde_json::json!({
            "record": record_json(store, &record),
            "epochs": history.epochs,
            "test": history.test,
            "test_flip_accuracy": history.flip_accuracy,
            "notes": {
                "skipped": log.skipped.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "skipped_unnamed": log.skipped_unnamed,
                "torn_tail": log.torn_tail,
            },
        });
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let spec = &record.spec;
    outln!("{}  {}", record.id, printable(&spec.title()))?;
    outln!("  model       {}", spec.model)?;
    if let Some(params) = record.params {
        outln!("  parameters  {}", thousands(params))?;
    }
    let optimizer = match spec.recipe.optimizer {
        atelier::plan::OptimizerKind::Adam => "Adam",
        atelier::plan::OptimizerKind::AdamW => "AdamW",
        atelier::plan::OptimizerKind::Sgd => "SGD",
    };
    outln!(
        "  settings    {}, batch {}, {optimizer} lr {}, seed {}, validation split {}{}",
        count(spec.epochs, "epoch"),
        spec.batch_size,
        spec.learning_rate,
        spec.seed,
        spec.validation_split,
        spec.limit_train.map_or_else(String::new, |n| format!(
            ", first {}",
            count(n, "training image")
        )),
    )?;
    if !spec.recipe.is_original() {
        outln!("  recipe      {}", spec.recipe.describe())?;
    }
    let group = record.group();
    outln!(
        "  group       {} (key {}){}",
        printable(&group.name),
        group.key,
        spec.sweep
            .as_ref()
            .map_or_else(String::new, |sweep| format!(", sweep {}", printable(sweep)))
    )?;
    outln!(
        "  status      {} on {} (plan {:?}, created {}, atelier {})",
        liveness::shown_status(store, &record, SystemTime::now()),
        record.device.as_deref().unwrap_or("no device yet"),
        printable(&record.plan),
        record.created_at,
        record.version
    )?;
    if let (Some(threads), Some(reason)) = (record.threads, &record.thread_reason) {
        outln!("  threads     {threads} ({reason})")?;
    }
    if let Some(error) = &record.error {
        outln!("  error       {error}")?;
    }
    for skipped in &log.skipped {
        outln!("  note        skipped {skipped}")?;
    }
    if log.skipped_unnamed > 0 {
        outln!(
            "  note        skipped {} more {} that {} not events",
            log.skipped_unnamed,
            if log.skipped_unnamed == 1 {
                "line"
            } else {
                "lines"
            },
            if log.skipped_unnamed == 1 {
                "is"
            } else {
                "are"
            }
        )?;
    }
    if log.torn_tail {
        outln!("  note        the log's last line was cut short (the writer stopped mid-line) and is skipped")?;
    }
    if !history.epochs.is_empty() {
        outln!(
            "\n  {:>5} {:>8} {:>9} {:>9} {:>12} {:>8}",
            "epoch",
            "loss",
            "accuracy",
            "val_loss",
            "val_accuracy",
            "seconds"
        )?;
        for row in &history.epochs {
            outln!(
                "  {:>5} {:>8.4} {:>9.4} {:>9.4} {:>12.4} {:>8.1}",
                row.epoch,
                row.train_loss,
                row.train_accuracy,
                row.val_loss,
                row.val_accuracy,
                row.seconds
            )?;
        }
    }
    if let Some(test) = &history.test {
        outln!(
            "\n  test accuracy {:.4}, test loss {:.4}",
            test.accuracy,
            test.loss
        )?;
        if let Some(reference) = spec.reference {
            outln!(
                "  original      {:.4}, test loss {:.4}  (accuracy {:+.2} points)",
                reference.test_accuracy,
                reference.test_loss,
                (test.accuracy - reference.test_accuracy) * 100.0
            )?;
        }
        if let Some(flipped) = history.flip_accuracy {
            outln!("  with test-time flip {flipped:.4} (each image averaged with its mirror; reported apart)")?;
        }
        print_confusion(&test.confusion)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_confusion(matrix: &atelier::protocol::ConfusionMatrix) -> anyhow::Result<()> {
    let short: Vec<String> = CLASS_NAMES.iter().map(|name| truncate(name, 6)).collect();
    outln!("\n  confusion matrix (rows: true class, columns: predicted)")?;
    let header: String = short.iter().map(|name| format!(" {name:>6}")).collect();
    outln!("  {:<12}{header}  recall precision", "")?;
    let scores = metrics::class_scores(matrix);
    for (truth, row) in matrix.iter().enumerate() {
        let counts: String = row.iter().map(|count| format!(" {count:>6}")).collect();
        outln!(
            "  {:<12}{counts}  {:>6} {:>9}",
            CLASS_NAMES[truth],
            optional(scores[truth].recall),
            optional(scores[truth].precision)
        )?;
    }
    let top = metrics::top_confusions(matrix, 5);
    if !top.is_empty() {
        outln!("\n  most frequent confusions")?;
        for confusion in top {
            outln!(
                "    {} → {} {:.1}% ({})",
                CLASS_NAMES[confusion.truth],
                CLASS_NAMES[confusion.predicted],
                confusion.rate * 100.0,
                confusion.count
            )?;
        }
    }
    Ok(())
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |value| format!("{value:.4}"))
}

/// `text` made printable (see `atelier::edge::printable`), cut to `width`.
fn truncate(text: &str, width: usize) -> String {
    let text = printable(text);
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
