//! A run's story folded from its events: the one set of rules by which
//! `run.json` ([`super::RunRecord`]), the report's [`super::History`] and
//! the app's run view read a log.
//!
//! The rules, in the order a log can take them:
//!
//! - `Queued`: the run waits (again, when a stored run is continued).
//! - `Started { resumed_after: k }`: the run trains; everything logged after
//!   epoch `k` is void (a continued run redoes it from its checkpoint): rows
//!   of later epochs, the test result, the finishing time and any error go.
//!   A fresh start is `k = 0` and voids everything before it.
//! - `Paused` / `Unpaused`: the running run holds / goes on; a change of
//!   status ends a pause.
//! - `EpochEnd { epoch: e }`: the row of epoch `e`; it replaces a row already
//!   there for `e` (an epoch redone after a crash between its log line and
//!   its checkpoint) and voids any rows after it, so rows stay one per
//!   epoch, in order.
//! - `Evaluated`: the test result; a second one replaces the first.
//! - `Finished` / `Cancelled` / `Failed`: the run ended done / interrupted /
//!   failed (with its message). Rows and test result stay as they are.
//! - `Checkpointed`: where inside an epoch the run saved its place; a later
//!   start or epoch end clears it.
//! - `Attempt` / `Requeued`: the run's latest Slurm attempt, and whether it
//!   asked to be requeued (until the next attempt or start).
//! - `Threads`: the CPU threads it trains with; a resumed run's keeps the
//!   reason of the first choice (`Resumed` only says the count was reused).
//! - `Phase`, `Progress`: nothing lasting (the app's view keeps them).
//!
//! The best epoch is not folded separately: it is always the best of the
//! rows kept, so a voided epoch can never remain "best".

use super::status::RunStatus;
use crate::protocol::{ConfusionMatrix, Event, ThreadReason};

/// One epoch's metrics, as Keras' `History` holds them.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EpochRow {
    pub epoch: u32,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub seconds: f64,
}

/// Test-set results.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TestResult {
    pub loss: f64,
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
}

/// The epoch with the best validation accuracy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Best {
    pub epoch: u32,
    pub val_accuracy: f64,
}

/// The latest Slurm attempt at a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SlurmAttempt {
    /// `<array job>_<task>`.
    pub job: String,
    pub restart: u32,
    pub host: String,
    /// It checkpointed and asked Slurm to run it again.
    pub requeued: bool,
}

/// A mid-epoch place a run saved: after `step` of `steps` steps of `epoch`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SavedPlace {
    pub epoch: u32,
    pub step: usize,
    pub steps: usize,
}

/// What a run's events say about it: the one fold the record, the history
/// and the app share (its `status` is the stored one, [`RunStatus`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RunState {
    pub status: RunStatus,
    /// Held by a pause since the latest change of `status` (the trainer
    /// pauses only a running run).
    pub paused: bool,
    /// The device and parameter count of the latest start.
    pub device: Option<String>,
    pub params: Option<u64>,
    /// Training images per epoch, from the latest start.
    pub train_samples: Option<usize>,
    /// The libtorch CPU threads it trains with, and why.
    pub threads: Option<(u16, ThreadReason)>,
    /// Complete epochs: the latest epoch end, or the epochs a continued run
    /// started after.
    pub epochs_done: u32,
    /// One row per epoch, in epoch order.
    pub epochs: Vec<EpochRow>,
    pub test: Option<TestResult>,
    /// Test accuracy with test-time flipping, when the recipe asks for it.
    pub flip_accuracy: Option<f64>,
    /// Training seconds over every attempt, once finished.
    pub seconds: Option<f64>,
    /// Why the run failed, while it stands failed.
    pub error: Option<String>,
    /// Where it stopped mid-epoch, until it starts again.
    pub saved_place: Option<SavedPlace>,
    /// Its latest Slurm attempt, when Slurm runs it.
    pub slurm: Option<SlurmAttempt>,
}

impl Default for RunState {
    /// A run accepted but not started: what its log says before any event.
    fn default() -> Self {
        Self {
            status: RunStatus::Queued,
            paused: false,
            device: None,
            params: None,
            train_samples: None,
            threads: None,
            epochs_done: 0,
            epochs: Vec::new(),
            test: None,
            flip_accuracy: None,
            seconds: None,
            error: None,
            saved_place: None,
            slurm: None,
        }
    }
}

impl RunState {
    /// Folds a whole log.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut state = Self::default();
        for event in events {
            state.apply(event);
        }
        state
    }

    /// Folds one event about this run (see the module's rules).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Queued { .. } => self.set_status(RunStatus::Queued),
            Event::Started {
                device,
                params,
                resumed_after,
                train_samples,
                ..
            } => {
                self.start(device, *params, *resumed_after);
                self.train_samples = Some(*train_samples);
                self.saved_place = None;
                if let Some(attempt) = &mut self.slurm {
                    attempt.requeued = false;
                }
            }
            Event::Threads {
                threads, reason, ..
            } => {
                let reason = match (&self.threads, reason) {
                    (Some((_, first)), ThreadReason::Resumed) => first.clone(),
                    _ => reason.clone(),
                };
                self.threads = Some((*threads, reason));
            }
            Event::Paused { .. } => self.paused = true,
            Event::Unpaused { .. } => self.paused = false,
            Event::EpochEnd { .. } => self.end_epoch(event),
            Event::Evaluated { .. } => self.test = TestResult::from_event(event),
            Event::FlipEvaluated { test_accuracy, .. } => self.flip_accuracy = Some(*test_accuracy),
            Event::Finished { seconds, .. } => {
                self.set_status(RunStatus::Done);
                self.seconds = Some(*seconds);
            }
            Event::Cancelled { .. } => self.set_status(RunStatus::Interrupted),
            Event::Failed { message, .. } => {
                self.set_status(RunStatus::Failed);
                self.error = Some(message.clone());
            }
            Event::Checkpointed {
                epoch, step, steps, ..
            } => {
                self.saved_place = Some(SavedPlace {
                    epoch: *epoch,
                    step: *step,
                    steps: *steps,
                });
            }
            Event::Attempt {
                job, restart, host, ..
            } => {
                self.slurm = Some(SlurmAttempt {
                    job: job.clone(),
                    restart: *restart,
                    host: host.clone(),
                    requeued: false,
                });
            }
            Event::Requeued { .. } => {
                if let Some(attempt) = &mut self.slurm {
                    attempt.requeued = true;
                }
            }
            Event::Phase { .. } | Event::Progress { .. } => {}
        }
    }

    /// The epoch with the best validation accuracy; the earliest among
    /// equals, as the trainer picks its best checkpoint.
    pub fn best(&self) -> Option<Best> {
        self.epochs.iter().fold(None, |best: Option<Best>, row| {
            if best.is_none_or(|best| row.val_accuracy > best.val_accuracy) {
                Some(Best {
                    epoch: row.epoch,
                    val_accuracy: row.val_accuracy,
                })
            } else {
                best
            }
        })
    }

    /// A status change also ends any pause: a run starting, ending or
    /// waiting again is not held.
    fn set_status(&mut self, status: RunStatus) {
        self.status = status;
        self.paused = false;
    }

    fn start(&mut self, device: &str, params: u64, resumed_after: u32) {
        self.set_status(RunStatus::Running);
        self.device = Some(device.to_string());
        self.params = Some(params);
        // Continuing from the checkpoint of epoch `resumed_after` redoes
        // whatever the log says happened after it.
        self.epochs.retain(|row| row.epoch <= resumed_after);
        self.epochs_done = resumed_after;
        self.test = None;
        self.flip_accuracy = None;
        self.seconds = None;
        self.error = None;
    }

    fn end_epoch(&mut self, event: &Event) {
        self.saved_place = None;
        let Some(row) = EpochRow::from_event(event) else {
            return;
        };
        self.epochs.retain(|kept| kept.epoch < row.epoch);
        self.epochs_done = row.epoch;
        self.epochs.push(row);
    }
}

impl EpochRow {
    /// The row an `EpochEnd` event describes.
    pub fn from_event(event: &Event) -> Option<Self> {
        let Event::EpochEnd {
            epoch,
            train_loss,
            train_accuracy,
            val_loss,
            val_accuracy,
            seconds,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            epoch: *epoch,
            train_loss: *train_loss,
            train_accuracy: *train_accuracy,
            val_loss: *val_loss,
            val_accuracy: *val_accuracy,
            seconds: *seconds,
        })
    }
}

impl TestResult {
    /// The result an `Evaluated` event carries.
    pub fn from_event(event: &Event) -> Option<Self> {
        let Event::Evaluated {
            test_loss,
            test_accuracy,
            confusion,
            ..
        } = event
        else {
            return None;
        };
        Some(Self {
            loss: *test_loss,
            accuracy: *test_accuracy,
            confusion: **confusion,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "r";

    fn started(resumed_after: u32) -> Event {
        crate::testing::started(RUN)
            .epochs(4)
            .resumed(resumed_after, 0)
            .event()
    }

    fn epoch_end(epoch: u32, val_accuracy: f64) -> Event {
        Event::EpochEnd {
            run: RUN.into(),
            epoch,
            epochs: 4,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy,
            seconds: f64::from(epoch),
        }
    }

    fn evaluated(test_accuracy: f64) -> Event {
        let mut confusion = [[0; 10]; 10];
        confusion[3][5] = 7;
        Event::Evaluated {
            run: RUN.into(),
            test_loss: 0.3,
            test_accuracy,
            confusion: Box::new(confusion),
        }
    }

    fn finished() -> Event {
        Event::Finished {
            run: RUN.into(),
            seconds: 9.5,
            best_val_accuracy: 0.9,
            best_epoch: 2,
        }
    }

    fn failed(message: &str) -> Event {
        Event::Failed {
            run: RUN.into(),
            message: message.into(),
        }
    }

    fn epochs(state: &RunState) -> Vec<(u32, f64)> {
        state
            .epochs
            .iter()
            .map(|row| (row.epoch, row.val_accuracy))
            .collect()
    }

    #[test]
    fn a_whole_run_is_done_with_its_rows_test_and_best() {
        let state = RunState::from_events(&[
            Event::Queued {
                run: RUN.into(),
                spec: Box::new(crate::plan::RunSpec::new(
                    RUN,
                    crate::model::ModelSpec::tiny_mlp(),
                )),
            },
            started(0),
            epoch_end(1, 0.8),
            epoch_end(2, 0.9),
            epoch_end(3, 0.9),
            evaluated(0.88),
            finished(),
        ]);
        assert_eq!(state.status, RunStatus::Done);
        assert_eq!(
            (state.device.as_deref(), state.params),
            (Some("cpu"), Some(6_370))
        );
        assert_eq!(epochs(&state), [(1, 0.8), (2, 0.9), (3, 0.9)]);
        assert_eq!(state.epochs_done, 3);
        assert_eq!(
            state.best(),
            Some(Best {
                epoch: 2,
                val_accuracy: 0.9
            }),
            "the earliest of equal epochs is the best, as the trainer keeps it"
        );
        let test = state.test.as_ref().unwrap();
        assert_eq!((test.accuracy, test.confusion[3][5]), (0.88, 7));
        assert_eq!(state.seconds, Some(9.5));
    }

    #[test]
    fn a_continued_start_keeps_the_epochs_up_to_its_checkpoint_and_voids_the_rest() {
        let mut state = RunState::from_events(&[
            started(0),
            epoch_end(1, 0.7),
            epoch_end(2, 0.8),
            // Logged, but the process died before its checkpoint.
            epoch_end(3, 0.95),
            evaluated(0.9),
            finished(),
            failed("disk full"),
        ]);
        state.apply(&started(2));
        assert_eq!(state.status, RunStatus::Running);
        assert_eq!(epochs(&state), [(1, 0.7), (2, 0.8)]);
        assert_eq!(state.epochs_done, 2);
        assert_eq!(state.test, None);
        assert_eq!((state.seconds, state.error.as_deref()), (None, None));
        assert_eq!(
            state.best().map(|best| best.epoch),
            Some(2),
            "a voided epoch is no longer the best"
        );
        state.apply(&epoch_end(3, 0.85));
        assert_eq!(epochs(&state), [(1, 0.7), (2, 0.8), (3, 0.85)]);
        assert_eq!(state.epochs_done, 3);
    }

    #[test]
    fn a_fresh_start_voids_everything_before_it() {
        let state =
            RunState::from_events(&[started(0), epoch_end(1, 0.7), evaluated(0.6), started(0)]);
        assert_eq!((state.epochs.len(), state.epochs_done), (0, 0));
        assert_eq!(state.test, None);
    }

    #[test]
    fn a_repeated_epoch_end_replaces_its_row_and_voids_later_ones() {
        let state = RunState::from_events(&[
            started(0),
            epoch_end(1, 0.7),
            epoch_end(2, 0.8),
            epoch_end(3, 0.9),
            epoch_end(2, 0.75),
        ]);
        assert_eq!(epochs(&state), [(1, 0.7), (2, 0.75)]);
        assert_eq!(state.epochs_done, 2);
        assert_eq!(state.best().map(|best| best.epoch), Some(2));
    }

    #[test]
    fn a_second_evaluation_replaces_the_first() {
        let state = RunState::from_events(&[
            started(0),
            epoch_end(1, 0.7),
            evaluated(0.6),
            evaluated(0.65),
        ]);
        assert_eq!(state.test.map(|test| test.accuracy), Some(0.65));
    }

    #[test]
    fn a_cancelled_run_is_interrupted_and_keeps_its_rows() {
        let state = RunState::from_events(&[
            started(0),
            epoch_end(1, 0.7),
            Event::Paused { run: RUN.into() },
            Event::Cancelled {
                run: RUN.into(),
                epochs_done: 1,
            },
        ]);
        assert_eq!(state.status, RunStatus::Interrupted);
        assert!(!state.paused, "an ended run is not held");
        assert_eq!((state.epochs.len(), state.epochs_done), (1, 1));
    }

    #[test]
    fn a_failure_keeps_its_message_until_the_next_start() {
        let mut state = RunState::from_events(&[started(0), epoch_end(1, 0.7), failed("diverged")]);
        assert_eq!(state.status, RunStatus::Failed);
        assert_eq!(state.error.as_deref(), Some("diverged"));
        assert_eq!(state.epochs.len(), 1);
        // Continuing a failed run queues it again, then starts it.
        state.apply(&Event::Queued {
            run: RUN.into(),
            spec: Box::new(crate::plan::RunSpec::new(
                RUN,
                crate::model::ModelSpec::tiny_mlp(),
            )),
        });
        assert_eq!(state.status, RunStatus::Queued);
        assert_eq!(state.error.as_deref(), Some("diverged"));
        state.apply(&started(1));
        assert_eq!((state.status, state.error), (RunStatus::Running, None));
    }

    #[test]
    fn a_pause_lasts_until_unpaused_or_the_status_changes() {
        let mut state = RunState::from_events(&[started(0), Event::Paused { run: RUN.into() }]);
        assert!(state.paused);
        assert_eq!(
            state.status,
            RunStatus::Running,
            "a held run is still running"
        );
        state.apply(&epoch_end(1, 0.7));
        assert!(state.paused, "an epoch end does not end a pause");
        state.apply(&Event::Unpaused { run: RUN.into() });
        assert!(!state.paused);
        for end in [
            finished(),
            failed("gone"),
            Event::Cancelled {
                run: RUN.into(),
                epochs_done: 1,
            },
            started(1),
        ] {
            state.apply(&Event::Paused { run: RUN.into() });
            state.apply(&end);
            assert!(!state.paused, "{end:?} ends the pause");
        }
    }

    #[test]
    fn progress_and_phases_change_nothing_lasting() {
        let before = RunState::from_events(&[started(0), epoch_end(1, 0.7)]);
        let mut after = before.clone();
        after.apply(&Event::Phase {
            run: RUN.into(),
            phase: crate::protocol::Phase::Evaluating,
        });
        after.apply(&Event::Progress {
            run: RUN.into(),
            epoch: 2,
            step: 3,
            steps: 10,
            loss: 1.0,
            accuracy: 0.5,
            recent_loss: 1.0,
            recent_accuracy: 0.5,
            samples_per_sec: 100.0,
            elapsed_secs: 1.0,
            learning_rate: None,
        });
        assert_eq!(after, before);
    }
}
