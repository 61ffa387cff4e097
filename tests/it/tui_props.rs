//! The TUI state machine under random input: long sequences of keys (bound
//! ones and others, with modifiers), terminal resizes (1×1, zero width,
//! below the 80×24 minimum, 500×200) and run events (trainer progress,
//! epochs, store updates, new and removed runs), each followed by a draw to
//! a test terminal of the current size. Nothing may panic, and the state's
//! invariants must hold after every step.
//!
//! Every run here is the same small MLP, so the stored runs (2 epochs), the
//! plan's (3) and the re-runs (1) form groups of seeds: the run list folds
//! them into headers that `o` opens and closes.
//!
//! The number of cases follows `PROPTEST_CASES` (default 48 here, enough to
//! hit every transition many times while staying a few seconds in release).

use crate::common;

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, Mutex, Once, PoisonError},
    time::{Duration, Instant},
};

use atelier::testing::tiny_spec;
use atelier::{
    data::Split,
    plan::RunSpec,
    protocol::{Command, Event, Phase, RunId, RunRequest},
    session::control::Control,
    store::{Liveness, Predictions, RunRecord, RunStatus, Update},
    tui::{
        effects::{EffectError, Effects},
        event_loop, input, ui, Action, App, Confirm, Cursor, ListRow, Overlay, RunView, UiStatus,
        View,
    },
};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
use proptest::prelude::*;
use ratatui::{backend::TestBackend, buffer::Buffer, Terminal};

/// Steps per case: long enough to open and close overlays, queue, finish and
/// remove runs several times over in one sequence.
const STEPS: std::ops::Range<usize> = 50..300;

fn record(id: &str, name: &str, status: RunStatus) -> Box<RunRecord> {
    let mut record = RunRecord::new(&RunRequest {
        id: id.into(),
        plan: "props".into(),
        spec: tiny_spec(name, 2),
    });
    record.status = status;
    Box::new(record)
}

/// A finished run's whole log (epochs, test result with a confusion matrix).
fn finished_events(id: &str) -> Vec<Event> {
    common::run_events(id, 2)
}

/// The first epoch of a run still training.
fn running_events(id: &str) -> Vec<Event> {
    let mut events = common::run_events(id, 2);
    events.truncate(15);
    events
}

/// The app a session opens on: stored runs of other processes (finished,
/// running, failed, crashed), and, unless it is a read-only viewer, its own
/// runs: finished, running, queued, failed and planned ones.
fn initial_app(read_only: bool, stored: usize, planned: usize) -> App {
    let mut app = App::new(Vec::new(), Vec::new());
    app.read_only = read_only;
    let kinds = [
        RunStatus::Done,
        RunStatus::Running,
        RunStatus::Failed,
        RunStatus::Interrupted,
    ];
    for index in 0..stored {
        let id = RunId::from(format!("ext-{index}"));
        let status = kinds[index % kinds.len()];
        let events = match status {
            RunStatus::Done => finished_events(&id),
            RunStatus::Running => running_events(&id),
            _ => Vec::new(),
        };
        app.apply_update(&Update::New {
            record: record(&id, &format!("E{index}"), status),
            events,
        });
        if index % 5 == 4 {
            app.apply_update(&Update::Liveness {
                run: id,
                liveness: Liveness::Crashed,
            });
        }
    }
    if read_only {
        app.selected = app.newest_started();
        return app;
    }
    for index in 0..planned {
        let row = app.add_planned(tiny_spec(&format!("P{index}"), 3));
        // The first few plan entries have been queued, and some have trained.
        let id = RunId::from(format!("own-{index}"));
        match index {
            0 => {
                app.assign_id(row, id.clone());
                for event in finished_events(&id) {
                    app.apply(&event);
                }
            }
            1 => {
                app.assign_id(row, id.clone());
                for event in running_events(&id) {
                    app.apply(&event);
                }
            }
            2 => app.assign_id(row, id),
            3 => {
                app.assign_id(row, id.clone());
                app.apply(&Event::Failed {
                    run: id,
                    message: "out of memory".into(),
                });
            }
            _ => {}
        }
    }
    app
}

/// Keys the app binds, answers to its questions, and keys it ignores.
fn key_code() -> impl Strategy<Value = KeyCode> {
    let bound = prop::sample::select(vec![
        KeyCode::Char('j'),
        KeyCode::Char('k'),
        KeyCode::Down,
        KeyCode::Up,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::Char('g'),
        KeyCode::Char('G'),
        KeyCode::Tab,
        KeyCode::Char('1'),
        KeyCode::Char('2'),
        KeyCode::Char('3'),
        KeyCode::Char('4'),
        KeyCode::Char('s'),
        KeyCode::Char('?'),
        KeyCode::Char('p'),
        KeyCode::Char('e'),
        KeyCode::Char('m'),
        KeyCode::Char('o'),
        KeyCode::Char('q'),
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Char('a'),
        KeyCode::Char(' '),
        KeyCode::Char('x'),
        KeyCode::Char('d'),
        KeyCode::Char('y'),
        KeyCode::Char('Y'),
        KeyCode::Char('n'),
        KeyCode::Char('N'),
        KeyCode::Char('c'),
        KeyCode::Char('5'),
        KeyCode::Char('b'),
        KeyCode::Char('['),
        KeyCode::Char(']'),
        KeyCode::Char('h'),
        KeyCode::Char('l'),
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::PageDown,
        KeyCode::PageUp,
        KeyCode::Backspace,
        // The run list's filter prompt and order.
        KeyCode::Char('/'),
        KeyCode::Char('S'),
        KeyCode::Char(':'),
    ]);
    let other = prop_oneof![
        any::<char>().prop_map(KeyCode::Char),
        (0u8..=24).prop_map(KeyCode::F),
        prop::sample::select(vec![
            KeyCode::Backspace,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::BackTab,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::Null,
            KeyCode::CapsLock,
        ]),
    ];
    prop_oneof![4 => bound, 1 => other]
}

fn key_event() -> impl Strategy<Value = KeyEvent> {
    let modifiers = prop_oneof![
        6 => Just(KeyModifiers::NONE),
        1 => Just(KeyModifiers::CONTROL),
        1 => any::<u8>().prop_map(KeyModifiers::from_bits_truncate),
    ];
    let kind = prop_oneof![
        8 => Just(KeyEventKind::Press),
        1 => Just(KeyEventKind::Repeat),
        1 => Just(KeyEventKind::Release),
    ];
    (key_code(), modifiers, kind).prop_map(|(code, modifiers, kind)| KeyEvent {
        code,
        modifiers,
        kind,
        state: KeyEventState::NONE,
    })
}

/// Terminal sizes, biased to the edges: nothing, tiny, around the minimum,
/// around the wide-layout threshold, and huge.
fn size() -> impl Strategy<Value = (u16, u16)> {
    prop_oneof![
        (0u16..=3, 0u16..=3),
        (0u16..=1, 0u16..=60),
        (76u16..=84, 20u16..=28),
        (ui::WIDE - 2..=ui::WIDE + 2, 24u16..=50),
        (0u16..=220, 0u16..=80),
        Just((500, 200)),
    ]
}

/// A loss or accuracy as training reports them, now and then not a number.
fn metric() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => 0.0f64..3.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(0.0),
    ]
}

/// What the trainer says about one of the app's own runs (picked by `pick`
/// among them when the step is applied).
#[derive(Clone, Debug)]
enum Trainer {
    Phase(Phase),
    Started {
        steps: usize,
    },
    Progress {
        step: usize,
        loss: f64,
        accuracy: f64,
    },
    EpochEnd {
        val: f64,
    },
    Evaluated {
        accuracy: f64,
        spread: u32,
    },
    Finished,
    Failed,
    Cancelled,
    Paused,
    Unpaused,
}

fn trainer_event() -> impl Strategy<Value = Trainer> {
    prop_oneof![
        1 => prop::sample::select(vec![
            Phase::LoadingData,
            Phase::UploadingData,
            Phase::BuildingModel,
            Phase::WarmingUp,
            Phase::Evaluating,
        ])
        .prop_map(Trainer::Phase),
        1 => (0usize..2_000).prop_map(|steps| Trainer::Started { steps }),
        8 => (0usize..2_500, metric(), metric())
            .prop_map(|(step, loss, accuracy)| Trainer::Progress { step, loss, accuracy }),
        2 => metric().prop_map(|val| Trainer::EpochEnd { val }),
        1 => (metric(), 0u32..1_000).prop_map(|(accuracy, spread)| Trainer::Evaluated { accuracy, spread }),
        1 => Just(Trainer::Finished),
        1 => Just(Trainer::Failed),
        1 => Just(Trainer::Cancelled),
        1 => Just(Trainer::Paused),
        1 => Just(Trainer::Unpaused),
    ]
}

/// What a poll of the run store brings in.
#[derive(Clone, Debug)]
enum Store {
    /// A run another process started (or that appeared on disk).
    New {
        status: u8,
        finished: bool,
    },
    Events {
        running: bool,
    },
    Record {
        status: u8,
    },
    Liveness(u8),
    Removed,
}

fn store_update() -> impl Strategy<Value = Store> {
    prop_oneof![
        3 => (0u8..5, any::<bool>()).prop_map(|(status, finished)| Store::New { status, finished }),
        3 => any::<bool>().prop_map(|running| Store::Events { running }),
        2 => (0u8..5).prop_map(|status| Store::Record { status }),
        2 => (0u8..3).prop_map(Store::Liveness),
        2 => Just(Store::Removed),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Key(KeyEvent),
    Resize(u16, u16),
    Trainer(prop::sample::Index, Trainer),
    /// A run queued by this app's trainer that the app has no row for (a re-run from elsewhere).
    QueuedElsewhere,
    Store(prop::sample::Index, Store),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        10 => key_event().prop_map(Step::Key),
        3 => size().prop_map(|(width, height)| Step::Resize(width, height)),
        6 => (any::<prop::sample::Index>(), trainer_event()).prop_map(|(i, e)| Step::Trainer(i, e)),
        1 => Just(Step::QueuedElsewhere),
        4 => (any::<prop::sample::Index>(), store_update()).prop_map(|(i, u)| Step::Store(i, u)),
    ]
}

fn run_status(code: u8) -> RunStatus {
    match code % 5 {
        0 => RunStatus::Queued,
        1 => RunStatus::Running,
        2 => RunStatus::Done,
        3 => RunStatus::Failed,
        _ => RunStatus::Interrupted,
    }
}

/// The test's side of the event loop: what it does with the app's actions,
/// as a trainer and a run store would answer them.
struct Harness {
    app: App,
    terminal: Terminal<TestBackend>,
    next_id: usize,
    world: World,
}

impl Harness {
    fn fresh_id(&mut self, prefix: &str) -> RunId {
        self.next_id += 1;
        RunId::from(format!("{prefix}-{}", self.next_id))
    }

    /// Rows of this app's own runs that the trainer knows (they have an id).
    fn own_ids(&self) -> Vec<RunId> {
        self.app
            .runs
            .iter()
            .filter(|view| !view.external)
            .filter_map(|view| view.id.clone())
            .collect()
    }

    fn external_ids(&self) -> Vec<RunId> {
        self.app
            .runs
            .iter()
            .filter(|view| view.external)
            .filter_map(|view| view.id.clone())
            .collect()
    }

    fn key(&mut self, key: KeyEvent) {
        let overlay_before = self.app.overlay.clone();
        let actions = input::handle_key(&mut self.app, key);
        if self.app.should_quit {
            let ctrl_c = key.code == KeyCode::Char('c')
                && key.modifiers.contains(KeyModifiers::CONTROL)
                && key.kind != KeyEventKind::Release;
            let q = key.code == KeyCode::Char('q') && overlay_before == Overlay::None;
            let yes = overlay_before == Overlay::Confirm(Confirm::Quit)
                && matches!(key.code, KeyCode::Char('y' | 'Y') | KeyCode::Enter);
            assert!(
                ctrl_c || q || yes,
                "quit on {key:?} with overlay {overlay_before:?}"
            );
            // The real loop would end here; carry on to explore further.
            self.app.should_quit = false;
        }
        for action in actions {
            self.carry_out(action);
        }
        self.load();
    }

    /// What the loop's loader would read: predictions of the finished runs
    /// (every run's fourth image of each class wrong, as the next class; a run whose
    /// id ends in 3 predates predictions) and 200 test images.
    fn load(&mut self) {
        let (runs, images) = self.app.needed();
        for run in runs {
            let loaded = if run.ends_with('3') {
                Err(format!(
                    "{run}/predictions.safetensors: no test predictions"
                ))
            } else {
                let labels: Vec<u8> = (0..200).map(|i| (i % 10) as u8).collect();
                let predicted: Vec<u8> = labels
                    .iter()
                    .enumerate()
                    .map(|(i, &label)| if i % 40 < 10 { (label + 1) % 10 } else { label })
                    .collect();
                let probabilities = predicted
                    .iter()
                    .flat_map(|&class| (0..10u8).map(move |c| if c == class { 255 } else { 0 }))
                    .collect();
                Ok(Arc::new(
                    Predictions::new(labels, predicted, probabilities).unwrap(),
                ))
            };
            self.app.predictions.insert(run, loaded);
        }
        if images {
            self.app.test_images = Some(Ok(Arc::new(Split {
                images: (0..200 * 784).map(|i| (i % 251) as u8).collect(),
                labels: (0..200).map(|i| (i % 10) as u8).collect(),
            })));
        }
    }

    /// Checks that `action` makes sense for the state it came from, then
    /// carries it out with the loop's real `perform`, and answers what it
    /// asked for as the trainer and the other processes would.
    fn carry_out(&mut self, action: Action) {
        check_action(&self.app, &action);
        self.world.running = active_runs(&self.app, &action);
        let screen = self.terminal.backend().buffer().clone();
        event_loop::perform(&mut self.app, action.clone(), &mut self.world, &screen);
        if let Action::Delete(id) = &action {
            assert!(
                self.app.runs.iter().all(|v| v.id.as_ref() != Some(id)),
                "the deleted run {id} is still listed"
            );
        }
        for event in std::mem::take(&mut self.world.answers) {
            self.app.apply(&event);
        }
    }

    fn trainer(&mut self, pick: prop::sample::Index, what: Trainer) {
        // A viewer has no trainer: only the store speaks to it.
        if self.app.read_only {
            return;
        }
        let ids = self.own_ids();
        if ids.is_empty() {
            return;
        }
        let run = pick.get(&ids).clone();
        let event = match what {
            Trainer::Phase(phase) => Event::Phase { run, phase },
            Trainer::Started { steps } => atelier::testing::started(run).steps(steps).event(),
            Trainer::Progress {
                step,
                loss,
                accuracy,
            } => Event::Progress {
                run,
                epoch: (step / 500) as u32 + 1,
                step,
                steps: 500,
                loss,
                accuracy,
                recent_loss: loss,
                recent_accuracy: accuracy,
                samples_per_sec: 1_000.0,
                elapsed_secs: step as f64,
                learning_rate: None,
            },
            Trainer::EpochEnd { val } => {
                let epoch = self
                    .app
                    .runs
                    .iter()
                    .find(|v| v.id.as_ref() == Some(&run))
                    .map_or(1, |v| v.logged().epochs.len() as u32 + 1);
                Event::EpochEnd {
                    run,
                    epoch,
                    epochs: 3,
                    train_loss: val,
                    train_accuracy: 0.8,
                    val_loss: val,
                    val_accuracy: val,
                    seconds: 1.0,
                }
            }
            Trainer::Evaluated { accuracy, spread } => {
                let mut confusion = [[0u32; 10]; 10];
                for (class, row) in confusion.iter_mut().enumerate() {
                    row[class] = 1_000 - spread;
                    row[(class + 1) % 10] = spread;
                }
                Event::Evaluated {
                    run,
                    test_loss: 0.4,
                    test_accuracy: accuracy,
                    confusion: Box::new(confusion),
                }
            }
            Trainer::Finished => Event::Finished {
                run,
                seconds: 3.0,
                best_val_accuracy: 0.9,
                best_epoch: 1,
            },
            Trainer::Failed => Event::Failed {
                run,
                message: "CUDA error: an illegal memory access was encountered".into(),
            },
            Trainer::Cancelled => Event::Cancelled {
                run,
                epochs_done: 1,
            },
            Trainer::Paused => Event::Paused { run },
            Trainer::Unpaused => Event::Unpaused { run },
        };
        self.app.apply(&event);
    }

    fn queued_elsewhere(&mut self) {
        if self.app.read_only {
            return;
        }
        let before = self.app.runs.len();
        let run = self.fresh_id("rerun");
        self.app.apply(&Event::Queued {
            run: run.clone(),
            spec: Box::new(tiny_spec("R", 1)),
        });
        assert_eq!(self.app.runs.len(), before + 1, "no row for {run}");
    }

    fn store(&mut self, pick: prop::sample::Index, what: Store) {
        let ids = self.external_ids();
        let update = match what {
            Store::New { status, finished } => {
                let id = self.fresh_id("appeared");
                let events = if finished {
                    finished_events(&id)
                } else {
                    running_events(&id)
                };
                Update::New {
                    record: record(&id, "N", run_status(status)),
                    events,
                }
            }
            _ if ids.is_empty() => return,
            Store::Events { running } => {
                let run = pick.get(&ids).clone();
                let events = if running {
                    running_events(&run)
                } else {
                    finished_events(&run)
                };
                Update::Events { run, events }
            }
            Store::Record { status } => {
                Update::Record(record(pick.get::<RunId>(&ids), "N", run_status(status)))
            }
            Store::Liveness(code) => Update::Liveness {
                run: pick.get(&ids).clone(),
                liveness: match code {
                    0 => Liveness::Alive,
                    1 => Liveness::Stalled {
                        quiet: std::time::Duration::from_secs(400),
                    },
                    _ => Liveness::Crashed,
                },
            },
            Store::Removed => Update::Removed {
                run: pick.get(&ids).clone(),
            },
        };
        self.app.apply_update(&update);
    }

    fn draw(&mut self) {
        let size = self.terminal.backend().buffer().area;
        self.terminal
            .draw(|frame| ui::draw(frame, &self.app))
            .expect("a test terminal draws");
        assert_eq!(
            self.terminal.backend().buffer().area,
            size,
            "the draw changed the size"
        );
    }
}

/// The world of this test, behind the loop's effects: ids from a counter,
/// devices always free, and what the trainer or another process would log
/// in answer to a command or a signal, for the harness to apply.
#[derive(Default)]
struct World {
    read_only: bool,
    next_id: usize,
    /// What the trainer or another process logs in answer, to apply.
    answers: Vec<Event>,
    /// The active runs the action in hand may touch, with their status.
    running: Vec<(RunId, UiStatus)>,
    specs: Vec<(RunId, RunSpec)>,
}

impl Effects for World {
    fn trains(&self) -> bool {
        !self.read_only
    }

    fn request(&mut self, spec: RunSpec) -> RunRequest {
        self.next_id += 1;
        RunRequest {
            id: RunId::from(format!("queued-{}", self.next_id)),
            plan: "test".into(),
            spec,
        }
    }

    fn claim(&mut self, spec: &RunSpec, run: &RunId) -> Result<(), EffectError> {
        self.specs.push((run.clone(), spec.clone()));
        Ok(())
    }

    fn send(&mut self, command: Command) -> bool {
        assert!(!self.read_only, "a read-only viewer sent {command:?}");
        let answer = match command {
            Command::Queue(request) => Event::Queued {
                run: request.id,
                spec: Box::new(request.spec),
            },
            // The trainer queues a continued run again.
            Command::Continue { run, .. } => {
                let spec = self
                    .specs
                    .iter()
                    .rev()
                    .find(|(id, _)| *id == run)
                    .map(|(_, spec)| spec.clone())
                    .expect("a continued run was claimed first");
                Event::Queued {
                    run,
                    spec: Box::new(spec),
                }
            }
            Command::Cancel { run: Some(run) } => match self.status(&run) {
                Some(_) => Event::Cancelled {
                    run,
                    epochs_done: 0,
                },
                None => return true,
            },
            Command::Pause | Command::Unpause => {
                let (run, status) = self
                    .running
                    .iter()
                    .find(|(_, status)| matches!(status, UiStatus::Running | UiStatus::Paused))
                    .cloned()
                    .expect("pause or resume with nothing running");
                match status {
                    UiStatus::Running => Event::Paused { run },
                    _ => Event::Unpaused { run },
                }
            }
            other => panic!("unexpected command {other:?}"),
        };
        self.answers.push(answer);
        true
    }

    fn delete(&mut self, _run: &RunId) -> Result<(), EffectError> {
        Ok(())
    }

    fn control(&mut self, _pid: u32, control: Control) -> Result<(), EffectError> {
        let (run, _) = self
            .running
            .first()
            .cloned()
            .expect("a control for a selected active run");
        // The other process logs what it did; the follower brings it in.
        self.answers.push(match control {
            Control::Pause => Event::Paused { run },
            Control::Unpause => Event::Unpaused { run },
            Control::Cancel => Event::Cancelled {
                run,
                epochs_done: 0,
            },
        });
        Ok(())
    }

    fn screenshot(&mut self, _screen: &Buffer, view: View) -> Result<PathBuf, EffectError> {
        Ok(PathBuf::from(format!("shots/{}", view.name())))
    }
}

impl World {
    fn status(&self, run: &RunId) -> Option<UiStatus> {
        self.running
            .iter()
            .find(|(id, _)| id == run)
            .map(|(_, status)| *status)
    }
}

/// The active runs an action may touch, with their status: the selected
/// run of another process for a signal, else this app's own.
fn active_runs(app: &App, action: &Action) -> Vec<(RunId, UiStatus)> {
    let active = |view: &&RunView| view.is_active();
    let with_status = |view: &RunView| view.id.clone().map(|id| (id, view.status));
    match action {
        Action::Control { .. } => app
            .selected_run()
            .filter(active)
            .and_then(with_status)
            .into_iter()
            .collect(),
        _ => app
            .runs
            .iter()
            .filter(|view| !view.external)
            .filter(active)
            .filter_map(with_status)
            .collect(),
    }
}

/// What an action may ask for in the state it came from: the loop's
/// `perform` trusts the keys, so the keys must be right.
fn check_action(app: &App, action: &Action) {
    assert!(
        !app.read_only || *action == Action::Screenshot,
        "a read-only viewer asked for {action:?}"
    );
    let find = |id: &RunId| {
        app.runs
            .iter()
            .find(|v| v.id.as_ref() == Some(id))
            .unwrap_or_else(|| panic!("{action:?} names unknown run {id}"))
    };
    match action {
        Action::Queue { index, spec } => {
            let view = app
                .runs
                .get(*index)
                .unwrap_or_else(|| panic!("queue of row {index} beyond the list"));
            assert_eq!(view.status, UiStatus::Planned, "queued a row twice");
            assert_eq!(view.spec, **spec, "queued the wrong spec");
        }
        Action::Send(Command::Cancel { run: Some(id) }) => {
            assert!(!find(id).external, "cancel sent for another process's run");
        }
        Action::Send(Command::Pause | Command::Unpause) => {
            assert!(
                app.runs.iter().any(|view| !view.external
                    && matches!(view.status, UiStatus::Running | UiStatus::Paused)),
                "pause or resume with nothing running"
            );
        }
        Action::Send(other) => panic!("unexpected command {other:?}"),
        Action::Continue { run, spec } => {
            let view = find(run);
            assert!(
                matches!(
                    view.status,
                    UiStatus::Interrupted | UiStatus::Crashed | UiStatus::Failed
                ),
                "continued a run that is {:?}",
                view.status
            );
            assert_eq!(view.spec, **spec, "continued with the wrong spec");
        }
        Action::Control { pid, control } => {
            let view = app
                .selected_run()
                .filter(|view| view.external && view.writer_here && view.writer_pid == Some(*pid));
            let view = view.unwrap_or_else(|| {
                panic!("{control:?} sent to pid {pid}, no selected run of it here")
            });
            assert!(
                view.is_active(),
                "{control:?} for a run that is {:?}",
                view.status
            );
        }
        Action::Delete(id) => assert!(!find(id).is_active(), "deleted an active run"),
        Action::Screenshot => {}
    }
}

/// A row's identity across steps: its run id, or for a plan entry its name.
fn identity(view: &RunView) -> (Option<RunId>, String) {
    (view.id.clone(), view.spec.name.clone())
}

/// Where the cursor is, across steps: a run, or a group's header.
#[derive(Clone, Debug, PartialEq)]
enum Place {
    Run((Option<RunId>, String), String),
    Header(String),
}

fn place(app: &App) -> Option<Place> {
    Some(match app.cursor()? {
        Cursor::Run(index) => {
            let view = &app.runs[index];
            Place::Run(identity(view), view.spec.group().id())
        }
        Cursor::Group(key) => Place::Header(key),
    })
}

/// Events must not move the cursor: it stays on its run (or on the header
/// of the collapsed group the run has joined), or on its header while the
/// group lasts; unless a filter is on, which an event can make hide the
/// cursor's row (the cursor moves to a listed one then).
fn check_cursor_kept(app: &App, before: &Place, step: &Step) {
    if app.filter.is_on() {
        return;
    }
    let after = place(app);
    match before {
        Place::Run(run, key) => {
            let unique = app.runs.iter().filter(|v| identity(v) == *run).count() == 1;
            if unique {
                assert!(
                    after.as_ref() == Some(before) || after == Some(Place::Header(key.clone())),
                    "{step:?} moved the cursor from {before:?} to {after:?}"
                );
            }
        }
        Place::Header(key) => {
            if app.group_members(key).len() > 1 {
                assert_eq!(after.as_ref(), Some(before), "{step:?} moved the cursor");
            }
        }
    }
}

/// The run list: every run the filter lets through once, as its own row or
/// hidden under its collapsed group's header, and the others at most once
/// (under a header); the cursor on one of the rows, when there are any.
fn check_list(app: &App) {
    let rows = app.list_rows();
    let shown = app.shown();
    let mut seen = vec![0usize; app.runs.len()];
    for row in &rows {
        match row {
            ListRow::Run { index, .. } => seen[*index] += 1,
            ListRow::Group {
                members, expanded, ..
            } => {
                assert!(members.len() > 1, "a group of one: {row:?}");
                if !expanded {
                    for &index in members {
                        seen[index] += 1;
                    }
                }
            }
        }
    }
    let listed = |(index, &count): (usize, &usize)| count == 1 || (count == 0 && !shown[index]);
    assert!(
        seen.iter().enumerate().all(listed),
        "{seen:?} in {rows:?} (shown: {shown:?})"
    );
    assert_eq!(
        app.cursor_row(&rows).is_some(),
        !rows.is_empty(),
        "cursor {:?} not on a row of {rows:?}",
        app.cursor()
    );
    if let Some(key) = &app.on_group {
        assert!(
            app.group_members(key).len() > 1,
            "on the header of group {key}, which has gone"
        );
    }
}

/// The invariants every state must satisfy.
fn check_invariants(app: &App) {
    // The selection is a row, or 0 with no rows (nothing selected).
    if app.runs.is_empty() {
        assert_eq!(app.selected, 0, "selection in an empty list");
        assert!(app.selected_run().is_none());
    } else {
        assert!(
            app.selected < app.runs.len(),
            "selection {} beyond {} rows",
            app.selected,
            app.runs.len()
        );
    }
    check_list(app);
    // Ids are unique, and only plan entries lack one.
    let mut ids = HashSet::new();
    for view in &app.runs {
        match &view.id {
            Some(id) => {
                assert!(ids.insert(id.clone()), "two rows for run {id}");
                assert_ne!(view.status, UiStatus::Planned, "{id} planned with an id");
            }
            None => assert_eq!(view.status, UiStatus::Planned, "{:?} has no id", view.spec),
        }
        assert!(view.recent_loss.len() <= atelier::tui::run_view::RECENT_POINTS);
        assert!(view.recent_accuracy.len() <= atelier::tui::run_view::RECENT_POINTS);
    }
    // Marked runs exist, each once.
    let mut marked = HashSet::new();
    for id in &app.marked {
        assert!(ids.contains(id), "marked run {id} has no row");
        assert!(marked.insert(id), "{id} marked twice");
    }
    // A question is about a run that is still there, and one this app may
    // touch: its own, or one a process on this machine trains (by signal).
    match &app.overlay {
        Overlay::None
        | Overlay::Help
        | Overlay::Alerts
        | Overlay::Confirm(Confirm::Quit)
        | Overlay::Filter(_) => {}
        Overlay::Confirm(Confirm::Cancel(id) | Confirm::Delete(id)) => {
            assert!(!app.read_only, "a viewer asks {:?}", app.overlay);
            let view = app.runs.iter().find(|v| v.id.as_ref() == Some(id));
            let view = view.unwrap_or_else(|| panic!("question about gone run {id}"));
            if matches!(app.overlay, Overlay::Confirm(Confirm::Cancel(_))) {
                assert!(
                    !view.external || view.writer_here,
                    "cancel of a run another host trains"
                );
            }
        }
    }
    // The grid cursor is on the grid; the gallery view has a gallery, about runs that exist,
    // and never starts past its last image.
    assert!(
        app.cursor.0 < 10 && app.cursor.1 < 10,
        "cursor {:?}",
        app.cursor
    );
    if app.view == View::Gallery {
        let gallery = app
            .gallery
            .as_ref()
            .expect("the gallery view without a gallery");
        for run in gallery.subject.runs() {
            assert!(ids.contains(run), "a gallery of gone run {run}");
        }
        if let Ok(images) = gallery.subject.images(app) {
            assert!(
                gallery.first == 0 || gallery.first < images.len(),
                "gallery at {} of {} images",
                gallery.first,
                images.len()
            );
        }
    }
    // A viewer shows only runs of other processes.
    if app.read_only {
        assert!(app.runs.iter().all(|view| view.external));
    }
}

/// How long one step may take before the watchdog ends the test: a step is
/// milliseconds, so this is a hang, and CI must not wait out its whole budget.
const STUCK: Duration = Duration::from_secs(60);

/// The case in hand, its step in hand and when that step began.
struct InHand {
    case: String,
    step: usize,
    since: Instant,
}

/// What the watchdog reads.
static IN_HAND: Mutex<Option<InHand>> = Mutex::new(None);

/// Starts, once, a thread that prints the case in hand and ends the process
/// when one of its steps has run for longer than `STUCK`.
fn watch_for_hangs() {
    static START: Once = Once::new();
    START.call_once(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_secs(1));
            let in_hand = IN_HAND.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(stuck) = in_hand.as_ref().filter(|it| it.since.elapsed() > STUCK) {
                eprintln!(
                    "step {} has run for {:?}; the case:\n{}",
                    stuck.step,
                    stuck.since.elapsed(),
                    stuck.case
                );
                std::process::exit(101);
            }
        });
    });
}

/// Marks the start of step `step` of the case in hand.
fn step_started(step: usize) {
    if let Some(in_hand) = IN_HAND
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        in_hand.step = step;
        in_hand.since = Instant::now();
    }
}

fn set_in_hand(in_hand: Option<InHand>) {
    *IN_HAND.lock().unwrap_or_else(PoisonError::into_inner) = in_hand;
}

fn run_case(read_only: bool, stored: usize, planned: usize, size: (u16, u16), steps: &[Step]) {
    watch_for_hangs();
    set_in_hand(Some(InHand {
        case: format!(
            "read_only {read_only}, stored {stored}, planned {planned}, size {size:?}, steps {steps:#?}"
        ),
        step: 0,
        since: Instant::now(),
    }));
    let mut harness = Harness {
        app: initial_app(read_only, stored, planned),
        terminal: Terminal::new(TestBackend::new(size.0, size.1)).unwrap(),
        next_id: 0,
        world: World {
            read_only,
            ..World::default()
        },
    };
    harness.app.size = size;
    check_invariants(&harness.app);
    harness.draw();
    for (index, step) in steps.iter().enumerate() {
        step_started(index);
        // Events and polls must not move the cursor off its run (unless that run goes).
        let before = place(&harness.app);
        match step.clone() {
            Step::Key(key) => harness.key(key),
            Step::Resize(width, height) => {
                harness.terminal.backend_mut().resize(width, height);
                harness.app.size = (width, height);
            }
            Step::Trainer(pick, what) => harness.trainer(pick, what),
            Step::QueuedElsewhere => harness.queued_elsewhere(),
            Step::Store(pick, what) => harness.store(pick, what),
        }
        check_invariants(&harness.app);
        if let (false, Some(before)) = (matches!(step, Step::Key(_)), &before) {
            check_cursor_kept(&harness.app, before, step);
        }
        harness.draw();
    }
    set_in_hand(None);
}

fn config() -> ProptestConfig {
    // `PROPTEST_CASES` in the environment overrides this default.
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        48
    };
    ProptestConfig {
        cases,
        // Shrinking a 300-step sequence is worth the time only on failure.
        max_shrink_iters: 2_000,
        max_shrink_time: 300_000,
        ..default
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_app_survives_random_keys_resizes_and_run_events(
        read_only in any::<bool>(),
        stored in 0usize..8,
        planned in 0usize..7,
        size in size(),
        steps in prop::collection::vec(step(), STEPS),
    ) {
        run_case(read_only, stored, planned, size, &steps);
    }
}

/// The sizes the issue names, one by one, with every view and overlay: the
/// random test reaches them too, but only by chance.
#[test]
fn every_view_and_overlay_draws_at_the_edge_sizes() {
    let mut app = initial_app(false, 6, 6);
    app.marked = app
        .runs
        .iter()
        .filter_map(|v| v.id.clone())
        .take(2)
        .collect();
    let overlays = [
        Overlay::None,
        Overlay::Help,
        // Not last: the status bar is checked after the last overlay drawn.
        Overlay::Filter(format!("status:d {}", "x".repeat(300))),
        Overlay::Confirm(Confirm::Quit),
        Overlay::Confirm(Confirm::Delete("own-0".into())),
    ];
    for (width, height) in [
        (1, 1),
        (0, 10),
        (10, 0),
        (79, 24),
        (80, 23),
        (80, 24),
        (500, 200),
    ] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        for key in ['1', '2', '3', '4'] {
            input::handle_key(&mut app, KeyEvent::from(KeyCode::Char(key)));
            for overlay in &overlays {
                app.overlay = overlay.clone();
                for selected in 0..app.runs.len() {
                    app.selected = selected;
                    terminal.draw(|frame| ui::draw(frame, &app)).unwrap();
                }
            }
            app.overlay = Overlay::None;
        }
        let screen: String = terminal
            .backend()
            .buffer()
            .content
            .iter()
            .map(ratatui::buffer::Cell::symbol)
            .collect();
        let too_small = width < ui::MIN_SIZE.0 || height < ui::MIN_SIZE.1;
        if width >= 40 && height > 0 {
            assert_eq!(
                screen.contains("terminal too small"),
                too_small,
                "{width}×{height}: {screen}"
            );
        }
        if !too_small {
            assert!(screen.contains(" runs "), "status bar at {width}×{height}");
        }
    }
}
