//! What the app knows about one run, folded from its events.

use std::collections::VecDeque;

use crate::{
    plan::RunSpec,
    store::{history::TestResult, EpochRow, Liveness, RunRecord, RunStatus},
    train::{Event, Phase, RunId},
};

/// Per-batch points kept for the sparklines; older ones scroll away.
pub const RECENT_POINTS: usize = 512;

/// A run's state as the app shows it.
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
    pub device: Option<String>,
    pub params: Option<u64>,
    pub epoch: u32,
    pub step: usize,
    pub steps: usize,
    pub samples_per_sec: f64,
    pub elapsed_secs: f64,
    /// Mean loss and accuracy of each progress interval, oldest first.
    pub recent_loss: VecDeque<f64>,
    pub recent_accuracy: VecDeque<f64>,
    pub epochs: Vec<EpochRow>,
    pub test: Option<TestResult>,
    pub error: Option<String>,
    /// Trained by another process (a detached `train`, another app): this
    /// app can show it but not pause, cancel or delete it.
    pub external: bool,
    /// That process, for the messages that say how to stop it.
    pub writer_pid: Option<u32>,
}

impl RunView {
    /// A plan entry that has not been queued.
    pub fn planned(spec: RunSpec) -> Self {
        Self {
            id: None,
            spec,
            status: UiStatus::Planned,
            phase: None,
            device: None,
            params: None,
            epoch: 0,
            step: 0,
            steps: 0,
            samples_per_sec: 0.0,
            elapsed_secs: 0.0,
            recent_loss: VecDeque::new(),
            recent_accuracy: VecDeque::new(),
            epochs: Vec::new(),
            test: None,
            error: None,
            external: false,
            writer_pid: None,
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
        self.status = match record.status {
            RunStatus::Queued => UiStatus::Queued,
            RunStatus::Running => UiStatus::Running,
            RunStatus::Done => UiStatus::Done,
            RunStatus::Failed => UiStatus::Failed,
            RunStatus::Interrupted => UiStatus::Interrupted,
        };
        if self.device.is_none() {
            self.device.clone_from(&record.device);
        }
        if self.error.is_none() {
            self.error.clone_from(&record.error);
        }
        self.writer_pid = record.writer.as_ref().map(|writer| writer.pid);
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
        match event {
            Event::Queued { run, .. } => {
                self.id = Some(run.clone());
                self.status = UiStatus::Queued;
            }
            Event::Phase { phase, .. } => self.phase = Some(*phase),
            Event::Started {
                device,
                params,
                steps_per_epoch,
                resumed_after,
                ..
            } => {
                // A resumed run redoes what came after its checkpoint.
                self.epochs.retain(|row| row.epoch <= *resumed_after);
                self.epoch = *resumed_after;
                self.step = 0;
                self.error = None;
                self.status = UiStatus::Running;
                self.device = Some(device.clone());
                self.params = Some(*params);
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
                ..
            } => {
                self.phase = None;
                self.epoch = *epoch;
                self.step = *step;
                self.steps = *steps;
                self.samples_per_sec = *samples_per_sec;
                self.elapsed_secs = *elapsed_secs;
                push_bounded(&mut self.recent_loss, *recent_loss);
                push_bounded(&mut self.recent_accuracy, *recent_accuracy);
            }
            Event::Paused { .. } => self.status = UiStatus::Paused,
            Event::Resumed { .. } => self.status = UiStatus::Running,
            Event::EpochEnd { .. } => self.epochs.extend(EpochRow::from_event(event)),
            Event::Evaluated { .. } => self.test = TestResult::from_event(event),
            Event::Finished { .. } => {
                self.status = UiStatus::Done;
                self.phase = None;
            }
            Event::Cancelled { .. } => {
                self.status = UiStatus::Interrupted;
                self.phase = None;
            }
            Event::Failed { message, .. } => {
                self.status = UiStatus::Failed;
                self.phase = None;
                self.error = Some(message.clone());
            }
        }
    }

    /// Best validation accuracy so far.
    pub fn best_val_accuracy(&self) -> Option<f64> {
        self.epochs
            .iter()
            .map(|row| row.val_accuracy)
            .reduce(f64::max)
    }

    /// Whether a trainer may still change this run.
    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            UiStatus::Queued | UiStatus::Running | UiStatus::Paused | UiStatus::Stalled
        )
    }

    /// Whether this app's own trainer is working on the run.
    pub fn is_own_active(&self) -> bool {
        !self.external && self.is_active()
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

fn push_bounded(points: &mut VecDeque<f64>, value: f64) {
    if points.len() == RECENT_POINTS {
        points.pop_front();
    }
    points.push_back(value);
}
