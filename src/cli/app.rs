//! `atelier` with no subcommand: the live terminal app; and `atelier watch`,
//! the same app as a read-only viewer of runs trained elsewhere.

use std::{io::IsTerminal, path::Path, process::ExitCode};

use anyhow::{bail, Context};
use atelier::{
    protocol::Event,
    slurm::{watch, Tools},
    store::{Follower, RunStore},
    train::Trainer,
    tui::{
        effects::{Screenshots, System, Training},
        event_loop::{self, Inputs},
        App, RenderMode,
    },
};
use clap::Args;
use crossbeam_channel::{never, unbounded, Receiver};

use super::{train::PlanArgs, viewer::ViewerOptions};
use atelier::session::choice::{prepare, Prepared};

pub fn run(
    plan_args: &PlanArgs,
    viewer: &ViewerOptions,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    require_terminal("use `atelier train` to train headless")?;
    let Prepared {
        plan,
        source,
        store,
    } = prepare(&plan_args.choice(), data_dir, runs_dir)?;
    let mut app = App::new(Vec::new(), plan.runs.clone());
    app.render = RenderMode::detect(viewer.ascii());
    // Stored runs come from the follower, which keeps bringing in runs that
    // other processes (a detached `train`) write; this app's own come from its trainer.
    let mut follower = Follower::new(store.clone(), viewer.stall_after()).skip_own_runs();
    event_loop::catch_up(&mut app, &mut follower);
    // Start on the first run of the plan: that is what the user came to train.
    app.selected = app.runs.len().saturating_sub(plan.runs.len());
    report_unreadable(&mut app, &store);
    let trainer =
        Trainer::spawn(source, store.clone()).context("cannot start the trainer thread")?;
    let mut system = System::new(
        Some(Training {
            commands: trainer.commands(),
            plan: plan.name.clone(),
        }),
        store,
        follower,
        viewer.screenshots(),
    );
    system.data_dir = data_dir.map(Path::to_path_buf);
    let result = run_terminal(&mut app, &mut system, trainer.events().clone());
    // Stops the running run (stored as interrupted) and waits for the thread.
    trainer.shutdown();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// `atelier watch`: follow runs, read-only.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Runs to follow (id, id prefix or name); all runs, old and new, when none.
    #[arg(value_name = "RUN")]
    pub runs: Vec<String>,
    #[command(flatten)]
    pub viewer: ViewerOptions,
}

pub fn watch(
    args: &WatchArgs,
    viewer: &ViewerOptions,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    require_terminal("use `atelier runs show RUN` to print a run")?;
    let store = RunStore::existing(runs_dir)?;
    let mut follower = Follower::new(store.clone(), viewer.stall_after());
    if !args.runs.is_empty() {
        let ids = args
            .runs
            .iter()
            .map(|query| store.find(query))
            .collect::<Result<Vec<_>, _>>()?;
        follower = follower.only(ids);
    }
    let mut app = App::new(Vec::new(), Vec::new());
    app.read_only = true;
    app.render = RenderMode::detect(viewer.ascii());
    event_loop::catch_up(&mut app, &mut follower);
    app.selected = app.newest_started();
    app.message = Some(if app.runs.is_empty() {
        format!("no runs yet in {}: waiting for some", store.dir().display())
    } else {
        format!("watching {} (read-only)", store.dir().display())
    });
    let mut system = System::new(None, store, follower, viewer.screenshots());
    system.data_dir = data_dir.map(Path::to_path_buf);
    run_terminal(&mut app, &mut system, never())?;
    Ok(ExitCode::SUCCESS)
}

fn require_terminal(otherwise: &str) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!("the app needs a terminal, and standard output is not one; {otherwise}");
    }
    Ok(())
}

fn report_unreadable(app: &mut App, store: &RunStore) {
    let (_, errors) = store.list();
    if !errors.is_empty() {
        app.message = Some(format!(
            "{} stored run(s) could not be read: see `atelier runs`",
            errors.len()
        ));
    }
}

/// Takes over the terminal, runs the loop, and gives the terminal back
/// whatever happened (the panic hook of `ratatui::init` covers panics).
fn run_terminal(
    app: &mut App,
    system: &mut System,
    trainer_events: Receiver<Event>,
) -> anyhow::Result<()> {
    let (signal_sender, signals) = unbounded();
    ctrlc::set_handler(move || {
        let _ = signal_sender.send(());
    })
    .context("cannot install the signal handler")?;
    let inputs = Inputs::new(
        event_loop::spawn_terminal_reader().context("cannot read the terminal")?,
        signals,
        trainer_events,
    )
    .with_slurm(
        watch::poll_store(&system.store, Tools::from_env())
            .context("cannot start the Slurm poller thread")?,
    );
    let mut terminal = ratatui::init();
    let result = event_loop::run(&mut terminal, app, system, &inputs);
    ratatui::restore();
    result.context("terminal error")
}

impl ViewerOptions {
    fn screenshots(&self) -> Screenshots {
        Screenshots {
            dir: self.screenshots_dir(),
            theme: self.screenshot_theme(),
        }
    }
}
