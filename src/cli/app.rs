//! `atelier` with no subcommand: the live terminal app.

use std::{io::IsTerminal, path::Path, process::ExitCode};

use anyhow::{bail, Context};
use atelier::{
    train::Trainer,
    tui::{
        event_loop::{self, Inputs},
        App, RenderMode, RunView,
    },
};
use crossbeam_channel::unbounded;

use super::train::PlanArgs;

pub fn run(
    plan_args: &PlanArgs,
    ascii: bool,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if !std::io::stdout().is_terminal() {
        bail!("the app needs a terminal, and standard output is not one; use `atelier train` to train headless");
    }
    let (plan, source, store) = super::train::prepare(plan_args, data_dir, runs_dir)?;
    let (records, errors) = store.list();
    let stored = records
        .iter()
        .map(|record| {
            let events = store
                .events(&record.id)
                .map(|log| log.events)
                .unwrap_or_default();
            RunView::stored(record, &events)
        })
        .collect();
    let mut app = App::new(stored, plan.runs.clone());
    app.render = RenderMode::detect(ascii);
    // Start on the first run of the plan: that is what the user came to train.
    app.selected = app.runs.len().saturating_sub(plan.runs.len());
    if !errors.is_empty() {
        app.message = Some(format!(
            "{} stored run(s) could not be read: see `atelier runs`",
            errors.len()
        ));
    }
    let trainer =
        Trainer::spawn(source, store.clone()).context("cannot start the trainer thread")?;
    let (signal_sender, signals) = unbounded();
    ctrlc::set_handler(move || {
        let _ = signal_sender.send(());
    })
    .context("cannot install the signal handler")?;
    let inputs = Inputs {
        terminal: event_loop::spawn_terminal_reader().context("cannot read the terminal")?,
        signals,
    };
    let mut terminal = ratatui::init();
    let result = event_loop::run(&mut terminal, &mut app, &trainer, &store, &plan, &inputs);
    ratatui::restore();
    // Stops the running run (stored as interrupted) and waits for the thread.
    trainer.shutdown();
    result.context("terminal error")?;
    Ok(ExitCode::SUCCESS)
}
