//! The app's main loop: one `select` over keys, trainer events, store polls
//! and signals; state changes first, then at most one draw per frame, and
//! only when something changed, so an idle app costs next to no CPU.

use std::{
    io, thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{after, never, select, tick, unbounded, Receiver};
use ratatui::{backend::Backend, buffer::Buffer, crossterm::event, layout::Rect, Terminal};

use super::{
    effects::{Effects, System},
    input, loader, ui, Action, App,
};
use crate::{
    plan::RunSpec,
    protocol::{Command, Event, RunId},
    remote::{alerting::Told, News, Sourced},
    session::batch::{Handed, Verdict, Withdrawn},
    session::control::Control,
    slurm::watch::Poll,
    store::follow::POLL_INTERVAL,
};

/// Shortest time between two draws (about 30 frames a second).
pub const FRAME: Duration = Duration::from_millis(33);
/// Shortest time between two draws that only show new data (training
/// progress, store updates): ten a second reads as live and leaves the
/// cores to the trainer. Keys get the faster `FRAME`.
pub const DATA_FRAME: Duration = Duration::from_millis(100);

/// Everything the loop listens to. Passed in, so tests can drive the real
/// loop with keys, trainer events and store polls of their own.
pub struct Inputs {
    /// Terminal events (keys, resizes), read on their own thread.
    pub terminal: Receiver<event::Event>,
    /// The app's own trainer's events (none for a read-only viewer).
    pub trainer: Receiver<Event>,
    /// When to poll the store for runs that other processes write.
    pub store_ticks: Receiver<Instant>,
    /// A termination signal (SIGTERM, SIGHUP): quit cleanly.
    pub signals: Receiver<()>,
    /// What squeue says of the runs' Slurm tasks ([`crate::slurm::watch`]);
    /// `never()` when the runs did not come from Slurm.
    pub slurm: Receiver<Poll>,
}

impl Inputs {
    /// The app's inputs: these terminal events and signals, the trainer's
    /// events (`never()` for a viewer), and a store poll every
    /// [`POLL_INTERVAL`]; no Slurm news (see [`Inputs::with_slurm`]).
    pub fn new(
        terminal: Receiver<event::Event>,
        signals: Receiver<()>,
        trainer: Receiver<Event>,
    ) -> Self {
        Self {
            terminal,
            trainer,
            store_ticks: tick(POLL_INTERVAL),
            signals,
            slurm: never(),
        }
    }

    /// These inputs, and what squeue says from `slurm`.
    pub fn with_slurm(self, slurm: Receiver<Poll>) -> Self {
        Self { slurm, ..self }
    }
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

/// Runs the app until the user quits, drawing on `terminal` (the real one,
/// or a test backend). The trainer is shut down by the caller (dropping it
/// stores active runs as interrupted).
pub fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    system: &mut System,
    inputs: &Inputs,
) -> Result<(), B::Error> {
    let mut pacing = Pacing::default();
    // The screen as last drawn: what `s` saves.
    let mut screen = Buffer::empty(Rect::default());
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    let mut slurm = inputs.slurm.clone();
    let verdicts = system.verdicts();
    loop {
        if pacing.frame_due() {
            let frame = terminal.draw(|frame| ui::draw(frame, app))?;
            screen.clone_from(frame.buffer);
            pacing.drawn();
        }
        if app.should_quit {
            return Ok(());
        }
        // Sleep until something happens, or until the next frame when a draw waits.
        let next_frame = pacing.wait().map_or_else(never, after);
        select! {
            recv(inputs.terminal) -> message => match message {
                Ok(event) => {
                    on_terminal(app, system, &screen, event);
                    // A key waits for the screen: draw at the faster frame rate.
                    pacing.changed(true);
                }
                Err(_) => app.should_quit = true,
            },
            recv(inputs.trainer) -> message => {
                if let Ok(event) = message {
                    on_trainer(app, system, &event, &inputs.trainer);
                    pacing.changed(false);
                }
            },
            recv(verdicts) -> message => {
                if let Ok(verdict) = message {
                    on_verdict(app, system, verdict);
                    pacing.changed(false);
                }
            },
            recv(inputs.store_ticks) -> _ => {
                // Rows a worker took follow the store from this poll on.
                let workers_moved = tick_batch(app, system);
                if catch_up(app, system) || workers_moved {
                    loader::load_needed_from(
                app,
                &system.sources,
                &system.store,
                system.data_dir.as_deref(),
            );
                    pacing.changed(false);
                }
            },
            recv(slurm) -> message => match message {
                Ok(poll) => {
                    if app.apply_slurm(poll) {
                        pacing.changed(false);
                    }
                }
                // A poller that is gone would otherwise wake the loop without end.
                Err(_) => slurm = never(),
            },
            recv(inputs.signals) -> _ => app.should_quit = true,
            recv(next_frame) -> _ => {},
        }
    }
}

/// When to draw: only when something changed, and at most one frame per
/// `FRAME` after a key, per `DATA_FRAME` after new data only.
#[derive(Debug)]
struct Pacing {
    dirty: bool,
    urgent: bool,
    last_draw: Option<Instant>,
}

impl Default for Pacing {
    /// The first frame is due at once.
    fn default() -> Self {
        Self {
            dirty: true,
            urgent: false,
            last_draw: None,
        }
    }
}

impl Pacing {
    fn interval(&self) -> Duration {
        if self.urgent {
            FRAME
        } else {
            DATA_FRAME
        }
    }

    fn frame_due(&self) -> bool {
        self.dirty
            && self
                .last_draw
                .is_none_or(|at| at.elapsed() >= self.interval())
    }

    fn drawn(&mut self) {
        self.last_draw = Some(Instant::now());
        self.dirty = false;
        self.urgent = false;
    }

    /// Something on screen changed; `urgent` when a key did it.
    fn changed(&mut self, urgent: bool) {
        self.dirty = true;
        self.urgent |= urgent;
    }

    /// How long until the waiting draw is due; `None` when none waits.
    fn wait(&self) -> Option<Duration> {
        self.dirty.then(|| {
            self.last_draw.map_or(Duration::ZERO, |at| {
                self.interval().saturating_sub(at.elapsed())
            })
        })
    }
}

/// A key, a resize or another terminal event; `screen` is the screen as last drawn.
fn on_terminal(app: &mut App, system: &mut System, screen: &Buffer, event: event::Event) {
    match event {
        event::Event::Key(key) => {
            let actions = input::handle_key(app, key);
            perform_all(app, actions, system, screen);
            loader::load_needed_from(
                app,
                &system.sources,
                &system.store,
                system.data_dir.as_deref(),
            );
        }
        event::Event::Resize(width, height) => app.size = (width, height),
        // Focus changes, pastes: nothing to do but redraw.
        _ => {}
    }
}

/// A trainer event, and the rest of its burst: all applied, then one draw.
fn on_trainer(app: &mut App, system: &mut System, first: &Event, events: &Receiver<Event>) {
    for event in std::iter::once(first.clone()).chain(events.try_iter()) {
        apply(app, &event);
        if let Some(alerting) = &mut system.alerting {
            let told = alerting.observe_event(&event, &mut io::stdout(), true);
            tell(app, told);
        }
    }
    // A run that just finished may be what the diff waits for.
    loader::load_needed_from(
        app,
        &system.sources,
        &system.store,
        system.data_dir.as_deref(),
    );
}

/// The timing of runs queued together ended: the trainer gets those it
/// should train; workers start on the others.
fn on_verdict(app: &mut App, system: &mut System, verdict: Verdict) {
    match system.decided(verdict) {
        Ok(handed) => hand_over(app, system, handed),
        Err(error) => app.message = Some(error.to_string()),
    }
    tick_batch(app, system);
}

/// Starts workers on free slots and notes the ones that ended; true when
/// a row changed hands or a message was set.
fn tick_batch(app: &mut App, system: &mut System) -> bool {
    match system.tick_batch() {
        Ok(tick) => {
            for run in &tick.started {
                app.hand_to_worker(run);
            }
            for run in &tick.stopped {
                app.apply(&Event::Cancelled {
                    run: run.clone(),
                    epochs_done: 0,
                });
            }
            let changed =
                !tick.started.is_empty() || !tick.crashed.is_empty() || !tick.stopped.is_empty();
            let crashed = tick.crashed.into_iter().last().map(|(_, said)| said);
            if let Some(said) = tick.problem.or(crashed) {
                app.message = Some(said);
            }
            changed
        }
        Err(error) => {
            app.message = Some(error.to_string());
            true
        }
    }
}

/// Applies what the sources brought since they were last asked (at
/// start-up: every stored run); true when anything changed.
pub fn catch_up(app: &mut App, system: &mut System) -> bool {
    let news = system.sources.poll();
    for sourced in &news {
        apply_sourced(app, system, sourced.clone());
    }
    if let Some(alerting) = &mut system.alerting {
        // The bell and desktop notifications go to the terminal the app draws on.
        let told = alerting.observe(&news, &mut io::stdout(), true);
        tell(app, told);
    }
    !news.is_empty()
}

/// Alerts delivered, into the app; problems delivering them, into the status line.
fn tell(app: &mut App, told: Told) {
    let at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    for alert in told.alerts {
        app.note_alert(alert, at[11..19].to_string());
    }
    if let Some(problem) = told.problems.last() {
        app.message = Some(format!("alert not delivered: {problem}"));
    }
}

/// One piece of news from a source, into the app's state.
fn apply_sourced(app: &mut App, system: &System, sourced: Sourced) {
    let host = sourced.host.as_deref();
    match sourced.news {
        News::Update(update) => app.apply_sourced(host, &update),
        News::Slurm(poll) => {
            app.apply_slurm_of(host, poll);
        }
        News::State(_) => app.sources = system.sources.statuses(),
        News::File { run, bytes, .. } => loader::fetched(app, run, bytes),
    }
}

fn apply(app: &mut App, event: &Event) {
    app.apply(event);
    if let Event::Failed { run, message } = event {
        app.message = Some(format!("{run} failed: {message}"));
    }
}

/// What a read-only viewer says when asked to train.
const READ_ONLY: &str = "read-only: this viewer cannot train";
/// What the app says when its trainer is gone.
const TRAINER_GONE: &str = "the trainer has stopped; restart atelier";

/// Carries out what a key asked for, through `effects`; `screen` is the
/// screen as last drawn.
pub fn perform(app: &mut App, action: Action, effects: &mut impl Effects, screen: &Buffer) {
    match action {
        Action::Queue { index, spec } => queue_together(app, vec![(index, spec)], effects),
        Action::Continue { run, spec } => {
            if !effects.trains() {
                app.message = Some(READ_ONLY.into());
                return;
            }
            if let Err(error) = effects.claim(&spec, &run) {
                app.message = Some(error.to_string());
                return;
            }
            app.take_over(&run);
            if !effects.send(Command::Continue { run, device: None }) {
                app.message = Some(TRAINER_GONE.into());
            }
        }
        Action::Send(Command::Cancel { run: Some(run) }) => cancel(app, run, effects),
        Action::Send(command) => {
            if effects.trains() {
                effects.send(command);
            }
        }
        Action::Delete(id) => match effects.delete(&id) {
            Ok(()) => {
                app.remove(&id);
                app.message = Some(format!("deleted {id}"));
            }
            Err(error) => app.message = Some(error.to_string()),
        },
        Action::Control { pid, control } => {
            app.message = Some(match effects.control(pid, control) {
                Ok(()) => format!("asked process {pid} to {}", control_verb(control)),
                Err(error) => format!("cannot signal process {pid}: {error}"),
            });
        }
        Action::Screenshot => {
            app.message = Some(match effects.screenshot(screen, app.view) {
                Ok(stem) => format!(
                    "screenshot saved: {}.{{txt,ansi,html,svg,png}}",
                    stem.display()
                ),
                Err(error) => format!("screenshot not saved: {error}"),
            });
        }
    }
}

/// Carries out a key's actions; the runs it queues are queued together
/// (`a`, Enter on a group), so they may train at once.
pub fn perform_all(
    app: &mut App,
    actions: Vec<Action>,
    effects: &mut impl Effects,
    screen: &Buffer,
) {
    let mut rows = Vec::new();
    for action in actions {
        match action {
            Action::Queue { index, spec } => rows.push((index, spec)),
            action => perform(app, action, effects, screen),
        }
    }
    if !rows.is_empty() {
        queue_together(app, rows, effects);
    }
}

/// Gives each planned row an id and its device, then offers them together:
/// the trainer gets what it should train; the rest wait to be timed or train in workers.
fn queue_together(app: &mut App, rows: Vec<(usize, Box<RunSpec>)>, effects: &mut impl Effects) {
    if !effects.trains() {
        app.message = Some(READ_ONLY.into());
        return;
    }
    let trainer_idle = !app.any_active();
    let mut requests = Vec::new();
    for (index, spec) in rows {
        let request = effects.request(*spec);
        if let Err(error) = effects.claim(&request.spec, &request.id) {
            app.message = Some(error.to_string());
            break;
        }
        app.assign_id(index, request.id.clone());
        requests.push(request);
    }
    if requests.is_empty() {
        return;
    }
    match effects.offer(requests, trainer_idle) {
        Ok(handed) => hand_over(app, effects, handed),
        Err(error) => app.message = Some(error.to_string()),
    }
}

/// The runs for the trainer, queued there, and what to say.
fn hand_over(app: &mut App, effects: &mut impl Effects, handed: Handed) {
    for request in handed.to_trainer {
        if !effects.send(Command::Queue(Box::new(request))) {
            app.message = Some(TRAINER_GONE.into());
            return;
        }
    }
    if let Some(message) = handed.message {
        app.message = Some(message);
    }
}

/// Cancels the app's run: one waiting for a worker is taken out of the
/// queue here; the trainer cancels its own.
fn cancel(app: &mut App, run: RunId, effects: &mut impl Effects) {
    match effects.withdraw(&run) {
        Withdrawn::Cancelled => {
            app.apply(&Event::Cancelled {
                run: run.clone(),
                epochs_done: 0,
            });
            app.message = Some(format!("{run}: not started; stored as interrupted"));
        }
        Withdrawn::NotYet => {
            app.message = Some("the queue is being timed: cancel the run in a moment".into());
        }
        Withdrawn::NotHere => {
            if effects.trains() {
                effects.send(Command::Cancel { run: Some(run) });
            }
        }
    }
}

fn control_verb(control: Control) -> &'static str {
    match control {
        Control::Pause => "pause its run",
        Control::Unpause => "go on",
        Control::Cancel => "stop (its runs are stored as interrupted)",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        draw::Theme,
        store::RunStore,
        tui::{effects::Screenshots, test_support::planned_app},
    };

    /// A world whose batch keeps every run queued together but the first
    /// (for the trainer), and takes back the ones it keeps.
    #[derive(Default)]
    struct Batching {
        sent: Vec<Command>,
        kept: Vec<RunId>,
        offers: Vec<(usize, bool)>,
    }

    impl Effects for Batching {
        fn trains(&self) -> bool {
            true
        }

        fn request(&mut self, spec: RunSpec) -> crate::protocol::RunRequest {
            crate::protocol::RunRequest {
                id: RunId::from(format!("id-{}", spec.name)),
                plan: "test".into(),
                spec,
            }
        }

        fn claim(
            &mut self,
            _: &RunSpec,
            _: &RunId,
        ) -> Result<(), crate::tui::effects::EffectError> {
            Ok(())
        }

        fn send(&mut self, command: Command) -> bool {
            self.sent.push(command);
            true
        }

        fn offer(
            &mut self,
            mut requests: Vec<crate::protocol::RunRequest>,
            trainer_idle: bool,
        ) -> Result<Handed, crate::tui::effects::EffectError> {
            self.offers.push((requests.len(), trainer_idle));
            let kept = requests.split_off(1);
            self.kept.extend(kept.into_iter().map(|request| request.id));
            Ok(Handed {
                to_trainer: requests,
                message: Some("timing".into()),
            })
        }

        fn withdraw(&mut self, run: &RunId) -> Withdrawn {
            if self.kept.contains(run) {
                Withdrawn::Cancelled
            } else {
                Withdrawn::NotHere
            }
        }

        fn delete(&mut self, _: &RunId) -> Result<(), crate::tui::effects::EffectError> {
            Ok(())
        }

        fn control(&mut self, _: u32, _: Control) -> Result<(), crate::tui::effects::EffectError> {
            Ok(())
        }

        fn screenshot(
            &mut self,
            _: &Buffer,
            _: crate::tui::View,
        ) -> Result<std::path::PathBuf, crate::tui::effects::EffectError> {
            Ok("unused".into())
        }
    }

    #[test]
    fn the_runs_of_one_key_are_offered_together_and_a_kept_one_is_withdrawn() {
        let mut app = planned_app(&["M1", "M2", "MLP"]);
        let mut world = Batching::default();
        let screen = Buffer::empty(Rect::new(0, 0, 80, 24));
        let keys = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('a'));
        let actions = input::handle_key(&mut app, keys);
        perform_all(&mut app, actions, &mut world, &screen);
        assert_eq!(world.offers, [(3, true)], "one offer, the trainer idle");
        assert!(
            matches!(&world.sent[..], [Command::Queue(request)] if request.id == "id-M1"),
            "{:?}",
            world.sent
        );
        assert_eq!(app.message.as_deref(), Some("timing"));
        assert!(app
            .runs
            .iter()
            .all(|view| view.status == crate::tui::run_view::UiStatus::Queued));
        // x, y on a run the batch kept: taken back here, not sent to the trainer.
        perform(
            &mut app,
            Action::Send(Command::Cancel {
                run: Some("id-MLP".into()),
            }),
            &mut world,
            &screen,
        );
        assert_eq!(world.sent.len(), 1, "{:?}", world.sent);
        assert_eq!(
            app.runs[2].status,
            crate::tui::run_view::UiStatus::Interrupted
        );
        assert_eq!(
            app.message.as_deref(),
            Some("id-MLP: not started; stored as interrupted")
        );
        // One the trainer has: the trainer cancels it.
        perform(
            &mut app,
            Action::Send(Command::Cancel {
                run: Some("id-M1".into()),
            }),
            &mut world,
            &screen,
        );
        assert!(matches!(
            world.sent.last(),
            Some(Command::Cancel { run: Some(run) }) if run == "id-M1"
        ));
    }

    #[test]
    fn a_screenshot_saves_every_format_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path().join("runs")).unwrap();
        let mut system = System::new(
            None,
            store.clone(),
            crate::remote::Sources::local(
                store.clone(),
                crate::store::Follower::new(store.clone(), Duration::from_secs(60)),
            ),
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
        perform(&mut app, Action::Screenshot, &mut system, &screen);
        let message = app.message.clone().unwrap();
        assert!(message.starts_with("screenshot saved: "), "{message}");
        let full = dir.path().join("shots").display().to_string();
        assert!(message.contains(&full), "the full path: {message}");
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
        assert_eq!(text, crate::screen::text::plain(&screen));
        assert!(message.contains(&text_file.replace(".txt", "")));
    }

    #[test]
    fn a_screenshot_that_cannot_be_written_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::open(dir.path().join("runs")).unwrap();
        // A file where the folder should be.
        let blocked = dir.path().join("shots");
        std::fs::write(&blocked, "").unwrap();
        let mut system = System::new(
            None,
            store.clone(),
            crate::remote::Sources::local(
                store.clone(),
                crate::store::Follower::new(store.clone(), Duration::from_secs(60)),
            ),
            Screenshots {
                dir: blocked.clone(),
                theme: Theme::Dark,
            },
        );
        let mut app = planned_app(&["M1"]);
        perform(
            &mut app,
            Action::Screenshot,
            &mut system,
            &Buffer::empty(Rect::new(0, 0, 80, 24)),
        );
        let message = app.message.unwrap();
        assert!(
            message.starts_with("screenshot not saved: ")
                && message.contains("exists and is not a folder")
                && message.contains(&blocked.display().to_string()),
            "{message}"
        );
    }
}
