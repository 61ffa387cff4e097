//! `atelier` with no subcommand: the live terminal app; and `atelier watch`,
//! the same app as a read-only viewer of runs trained elsewhere.

use std::{io::IsTerminal, path::Path, process::ExitCode};

use anyhow::{bail, Context};
use atelier::{
    plan::AlertSettings,
    protocol::Event,
    remote::{self, alerting::Alerting, headless, Dial, SourceSpec, Sources},
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
use atelier::session::{
    batch::Batch,
    choice::{prepare, Prepared},
};

pub fn run(
    plan_args: &PlanArgs,
    viewer: &ViewerOptions,
    also: &[String],
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
    // The plan's `[alerts] stall_after` also says when its runs look stalled.
    let stall_after = viewer.alert_rules(&plan.alerts)?.stall_after;
    let follower = Follower::new(store.clone(), stall_after).skip_own_runs();
    let mut sources = Sources::local(store.clone(), follower);
    let ssh = ssh_command()?;
    for text in also {
        add_source(&mut sources, &remote::parse(text)?, viewer, &ssh, &[])?;
    }
    report_unreadable(&mut app, &store);
    // A plan's `[workers] threads` holds for the app's trainer as for `train`.
    atelier::session::local::set_threads(plan.workers.threads);
    let trainer =
        Trainer::spawn(source, store.clone()).context("cannot start the trainer thread")?;
    let mut system = System::new(
        Some(Training {
            commands: trainer.commands(),
            plan: plan.name.clone(),
        }),
        store,
        sources,
        viewer.screenshots(),
    );
    system.data_dir = data_dir.map(Path::to_path_buf);
    system.alerting = Some(viewer.alerting(&plan.alerts)?);
    system.batch = Some(Batch::new(plan.workers.clone(), &system.store, data_dir));
    event_loop::catch_up(&mut app, &mut system);
    if system.sources.any_remote() {
        app.sources = system.sources.statuses();
    }
    // Start on the first run of the plan: that is what the user came to train.
    app.selected = app.runs.len().saturating_sub(plan.runs.len());
    let result = run_terminal(&mut app, &mut system, trainer.events().clone());
    // Stops the running runs (stored as interrupted), the workers' and the
    // trainer's, and waits for them.
    system.stop_batch();
    trainer.shutdown();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// `atelier watch`: follow runs, read-only.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Where to watch and what: runs folders, local (`~/runs`) or remote
    /// (`[user@]host:path`, `ssh://[user@]host[:port]/path`, over your own
    /// ssh or `$ATELIER_SSH`), merged into one view; and runs of the local
    /// folder (ids, id starts, run names, group or sweep names, comma
    /// lists). No folder: the runs folder (`--runs-dir`); no run: all runs,
    /// old and new.
    #[arg(value_name = "SOURCE|RUN")]
    pub targets: Vec<String>,
    /// No app: print one line per alert (no terminal needed: nohup, cron, a
    /// Slurm job) until every watched run has ended; exit 1 when one failed or crashed.
    #[arg(long, help_heading = crate::cli::heading::OUTPUT)]
    pub alerts: bool,
    #[command(flatten)]
    pub viewer: ViewerOptions,
}

/// The folders and runs `watch` was given.
struct Targets {
    sources: Vec<SourceSpec>,
    runs: Vec<String>,
}

/// Remote sources and existing folders are sources; anything else names a run.
fn targets(args: &[String]) -> anyhow::Result<Targets> {
    let mut targets = Targets {
        sources: Vec::new(),
        runs: Vec::new(),
    };
    for arg in args {
        match remote::parse(arg)? {
            // Run names hold no slash: this was meant as a folder.
            SourceSpec::Local(path) if !path.is_dir() && arg.contains('/') => {
                bail!("{arg:?}: no such runs folder (nor a run: run names hold no '/')")
            }
            SourceSpec::Local(path) if !path.is_dir() => targets.runs.push(arg.clone()),
            source => targets.sources.push(source),
        }
    }
    Ok(targets)
}

pub fn watch(
    args: &WatchArgs,
    viewer: &ViewerOptions,
    data_dir: Option<&Path>,
    runs_dir: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if !args.alerts {
        require_terminal("use `atelier watch --alerts` to be told of runs without one")?;
    }
    let Targets {
        mut sources,
        runs: queries,
    } = targets(&args.targets)?;
    if sources.is_empty() {
        sources.push(SourceSpec::Local(
            RunStore::existing(runs_dir)?.dir().to_path_buf(),
        ));
    }
    let (store, mut sources) = open_sources(&sources, &queries, viewer)?;
    let mut alerting = viewer.alerting(&AlertSettings::default())?;
    if args.alerts {
        return watch_alerts(&mut sources, &mut alerting);
    }
    let mut app = App::new(Vec::new(), Vec::new());
    app.read_only = true;
    app.render = RenderMode::detect(viewer.ascii());
    let mut system = System::new(None, store, sources, viewer.screenshots());
    system.data_dir = data_dir.map(Path::to_path_buf);
    system.alerting = Some(alerting);
    event_loop::catch_up(&mut app, &mut system);
    if system.sources.any_remote() {
        app.sources = system.sources.statuses();
    }
    app.selected = app.newest_started();
    let watched = system
        .sources
        .statuses()
        .iter()
        .map(|source| source.label.clone())
        .collect::<Vec<_>>()
        .join(", ");
    app.message = Some(if app.runs.is_empty() {
        format!("no runs yet in {watched}: waiting for some")
    } else {
        format!("watching {watched} (read-only)")
    });
    run_terminal(&mut app, &mut system, never())?;
    Ok(ExitCode::SUCCESS)
}

/// `watch --alerts`: alert lines until every run has ended, or a signal.
fn watch_alerts(sources: &mut Sources, alerting: &mut Alerting) -> anyhow::Result<ExitCode> {
    let (stop_sender, stop) = unbounded();
    ctrlc::set_handler(move || {
        let _ = stop_sender.send(());
    })
    .context("cannot install the signal handler")?;
    let stdout = std::io::stdout();
    let mut outputs = headless::Outputs {
        lines_are_terminal: stdout.is_terminal(),
        lines: &mut stdout.lock(),
        notes: &mut std::io::stderr(),
    };
    Ok(
        match headless::watch(sources, alerting, &mut outputs, &stop) {
            Some(ended) if ended.with_failures() => ExitCode::FAILURE,
            Some(_) => ExitCode::SUCCESS,
            // Interrupted by a signal, as `tail -f` is.
            None => ExitCode::from(130),
        },
    )
}

/// Opens every source: local folders followed here (the first one also
/// answers run names), remote ones over ssh. Returns the first local
/// folder too (where screenshots are kept out of), or the usual runs
/// folder, unopened, when every source is remote.
fn open_sources(
    specs: &[SourceSpec],
    queries: &[String],
    viewer: &ViewerOptions,
) -> anyhow::Result<(RunStore, Sources)> {
    let ssh = ssh_command()?;
    let mut sources = Sources::default();
    let mut first_local: Option<RunStore> = None;
    for spec in specs {
        let answers = if first_local.is_none() { queries } else { &[] };
        if let Some(store) = add_source(&mut sources, spec, viewer, &ssh, answers)? {
            first_local.get_or_insert(store);
        }
    }
    if first_local.is_none() && !queries.is_empty() {
        bail!(
            "{:?} is neither a folder nor a remote source, and there is no local runs folder to find it in",
            queries[0]
        );
    }
    let store = match first_local {
        Some(store) => store,
        None => RunStore::unopened(RunStore::default_dir().unwrap_or_else(|| "runs".into())),
    };
    Ok((store, sources))
}

/// The ssh command remote sources run: `$ATELIER_SSH`, else `ssh`.
fn ssh_command() -> anyhow::Result<Vec<String>> {
    Ok(remote::source::ssh_command(
        std::env::var(remote::SSH_ENV).ok().as_deref(),
    )?)
}

/// Adds one source; a local one follows only the runs `queries` name
/// (all when none), and is returned.
fn add_source(
    sources: &mut Sources,
    spec: &SourceSpec,
    viewer: &ViewerOptions,
    ssh: &[String],
    queries: &[String],
) -> anyhow::Result<Option<RunStore>> {
    match spec {
        SourceSpec::Local(dir) => {
            let store = RunStore::existing(Some(dir))?;
            let mut follower = Follower::new(store.clone(), viewer.stall_after());
            if !queries.is_empty() {
                let ids: Vec<_> = store
                    .find_all(queries)?
                    .into_iter()
                    .map(|record| record.id)
                    .collect();
                follower = follower.only(ids);
            }
            sources.add_local(store.clone(), follower);
            Ok(Some(store))
        }
        SourceSpec::Remote(remote) => {
            sources
                .add_remote(Dial {
                    remote: remote.clone(),
                    ssh: ssh.to_vec(),
                    atelier: viewer.remote_atelier(),
                    stall_after: viewer.stall_after(),
                })
                .context("cannot start a remote source's thread")?;
            Ok(None)
        }
    }
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
            "{} could not be read: see `atelier runs`",
            atelier::units::count(errors.len(), "stored run")
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
