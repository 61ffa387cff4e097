//! Keys → state changes and actions for the event loop to carry out. Which
//! key means what is [`keymap`]'s; this module carries out the intents.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::{
    gallery::Subject,
    keymap::{self, Intent},
    run_view::{RunView, UiStatus},
    state::{App, Confirm, Overlay},
    view::View,
};
use crate::{
    plan::RunSpec,
    protocol::{Command, RunId},
    session::control::Control,
};

/// What the event loop must do after a key, beyond the state change.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Queue the run at this row (the loop assigns its id and tells the trainer).
    Queue { index: usize, spec: Box<RunSpec> },
    /// Continue this stored run after its last complete epoch.
    Continue { run: RunId, spec: Box<RunSpec> },
    /// Send this command to the trainer.
    Send(Command),
    /// Delete this stored run's folder.
    Delete(RunId),
    /// Save the screen as drawn, in every screenshot format.
    Screenshot,
    /// Ask the process `pid` (on this machine) to pause, unpause or stop its run.
    Control { pid: u32, control: Control },
}

/// What a read-only viewer says to a key that would change training.
const READ_ONLY: &str = "read-only: this viewer follows runs trained by another process";

/// Applies a key to the app; returns what the loop must do.
pub fn handle_key(app: &mut App, key: KeyEvent) -> Vec<Action> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let Some(binding) = keymap::lookup(keymap::layers(&app.overlay, app.view), &key) else {
        // The filter prompt takes the keys it does not bind as text.
        app.type_into_filter(&key);
        return Vec::new();
    };
    if binding.intent.mutates() && app.read_only {
        app.message = Some(READ_ONLY.into());
        return Vec::new();
    }
    let actions = actions_of(app, binding.intent);
    // A key may leave the cursor's run out of the filtered list (a re-run
    // under `status:done`).
    app.keep_cursor_listed();
    actions
}

/// What one intent changes in the state, and the actions it asks of the world.
fn actions_of(app: &mut App, intent: Intent) -> Vec<Action> {
    if let Some((name, members)) = app.cursor_group() {
        if let Some(actions) = on_group_header(app, intent, &name, &members) {
            return actions;
        }
    }
    match intent {
        // Ctrl-C quits at once; active runs are stored as interrupted.
        Intent::QuitNow => app.should_quit = true,
        Intent::Yes => return answer_yes(app),
        Intent::No | Intent::CloseHelp | Intent::CloseAlerts => app.overlay = Overlay::None,
        Intent::CursorUp => app.move_cursor(-1, 0),
        Intent::CursorDown => app.move_cursor(1, 0),
        Intent::CursorLeft => app.move_cursor(0, -1),
        Intent::CursorRight => app.move_cursor(0, 1),
        Intent::OpenCell => open_gallery(app),
        Intent::OnlyARight => open_one_right(app, false),
        Intent::OnlyBRight => open_one_right(app, true),
        Intent::NextPage => app.page_gallery(1),
        Intent::PreviousPage => app.page_gallery(-1),
        Intent::FirstPage => app.page_gallery(isize::MIN),
        Intent::LastPage => app.page_gallery(isize::MAX),
        Intent::CloseGallery => app.close_gallery(),
        Intent::OpenHelp => app.overlay = Overlay::Help,
        Intent::OpenAlerts => app.overlay = Overlay::Alerts,
        Intent::Quit => quit(app),
        Intent::QuitIfTraining => ask_to_quit(app),
        Intent::NextView => app.view = app.view.next(),
        Intent::ShowView(view) => app.view = view,
        Intent::SelectNext => app.move_selection(1),
        Intent::SelectPrevious => app.move_selection(-1),
        Intent::SelectFirst => app.move_selection(isize::MIN),
        Intent::SelectLast => app.move_selection(isize::MAX),
        Intent::ToggleGroup => app.toggle_group(),
        Intent::Start => return queue_selected(app),
        Intent::PauseResume => return pause_or_resume(app),
        Intent::RunAgain => return run_again(app),
        Intent::QueueAll => return queue_all(app),
        Intent::Cancel => ask_to_cancel(app),
        Intent::Delete => ask_to_delete(app),
        Intent::Mark => app.toggle_mark(),
        Intent::TogglePercent => app.percent = !app.percent,
        Intent::ToggleSmoothing => app.smoothing = !app.smoothing,
        Intent::Screenshot => return vec![Action::Screenshot],
        Intent::OpenFilter => app.open_filter(),
        Intent::ApplyFilter => app.apply_filter(),
        Intent::ClearFilter => app.clear_filter(),
        Intent::EraseChar => app.erase_in_filter(),
        Intent::CycleOrder => app.cycle_order(),
        Intent::NextConfiguration => app.sweep_move(1),
        Intent::PreviousConfiguration => app.sweep_move(-1),
        Intent::SortNext => app.sweep_sort(1),
        Intent::SortPrevious => app.sweep_sort(-1),
        Intent::ReverseOrder => app.sweep_reverse(),
        Intent::NextPanel => app.sweep_next_panel(),
        Intent::NextHeatPair => app.sweep_next_heat(),
        Intent::NextMetric => app.sweep_next_metric(),
        Intent::NextXAxis => app.sweep_next_x_axis(),
    }
    Vec::new()
}

/// What an intent about the selected run does on a group's header: Enter
/// queues the group's planned runs; cancel, delete, run again and mark
/// want one run and say how to pick it. None: as on a run (the other
/// intents, and pause, which is about the running run wherever the cursor is).
fn on_group_header(
    app: &mut App,
    intent: Intent,
    name: &str,
    members: &[usize],
) -> Option<Vec<Action>> {
    let verb = match intent {
        Intent::Start => return Some(queue_group(app, name, members)),
        Intent::Cancel => "cancel",
        Intent::Delete => "delete",
        Intent::RunAgain => "run again",
        Intent::Mark => "mark",
        _ => return None,
    };
    app.message = Some(format!(
        "{name} is a group of {} runs: expand it ({}) and pick one to {verb}",
        members.len(),
        keymap::label_of(Intent::ToggleGroup)
    ));
    Some(Vec::new())
}

/// Enter on a group's header: its planned runs, queued in order; under a
/// filter, only those it shows (what is hidden is not what was asked for).
fn queue_group(app: &mut App, name: &str, members: &[usize]) -> Vec<Action> {
    let shown = app.shown();
    let actions: Vec<Action> = members
        .iter()
        .filter(|&&index| shown.get(index).copied().unwrap_or(false))
        .filter_map(|&index| {
            let view = &app.runs[index];
            (view.status == UiStatus::Planned).then(|| Action::Queue {
                index,
                spec: Box::new(view.spec.clone()),
            })
        })
        .collect();
    app.message = Some(if actions.is_empty() {
        format!(
            "{name} has no planned runs; expand it ({}) to pick a run",
            keymap::label_of(Intent::ToggleGroup)
        )
    } else {
        format!(
            "queued {} of {name}",
            crate::units::count(actions.len(), "planned run")
        )
    });
    actions
}

/// q: an idle app has nothing to lose and quits at once.
fn quit(app: &mut App) {
    if app.any_active() {
        app.overlay = Overlay::Confirm(Confirm::Quit);
    } else {
        app.should_quit = true;
    }
}

/// Esc at the top level: the quit question while training, else nothing.
fn ask_to_quit(app: &mut App) {
    if app.any_active() {
        app.overlay = Overlay::Confirm(Confirm::Quit);
    }
}

/// Enter on a grid cell: its images, for the selected run or the diffed pair.
fn open_gallery(app: &mut App) {
    let (truth, predicted) = app.cursor;
    let subject = if app.view == View::Diff {
        match app.diff_pair() {
            Ok((a, b)) => Subject::Disagreement {
                a,
                b,
                truth,
                predicted,
            },
            // The pane already says how to pick two runs.
            Err(_) => return,
        }
    } else {
        match app.selected_run() {
            Some(view) if view.logged().test.is_some() => match view.id.clone() {
                Some(run) => Subject::Cell {
                    run,
                    truth,
                    predicted,
                },
                None => return,
            },
            _ => {
                app.message = Some("the selected run has no test results yet".into());
                return;
            }
        }
    };
    app.open_gallery(subject);
}

/// a / b in the diff: every image one run gets right and the other wrong,
/// named by the run that is right.
fn open_one_right(app: &mut App, b_right: bool) {
    if let Ok((a, b)) = app.diff_pair() {
        app.open_gallery(Subject::OneRight { a, b, b_right });
    }
}

/// y or Enter to the open question.
fn answer_yes(app: &mut App) -> Vec<Action> {
    let Overlay::Confirm(question) = std::mem::take(&mut app.overlay) else {
        return Vec::new();
    };
    match question {
        Confirm::Quit => {
            app.should_quit = true;
            Vec::new()
        }
        Confirm::Cancel(id) => match app.runs.iter().find(|view| view.id.as_ref() == Some(&id)) {
            // It ended while asked about: there is nothing left to cancel.
            Some(view) if !view.is_active() => {
                app.message = Some(format!("{id} has ended: nothing to cancel"));
                Vec::new()
            }
            Some(view) if view.external => {
                if let Some(pid) = controllable(view) {
                    vec![Action::Control {
                        pid,
                        control: Control::Cancel,
                    }]
                } else {
                    app.message = Some(another_process(view));
                    Vec::new()
                }
            }
            _ => vec![Action::Send(Command::Cancel { run: Some(id) })],
        },
        Confirm::Delete(id) => delete(app, id),
    }
}

/// The run may have started again while asked about (another process
/// resumed it, say): its folder is in use then.
fn delete(app: &mut App, id: RunId) -> Vec<Action> {
    match app.runs.iter().find(|view| view.id.as_ref() == Some(&id)) {
        Some(view) if view.is_active() => {
            app.message = Some(format!("{id} is active again: not deleted"));
            Vec::new()
        }
        _ => vec![Action::Delete(id)],
    }
}

/// a: every planned row, queued in order.
fn queue_all(app: &App) -> Vec<Action> {
    app.runs
        .iter()
        .enumerate()
        .filter(|(_, view)| view.status == UiStatus::Planned)
        .map(|(index, view)| Action::Queue {
            index,
            spec: Box::new(view.spec.clone()),
        })
        .collect()
}

/// space: pauses this app's running run, or resumes its paused one.
fn pause_or_resume(app: &mut App) -> Vec<Action> {
    let running = app
        .runs
        .iter()
        .find(|view| !view.external && matches!(view.status, UiStatus::Running | UiStatus::Paused));
    match running.map(|view| view.status) {
        Some(UiStatus::Paused) => vec![Action::Send(Command::Unpause)],
        Some(_) => vec![Action::Send(Command::Pause)],
        None => pause_elsewhere(app),
    }
}

/// space with no run of this app training: the selected run, when another
/// process on this machine trains it.
fn pause_elsewhere(app: &mut App) -> Vec<Action> {
    let selected = app.selected_run().filter(|view| {
        view.external && matches!(view.status, UiStatus::Running | UiStatus::Paused)
    });
    let Some(view) = selected else {
        app.message = Some("nothing is running".into());
        return Vec::new();
    };
    let Some(pid) = controllable(view) else {
        app.message = Some(another_process(view));
        return Vec::new();
    };
    let control = if view.status == UiStatus::Paused {
        Control::Unpause
    } else {
        Control::Pause
    };
    vec![Action::Control { pid, control }]
}

/// The pid of the process on this machine that trains `view`, if any.
fn controllable(view: &RunView) -> Option<u32> {
    view.writer_pid.filter(|_| view.writer_here)
}

/// x: asks before cancelling the selected active run.
fn ask_to_cancel(app: &mut App) {
    match app.selected_run().filter(|view| view.is_active()) {
        Some(view) if view.external && controllable(view).is_none() => {
            app.message = Some(another_process(view));
        }
        Some(view) => {
            if let Some(id) = view.id.clone() {
                app.overlay = Overlay::Confirm(Confirm::Cancel(id));
            }
        }
        None => {}
    }
}

/// d: asks before deleting the selected stored run; an active one is cancelled first.
fn ask_to_delete(app: &mut App) {
    match app.selected_run() {
        Some(view) if view.external && !view.by_worker && view.is_active() => {
            app.message = Some(another_process(view));
        }
        Some(view) if view.is_active() => {
            app.message = Some("cancel the run (x) before deleting it".into());
        }
        Some(view) => {
            if let Some(id) = view.id.clone() {
                app.overlay = Overlay::Confirm(Confirm::Delete(id));
            }
        }
        None => {}
    }
}

/// How to stop a run that another process trains.
fn another_process(view: &RunView) -> String {
    match view.writer_pid {
        Some(pid) => format!(
            "another process (pid {pid}) trains this run; stop it there, or with `kill -INT {pid}`"
        ),
        None => "another process trains this run; stop it there".into(),
    }
}

/// Enter: a planned run is queued; an interrupted, crashed or failed one
/// continues after its last complete epoch; a finished one runs again.
fn queue_selected(app: &mut App) -> Vec<Action> {
    let Some(view) = app.selected_run() else {
        return Vec::new();
    };
    match view.status {
        UiStatus::Planned => vec![Action::Queue {
            index: app.selected,
            spec: Box::new(view.spec.clone()),
        }],
        UiStatus::Queued | UiStatus::Running | UiStatus::Paused | UiStatus::Stalled => {
            app.message = Some(format!("{} is already queued or running", view.spec.name));
            Vec::new()
        }
        UiStatus::Failed | UiStatus::Interrupted | UiStatus::Crashed => match view.id.clone() {
            Some(run) => {
                let spec = Box::new(view.spec.clone());
                let epochs_done = view.logged().epochs.last().map_or(0, |row| row.epoch);
                app.message = Some(format!(
                    "continuing {run} after epoch {epochs_done} (r: start it again from scratch)"
                ));
                vec![Action::Continue { run, spec }]
            }
            None => run_again(app),
        },
        UiStatus::Done => run_again(app),
    }
}

/// r: the selected stored run's spec is queued again as a new row.
fn run_again(app: &mut App) -> Vec<Action> {
    let Some(view) = app.selected_run() else {
        return Vec::new();
    };
    if view.status == UiStatus::Planned || view.is_active() {
        return queue_selected(app);
    }
    let spec = view.spec.clone();
    let index = app.add_planned(spec.clone());
    // A new run of a group: the group opens to show it.
    app.select_run(index);
    vec![Action::Queue {
        index,
        spec: Box::new(spec),
    }]
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEventState, KeyModifiers};

    use super::*;
    use crate::{protocol::Event, tui::run_view::RECENT_POINTS};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    fn spec(name: &str) -> RunSpec {
        crate::tui::test_support::spec(name)
    }

    fn app() -> App {
        App::new(Vec::new(), vec![spec("M1"), spec("M2"), spec("MLP")])
    }

    fn queue(app: &mut App, index: usize, id: &str) {
        app.assign_id(index, id.into());
        app.apply(&Event::Queued {
            run: id.into(),
            spec: Box::new(app.runs[index].spec.clone()),
        });
    }

    fn start(app: &mut App, id: &str) {
        app.apply(
            &crate::testing::started(id)
                .params(1)
                .samples(320, 80)
                .epochs(15)
                .event(),
        );
    }

    fn progress(id: &str, step: usize, loss: f64) -> Event {
        Event::Progress {
            run: id.into(),
            epoch: 1,
            step,
            steps: 10,
            loss,
            accuracy: 0.5,
            recent_loss: loss,
            recent_accuracy: 0.5,
            samples_per_sec: 64.0,
            elapsed_secs: 1.0,
            learning_rate: None,
        }
    }

    #[test]
    fn selection_moves_and_clamps() {
        let mut app = app();
        handle_key(&mut app, key(KeyCode::Char('k')));
        assert_eq!(app.selected, 0);
        for _ in 0..5 {
            handle_key(&mut app, key(KeyCode::Down));
        }
        assert_eq!(app.selected, 2);
        handle_key(&mut app, key(KeyCode::Char('g')));
        assert_eq!(app.selected, 0);
        handle_key(&mut app, key(KeyCode::End));
        assert_eq!(app.selected, 2);
    }

    #[test]
    fn enter_queues_the_selected_plan_entry_and_a_queues_the_rest() {
        let mut app = app();
        handle_key(&mut app, key(KeyCode::Down));
        let actions = handle_key(&mut app, key(KeyCode::Enter));
        assert_eq!(
            actions,
            vec![Action::Queue {
                index: 1,
                spec: Box::new(spec("M2"))
            }]
        );
        queue(&mut app, 1, "run-m2");
        let again = handle_key(&mut app, key(KeyCode::Enter));
        assert!(again.is_empty());
        assert_eq!(
            app.message.as_deref(),
            Some("M2 is already queued or running")
        );
        let all: Vec<usize> = handle_key(&mut app, key(KeyCode::Char('a')))
            .into_iter()
            .map(|action| match action {
                Action::Queue { index, .. } => index,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(all, [0, 2]);
    }

    #[test]
    fn a_finished_run_is_rerun_as_a_new_row() {
        let mut app = app();
        queue(&mut app, 0, "a");
        app.apply(&Event::Finished {
            run: "a".into(),
            seconds: 1.0,
            best_val_accuracy: 0.9,
            best_epoch: 1,
        });
        let actions = handle_key(&mut app, key(KeyCode::Enter));
        assert_eq!(
            actions,
            vec![Action::Queue {
                index: 3,
                spec: Box::new(spec("M1"))
            }]
        );
        assert_eq!((app.runs.len(), app.selected), (4, 3));
    }

    #[test]
    fn an_interrupted_run_continues_on_enter_and_starts_over_on_r() {
        let mut app = app();
        queue(&mut app, 0, "a");
        app.apply(&Event::Cancelled {
            run: "a".into(),
            epochs_done: 0,
        });
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Enter)),
            vec![Action::Continue {
                run: "a".into(),
                spec: Box::new(spec("M1"))
            }]
        );
        assert_eq!(app.runs.len(), 3, "continuing adds no row");
        assert!(app
            .message
            .as_deref()
            .unwrap_or("")
            .contains("continuing a"));
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char('r'))),
            vec![Action::Queue {
                index: 3,
                spec: Box::new(spec("M1"))
            }]
        );
        app.read_only = true;
        app.selected = 0;
        assert!(handle_key(&mut app, key(KeyCode::Enter)).is_empty());
    }

    #[test]
    fn cancel_and_delete_ask_first() {
        let mut app = app();
        queue(&mut app, 0, "a");
        start(&mut app, "a");
        assert!(handle_key(&mut app, key(KeyCode::Char('x'))).is_empty());
        assert_eq!(app.overlay, Overlay::Confirm(Confirm::Cancel("a".into())));
        assert!(handle_key(&mut app, key(KeyCode::Char('n'))).is_empty());
        assert_eq!(app.overlay, Overlay::None);
        handle_key(&mut app, key(KeyCode::Char('x')));
        let actions = handle_key(&mut app, key(KeyCode::Char('y')));
        assert_eq!(
            actions,
            vec![Action::Send(Command::Cancel {
                run: Some("a".into())
            })]
        );
        handle_key(&mut app, key(KeyCode::Char('d')));
        assert_eq!(
            app.message.as_deref(),
            Some("cancel the run (x) before deleting it")
        );
        app.apply(&Event::Cancelled {
            run: "a".into(),
            epochs_done: 0,
        });
        handle_key(&mut app, key(KeyCode::Char('d')));
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Enter)),
            vec![Action::Delete("a".into())]
        );
        app.remove(&"a".into());
        assert_eq!(app.runs.len(), 2);
    }

    #[test]
    fn a_run_that_ended_while_asked_about_is_not_cancelled() {
        let mut app = app();
        queue(&mut app, 0, "a");
        start(&mut app, "a");
        handle_key(&mut app, key(KeyCode::Char('x')));
        app.apply(&Event::Finished {
            run: "a".into(),
            seconds: 1.0,
            best_val_accuracy: 0.9,
            best_epoch: 1,
        });
        assert!(handle_key(&mut app, key(KeyCode::Char('y'))).is_empty());
        assert_eq!(
            app.message.as_deref(),
            Some("a has ended: nothing to cancel")
        );
        assert_eq!(app.overlay, Overlay::None);
    }

    #[test]
    fn a_run_that_became_active_while_asked_about_is_not_deleted() {
        let mut app = app();
        queue(&mut app, 0, "a");
        app.apply(&Event::Cancelled {
            run: "a".into(),
            epochs_done: 1,
        });
        handle_key(&mut app, key(KeyCode::Char('d')));
        assert_eq!(app.overlay, Overlay::Confirm(Confirm::Delete("a".into())));
        // Another process continues it before the answer.
        start(&mut app, "a");
        assert!(handle_key(&mut app, key(KeyCode::Char('y'))).is_empty());
        assert_eq!(
            app.message.as_deref(),
            Some("a is active again: not deleted")
        );
        assert_eq!(app.overlay, Overlay::None);
    }

    #[test]
    fn space_pauses_and_resumes_the_running_run() {
        let mut app = app();
        assert!(handle_key(&mut app, key(KeyCode::Char(' '))).is_empty());
        queue(&mut app, 2, "c");
        start(&mut app, "c");
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char(' '))),
            vec![Action::Send(Command::Pause)]
        );
        app.apply(&Event::Paused { run: "c".into() });
        assert_eq!(app.runs[2].status, UiStatus::Paused);
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char(' '))),
            vec![Action::Send(Command::Unpause)]
        );
    }

    #[test]
    fn quit_asks_while_training_and_ctrl_c_does_not() {
        let mut app = app();
        queue(&mut app, 0, "a");
        handle_key(&mut app, key(KeyCode::Char('q')));
        assert_eq!(
            (app.overlay.clone(), app.should_quit),
            (Overlay::Confirm(Confirm::Quit), false)
        );
        handle_key(&mut app, key(KeyCode::Char('y')));
        assert!(app.should_quit);
        let mut app = self::app();
        queue(&mut app, 0, "a");
        let ctrl_c = KeyEvent {
            modifiers: KeyModifiers::CONTROL,
            ..key(KeyCode::Char('c'))
        };
        handle_key(&mut app, ctrl_c);
        assert!(app.should_quit);
        let mut idle = self::app();
        handle_key(&mut idle, key(KeyCode::Char('q')));
        assert!(idle.should_quit, "nothing to lose: quit at once");
    }

    #[test]
    fn the_alert_log_opens_with_bang_and_closes_like_the_help() {
        for close in [
            KeyCode::Esc,
            KeyCode::Char('!'),
            KeyCode::Char('q'),
            KeyCode::Enter,
        ] {
            let mut app = app();
            app.view = View::Sweep;
            assert!(handle_key(&mut app, key(KeyCode::Char('!'))).is_empty());
            assert_eq!(app.overlay, Overlay::Alerts, "from any view");
            handle_key(&mut app, key(KeyCode::Char('j')));
            assert_eq!(app.selected, 0, "keys go to the log while it is open");
            assert!(handle_key(&mut app, key(close)).is_empty());
            assert_eq!(app.overlay, Overlay::None, "{close:?} closes it");
            assert!(!app.should_quit, "{close:?} closes the log, not the app");
        }
        // A read-only viewer may read it too.
        let mut viewer = app();
        viewer.read_only = true;
        handle_key(&mut viewer, key(KeyCode::Char('!')));
        assert_eq!(viewer.overlay, Overlay::Alerts);
    }

    #[test]
    fn help_views_and_toggles() {
        let mut app = app();
        handle_key(&mut app, key(KeyCode::Char('?')));
        assert_eq!(app.overlay, Overlay::Help);
        handle_key(&mut app, key(KeyCode::Char('j')));
        assert_eq!(app.selected, 0, "keys go to the overlay while it is open");
        handle_key(&mut app, key(KeyCode::Esc));
        assert_eq!(app.overlay, Overlay::None);
        handle_key(&mut app, key(KeyCode::Tab));
        assert_eq!(app.view, View::Confusion);
        handle_key(&mut app, key(KeyCode::Tab));
        assert_eq!(app.view, View::Compare);
        handle_key(&mut app, key(KeyCode::Char('1')));
        assert_eq!(app.view, View::Monitor);
        handle_key(&mut app, key(KeyCode::Char('p')));
        handle_key(&mut app, key(KeyCode::Char('e')));
        assert!(app.percent && app.smoothing);
        handle_key(&mut app, key(KeyCode::Char('m')));
        assert_eq!(
            app.message.as_deref(),
            Some("only started runs can be marked")
        );
        queue(&mut app, 0, "a");
        handle_key(&mut app, key(KeyCode::Char('m')));
        assert_eq!(app.marked, vec!["a".to_string()]);
        assert_eq!(app.curve_runs().len(), 1, "marked runs are the curves");
        handle_key(&mut app, key(KeyCode::Char('m')));
        assert!(app.marked.is_empty());
    }

    #[test]
    fn events_update_their_run_and_keep_the_selection() {
        let mut app = app();
        handle_key(&mut app, key(KeyCode::Down));
        queue(&mut app, 0, "a");
        start(&mut app, "a");
        for step in 0..RECENT_POINTS + 10 {
            app.apply(&progress("a", step % 10 + 1, 1.0 / (step + 1) as f64));
        }
        assert_eq!(app.selected, 1);
        let run = &app.runs[0];
        assert_eq!(
            run.recent_loss.len(),
            RECENT_POINTS,
            "the sparkline buffer is bounded"
        );
        assert_eq!(run.status, UiStatus::Running);
        // Last step was 2 of 10 in epoch 1 of 15: (8 + 14 × 10) steps × 32 images / 64 per second.
        assert_eq!(run.eta_secs(), Some(74.0));
        app.apply(&Event::Failed {
            run: "a".into(),
            message: "boom".into(),
        });
        assert_eq!(
            (app.runs[0].status, app.runs[0].logged().error.as_deref()),
            (UiStatus::Failed, Some("boom"))
        );
        app.apply(&Event::Queued {
            run: "other".into(),
            spec: Box::new(spec("X")),
        });
        assert_eq!(app.runs.len(), 4, "a run queued elsewhere gets a row");
    }

    #[test]
    fn s_asks_for_a_screenshot_and_4_shows_the_run_list() {
        let mut app = app();
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char('s'))),
            vec![Action::Screenshot]
        );
        handle_key(&mut app, key(KeyCode::Char('4')));
        assert_eq!(app.view, View::Runs);
        handle_key(&mut app, key(KeyCode::Tab));
        assert_eq!(app.view, View::Diff, "Tab goes on to the diff");
        handle_key(&mut app, key(KeyCode::Tab));
        handle_key(&mut app, key(KeyCode::Tab));
        assert_eq!(
            app.view,
            View::Monitor,
            "and from the sweep back to the first"
        );
    }

    #[test]
    fn a_read_only_viewer_explains_instead_of_acting() {
        let mut app = app();
        app.read_only = true;
        for code in [
            KeyCode::Enter,
            KeyCode::Char('a'),
            KeyCode::Char(' '),
            KeyCode::Char('x'),
            KeyCode::Char('d'),
            KeyCode::Char('r'),
        ] {
            app.message = None;
            assert!(handle_key(&mut app, key(code)).is_empty(), "{code:?}");
            assert!(
                app.message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("read-only")),
                "{code:?}: {:?}",
                app.message
            );
        }
        assert_eq!(app.overlay, Overlay::None);
        // Looking around still works.
        handle_key(&mut app, key(KeyCode::Char('j')));
        assert_eq!(app.selected, 1);
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char('s'))),
            vec![Action::Screenshot]
        );
    }

    /// What a viewer refuses is the intent's, wherever and however often it
    /// is bound: every key of every layer each view reaches.
    #[test]
    fn a_read_only_viewer_refuses_exactly_the_mutating_keys() {
        for view in crate::tui::View::ALL {
            let layers = keymap::layers(&Overlay::None, view);
            for binding in layers.iter().flat_map(|layer| layer.bindings) {
                for &bound in binding.keys {
                    let pressed = key(bound.code);
                    // A key another layer takes first is that layer's.
                    if keymap::lookup(layers, &pressed) != Some(binding) || bound.ctrl {
                        continue;
                    }
                    let mut app = app();
                    app.read_only = true;
                    queue(&mut app, 0, "a");
                    start(&mut app, "a");
                    app.view = view;
                    let actions = handle_key(&mut app, pressed);
                    let refused = app.message.as_deref() == Some(READ_ONLY);
                    let label = format!("{} in {}", bound.label(), view.name());
                    assert_eq!(refused, binding.intent.mutates(), "{label}");
                    if refused {
                        assert!(actions.is_empty(), "{label}");
                    }
                }
            }
        }
    }

    #[test]
    fn esc_asks_to_quit_while_training_and_does_nothing_when_idle() {
        let mut idle = app();
        handle_key(&mut idle, key(KeyCode::Esc));
        assert_eq!((idle.should_quit, idle.overlay), (false, Overlay::None));
        let mut busy = app();
        queue(&mut busy, 0, "a");
        handle_key(&mut busy, key(KeyCode::Esc));
        assert_eq!(busy.overlay, Overlay::Confirm(Confirm::Quit));
        handle_key(&mut busy, key(KeyCode::Esc));
        assert_eq!((busy.should_quit, busy.overlay), (false, Overlay::None));
    }

    #[test]
    fn runs_of_another_process_here_are_paused_and_cancelled_by_signal() {
        let mut app = app();
        queue(&mut app, 0, "theirs");
        start(&mut app, "theirs");
        app.runs[0].external = true;
        app.runs[0].writer_pid = Some(4242);
        app.runs[0].writer_here = true;
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char(' '))),
            [Action::Control {
                pid: 4242,
                control: Control::Pause
            }]
        );
        assert!(handle_key(&mut app, key(KeyCode::Char('x'))).is_empty());
        assert_eq!(
            app.overlay,
            Overlay::Confirm(Confirm::Cancel("theirs".into()))
        );
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char('y'))),
            [Action::Control {
                pid: 4242,
                control: Control::Cancel
            }]
        );
    }

    #[test]
    fn a_run_of_the_apps_own_worker_is_the_apps_to_stop() {
        let mut app = app();
        queue(&mut app, 0, "ours");
        app.hand_to_worker(&"ours".into());
        start(&mut app, "ours");
        app.runs[0].writer_pid = Some(4242);
        app.runs[0].writer_here = true;
        assert!(app.any_active(), "quitting stops it: the app asks first");
        handle_key(&mut app, key(KeyCode::Char('d')));
        assert_eq!(
            app.message.as_deref(),
            Some("cancel the run (x) before deleting it")
        );
        handle_key(&mut app, key(KeyCode::Char('x')));
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char('y'))),
            [Action::Control {
                pid: 4242,
                control: Control::Cancel
            }]
        );
    }

    #[test]
    fn runs_of_a_process_elsewhere_are_shown_not_controlled() {
        let mut app = app();
        queue(&mut app, 0, "theirs");
        start(&mut app, "theirs");
        app.runs[0].external = true;
        app.runs[0].writer_pid = Some(4242);
        assert!(!app.any_active(), "quitting does not touch their runs");
        for code in [KeyCode::Char('x'), KeyCode::Char('d')] {
            app.message = None;
            assert!(handle_key(&mut app, key(code)).is_empty());
            assert!(
                app.message
                    .as_deref()
                    .is_some_and(|m| m.contains("kill -INT 4242")),
                "{:?}",
                app.message
            );
        }
        app.message = None;
        assert!(handle_key(&mut app, key(KeyCode::Char(' '))).is_empty());
        assert!(
            app.message
                .as_deref()
                .is_some_and(|m| m.starts_with("another process (pid 4242)")),
            "{:?}",
            app.message
        );
    }

    /// M1's three seeds around an MLP: M1 seed=1, MLP, M1 seed=2, M1 seed=3.
    fn grouped_app() -> App {
        let seed = |seed| RunSpec {
            seed,
            name: format!("M1 seed={seed}"),
            ..spec("M1")
        };
        App::new(Vec::new(), vec![seed(1), spec("MLP"), seed(2), seed(3)])
    }

    fn queued_rows(actions: Vec<Action>) -> Vec<usize> {
        actions
            .into_iter()
            .map(|action| match action {
                Action::Queue { index, .. } => index,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn enter_on_a_group_queues_its_planned_runs() {
        let mut app = grouped_app();
        queue(&mut app, 2, "m1-2");
        assert_eq!(
            app.cursor_group().map(|(name, _)| name).as_deref(),
            Some("M1")
        );
        assert_eq!(
            queued_rows(handle_key(&mut app, key(KeyCode::Enter))),
            [0, 3]
        );
        assert_eq!(app.message.as_deref(), Some("queued 2 planned runs of M1"));
        queue(&mut app, 0, "m1-1");
        queue(&mut app, 3, "m1-3");
        assert!(handle_key(&mut app, key(KeyCode::Enter)).is_empty());
        assert_eq!(
            app.message.as_deref(),
            Some("M1 has no planned runs; expand it (o) to pick a run")
        );
    }

    #[test]
    fn enter_on_a_filtered_group_queues_only_the_runs_shown() {
        let mut app = grouped_app();
        app.filter = crate::tui::list::filter::Filter::parse("seed=2");
        app.keep_cursor_listed();
        app.move_selection(isize::MIN);
        assert_eq!(
            app.cursor_group().map(|(name, _)| name).as_deref(),
            Some("M1")
        );
        assert_eq!(queued_rows(handle_key(&mut app, key(KeyCode::Enter))), [2]);
        assert_eq!(app.message.as_deref(), Some("queued 1 planned run of M1"));
    }

    #[test]
    fn keys_for_one_run_ask_for_one_on_a_group_and_act_on_it_expanded() {
        let mut app = grouped_app();
        queue(&mut app, 2, "m1-2");
        start(&mut app, "m1-2");
        for (code, verb) in [
            ('x', "cancel"),
            ('d', "delete"),
            ('r', "run again"),
            ('m', "mark"),
        ] {
            app.message = None;
            assert!(handle_key(&mut app, key(KeyCode::Char(code))).is_empty());
            assert_eq!(
                app.message.as_deref(),
                Some(
                    format!("M1 is a group of 3 runs: expand it (o) and pick one to {verb}")
                        .as_str()
                )
            );
        }
        assert_eq!(
            (app.overlay.clone(), app.marked.len(), app.runs.len()),
            (Overlay::None, 0, 4)
        );
        // Pause is about the running run, wherever the cursor is.
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char(' '))),
            vec![Action::Send(Command::Pause)]
        );
        // Expanded, the cursor goes down to M1 seed=2 and x asks about it.
        handle_key(&mut app, key(KeyCode::Char('o')));
        for _ in 0..2 {
            handle_key(&mut app, key(KeyCode::Char('j')));
        }
        assert_eq!(app.selected_run().unwrap().spec.name, "M1 seed=2");
        handle_key(&mut app, key(KeyCode::Char('x')));
        assert_eq!(
            app.overlay,
            Overlay::Confirm(Confirm::Cancel("m1-2".into()))
        );
        // On a run of the group, o folds the group and goes up to its header.
        handle_key(&mut app, key(KeyCode::Char('n')));
        handle_key(&mut app, key(KeyCode::Char('o')));
        assert_eq!(app.list_rows().len(), 2);
    }

    #[test]
    fn a_rerun_opens_its_group_to_show_the_new_row() {
        let mut app = app();
        queue(&mut app, 0, "a");
        app.apply(&Event::Finished {
            run: "a".into(),
            seconds: 1.0,
            best_val_accuracy: 0.9,
            best_epoch: 1,
        });
        // M1 and its re-run are a group of two; the new row is selected, in sight.
        assert_eq!(
            queued_rows(handle_key(&mut app, key(KeyCode::Char('r')))),
            [3]
        );
        assert_eq!(app.cursor(), Some(crate::tui::Cursor::Run(3)));
        assert_eq!(app.list_rows().len(), 5, "header, its two runs, M2, MLP");
    }

    fn evaluated(app: &mut App, index: usize, id: &str) {
        queue(app, index, id);
        app.apply(&Event::Evaluated {
            run: id.into(),
            test_loss: 0.3,
            test_accuracy: 0.9,
            confusion: Box::new([[3; 10]; 10]),
        });
    }

    #[test]
    fn the_confusion_cursor_opens_the_cells_gallery_and_esc_comes_back() {
        let mut app = app();
        app.read_only = true;
        evaluated(&mut app, 1, "b");
        handle_key(&mut app, key(KeyCode::Char('2')));
        // In the grid, arrows and hjkl move the cursor, not the run selection.
        for code in [
            KeyCode::Down,
            KeyCode::Char('j'),
            KeyCode::Right,
            KeyCode::Char('l'),
        ] {
            handle_key(&mut app, key(code));
        }
        assert_eq!((app.cursor, app.selected), ((2, 2), 0));
        for _ in 0..12 {
            handle_key(&mut app, key(KeyCode::Char('j')));
        }
        handle_key(&mut app, key(KeyCode::Char('h')));
        assert_eq!(app.cursor, (9, 1));
        handle_key(&mut app, key(KeyCode::Up));
        assert_eq!(app.cursor, (8, 1));
        // Enter on a run with no test result explains; brackets pick another run.
        assert!(handle_key(&mut app, key(KeyCode::Enter)).is_empty());
        assert_eq!(
            app.message.as_deref(),
            Some("the selected run has no test results yet")
        );
        handle_key(&mut app, key(KeyCode::Char(']')));
        assert_eq!(app.selected, 1);
        assert!(
            handle_key(&mut app, key(KeyCode::Enter)).is_empty(),
            "even read-only"
        );
        assert_eq!(app.view, View::Gallery);
        assert_eq!(
            app.gallery.as_ref().map(|gallery| gallery.subject.clone()),
            Some(Subject::Cell {
                run: "b".into(),
                truth: 8,
                predicted: 1
            })
        );
        // Paging keys need images to page through; Esc goes back.
        handle_key(&mut app, key(KeyCode::PageDown));
        assert_eq!(app.gallery.as_ref().unwrap().first, 0);
        handle_key(&mut app, key(KeyCode::Esc));
        assert_eq!((app.view, app.gallery.is_none()), (View::Confusion, true));
        assert!(!app.should_quit && app.overlay == Overlay::None);
        handle_key(&mut app, key(KeyCode::Char('[')));
        assert_eq!(app.selected, 0);
    }

    #[test]
    fn gallery_keys_page_through_the_images() {
        let mut app = app();
        evaluated(&mut app, 0, "a");
        // Three shirts taken for T-shirts: two pages at 80×24 (two across, one down).
        let mistakes: Vec<(usize, u8)> = vec![(6, 0), (16, 0), (26, 0)];
        app.predictions.insert(
            "a".into(),
            Ok(std::sync::Arc::new(crate::tui::test_support::predictions(
                &mistakes,
            ))),
        );
        app.size = (80, 24);
        app.view = View::Confusion;
        app.cursor = (6, 0);
        handle_key(&mut app, key(KeyCode::Enter));
        let first = |app: &App| app.gallery.as_ref().unwrap().first;
        for (code, expected) in [
            (KeyCode::PageDown, 2),
            (KeyCode::Char('n'), 2),
            (KeyCode::Char('p'), 0),
            (KeyCode::End, 2),
            (KeyCode::Home, 0),
            (KeyCode::Right, 2),
            (KeyCode::PageUp, 0),
        ] {
            handle_key(&mut app, key(code));
            assert_eq!(first(&app), expected, "{code:?}");
        }
        assert!(!app.percent, "p pages in the gallery");
        assert_eq!(
            handle_key(&mut app, key(KeyCode::Char('s'))),
            vec![Action::Screenshot]
        );
        handle_key(&mut app, key(KeyCode::Backspace));
        assert_eq!(app.view, View::Confusion);
    }

    #[test]
    fn five_diffs_two_marked_runs_and_enter_opens_where_they_disagree() {
        let mut app = app();
        evaluated(&mut app, 0, "a");
        evaluated(&mut app, 1, "b");
        handle_key(&mut app, key(KeyCode::Char('5')));
        assert_eq!(app.view, View::Diff);
        assert!(handle_key(&mut app, key(KeyCode::Enter)).is_empty());
        assert_eq!(
            (app.view, app.message.as_deref()),
            (View::Diff, None),
            "nothing to open yet; the pane says why"
        );
        handle_key(&mut app, key(KeyCode::Char('m')));
        handle_key(&mut app, key(KeyCode::Char(']')));
        handle_key(&mut app, key(KeyCode::Down));
        handle_key(&mut app, key(KeyCode::Enter));
        assert_eq!(
            app.gallery.as_ref().map(|gallery| gallery.subject.clone()),
            Some(Subject::Disagreement {
                a: "a".into(),
                b: "b".into(),
                truth: 1,
                predicted: 0
            })
        );
        handle_key(&mut app, key(KeyCode::Esc));
        assert_eq!(app.view, View::Diff);
        // a and b: every image that run gets right and the other wrong.
        assert!(
            handle_key(&mut app, key(KeyCode::Char('a'))).is_empty(),
            "not queue-all"
        );
        assert_eq!(
            app.gallery.as_ref().map(|gallery| gallery.subject.clone()),
            Some(Subject::OneRight {
                a: "a".into(),
                b: "b".into(),
                b_right: false
            })
        );
        handle_key(&mut app, key(KeyCode::Esc));
        handle_key(&mut app, key(KeyCode::Char('b')));
        assert!(matches!(
            app.gallery.as_ref().map(|gallery| &gallery.subject),
            Some(Subject::OneRight { b_right: true, .. })
        ));
        handle_key(&mut app, key(KeyCode::Esc));
        handle_key(&mut app, key(KeyCode::Tab));
        assert_eq!(app.view, View::Sweep, "Tab goes on from the diff");
    }
}
