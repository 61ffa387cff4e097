//! The app's real main loop (`event_loop::run`) without a terminal: a test
//! backend stands in for the screen, and the test gives the loop its keys,
//! resizes, trainer events, store polls and signals, then reads the frames
//! it draws, as they land on the screen.

use crate::common;

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use atelier::testing::tiny_spec;
use atelier::{
    draw::Theme,
    plan::Plan,
    protocol::Event,
    remote::Sources,
    screen::text::plain,
    slurm::watch::Poll,
    store::{Follower, RunStatus, RunStore},
    train::Trainer,
    tui::{
        effects::{Screenshots, System, Training},
        event_loop::{self, Inputs, DATA_FRAME},
        App,
    },
};
use common::WAIT;
use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use ratatui::{
    backend::{Backend, ClearType, TestBackend, WindowSize},
    buffer::{Buffer, Cell},
    crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers},
    layout::{Position, Size},
    Terminal,
};

/// Long enough for a draw that waits on frame pacing to have happened.
const QUIET: Duration = Duration::from_millis(3 * DATA_FRAME.as_millis() as u64);

/// The loop's screen: a `TestBackend` as big as a window the test resizes,
/// handing every frame it shows to the test, with when it showed.
struct Screen {
    shown: TestBackend,
    window: Arc<Mutex<Size>>,
    frames: Sender<(Instant, Buffer)>,
}

impl Screen {
    /// The screen follows the window, as a real terminal's does.
    fn fit(&mut self) {
        let window = *self.window.lock().unwrap();
        if self.shown.buffer().area.as_size() != window {
            self.shown.resize(window.width, window.height);
        }
    }
}

impl Backend for Screen {
    type Error = Infallible;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Infallible>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.fit();
        self.shown.draw(content)
    }

    fn hide_cursor(&mut self) -> Result<(), Infallible> {
        self.shown.hide_cursor()
    }

    fn show_cursor(&mut self) -> Result<(), Infallible> {
        self.shown.show_cursor()
    }

    fn get_cursor_position(&mut self) -> Result<Position, Infallible> {
        self.shown.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Infallible> {
        self.shown.set_cursor_position(position)
    }

    fn clear(&mut self) -> Result<(), Infallible> {
        self.fit();
        self.shown.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Infallible> {
        self.fit();
        self.shown.clear_region(clear_type)
    }

    fn size(&self) -> Result<Size, Infallible> {
        Ok(*self.window.lock().unwrap())
    }

    fn window_size(&mut self) -> Result<WindowSize, Infallible> {
        self.fit();
        self.shown.window_size()
    }

    /// Once a frame: the screen as it now shows.
    fn flush(&mut self) -> Result<(), Infallible> {
        let _ = self
            .frames
            .send((Instant::now(), self.shown.buffer().clone()));
        Ok(())
    }
}

/// The test's side of a running loop: its inputs, and the frames drawn.
struct Driver {
    terminal: Sender<TermEvent>,
    trainer: Sender<Event>,
    store_ticks: Sender<Instant>,
    signals: Sender<()>,
    slurm: Sender<Poll>,
    window: Arc<Mutex<Size>>,
    frames: Receiver<(Instant, Buffer)>,
    /// When each frame received so far was shown.
    shown_at: Vec<Instant>,
    /// Disconnects when the loop returns.
    running: Receiver<()>,
}

impl Driver {
    fn key(&self, code: KeyCode) {
        let key = KeyEvent::new(code, KeyModifiers::NONE);
        self.terminal.send(TermEvent::Key(key)).unwrap();
    }

    /// The user resizes the window: the screen changes, then the event comes.
    fn resize(&self, width: u16, height: u16) {
        *self.window.lock().unwrap() = Size::new(width, height);
        self.terminal
            .send(TermEvent::Resize(width, height))
            .unwrap();
    }

    fn trainer_events(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            self.trainer.send(event).unwrap();
        }
    }

    fn poll_store(&self) {
        self.store_ticks.send(Instant::now()).unwrap();
    }

    /// The next frame drawn; fails after [`WAIT`].
    fn frame(&mut self) -> Buffer {
        match self.frames.recv_timeout(WAIT) {
            Ok((at, frame)) => {
                self.shown_at.push(at);
                frame
            }
            Err(RecvTimeoutError::Timeout) => panic!("no frame within {WAIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the loop ended before drawing"),
        }
    }

    /// Frames until one shows `wanted`.
    fn frame_showing(&mut self, wanted: &str) -> Buffer {
        let started = Instant::now();
        loop {
            let frame = self.frame();
            if text(&frame).contains(wanted) {
                return frame;
            }
            assert!(
                started.elapsed() < WAIT,
                "no frame showing {wanted:?} within {WAIT:?}; the last:\n{}",
                text(&frame)
            );
        }
    }

    /// Fails if the loop draws anything for a while.
    fn assert_idle(&self) {
        if let Ok((_, frame)) = self.frames.recv_timeout(QUIET) {
            panic!(
                "drew with nothing changed (after {} frames):\n{}",
                self.drawn(),
                text(&frame)
            );
        }
    }

    /// Frames received so far.
    fn drawn(&self) -> usize {
        self.shown_at.len()
    }

    /// Time between the last two frames received.
    fn gap(&self) -> Duration {
        match self.shown_at.as_slice() {
            [.., before, last] => *last - *before,
            _ => panic!("fewer than two frames"),
        }
    }

    fn has_returned(&self) -> bool {
        self.running.try_recv() == Err(TryRecvError::Disconnected)
    }

    fn wait_until_returned(&self) {
        assert_eq!(
            self.running.recv_timeout(WAIT),
            Err(RecvTimeoutError::Disconnected),
            "the loop did not return"
        );
    }
}

/// A loop about to run: its screen and inputs, and the test's side of them
/// (inputs sent before [`Rig::run`] wait for the loop, as a burst).
struct Rig {
    terminal: Terminal<Screen>,
    inputs: Inputs,
    driver: Driver,
    alive: Sender<()>,
}

impl Rig {
    /// A `width × height` screen; trainer events come from `trainer` when
    /// given, else from the test.
    fn new(trainer: Option<&Trainer>, (width, height): (u16, u16)) -> Self {
        let window = Arc::new(Mutex::new(Size::new(width, height)));
        let (frame_sender, frames) = unbounded();
        let terminal = Terminal::new(Screen {
            shown: TestBackend::new(width, height),
            window: Arc::clone(&window),
            frames: frame_sender,
        })
        .unwrap();
        let (terminal_sender, terminal_events) = unbounded();
        let (trainer_sender, fake_trainer) = unbounded();
        let (tick_sender, store_ticks) = unbounded();
        let (signal_sender, signals) = unbounded();
        let (slurm_sender, slurm) = unbounded();
        let (alive, running) = bounded(0);
        Self {
            terminal,
            inputs: Inputs {
                terminal: terminal_events,
                trainer: trainer.map_or(fake_trainer, |trainer| trainer.events().clone()),
                store_ticks,
                signals,
                slurm,
            },
            driver: Driver {
                terminal: terminal_sender,
                trainer: trainer_sender,
                store_ticks: tick_sender,
                signals: signal_sender,
                slurm: slurm_sender,
                window,
                frames,
                shown_at: Vec::new(),
                running,
            },
            alive,
        }
    }

    /// Runs the real loop while `test` drives it. When `test` is done, or
    /// fails, its inputs close and the loop returns.
    fn run(self, app: &mut App, system: &mut System, test: impl FnOnce(&mut Driver)) {
        let Self {
            mut terminal,
            inputs,
            mut driver,
            alive,
        } = self;
        thread::scope(|scope| {
            let looping = scope.spawn(move || {
                let _alive = alive;
                event_loop::run(&mut terminal, app, system, &inputs)
            });
            test(&mut driver);
            drop(driver);
            looping
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                .unwrap();
        });
    }
}

/// A store and a screenshots folder in `root`.
fn store_in(root: &tempfile::TempDir) -> (RunStore, Screenshots) {
    let store = RunStore::open(root.path().join("runs")).unwrap();
    let shots = Screenshots {
        dir: root.path().join("shots"),
        theme: Theme::Dark,
    };
    (store, shots)
}

/// A read-only viewer's system.
fn viewer(store: &RunStore, shots: &Screenshots) -> System {
    System::new(
        None,
        store.clone(),
        Sources::local(store.clone(), Follower::new(store.clone(), WAIT)),
        shots.clone(),
    )
}

/// The buffer's text, one line per row.
fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_confusion_grid_appears_when_the_run_is_evaluated_without_a_key() {
    let root = tempfile::tempdir().unwrap();
    let (store, shots) = store_in(&root);
    let mut system = viewer(&store, &shots);
    let mut app = App::new(Vec::new(), vec![tiny_spec("M1", 1)]);
    app.assign_id(0, "m1".into());
    let mut events = common::run_events("m1", 1);
    let finished = events.pop().unwrap();
    let evaluated = events.pop().unwrap();
    assert!(
        matches!(evaluated, Event::Evaluated { .. }),
        "{evaluated:?}"
    );
    // Wide enough for the grid beside the live pane.
    let rig = Rig::new(None, (160, 40));
    // Waiting when the loop starts: one burst, drawn once after the first frame.
    rig.driver.trainer_events(events);
    rig.run(&mut app, &mut system, |driver| {
        let first = text(&driver.frame());
        assert!(first.contains("No test results yet"), "{first}");
        let trained = text(&driver.frame());
        // New data waits for the slower frame rate, keeping the cores for training.
        assert!(driver.gap() >= DATA_FRAME, "{:?}", driver.gap());
        assert!(
            trained.contains("No test results yet") && !trained.contains("true ╲ pred"),
            "{trained}"
        );
        driver.trainer_events([evaluated]);
        let evaluated = text(&driver.frame());
        assert!(driver.gap() >= DATA_FRAME, "{:?}", driver.gap());
        assert!(
            evaluated.contains("true ╲ pred  Tsht Trou") && evaluated.contains("most confused"),
            "{evaluated}"
        );
        driver.trainer_events([finished]);
        assert!(text(&driver.frame()).contains("✓ done"));
        driver.assert_idle();
        assert_eq!(driver.drawn(), 4);
    });
    assert!(app.runs[0].logged().test.is_some());
}

#[test]
fn a_resize_redraws_at_the_new_size_and_an_idle_loop_draws_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (store, shots) = store_in(&root);
    common::stored_run(&store, "first", 1);
    let mut system = viewer(&store, &shots);
    let mut app = App::new(Vec::new(), Vec::new());
    // As `atelier watch` starts: the stored runs first.
    assert!(event_loop::catch_up(&mut app, &mut system));
    Rig::new(None, (80, 24)).run(&mut app, &mut system, |driver| {
        let first = driver.frame();
        assert_eq!(first.area.as_size(), Size::new(80, 24));
        assert!(text(&first).contains("first"), "{}", text(&first));
        driver.assert_idle();
        // A store poll that finds nothing new draws nothing.
        driver.poll_store();
        driver.assert_idle();

        driver.resize(120, 40);
        let resized = driver.frame();
        assert_eq!(resized.area.as_size(), Size::new(120, 40));
        let screen = text(&resized);
        let rows: Vec<&str> = screen.lines().collect();
        assert_eq!(rows.len(), 40);
        assert!(
            rows[39].contains("q quit"),
            "status bar on the last row:\n{screen}"
        );
        assert!(
            rows[0].starts_with("┌ Runs") && rows[0].ends_with('┐'),
            "{screen}"
        );
        driver.assert_idle();

        // A run another process writes meanwhile shows at the next poll
        // (another experiment: a second run of the first's settings would
        // join it in one collapsed group row).
        common::stored_run(&store, "second", 2);
        driver.poll_store();
        let polled = text(&driver.frame());
        assert!(polled.contains("second"), "{polled}");
        driver.assert_idle();
        assert_eq!(driver.drawn(), 3);
    });
    assert_eq!(app.size, (120, 40));
}

#[test]
fn slurm_labels_and_squeues_failures_show_without_a_key_and_only_when_new() {
    let root = tempfile::tempdir().unwrap();
    let (store, shots) = store_in(&root);
    let run = common::stored_run(&store, "arrayed", 1);
    let mut system = viewer(&store, &shots);
    let mut app = App::new(Vec::new(), Vec::new());
    assert!(event_loop::catch_up(&mut app, &mut system));
    Rig::new(None, (80, 24)).run(&mut app, &mut system, |driver| {
        let first = text(&driver.frame());
        assert!(!first.contains("slurm"), "{first}");
        let labels = Poll::Labels(vec![(run.clone(), "running on node7".into())]);
        driver.slurm.send(labels.clone()).unwrap();
        let labelled = text(&driver.frame_showing("running on node7"));
        assert!(labelled.contains("slurm"), "{labelled}");
        // The same labels 20 s later: nothing to draw.
        driver.slurm.send(labels).unwrap();
        driver.assert_idle();
        let failure = Poll::Failed("squeue is not on PATH".into());
        driver.slurm.send(failure.clone()).unwrap();
        driver.frame_showing("slurm: squeue is not on PATH");
        // Said once: the poller's every later try is no news.
        driver.slurm.send(failure).unwrap();
        driver.assert_idle();
    });
    assert_eq!(app.runs[0].slurm_label.as_deref(), Some("running on node7"));
}

#[test]
fn a_screenshot_saves_the_screen_as_last_drawn() {
    let root = tempfile::tempdir().unwrap();
    let (store, shots) = store_in(&root);
    common::stored_run(&store, "first", 1);
    let mut system = viewer(&store, &shots);
    let mut app = App::new(Vec::new(), Vec::new());
    event_loop::catch_up(&mut app, &mut system);
    Rig::new(None, (100, 30)).run(&mut app, &mut system, |driver| {
        driver.frame();
        driver.key(KeyCode::Char('2'));
        let shown = driver.frame();
        driver.key(KeyCode::Char('s'));
        let after = text(&driver.frame_showing("screenshot saved"));
        let txt = std::fs::read_dir(&shots.dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|ext| ext == "txt"))
            .expect("a .txt screenshot");
        assert!(txt
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("atelier-confusion-"));
        let saved = std::fs::read_to_string(&txt).unwrap();
        assert_eq!(saved, plain(&shown), "now showing:\n{after}");
    });
}

#[test]
fn a_signal_quits_at_once_even_while_training() {
    let root = tempfile::tempdir().unwrap();
    let (store, shots) = store_in(&root);
    let mut system = viewer(&store, &shots);
    let mut app = App::new(Vec::new(), vec![tiny_spec("M1", 1)]);
    app.assign_id(0, "m1".into());
    Rig::new(None, (80, 24)).run(&mut app, &mut system, |driver| {
        driver.trainer_events(common::run_events("m1", 1).into_iter().take(3));
        driver.frame_showing("running");
        driver.signals.send(()).unwrap();
        driver.wait_until_returned();
    });
    assert!(app.should_quit && app.any_active());
}

#[test]
fn quitting_while_training_asks_first_and_the_run_is_stored_as_interrupted() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let (store, shots) = store_in(&root);
    let trainer = Trainer::spawn(
        common::synthetic_source(data.path(), 400, 50),
        store.clone(),
    )
    .expect("trainer");
    // Far more epochs than the test lasts: the run is still training when it quits.
    let plan = Plan {
        name: "test".into(),
        runs: vec![tiny_spec("long", 100_000)],
        limits: Vec::new(),
        workers: atelier::plan::Workers::default(),
        alerts: atelier::plan::AlertSettings::default(),
    };
    let mut app = App::new(Vec::new(), plan.runs.clone());
    let mut system = System::new(
        Some(Training {
            commands: trainer.commands(),
            plan: plan.name.clone(),
        }),
        store.clone(),
        Sources::local(
            store.clone(),
            Follower::new(store.clone(), WAIT).skip_own_runs(),
        ),
        shots,
    );
    Rig::new(Some(&trainer), (100, 30)).run(&mut app, &mut system, |driver| {
        driver.frame();
        driver.key(KeyCode::Enter);
        driver.frame_showing("▶ running");
        driver.key(KeyCode::Char('q'));
        driver.frame_showing("Training is under way. Quit?");
        assert!(!driver.has_returned(), "quit without asking");
        driver.key(KeyCode::Char('y'));
        driver.wait_until_returned();
    });
    assert!(app.should_quit);
    drop(system);
    // As `atelier` does once the loop returns.
    trainer.shutdown();
    let (records, errors) = store.list();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        records[0].status,
        RunStatus::Interrupted,
        "{:?}",
        records[0]
    );
    assert!(records[0].epochs_done < 100_000);
}
