//! What the app knows about one run: the run's fold, folded from its
//! events by the store's rules ([`RunState`]), and what only the app shows
//! (live progress, sparklines, who trains the run).

use std::collections::VecDeque;

use crate::{
    plan::RunSpec,
    protocol::{Event, Phase, RunId},
    store::{AlertKind, Liveness, RunRecord, RunState, RunStatus},
};

/// Per-batch points kept for the sparklines; older ones scroll away.
pub const RECENT_POINTS: usize = 512;

/// A run's state as the app shows it: the stored [`RunStatus`]es, and what
/// only the app knows (a plan entry, a pause, a writer gone quiet or dead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UiStatus {
    /// In the plan, not queued yet.
    Planned,
    Queued,
    Running,
    Paused,
    Done,
    Failed,
    Interrupted,
    /// Running in another process that has written nothing for too long.
    Stalled,
    /// Its process died without recording how the run ended.
    Crashed,
}

/// One row of the run list and everything its panes show.
#[derive(Clone, Debug, PartialEq)]
pub struct RunView {
    /// None until the run is queued (a plan entry).
    pub id: Option<RunId>,
    pub spec: RunSpec,
    pub status: UiStatus,
    pub phase: Option<Phase>,
    /// The epoch in progress (1-based), or the last one done between epochs.
    pub epoch: u32,
    pub step: usize,
    pub steps: usize,
    pub samples_per_sec: f64,
    pub elapsed_secs: f64,
    /// The learning rate of the latest step, when a schedule moves it.
    pub learning_rate: Option<f64>,
    /// Mean loss and accuracy of each progress interval, oldest first.
    pub recent_loss: VecDeque<f64>,
    pub recent_accuracy: VecDeque<f64>,
    /// The run's fold (device, epochs, test result, error): read through
    /// the view (`view.epochs`, `view.test`), changed only by its events.
    /// What the run's events say (the store's fold; `status` above is the app's).
    fold: RunState,
    /// Trained by another process (a detached `train`, another app): this
    /// app can show it but not pause, cancel or delete it.
    pub external: bool,
    /// Trained by a worker process of this app (`a`): followed from the
    /// store like another process's run, yet this app's, stopped when it quits.
    pub by_worker: bool,
    /// That process, for the messages that say how to stop it.
    pub writer_pid: Option<u32>,
    /// It runs on this machine, so the app can pause or cancel it by signal.
    pub writer_here: bool,
    /// Where Slurm has the run's task (`pending (Priority)`, `running on
    /// node7`, `lost`), as squeue last said; `None` for a run not submitted
    /// to Slurm. Named apart from the fold's `slurm` (the attempt the run
    /// itself logged), which the view derefs to.
    pub slurm_label: Option<String>,
    /// The host of the remote source the run comes from; `None` for a local one.
    pub host: Option<String>,
    /// The latest alert about the run, shown as a badge on its row.
    pub alert: Option<AlertKind>,
}

impl RunView {
    /// What the run's events say: epochs, test results, device, best epoch.
    pub fn logged(&self) -> &RunState {
        &self.fold
    }

    /// A plan entry that has not been queued.
    pub fn planned(spec: RunSpec) -> Self {
        Self {
            id: None,
            spec,
            status: UiStatus::Planned,
            phase: None,
            epoch: 0,
            step: 0,
            steps: 0,
            samples_per_sec: 0.0,
            elapsed_secs: 0.0,
            learning_rate: None,
            recent_loss: VecDeque::new(),
            recent_accuracy: VecDeque::new(),
            fold: RunState::default(),
            external: false,
            by_worker: false,
            writer_pid: None,
            writer_here: false,
            slurm_label: None,
            host: None,
            alert: None,
        }
    }

    /// A stored run, rebuilt from its record and events.
    pub fn stored(record: &RunRecord, events: &[Event]) -> Self {
        let mut view = Self::planned(record.spec.clone());
        view.id = Some(record.id.clone());
        view.external = true;
        for event in events {
            view.apply(event);
        }
        view.apply_record(record);
        view
    }

    /// Takes the status and identity from a (re)read record: the record has
    /// the last word, e.g. on a run whose writer died mid-epoch.
    pub fn apply_record(&mut self, record: &RunRecord) {
        // run.json does not store pauses; the log does.
        self.status = UiStatus::of(record.status, self.fold.paused);
        // A log that lost its start still shows what the record kept.
        if self.fold.device.is_none() {
            self.fold.device.clone_from(&record.device);
        }
        if self.fold.error.is_none() {
            self.fold.error.clone_from(&record.error);
        }
        self.writer_pid = record.writer.as_ref().map(|writer| writer.pid);
        self.writer_here = record
            .writer
            .as_ref()
            .is_some_and(|writer| writer.is_alive() == Some(true));
    }

    /// Shows what is known of another process's live run.
    pub fn apply_liveness(&mut self, liveness: Liveness) {
        match liveness {
            Liveness::Crashed => self.status = UiStatus::Crashed,
            Liveness::Stalled { .. } if self.status == UiStatus::Running => {
                self.status = UiStatus::Stalled;
            }
            Liveness::Alive if self.status == UiStatus::Stalled => self.status = UiStatus::Running,
            _ => {}
        }
    }

    /// Folds one event about this run into the view.
    pub fn apply(&mut self, event: &Event) {
        self.fold.apply(event);
        if moves_status(event) {
            self.status = UiStatus::of(self.fold.status, self.fold.paused);
        }
        self.show_progress(event);
    }

    /// The parts of an event only the app shows: phase, step and pace.
    fn show_progress(&mut self, event: &Event) {
        match event {
            Event::Queued { run, .. } => self.id = Some(run.clone()),
            Event::Phase { phase, .. } => self.phase = Some(*phase),
            Event::Started {
                steps_per_epoch,
                resumed_after,
                resumed_at_step,
                ..
            } => {
                self.epoch = *resumed_after;
                self.step = *resumed_at_step;
                self.steps = *steps_per_epoch;
            }
            Event::Progress {
                epoch,
                step,
                steps,
                recent_loss,
                recent_accuracy,
                samples_per_sec,
                elapsed_secs,
                learning_rate,
                ..
            } => {
                self.phase = None;
                self.learning_rate = *learning_rate;
                self.epoch = *epoch;
                self.step = *step;
                self.steps = *steps;
                self.samples_per_sec = *samples_per_sec;
                self.elapsed_secs = *elapsed_secs;
                push_bounded(&mut self.recent_loss, *recent_loss);
                push_bounded(&mut self.recent_accuracy, *recent_accuracy);
            }
            Event::Finished { .. } | Event::Cancelled { .. } | Event::Failed { .. } => {
                self.phase = None;
            }
            Event::Paused { .. }
            | Event::Unpaused { .. }
            | Event::EpochEnd { .. }
            | Event::Evaluated { .. }
            | Event::FlipEvaluated { .. }
            | Event::Checkpointed { .. }
            | Event::Threads { .. }
            | Event::Attempt { .. }
            | Event::Requeued { .. } => {}
        }
    }

    /// The run's fold, as its events tell it.
    pub fn fold(&self) -> &RunState {
        &self.fold
    }

    /// Best validation accuracy so far.
    pub fn best_val_accuracy(&self) -> Option<f64> {
        self.fold.best().map(|best| best.val_accuracy)
    }

    /// Whether a trainer may still change this run.
    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            UiStatus::Queued | UiStatus::Running | UiStatus::Paused | UiStatus::Stalled
        )
    }

    /// Whether this app's trainer, or one of its workers, is working on the run.
    pub fn is_own_active(&self) -> bool {
        (!self.external || self.by_worker) && self.is_active()
    }

    /// Seconds left in the run at the current pace, once there is a pace.
    pub fn eta_secs(&self) -> Option<f64> {
        if self.samples_per_sec <= 0.0 || self.steps == 0 {
            return None;
        }
        let batch = f64::from(self.spec.batch_size);
        let epochs_left = f64::from(self.spec.epochs.saturating_sub(self.epoch));
        let steps_left =
            (self.steps - self.step.min(self.steps)) as f64 + epochs_left * self.steps as f64;
        Some(steps_left * batch / self.samples_per_sec)
    }
}

impl UiStatus {
    /// How a stored status shows; a run that has not ended may be held by a
    /// pause (the trainer pauses only running runs, but a log may have lost
    /// the start before it).
    fn of(status: RunStatus, paused: bool) -> Self {
        match status {
            RunStatus::Queued | RunStatus::Running if paused => Self::Paused,
            RunStatus::Queued => Self::Queued,
            RunStatus::Running => Self::Running,
            RunStatus::Done => Self::Done,
            RunStatus::Failed => Self::Failed,
            RunStatus::Interrupted => Self::Interrupted,
        }
    }
}

/// Whether an event says where the run stands (rather than how it trains).
fn moves_status(event: &Event) -> bool {
    !matches!(
        event,
        Event::Phase { .. }
            | Event::Progress { .. }
            | Event::EpochEnd { .. }
            | Event::Evaluated { .. }
            | Event::FlipEvaluated { .. }
            | Event::Checkpointed { .. }
            | Event::Attempt { .. }
            | Event::Requeued { .. }
    )
}

fn push_bounded(points: &mut VecDeque<f64>, value: f64) {
    if points.len() == RECENT_POINTS {
        points.pop_front();
    }
    points.push_back(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::ModelSpec, protocol::RunRequest};

    fn spec() -> RunSpec {
        RunSpec::new("r", ModelSpec::tiny_mlp())
    }

    fn started(resumed_after: u32) -> Event {
        crate::testing::started("r")
            .resumed(resumed_after, 0)
            .event()
    }

    fn epoch_end(epoch: u32) -> Event {
        Event::EpochEnd {
            run: "r".into(),
            epoch,
            epochs: 3,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy: 0.7 + f64::from(epoch) / 100.0,
            seconds: 1.0,
        }
    }

    #[test]
    fn the_view_tells_the_story_by_the_stores_rules() {
        let mut view = RunView::planned(spec());
        let evaluated = Event::Evaluated {
            run: "r".into(),
            test_loss: 0.3,
            test_accuracy: 0.9,
            confusion: Box::new([[0; 10]; 10]),
        };
        for event in [started(0), epoch_end(1), epoch_end(2), evaluated] {
            view.apply(&event);
        }
        assert!(view.logged().test.is_some());
        view.apply(&started(1));
        assert_eq!(view.status, UiStatus::Running);
        assert_eq!(view.logged().epochs.len(), 1, "epoch 2 is redone");
        assert_eq!(
            view.logged().test,
            None,
            "a continued run has no test result yet"
        );
        assert_eq!((view.epoch, view.best_val_accuracy()), (1, Some(0.71)));
        // What was voided leaves no trace: as if it had never been logged.
        assert_eq!(
            view.fold(),
            &RunState::from_events(&[started(0), epoch_end(1), started(1)])
        );
    }

    #[test]
    fn a_pause_shows_until_unpaused_even_after_the_record_is_read_again() {
        let mut record = RunRecord::new(&RunRequest {
            id: "r".into(),
            plan: "test".into(),
            spec: spec(),
        });
        record.status = RunStatus::Running;
        let events = [started(0), Event::Paused { run: "r".into() }];
        let mut view = RunView::stored(&record, &events);
        assert_eq!(view.status, UiStatus::Paused, "run.json knows no pauses");
        view.apply(&Event::Unpaused { run: "r".into() });
        assert_eq!(view.status, UiStatus::Running);
        view.apply_liveness(Liveness::Crashed);
        view.apply(&epoch_end(1));
        assert_eq!(
            view.status,
            UiStatus::Crashed,
            "only an event about where the run stands moves its status"
        );
    }
}
