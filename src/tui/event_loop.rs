//! The app's main loop: one `select` over keys, trainer events, store polls
//! and signals; state changes first, then at most one draw per frame, and
//! only when something changed, so an idle app costs next to no CPU.

use std::{
    io,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{never, select, tick, unbounded, Receiver};
use ratatui::{buffer::Buffer, crossterm::event, layout::Rect, DefaultTerminal};

use super::{input, loader, ui, Action, App};
use crate::{
    export::{self, Theme},
    plan::Plan,
    store::{follow::POLL_INTERVAL, DeviceLock, Follower, Holder, RunStore, StoreError},
    train::{device_name, Command, Event, ResolveDevice, RunId, RunRequest, Trainer},
};

/// Shortest time between two draws (about 30 frames a second).
pub const FRAME: Duration = Duration::from_millis(33);
/// Shortest time between two draws that only show new data (training
/// progress, store updates): ten a second reads as live and leaves the
/// cores to the trainer. Keys get the faster `FRAME`.
pub const DATA_FRAME: Duration = Duration::from_millis(100);

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

/// The app's own training: its trainer and the plan it queues from.
#[derive(Clone, Copy)]
pub struct Training<'a> {
    pub trainer: &'a Trainer,
    pub plan: &'a Plan,
}

/// Where the `s` key saves screenshots, and how they look.
#[derive(Clone, Debug)]
pub struct Screenshots {
    pub dir: PathBuf,
    pub theme: Theme,
}

/// What the loop works with besides the app state.
pub struct Session<'a> {
    /// `None` for a read-only viewer (`atelier watch`).
    pub training: Option<Training<'a>>,
    pub store: &'a RunStore,
    /// Brings in runs that other processes write (and, at start, stored runs).
    pub follower: Follower,
    pub screenshots: Screenshots,
    /// Devices this app has trained on, held until it quits, so a detached
    /// `train` does not start on them meanwhile (and the other way round).
    pub locks: Vec<(String, DeviceLock)>,
    /// Runs this app has queued, for the lock notes.
    pub queued: Vec<RunId>,
    /// `--data-dir`, where the gallery finds the test images (else the usual places).
    pub data_dir: Option<PathBuf>,
}

impl<'a> Session<'a> {
    /// A session with no device taken yet.
    pub fn new(
        training: Option<Training<'a>>,
        store: &'a RunStore,
        follower: Follower,
        screenshots: Screenshots,
    ) -> Self {
        Self {
            training,
            store,
            follower,
            screenshots,
            locks: Vec::new(),
            queued: Vec::new(),
            data_dir: None,
        }
    }

    /// Takes `device` for this app if it has not yet, and notes `run` on its
    /// lock; an error says who else trains there.
    fn claim(&mut self, device: &str, run: &RunId) -> Result<(), StoreError> {
        if !self.locks.iter().any(|(name, _)| name == device) {
            let lock = self.store.lock_device(device)?;
            self.locks.push((device.to_string(), lock));
        }
        self.queued.push(run.clone());
        for (name, lock) in &mut self.locks {
            lock.sign(&Holder {
                pid: std::process::id(),
                device: name.clone(),
                runs: self.queued.clone(),
                log: None,
            })?;
        }
        Ok(())
    }
}

/// Runs the app until the user quits. The trainer is shut down by the
/// caller (dropping it stores active runs as interrupted).
pub fn run(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    session: &mut Session<'_>,
    inputs: &Inputs,
) -> io::Result<()> {
    let mut dirty = true;
    // A key waits for the screen: draw at the faster frame rate.
    let mut urgent = false;
    let mut last_draw: Option<Instant> = None;
    // The screen as last drawn: what `s` saves.
    let mut screen = Buffer::empty(Rect::default());
    let poll = tick(POLL_INTERVAL);
    let no_events = never();
    let trainer_events = session
        .training
        .map_or(&no_events, |training| training.trainer.events());
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    loop {
        let interval = if urgent { FRAME } else { DATA_FRAME };
        let frame_due = last_draw.is_none_or(|at| at.elapsed() >= interval);
        if dirty && frame_due {
            let frame = terminal.draw(|frame| ui::draw(frame, app))?;
            screen.clone_from(frame.buffer);
            last_draw = Some(Instant::now());
            dirty = false;
            urgent = false;
        }
        if app.should_quit {
            return Ok(());
        }
        // Sleep until something happens, or until the next frame when a draw waits.
        let wait = if dirty {
            last_draw.map_or(Duration::ZERO, |at| interval.saturating_sub(at.elapsed()))
        } else {
            Duration::from_secs(3600)
        };
        select! {
            recv(inputs.terminal) -> message => match message {
                Ok(event::Event::Key(key)) => {
                    for action in input::handle_key(app, key) {
                        perform(app, action, session, &screen);
                    }
                    loader::load_needed(app, session.store, session.data_dir.as_deref());
                    dirty = true;
                    urgent = true;
                }
                Ok(event::Event::Resize(width, height)) => {
                    app.size = (width, height);
                    dirty = true;
                    urgent = true;
                }
                Ok(_) => {
                    dirty = true;
                    urgent = true;
                }
                Err(_) => app.should_quit = true,
            },
            recv(trainer_events) -> message => {
                if let Ok(event) = message {
                    apply(app, &event);
                    // Drain the burst, then draw once.
                    for event in trainer_events.try_iter() {
                        apply(app, &event);
                    }
                    // A run that just finished may be what the diff waits for.
                    loader::load_needed(app, session.store, session.data_dir.as_deref());
                    dirty = true;
                }
            },
            recv(poll) -> _ => {
                let updates = session.follower.poll();
                for update in &updates {
                    app.apply_update(update);
                }
                if !updates.is_empty() {
                    loader::load_needed(app, session.store, session.data_dir.as_deref());
                }
                dirty |= !updates.is_empty();
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

/// Carries out what a key asked for; `screen` is the screen as last drawn.
pub fn perform(app: &mut App, action: Action, session: &mut Session<'_>, screen: &Buffer) {
    match action {
        Action::Queue { index, spec } => {
            let Some(training) = session.training else {
                app.message = Some("read-only: this viewer cannot train".into());
                return;
            };
            let id = session.store.new_id(&spec.name);
            // The plan's devices were checked at start; a device that vanished
            // since is reported by the trainer when the run starts.
            if let Ok(device) = spec.device.resolve() {
                if let Err(error) = session.claim(&device_name(device), &id) {
                    app.message = Some(error.to_string());
                    return;
                }
            }
            app.assign_id(index, id.clone());
            let request = RunRequest {
                id,
                plan: training.plan.name.clone(),
                spec: *spec,
            };
            if !training.trainer.send(Command::Queue(Box::new(request))) {
                app.message = Some("the trainer has stopped; restart atelier".into());
            }
        }
        Action::Continue { run, spec } => {
            let Some(training) = session.training else {
                app.message = Some("read-only: this viewer cannot train".into());
                return;
            };
            if let Ok(device) = spec.device.resolve() {
                if let Err(error) = session.claim(&device_name(device), &run) {
                    app.message = Some(error.to_string());
                    return;
                }
            }
            app.take_over(&run);
            if !training.trainer.send(Command::Continue { run }) {
                app.message = Some("the trainer has stopped; restart atelier".into());
            }
        }
        Action::Send(command) => {
            if let Some(training) = session.training {
                training.trainer.send(command);
            }
        }
        Action::Delete(id) => {
            let dir = session.store.run_dir(&id);
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
        Action::Screenshot => {
            let stem = export::timestamped_stem(app.view.name());
            let target = &session.screenshots;
            app.message = Some(
                match export::save_all(screen, &target.dir, &stem, target.theme) {
                    Ok(_) => format!(
                        "screenshot saved: {}.{{txt,ansi,html,svg,png}}",
                        target.dir.join(&stem).display()
                    ),
                    Err(error) => format!("screenshot not saved: {error}"),
                },
            );
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::tui::test_support::planned_app;

    #[test]
    fn a_screenshot_saves_every_format_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path().join("runs")).unwrap();
        let mut session = Session::new(
            None,
            &store,
            Follower::new(store.clone(), Duration::from_secs(60)),
            Screenshots {
                dir: dir.path().join("shots"),
                theme: Theme::Light,
            },
        );
        let mut app = planned_app(&["M1"]);
        app.view = crate::tui::View::Confusion;
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let screen = terminal
            .draw(|frame| ui::draw(frame, &app))
            .unwrap()
            .buffer
            .clone();
        perform(&mut app, Action::Screenshot, &mut session, &screen);
        let message = app.message.clone().unwrap();
        assert!(message.starts_with("screenshot saved: "), "{message}");
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("shots"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(names
            .iter()
            .all(|name| name.starts_with("atelier-confusion-")));
        let text_file = names.iter().find(|name| name.ends_with(".txt")).unwrap();
        let text = std::fs::read_to_string(dir.path().join("shots").join(text_file)).unwrap();
        assert_eq!(text, crate::export::text::plain(&screen));
        assert!(message.contains(&text_file.replace(".txt", "")));
    }

    #[test]
    fn a_screenshot_that_cannot_be_written_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path().join("runs")).unwrap();
        // A file where the folder should be.
        let blocked = dir.path().join("shots");
        std::fs::write(&blocked, "").unwrap();
        let mut session = Session::new(
            None,
            &store,
            Follower::new(store.clone(), Duration::from_secs(60)),
            Screenshots {
                dir: blocked.clone(),
                theme: Theme::Dark,
            },
        );
        let mut app = planned_app(&["M1"]);
        perform(
            &mut app,
            Action::Screenshot,
            &mut session,
            &Buffer::empty(Rect::new(0, 0, 80, 24)),
        );
        let message = app.message.unwrap();
        assert!(
            message.starts_with("screenshot not saved: cannot create the screenshots folder")
                && message.contains(&blocked.display().to_string()),
            "{message}"
        );
    }
}
