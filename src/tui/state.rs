//! The app's state: the runs, the selection, the view and its toggles.
//! Events from the trainer and keys from the user change it; nothing else.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    gallery::subject::{Gallery, Loaded},
    list::{filter::Filter, order::Order, row::Cursor},
    run_view::{RunView, UiStatus},
    view::View,
};
use crate::{
    data::Split,
    plan::RunSpec,
    protocol::{Event, RunId},
    store::{Predictions, Update},
};

/// A question the user must answer before it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// Quit while runs are active (they are stored as interrupted).
    Quit,
    /// Cancel this run.
    Cancel(RunId),
    /// Delete this stored run from disk.
    Delete(RunId),
}

/// What is drawn over the view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Overlay {
    #[default]
    None,
    Help,
    Confirm(Confirm),
    /// The run list's filter prompt, with the text typed so far.
    Filter(String),
    /// The alert log, newest last.
    Alerts,
}

/// Everything the screen shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct App {
    pub runs: Vec<RunView>,
    /// The selected run (an index into `runs`); on a group's header, one
    /// of the group's runs (the panes show [`App::selected_run`]).
    pub selected: usize,
    /// The key of the group whose header the cursor is on (see [`super::list`]).
    pub on_group: Option<String>,
    /// Keys of the groups listed with their runs; the others show one row.
    pub expanded: BTreeSet<String>,
    /// The run list's filter (see [`super::list::filter`]); off when empty.
    pub filter: Filter,
    /// The run list's order.
    pub order: Order,
    pub view: View,
    pub overlay: Overlay,
    /// Smooth the sparklines with a bias-corrected EMA.
    pub smoothing: bool,
    /// Confusion cells as row percentages rather than counts.
    pub percent: bool,
    /// A one-line message for the status bar (last action's outcome).
    pub message: Option<String>,
    pub should_quit: bool,
    /// Colour depth and glyphs for this terminal.
    pub render: super::RenderMode,
    /// Runs picked with `m` for the compare view's curves (all finished runs when none).
    pub marked: Vec<RunId>,
    /// A viewer of runs trained elsewhere (`atelier watch`): keys that would
    /// start, pause, cancel or delete runs only explain why they cannot.
    pub read_only: bool,
    /// The cell of the confusion and diff grids under the cursor: (true, predicted).
    pub cursor: (usize, usize),
    /// The gallery shown in [`View::Gallery`].
    pub gallery: Option<Gallery>,
    /// Test predictions read from the run folders, by run.
    pub predictions: BTreeMap<RunId, Loaded<Predictions>>,
    /// The test split, read once the gallery first needs it.
    pub test_images: Option<Loaded<Split>>,
    /// The terminal's size (columns, rows), for the gallery's pages.
    pub size: (u16, u16),
    /// Why squeue last failed, so that a failure that repeats every poll
    /// is shown once (see [`super::slurm_view`]).
    pub slurm_error: Option<String>,
    /// The sweep view's order, panels and curves (its cursor is the selection).
    pub sweep: super::sweep::choices::SweepState,
    /// Where the runs come from and how each stands; empty for the one
    /// local runs folder of a plain app (nothing to say then).
    pub sources: Vec<crate::remote::SourceStatus>,
    /// Every alert so far, oldest first (the alert log).
    pub alerts: Vec<AlertEntry>,
}

/// One line of the alert log.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertEntry {
    /// When the app heard of it, as `HH:MM:SS` (UTC).
    pub at: String,
    pub alert: crate::store::Alert,
}

impl App {
    /// Stored runs first (oldest first), then the plan's runs, ready to queue.
    pub fn new(stored: Vec<RunView>, plan: Vec<RunSpec>) -> Self {
        let mut runs = stored;
        runs.extend(plan.into_iter().map(RunView::planned));
        Self {
            runs,
            ..Self::default()
        }
    }

    /// The row a viewer opens on: the newest run that has started, else the last row.
    pub fn newest_started(&self) -> usize {
        self.runs
            .iter()
            .rposition(|view| !matches!(view.status, UiStatus::Planned | UiStatus::Queued))
            .unwrap_or(self.runs.len().saturating_sub(1))
    }

    /// The selected run, if there is any run: on a group's header, the run
    /// it stands for ([`App::representative`]).
    pub fn selected_run(&self) -> Option<&RunView> {
        match self.cursor()? {
            Cursor::Run(index) => self.runs.get(index),
            Cursor::Group(key) => self
                .representative(&self.group_members(&key))
                .and_then(|index| self.runs.get(index)),
        }
    }

    /// Folds a trainer event into the run it is about, keeping the selection.
    pub fn apply(&mut self, event: &Event) {
        let run = event.run();
        self.forget_stale_predictions(event);
        if let Some(view) = self
            .runs
            .iter_mut()
            .find(|view| view.id.as_ref() == Some(run))
        {
            view.apply(event);
        } else if let Event::Queued { spec, .. } = event {
            // Queued elsewhere (another process, or a re-run): a new row at the end.
            let mut view = RunView::planned((**spec).clone());
            view.apply(event);
            self.runs.push(view);
        }
        // A filter on the status may hide the cursor's run now.
        self.keep_cursor_listed();
    }

    /// A new test result means new predictions on disk: what was read (or
    /// found missing) before is stale.
    fn forget_stale_predictions(&mut self, event: &Event) {
        if let Event::Evaluated { run, .. } = event {
            self.predictions.remove(run);
        }
    }

    /// Gives the run at `index` the id it was queued under.
    pub fn assign_id(&mut self, index: usize, id: RunId) {
        if let Some(view) = self.runs.get_mut(index) {
            view.id = Some(id);
            view.status = UiStatus::Queued;
        }
        self.keep_cursor_listed();
    }

    /// The app's queued run `id` is now trained by one of its worker
    /// processes: its row follows the store from here on.
    pub fn hand_to_worker(&mut self, id: &RunId) {
        if let Some(view) = self
            .runs
            .iter_mut()
            .find(|view| view.id.as_ref() == Some(id))
        {
            view.external = true;
            view.by_worker = true;
        }
    }

    /// Marks a stored run as this app's own again: it is about to continue here.
    pub fn take_over(&mut self, id: &RunId) {
        if let Some(view) = self
            .runs
            .iter_mut()
            .find(|view| view.id.as_ref() == Some(id))
        {
            view.external = false;
            view.status = UiStatus::Queued;
        }
        self.keep_cursor_listed();
    }

    /// Adds a row for a new run of `spec` (a re-run) and returns its index.
    pub fn add_planned(&mut self, spec: RunSpec) -> usize {
        self.runs.push(RunView::planned(spec));
        self.runs.len() - 1
    }

    /// Drops a deleted run's row. The selection stays on its run, or moves to
    /// a neighbour when it was the one removed; the run's mark and any
    /// question about it go too, so nothing refers to a row that is gone.
    pub fn remove(&mut self, id: &RunId) {
        let Some(index) = self
            .runs
            .iter()
            .position(|view| view.id.as_ref() == Some(id))
        else {
            return;
        };
        // A header the cursor stands on (because its selected run is hidden
        // in it) stays under the cursor when that very run goes.
        let header = match self.cursor() {
            Some(Cursor::Group(key)) => Some(key),
            _ => None,
        };
        self.runs.remove(index);
        // A row above the selection shifts the selected run up by one.
        if index < self.selected {
            self.selected -= 1;
        }
        self.selected = self.selected.min(self.runs.len().saturating_sub(1));
        if self.on_group.is_none() {
            self.on_group = header;
        }
        self.forget_dissolved_groups();
        // A stale mark would empty the compare curves (marks win over "all finished").
        self.marked.retain(|marked| marked != id);
        self.predictions.remove(id);
        if self
            .gallery
            .as_ref()
            .is_some_and(|gallery| gallery.subject.runs().contains(&id))
        {
            self.close_gallery();
        }
        if matches!(&self.overlay, Overlay::Confirm(Confirm::Cancel(run) | Confirm::Delete(run)) if run == id)
        {
            self.overlay = Overlay::None;
        }
        self.keep_cursor_listed();
    }

    /// Whether this app's trainer has a run queued, running or paused
    /// (runs trained by other processes go on whatever this app does).
    pub fn any_active(&self) -> bool {
        self.runs.iter().any(RunView::is_own_active)
    }

    /// Folds a change seen in the run store into the rows.
    pub fn apply_update(&mut self, update: &Update) {
        fn find<'a>(app: &'a mut App, id: &str) -> Option<&'a mut RunView> {
            app.runs
                .iter_mut()
                .find(|view| view.id.as_deref() == Some(id))
        }
        match update {
            Update::New { record, events } => {
                if let Some(view) = find(self, &record.id) {
                    // A worker's run, first read from the store: the whole log.
                    if view.by_worker {
                        *view = RunView::stored(record, events);
                        view.by_worker = true;
                    }
                    return;
                }
                // Stored and external runs stay above the plan's runs, oldest first.
                let index = self
                    .runs
                    .iter()
                    .position(|view| view.status == UiStatus::Planned)
                    .unwrap_or(self.runs.len());
                self.runs.insert(index, RunView::stored(record, events));
                if index <= self.selected && self.runs.len() > 1 {
                    self.selected += 1;
                }
            }
            Update::Events { run, events } => {
                if let Some(view) = find(self, run).filter(|view| view.external) {
                    for event in events {
                        view.apply(event);
                    }
                    for event in events {
                        self.forget_stale_predictions(event);
                    }
                }
            }
            Update::Record(record) => {
                if let Some(view) = find(self, &record.id).filter(|view| view.external) {
                    view.apply_record(record);
                }
            }
            Update::Liveness { run, liveness } => {
                if let Some(view) = find(self, run).filter(|view| view.external) {
                    view.apply_liveness(*liveness);
                }
            }
            Update::Removed { run } => {
                if find(self, run).is_some_and(|view| view.external) {
                    self.remove(run);
                }
            }
            Update::Unreadable { problem, .. } => {
                self.message = Some(format!("skipped a run: {problem}"));
            }
        }
        self.keep_cursor_listed();
    }

    /// An update from the source on `host` (`None`: a local folder); a new
    /// run remembers where it came from, for the host column.
    pub fn apply_sourced(&mut self, host: Option<&str>, update: &Update) {
        self.apply_update(update);
        if let Update::New { record, .. } = update {
            if let Some(view) = self
                .runs
                .iter_mut()
                .find(|view| view.id.as_ref() == Some(&record.id))
            {
                view.host = host.map(str::to_string);
            }
        }
    }

    /// An alert delivered at `at` (`HH:MM:SS`): into the log, onto its
    /// run's row as a badge, and into the status line.
    pub fn note_alert(&mut self, alert: crate::store::Alert, at: String) {
        if let Some(run) = &alert.run {
            if let Some(view) = self
                .runs
                .iter_mut()
                .find(|view| view.id.as_ref() == Some(run))
            {
                view.alert = Some(alert.kind);
            }
        }
        self.message = Some(format!(
            "alert: {} (! for the alert log)",
            crate::session::notify::alert_line(&alert)
        ));
        self.alerts.push(AlertEntry { at, alert });
    }

    /// Finished runs with test results, for the compare view.
    pub fn finished(&self) -> impl Iterator<Item = &RunView> {
        self.runs.iter().filter(|view| view.logged().test.is_some())
    }

    /// Marks or unmarks the selected run for the compare curves.
    pub fn toggle_mark(&mut self) {
        let Some(id) = self.selected_run().and_then(|view| view.id.clone()) else {
            self.message = Some("only started runs can be marked".into());
            return;
        };
        if let Some(index) = self.marked.iter().position(|marked| *marked == id) {
            self.marked.remove(index);
        } else {
            self.marked.push(id);
        }
    }

    /// Whether the run is marked for comparison.
    pub fn is_marked(&self, view: &RunView) -> bool {
        view.id.as_ref().is_some_and(|id| self.marked.contains(id))
    }

    /// Runs whose validation curves the compare view overlays: the marked
    /// ones, or every finished run when none is marked.
    pub fn curve_runs(&self) -> Vec<&RunView> {
        if self.marked.is_empty() {
            self.finished().collect()
        } else {
            self.runs
                .iter()
                .filter(|view| self.is_marked(view))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        protocol::RunRequest,
        store::{Liveness, RunRecord, RunStatus},
        tui::test_support::planned_app,
    };

    fn record(id: &str, status: RunStatus) -> Box<RunRecord> {
        let mut record = RunRecord::new(&RunRequest {
            id: id.into(),
            plan: "test".into(),
            spec: planned_app(&["X"]).runs[0].spec.clone(),
        });
        record.status = status;
        Box::new(record)
    }

    #[test]
    fn runs_from_the_store_go_above_the_plan_and_keep_the_selection() {
        let mut app = planned_app(&["M1", "M2"]);
        app.selected = 1;
        app.apply_update(&Update::New {
            record: record("old", RunStatus::Done),
            events: Vec::new(),
        });
        let ids: Vec<Option<&str>> = app.runs.iter().map(|v| v.id.as_deref()).collect();
        assert_eq!(ids, [Some("old"), None, None]);
        assert_eq!(app.runs[app.selected].spec.name, "M2", "still on M2");
        // Seen again (the app's first poll, say): no second row.
        app.apply_update(&Update::New {
            record: record("old", RunStatus::Done),
            events: Vec::new(),
        });
        assert_eq!(app.runs.len(), 3);
        assert_eq!(app.newest_started(), 0);
    }

    #[test]
    fn a_new_test_result_makes_the_runs_predictions_be_read_again() {
        let mut app = planned_app(&["M1"]);
        app.assign_id(0, "a".into());
        app.predictions
            .insert("a".into(), Err("no test predictions".into()));
        app.marked = vec!["a".into()];
        let evaluated = Event::Evaluated {
            run: "a".into(),
            test_loss: 0.3,
            test_accuracy: 0.9,
            confusion: Box::new([[1; 10]; 10]),
        };
        app.apply(&evaluated);
        assert!(app.predictions.is_empty());
        // The same through the store, for a run another process trains.
        app.apply_update(&Update::New {
            record: record("theirs", RunStatus::Running),
            events: Vec::new(),
        });
        app.predictions
            .insert("theirs".into(), Err("no test predictions".into()));
        let Event::Evaluated {
            test_loss,
            test_accuracy,
            confusion,
            ..
        } = evaluated
        else {
            unreachable!()
        };
        app.apply_update(&Update::Events {
            run: "theirs".into(),
            events: vec![Event::Evaluated {
                run: "theirs".into(),
                test_loss,
                test_accuracy,
                confusion,
            }],
        });
        assert!(app.predictions.is_empty());
    }

    #[test]
    fn updates_reach_external_runs_only() {
        let mut app = planned_app(&["M1"]);
        app.apply_update(&Update::New {
            record: record("theirs", RunStatus::Running),
            events: Vec::new(),
        });
        assert!(app.runs[0].external);
        app.apply_update(&Update::Liveness {
            run: "theirs".into(),
            liveness: Liveness::Stalled {
                quiet: std::time::Duration::from_secs(400),
            },
        });
        assert_eq!(app.runs[0].status, UiStatus::Stalled);
        app.apply_update(&Update::Record(record("theirs", RunStatus::Done)));
        assert_eq!(app.runs[0].status, UiStatus::Done);
        // The app's own run (queued by its trainer) ignores what the store says.
        app.assign_id(1, "mine".into());
        app.apply_update(&Update::Record(record("mine", RunStatus::Failed)));
        assert_eq!(app.runs[1].status, UiStatus::Queued);
        app.apply_update(&Update::Removed { run: "mine".into() });
        assert_eq!(app.runs.len(), 2, "own rows are removed by the app alone");
        app.apply_update(&Update::Removed {
            run: "theirs".into(),
        });
        assert_eq!(app.runs.len(), 1);
    }

    /// Invariants of the TUI property test (`tests/it/tui_props.rs`) that
    /// removal broke: a row removed above the selection moved the selection
    /// onto the next run, and a removed run's mark or pending delete
    /// question outlived its row.
    #[test]
    fn removing_a_run_keeps_the_selected_run_and_forgets_the_removed_one() {
        let mut app = planned_app(&["M1"]);
        for id in ["a", "b", "c"] {
            app.apply_update(&Update::New {
                record: record(id, RunStatus::Done),
                events: Vec::new(),
            });
        }
        // Rows: a, b, c, M1; select c, mark a and c, ask to delete a.
        app.selected = 2;
        app.marked = vec!["a".into(), "c".into()];
        app.overlay = Overlay::Confirm(Confirm::Delete("a".into()));
        app.apply_update(&Update::Removed { run: "a".into() });
        assert_eq!(app.selected_run().unwrap().id.as_deref(), Some("c"));
        assert_eq!(app.marked, ["c".to_string()]);
        assert_eq!(app.overlay, Overlay::None, "no question about a gone run");
        // b and c are one group (same spec), its header under the cursor;
        // removing c leaves the group's last run, b, under it.
        app.remove(&"c".into());
        assert_eq!(app.selected_run().unwrap().id.as_deref(), Some("b"));
        assert!(app.marked.is_empty());
        // A question about another run stays open.
        app.overlay = Overlay::Confirm(Confirm::Delete("b".into()));
        app.remove(&"gone".into());
        assert_eq!(app.overlay, Overlay::Confirm(Confirm::Delete("b".into())));
        app.remove(&"b".into());
        assert_eq!((app.runs.len(), app.selected), (1, 0));
    }
}
