//! The app's main loop: one `select` over keys, trainer events and signals;
//! state changes first, then at most one draw per frame, and only when
//! something changed, so an idle app costs no CPU.

use std::{
    io,
    path::Path,
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{never, select, unbounded, Receiver};
use ratatui::{crossterm::event, DefaultTerminal};

use super::{input, ui, Action, App};
use crate::{
    plan::Plan,
    store::RunStore,
    train::{Command, Event, RunRequest, Trainer},
};

/// Shortest time between two draws (about 30 frames a second).
pub const FRAME: Duration = Duration::from_millis(33);

/// What the loop listens to besides the trainer.
pub struct Inputs {
    /// Terminal events (keys, resizes), read on their own thread.
    pub terminal: Receiver<event::Event>,
    /// A termination signal (SIGTERM, SIGHUP): quit cleanly.
    pub signals: Receiver<()>,
}

/// Starts the thread that turns blocking terminal reads into channel messages.
/// It ends when the loop drops the receiver (its next send fails).
pub fn spawn_terminal_reader() -> io::Result<Receiver<event::Event>> {
    let (sender, receiver) = unbounded();
    thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || {
            while let Ok(event) = event::read() {
                if sender.send(event).is_err() {
                    break;
                }
            }
        })?;
    Ok(receiver)
}

/// Runs the app until the user quits. The trainer is shut down by the
/// caller (dropping it stores active runs as interrupted).
pub fn run(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    trainer: &Trainer,
    store: &RunStore,
    plan: &Plan,
    inputs: &Inputs,
) -> io::Result<()> {
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        let frame_due = last_draw.is_none_or(|at| at.elapsed() >= FRAME);
        if dirty && frame_due {
            terminal.draw(|frame| ui::draw(frame, app))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        if app.should_quit {
            return Ok(());
        }
        // Sleep until something happens, or until the next frame when a draw waits.
        let wait = if dirty {
            last_draw.map_or(Duration::ZERO, |at| FRAME.saturating_sub(at.elapsed()))
        } else {
            Duration::from_secs(3600)
        };
        select! {
            recv(inputs.terminal) -> message => match message {
                Ok(event::Event::Key(key)) => {
                    for action in input::handle_key(app, key) {
                        perform(app, action, trainer, store, plan);
                    }
                    dirty = true;
                }
                Ok(_) => dirty = true,
                Err(_) => app.should_quit = true,
            },
            recv(trainer.events()) -> message => {
                if let Ok(event) = message {
                    apply(app, &event);
                    // Drain the burst, then draw once.
                    for event in trainer.events().try_iter() {
                        apply(app, &event);
                    }
                    dirty = true;
                }
            },
            recv(inputs.signals) -> _ => app.should_quit = true,
            recv(if dirty { crossbeam_channel::after(wait) } else { never() }) -> _ => {},
        }
    }
}

fn apply(app: &mut App, event: &Event) {
    app.apply(event);
    if let Event::Failed { run, message } = event {
        app.message = Some(format!("{run} failed: {message}"));
    }
}

/// Carries out what a key asked for.
pub fn perform(app: &mut App, action: Action, trainer: &Trainer, store: &RunStore, plan: &Plan) {
    match action {
        Action::Queue { index, spec } => {
            let id = store.new_id(&spec.name);
            app.assign_id(index, id.clone());
            let request = RunRequest {
                id,
                plan: plan.name.clone(),
                spec: *spec,
            };
            if !trainer.send(Command::Queue(Box::new(request))) {
                app.message = Some("the trainer has stopped; restart atelier".into());
            }
        }
        Action::Send(command) => {
            trainer.send(command);
        }
        Action::Delete(id) => {
            let dir = store.run_dir(&id);
            match remove_run_dir(&dir) {
                Ok(()) => {
                    app.remove(&id);
                    app.message = Some(format!("deleted {id}"));
                }
                Err(error) => {
                    app.message = Some(format!("cannot delete {}: {error}", dir.display()))
                }
            }
        }
    }
}

fn remove_run_dir(dir: &Path) -> io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
    } else {
        Ok(())
    }
}
