//! Alerts: what a person watching runs wants to be told once, without
//! looking: a run finished, failed, crashed, was interrupted, requeued or
//! lost under Slurm, stalled, is diverging or has plateaued, or a whole
//! sweep finished. The rules read the same updates every viewer folds
//! ([`super::Update`]), so the app, `watch`, headless commands and remote
//! sources agree on what fired and when.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::{
    follow::Update,
    liveness::{Liveness, DEFAULT_STALL_AFTER},
    RunRecord, RunStatus,
};
use crate::{
    edge::escape::printable,
    protocol::{Event, RunId},
    units::clock,
};

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The run completed every epoch and its evaluation.
    Finished,
    /// The run failed (the detail says why, e.g. the loss became NaN).
    Failed,
    /// The run's process is gone without saying how the run ended.
    Crashed,
    /// The run was stopped before its last epoch.
    Interrupted,
    /// Slurm requeued the run's task.
    Requeued,
    /// Slurm no longer knows the run's task, and the run did not end.
    Lost,
    /// A running run wrote nothing for the stall threshold.
    Stalled,
    /// The training loss stayed far above its best so far.
    Diverging,
    /// Validation accuracy has not improved for several epochs.
    Plateaued,
    /// Every run of a sweep (a plan of several runs) has ended.
    SweepFinished,
}

/// One alert, as shown in the app's log, printed by `watch --alerts` and
/// given to `--notify-cmd` as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    /// The run it is about; `None` for a sweep's alert.
    pub run: Option<RunId>,
    /// The run's plan (for a sweep's alert: the sweep's plan).
    pub plan: String,
    /// What happened, in a few words (`test accuracy 0.9123`, `loss became NaN`).
    pub detail: String,
    /// The host of the source the run came from; `None` for a local one.
    #[serde(default)]
    pub host: Option<String>,
}

impl AlertKind {
    /// The word people read for it, in `watch --alerts` lines and notifications.
    pub fn word(self) -> &'static str {
        match self {
            Self::Finished | Self::SweepFinished => "finished",
            Self::Failed => "failed",
            Self::Crashed => "crashed",
            Self::Interrupted => "interrupted",
            Self::Requeued => "requeued",
            Self::Lost => "lost",
            Self::Stalled => "stalled",
            Self::Diverging => "diverging",
            Self::Plateaued => "plateaued",
        }
    }
}

/// When the rules fire.
///
/// - `stall_after`: [`DEFAULT_STALL_AFTER`], the threshold every viewer
///   judges liveness by, so an alert agrees with what `atelier runs` shows.
/// - `diverge_factor` 3.0: noise moves a smoothed loss by tens of percent,
///   an exploding one passes three times its best within steps.
/// - `diverge_steps` 200: a spike after a learning-rate change recovers
///   sooner; 200 steps is still an eighth of one Fashion-MNIST epoch
///   (1,500 steps at batch 32), so divergence is told within the epoch.
/// - `plateau_epochs` 5: a usual early-stopping patience, and well inside
///   the tens of epochs a run here trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertRules {
    pub stall_after: Duration,
    pub diverge_factor: f64,
    pub diverge_steps: u64,
    pub plateau_epochs: u32,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            stall_after: DEFAULT_STALL_AFTER,
            diverge_factor: 3.0,
            diverge_steps: 200,
            plateau_epochs: 5,
        }
    }
}

/// The rules engine: fed every update a viewer folds (and the app's own
/// trainer events and Slurm labels), it returns each alert once, when it
/// becomes true.
///
/// Each (run, kind) fires at most once, with two exceptions, both new
/// facts rather than repeats: a run that starts again (a `Started` after
/// it ended, or a record back from ended to queued or running) begins a new
/// life whose end, stall, divergence or plateau is told again; and a
/// `Requeued` fires once per requeue (re-armed when the task runs again).
/// A sweep's `SweepFinished` fires once per plan, even if one of its runs
/// is continued later. Stall, crash, divergence, plateau and loss are told
/// only while the run has not ended: a run first seen done reports its end,
/// not its history. Feed a viewer's polls whole ([`Sentinel::observe_poll`]),
/// so that a sweep met run by run is judged once all its runs are known.
#[derive(Debug)]
pub struct Sentinel {
    rules: AlertRules,
    runs: BTreeMap<RunId, RunWatch>,
    sweeps_told: HashSet<String>,
    /// Plans of runs met for the first time, whose sweep is not judged yet.
    unjudged: BTreeSet<String>,
}

/// What the rules need to know of one run.
#[derive(Debug, Default)]
struct RunWatch {
    plan: String,
    group: String,
    status: Option<RunStatus>,
    seen_unended: bool,
    paused: bool,
    liveness: Option<Liveness>,
    test_accuracy: Option<f64>,
    error: Option<String>,
    epochs_done: u32,
    epochs: u32,
    steps_per_epoch: u64,
    loss: LossWatch,
    validation: ValidationWatch,
    slurm: SlurmWatch,
    told: HashSet<AlertKind>,
}

/// The training loss against its best, for divergence.
#[derive(Debug, Default)]
struct LossWatch {
    best: Option<f64>,
    /// The global step since which the loss stays above factor × best.
    above_since: Option<u64>,
    diverged: Option<String>,
}

/// Validation accuracy against its best, for plateaus.
#[derive(Debug, Default)]
struct ValidationWatch {
    best: Option<(u32, f64)>,
    plateaued: Option<String>,
}

/// What Slurm and the run's log say of its task.
#[derive(Debug, Default)]
struct SlurmWatch {
    /// The latest `Attempt`'s restart count, when the log has one.
    restart: Option<u32>,
    /// A requeue was seen (label or `Requeued` event) and not yet told.
    requeued: bool,
    /// A requeue was told; cleared when the task runs again.
    told: bool,
    lost: bool,
}

impl Sentinel {
    /// A sentinel that has seen nothing yet.
    pub fn new(rules: AlertRules) -> Self {
        Self {
            rules,
            runs: BTreeMap::new(),
            sweeps_told: HashSet::new(),
            unjudged: BTreeSet::new(),
        }
    }

    /// The alerts that fire now that `update` happened. A run met for the
    /// first time ([`Update::New`]) does not complete its sweep here: runs
    /// are met one by one, so a sweep is judged at the next other update
    /// or at the end of [`Sentinel::observe_poll`], once all are known.
    pub fn observe(&mut self, update: &Update) -> Vec<Alert> {
        let Some((run, met)) = self.fold_update(update) else {
            return Vec::new();
        };
        let mut alerts = self.judge_run(run);
        if met {
            if let Some(plan) = self.plan_of(run) {
                self.unjudged.insert(plan.to_string());
            }
        } else {
            alerts.extend(self.judge_sweeps(run));
        }
        alerts
    }

    /// The alerts of one whole poll: each update's, then the sweeps of the
    /// runs it met for the first time.
    pub fn observe_poll(&mut self, updates: &[Update]) -> Vec<Alert> {
        let mut alerts: Vec<Alert> = updates.iter().flat_map(|u| self.observe(u)).collect();
        let plans = std::mem::take(&mut self.unjudged);
        alerts.extend(plans.iter().filter_map(|plan| self.judge_sweep(plan)));
        alerts
    }

    /// The alerts that fire now that this process's own trainer sent
    /// `event`: those runs are live, so they count as seen unended.
    pub fn observe_event(&mut self, event: &Event) -> Vec<Alert> {
        let rules = self.rules;
        let watch = self.runs.entry(event.run().clone()).or_default();
        watch.apply(event, &rules);
        watch.liveness = None;
        watch.mark_if_unended();
        let mut alerts = self.judge_run(event.run());
        alerts.extend(self.judge_sweeps(event.run()));
        alerts
    }

    /// The alerts that fire now that squeue labels `run` with `label`
    /// (`running on node7`, `requeued`, `requeued, pending (…)`, `lost`).
    pub fn slurm_label(&mut self, run: &RunId, label: &str) -> Vec<Alert> {
        let Some(watch) = self.runs.get_mut(run) else {
            return Vec::new();
        };
        let slurm = &mut watch.slurm;
        if label.starts_with("requeued") {
            slurm.requeue_seen();
        } else if label.starts_with("running") {
            slurm.rearm();
        }
        slurm.lost = label == "lost";
        let mut alerts = self.judge_run(run);
        alerts.extend(self.judge_sweeps(run));
        alerts
    }

    /// Whether this sentinel saw `run` queued or running, alive, at some
    /// point: alerts of runs only ever seen ended (or already crashed or
    /// stalled) are history, which a first start should not announce.
    pub fn seen_unended(&self, run: &RunId) -> bool {
        self.runs.get(run).is_some_and(|watch| watch.seen_unended)
    }

    /// [`Sentinel::seen_unended`] for an alert: for a sweep's, whether any
    /// run of its plan was seen unended.
    pub fn saw_unended(&self, alert: &Alert) -> bool {
        match &alert.run {
            Some(run) => self.seen_unended(run),
            None => self
                .runs
                .values()
                .any(|watch| watch.plan == alert.plan && watch.seen_unended),
        }
    }

    /// The plan of `run`, when known (`""` for the app's own runs), so a
    /// delivery layer can mark its sweep watched too.
    pub fn plan_of(&self, run: &RunId) -> Option<&str> {
        self.runs.get(run).map(|watch| watch.plan.as_str())
    }

    /// Folds `update` into its run; the run and whether it was met just now.
    fn fold_update<'u>(&mut self, update: &'u Update) -> Option<(&'u RunId, bool)> {
        let rules = self.rules;
        match update {
            Update::New { record, events } => {
                let watch = self.runs.entry(record.id.clone()).or_default();
                for event in events {
                    watch.apply(event, &rules);
                }
                watch.apply_record(record);
                Some((&record.id, true))
            }
            Update::Events { run, events } => {
                let watch = self.runs.get_mut(run)?;
                for event in events {
                    watch.apply(event, &rules);
                }
                // New lines prove the writer alive: any stall is over.
                watch.liveness = None;
                watch.mark_if_unended();
                Some((run, false))
            }
            Update::Record(record) => {
                let watch = self.runs.get_mut(&record.id)?;
                watch.apply_record(record);
                watch.mark_if_unended();
                Some((&record.id, false))
            }
            Update::Liveness { run, liveness } => {
                let watch = self.runs.get_mut(run)?;
                watch.liveness = Some(*liveness);
                if *liveness == Liveness::Alive {
                    watch.mark_if_unended();
                }
                Some((run, false))
            }
            Update::Removed { run } => {
                self.runs.remove(run);
                None
            }
            Update::Unreadable { .. } => None,
        }
    }

    /// The run's own alerts that fire now.
    fn judge_run(&mut self, run: &RunId) -> Vec<Alert> {
        let Some(watch) = self.runs.get_mut(run) else {
            return Vec::new();
        };
        let plan = watch.plan.clone();
        judge(watch)
            .into_iter()
            .map(|(kind, detail)| Alert {
                kind,
                run: Some(run.clone()),
                plan: plan.clone(),
                detail: plain(&detail),
                host: None,
            })
            .collect()
    }

    /// The sweep of `run`, and those of runs met earlier, judged now.
    fn judge_sweeps(&mut self, run: &RunId) -> Vec<Alert> {
        let mut plans = std::mem::take(&mut self.unjudged);
        if let Some(plan) = self.plan_of(run) {
            plans.insert(plan.to_string());
        }
        plans
            .iter()
            .filter_map(|plan| self.judge_sweep(plan))
            .collect()
    }

    /// `SweepFinished` once every run of `plan` (two or more) is done or failed.
    fn judge_sweep(&mut self, plan: &str) -> Option<Alert> {
        if plan.is_empty() || self.sweeps_told.contains(plan) {
            return None;
        }
        let runs: Vec<&RunWatch> = self.runs.values().filter(|w| w.plan == plan).collect();
        let over = |w: &&RunWatch| matches!(w.status, Some(RunStatus::Done | RunStatus::Failed));
        if runs.len() < 2 || !runs.iter().all(over) {
            return None;
        }
        let detail = plain(&sweep_detail(&runs));
        self.sweeps_told.insert(plan.to_string());
        Some(Alert {
            kind: AlertKind::SweepFinished,
            run: None,
            plan: plan.to_string(),
            detail,
            host: None,
        })
    }
}

impl RunWatch {
    /// Folds one of the run's events (as [`super::fold`] reads a log).
    fn apply(&mut self, event: &Event, rules: &AlertRules) {
        match event {
            Event::Queued { spec, .. } => {
                if self.group.is_empty() {
                    self.group = spec.group().name;
                }
                self.epochs = spec.epochs;
                self.set_status(RunStatus::Queued);
            }
            Event::Started {
                steps_per_epoch,
                epochs,
                resumed_after,
                ..
            } => {
                self.new_life();
                self.set_status(RunStatus::Running);
                self.steps_per_epoch = *steps_per_epoch as u64;
                self.epochs = *epochs;
                self.epochs_done = *resumed_after;
            }
            Event::Progress {
                epoch,
                step,
                steps,
                recent_loss,
                ..
            } => {
                let per_epoch = if self.steps_per_epoch > 0 {
                    self.steps_per_epoch
                } else {
                    *steps as u64
                };
                let global = u64::from(epoch.saturating_sub(1)) * per_epoch + *step as u64;
                self.loss.step(global, *recent_loss, rules);
            }
            Event::Paused { .. } => self.paused = true,
            Event::Unpaused { .. } => self.paused = false,
            Event::Threads { .. } => {}
            Event::EpochEnd {
                epoch,
                val_accuracy,
                ..
            } => {
                self.epochs_done = *epoch;
                self.validation.epoch(*epoch, *val_accuracy, rules);
            }
            Event::Evaluated { test_accuracy, .. } => self.test_accuracy = Some(*test_accuracy),
            Event::Finished { .. } => self.set_status(RunStatus::Done),
            Event::Cancelled { .. } => self.set_status(RunStatus::Interrupted),
            Event::Failed { message, .. } => {
                self.error = Some(message.clone());
                self.set_status(RunStatus::Failed);
            }
            Event::Attempt { restart, .. } => {
                self.slurm.restart = Some(*restart);
                self.slurm.rearm();
            }
            Event::Requeued { .. } => self.slurm.requeue_seen(),
            Event::Phase { .. } | Event::FlipEvaluated { .. } | Event::Checkpointed { .. } => {}
        }
    }

    /// Takes what `run.json` says; a record back from ended to queued or
    /// running means the run was continued: a new life.
    fn apply_record(&mut self, record: &RunRecord) {
        self.plan.clone_from(&record.plan);
        self.group = record.group().name;
        self.epochs = record.spec.epochs;
        self.epochs_done = record.epochs_done;
        if self.status.is_some_and(ended) && !ended(record.status) {
            self.new_life();
        }
        self.set_status(record.status);
        if record.test_accuracy.is_some() {
            self.test_accuracy = record.test_accuracy;
        }
        if record.error.is_some() {
            self.error.clone_from(&record.error);
        }
    }

    /// A change of status ends a pause, and ends what liveness said.
    fn set_status(&mut self, status: RunStatus) {
        if self.status != Some(status) {
            self.paused = false;
            self.liveness = None;
        }
        self.status = Some(status);
    }

    /// The run starts (again): what was told of its last life may be told anew.
    fn new_life(&mut self) {
        self.told.clear();
        self.loss = LossWatch::default();
        self.validation = ValidationWatch::default();
        self.test_accuracy = None;
        self.error = None;
        self.paused = false;
        self.liveness = None;
        self.slurm.rearm();
        self.slurm.lost = false;
    }

    fn mark_if_unended(&mut self) {
        if self.status.is_some_and(|status| !ended(status)) {
            self.seen_unended = true;
        }
    }

    fn unended(&self) -> bool {
        self.status.is_some_and(|status| !ended(status))
    }
}

impl SlurmWatch {
    /// A requeue seen (again: squeue says so until the task runs), told once.
    fn requeue_seen(&mut self) {
        if !self.told {
            self.requeued = true;
        }
    }

    /// The task runs again: its next requeue is news.
    fn rearm(&mut self) {
        self.requeued = false;
        self.told = false;
    }
}

impl LossWatch {
    /// One progress report: `loss` at global step `step`. A NaN or
    /// infinite loss is left to the trainer, which fails the run.
    fn step(&mut self, step: u64, loss: f64, rules: &AlertRules) {
        if !loss.is_finite() {
            return;
        }
        let Some(best) = self.best else {
            self.best = Some(loss);
            return;
        };
        if loss <= rules.diverge_factor * best {
            self.above_since = None;
        } else {
            let since = *self.above_since.get_or_insert(step);
            let steps = step.saturating_sub(since);
            if steps >= rules.diverge_steps && self.diverged.is_none() {
                self.diverged = Some(format!(
                    "loss {loss:.4}, above {} × its best {best:.4} for {steps} steps",
                    rules.diverge_factor
                ));
            }
        }
        self.best = Some(best.min(loss));
    }
}

impl ValidationWatch {
    /// One epoch's validation accuracy; an epoch redone after a crash
    /// counts once, by its number.
    fn epoch(&mut self, epoch: u32, accuracy: f64, rules: &AlertRules) {
        let (best_epoch, best) = match self.best {
            Some((best_epoch, best)) if accuracy <= best => (best_epoch, best),
            _ => {
                self.best = Some((epoch, accuracy));
                return;
            }
        };
        let waited = epoch.saturating_sub(best_epoch);
        if waited >= rules.plateau_epochs && self.plateaued.is_none() {
            self.plateaued = Some(format!(
                "validation accuracy {best:.4} at epoch {best_epoch}, not bettered for {waited} epochs"
            ));
        }
    }
}

/// Whether a run with this status has ended.
fn ended(status: RunStatus) -> bool {
    !matches!(status, RunStatus::Queued | RunStatus::Running)
}

/// Every rule, evaluated in one place: the alerts `watch` owes now, each
/// kind once per life (a requeue once per requeue).
fn judge(watch: &mut RunWatch) -> Vec<(AlertKind, String)> {
    let verdicts = [
        (AlertKind::Finished, finished(watch)),
        (AlertKind::Failed, failed(watch)),
        (AlertKind::Interrupted, interrupted(watch)),
        (AlertKind::Crashed, crashed(watch)),
        (AlertKind::Lost, lost(watch)),
        (AlertKind::Stalled, stalled(watch)),
        (AlertKind::Diverging, diverging(watch)),
        (AlertKind::Plateaued, plateaued(watch)),
    ];
    let mut alerts: Vec<(AlertKind, String)> = verdicts
        .into_iter()
        .filter_map(|(kind, detail)| Some((kind, detail?)))
        .filter(|(kind, _)| watch.told.insert(*kind))
        .collect();
    if let Some(detail) = requeued(watch) {
        watch.slurm.requeued = false;
        watch.slurm.told = true;
        alerts.push((AlertKind::Requeued, detail));
    }
    alerts
}

fn finished(watch: &RunWatch) -> Option<String> {
    (watch.status == Some(RunStatus::Done)).then(|| match watch.test_accuracy {
        Some(accuracy) => format!("test accuracy {accuracy:.4}"),
        None => "all epochs done".to_string(),
    })
}

fn failed(watch: &RunWatch) -> Option<String> {
    (watch.status == Some(RunStatus::Failed)).then(|| {
        watch
            .error
            .clone()
            .unwrap_or_else(|| "no reason recorded".to_string())
    })
}

/// Not for a run that stopped to be requeued: `Requeued` says that.
fn interrupted(watch: &RunWatch) -> Option<String> {
    (watch.status == Some(RunStatus::Interrupted) && !watch.slurm.requeued && !watch.slurm.told)
        .then(|| format!("after {} of {} epochs", watch.epochs_done, watch.epochs))
}

fn crashed(watch: &RunWatch) -> Option<String> {
    (watch.unended() && watch.liveness == Some(Liveness::Crashed)).then(|| {
        format!(
            "its process is gone, after {} of {} epochs",
            watch.epochs_done, watch.epochs
        )
    })
}

/// Only for a run that has not ended: squeue forgets a finished task too.
fn lost(watch: &RunWatch) -> Option<String> {
    let gone =
        watch.slurm.lost && !matches!(watch.status, Some(RunStatus::Done | RunStatus::Failed));
    gone.then(|| "Slurm no longer knows its task".to_string())
}

/// A paused run writes nothing on purpose: quiet, not stalled.
fn stalled(watch: &RunWatch) -> Option<String> {
    match watch.liveness {
        Some(Liveness::Stalled { quiet })
            if watch.status == Some(RunStatus::Running) && !watch.paused =>
        {
            Some(format!(
                "nothing written for {}",
                clock(quiet.as_secs_f64())
            ))
        }
        _ => None,
    }
}

fn diverging(watch: &RunWatch) -> Option<String> {
    watch.loss.diverged.clone().filter(|_| watch.unended())
}

fn plateaued(watch: &RunWatch) -> Option<String> {
    watch
        .validation
        .plateaued
        .clone()
        .filter(|_| watch.unended())
}

/// Once per requeue; the restart Slurm will count, when the log tells it.
fn requeued(watch: &RunWatch) -> Option<String> {
    let slurm = &watch.slurm;
    if !slurm.requeued || slurm.told || matches!(watch.status, Some(RunStatus::Done)) {
        return None;
    }
    Some(match slurm.restart {
        Some(restart) => format!("requeued by Slurm (restart {})", restart + 1),
        None => "requeued by Slurm".to_string(),
    })
}

/// `best: M2 lr=3e-4 (mean test accuracy 0.9123 over 3 runs); 1 failed`.
fn sweep_detail(runs: &[&RunWatch]) -> String {
    let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for watch in runs {
        if let (Some(RunStatus::Done), Some(accuracy)) = (watch.status, watch.test_accuracy) {
            groups.entry(&watch.group).or_default().push(accuracy);
        }
    }
    let best = groups
        .iter()
        .map(|(name, accuracies)| {
            let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
            (*name, mean, accuracies.len())
        })
        .fold(None, |best: Option<(&str, f64, usize)>, group| {
            if best.is_none_or(|best| group.1 > best.1) {
                Some(group)
            } else {
                best
            }
        });
    let failed = runs
        .iter()
        .filter(|watch| watch.status == Some(RunStatus::Failed))
        .count();
    let mut detail = match best {
        Some((name, mean, 1)) => format!("best: {name} (test accuracy {mean:.4}, 1 run)"),
        Some((name, mean, count)) => {
            format!("best: {name} (mean test accuracy {mean:.4} over {count} runs)")
        }
        None => "no run finished with a test accuracy".to_string(),
    };
    if failed > 0 {
        detail.push_str(&format!("; {failed} failed"));
    }
    detail
}

/// Text fit for a terminal: control characters written as visible escapes.
fn plain(text: &str) -> String {
    printable(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        protocol::RunRequest,
        testing::{started, tiny_spec},
    };

    fn request(name: &str, plan: &str, group: &str, seed: u64) -> RunRequest {
        let mut spec = tiny_spec(name, 10);
        spec.seed = seed;
        spec.group = Some(group.to_string());
        RunRequest {
            id: RunId::from(format!("20261206-101500-{name}")),
            plan: plan.into(),
            spec,
        }
    }

    fn record(request: &RunRequest, events: &[Event]) -> Box<RunRecord> {
        let mut record = RunRecord::new(request);
        for event in events {
            record.apply(event);
        }
        Box::new(record)
    }

    fn progress(run: &RunId, epoch: u32, step: usize, recent_loss: f64) -> Event {
        Event::Progress {
            run: run.clone(),
            epoch,
            step,
            steps: 500,
            loss: recent_loss,
            accuracy: 0.5,
            recent_loss,
            recent_accuracy: 0.5,
            samples_per_sec: 1_000.0,
            elapsed_secs: 1.0,
            learning_rate: None,
        }
    }

    fn epoch_end(run: &RunId, epoch: u32, val_accuracy: f64) -> Event {
        Event::EpochEnd {
            run: run.clone(),
            epoch,
            epochs: 10,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: 0.4,
            val_accuracy,
            seconds: 1.0,
        }
    }

    fn ending(run: &RunId, test_accuracy: f64) -> Vec<Event> {
        vec![
            Event::Evaluated {
                run: run.clone(),
                test_loss: 0.3,
                test_accuracy,
                confusion: Box::new([[0; 10]; 10]),
            },
            Event::Finished {
                run: run.clone(),
                seconds: 9.0,
                best_val_accuracy: 0.9,
                best_epoch: 1,
            },
        ]
    }

    fn events(run: &RunId, events: Vec<Event>) -> Update {
        Update::Events {
            run: run.clone(),
            events,
        }
    }

    fn kinds(alerts: &[Alert]) -> Vec<AlertKind> {
        alerts.iter().map(|alert| alert.kind).collect()
    }

    /// A sentinel that has seen `request`'s run start, alive.
    fn running(request: &RunRequest) -> Sentinel {
        let mut sentinel = Sentinel::new(AlertRules::default());
        let start = started(request.id.clone()).steps(500).epochs(10).event();
        let new = Update::New {
            record: record(request, std::slice::from_ref(&start)),
            events: vec![start],
        };
        assert!(sentinel.observe(&new).is_empty());
        let alive = Update::Liveness {
            run: request.id.clone(),
            liveness: Liveness::Alive,
        };
        assert!(sentinel.observe(&alive).is_empty());
        assert!(sentinel.seen_unended(&request.id));
        sentinel
    }

    #[test]
    fn a_finished_run_is_told_once_with_its_test_accuracy() {
        let request = request("M1", "seed", "M1", 1);
        let mut sentinel = running(&request);
        let alerts = sentinel.observe(&events(&request.id, ending(&request.id, 0.9123)));
        assert_eq!(kinds(&alerts), [AlertKind::Finished]);
        assert_eq!(alerts[0].detail, "test accuracy 0.9123");
        assert_eq!(
            (
                alerts[0].run.as_ref(),
                alerts[0].plan.as_str(),
                &alerts[0].host
            ),
            (Some(&request.id), "seed", &None)
        );
        let start = started(request.id.clone()).event();
        let mut done = ending(&request.id, 0.9123);
        done.insert(0, start);
        assert!(sentinel
            .observe(&Update::Record(record(&request, &done)))
            .is_empty());
        assert!(sentinel.observe(&events(&request.id, vec![])).is_empty());
    }

    #[test]
    fn failures_interruptions_and_crashes_are_told_once_each() {
        let request = request("M1", "seed", "M1", 1);
        let mut sentinel = running(&request);
        let failed = Event::Failed {
            run: request.id.clone(),
            message: "loss became NaN\u{1b}[2J\nat step 3".into(),
        };
        let alerts = sentinel.observe(&events(&request.id, vec![failed.clone()]));
        assert_eq!(kinds(&alerts), [AlertKind::Failed]);
        assert_eq!(alerts[0].detail, "loss became NaN\\u{1b}[2J\\nat step 3");
        assert!(sentinel
            .observe(&events(&request.id, vec![failed]))
            .is_empty());

        let mut sentinel = running(&request);
        let stop = Event::Cancelled {
            run: request.id.clone(),
            epochs_done: 0,
        };
        let alerts = sentinel.observe_event(&stop);
        assert_eq!(kinds(&alerts), [AlertKind::Interrupted]);
        assert_eq!(alerts[0].detail, "after 0 of 10 epochs");

        let mut sentinel = running(&request);
        let crashed = Update::Liveness {
            run: request.id.clone(),
            liveness: Liveness::Crashed,
        };
        assert_eq!(kinds(&sentinel.observe(&crashed)), [AlertKind::Crashed]);
        assert!(sentinel.observe(&crashed).is_empty());
    }

    #[test]
    fn a_paused_run_that_goes_quiet_is_not_stalled() {
        let request = request("M1", "seed", "M1", 1);
        let mut sentinel = running(&request);
        let quiet = Update::Liveness {
            run: request.id.clone(),
            liveness: Liveness::Stalled {
                quiet: Duration::from_secs(400),
            },
        };
        let paused = Event::Paused {
            run: request.id.clone(),
        };
        assert!(sentinel
            .observe(&events(&request.id, vec![paused]))
            .is_empty());
        assert!(sentinel.observe(&quiet).is_empty());
        let unpaused = Event::Unpaused {
            run: request.id.clone(),
        };
        assert!(sentinel
            .observe(&events(&request.id, vec![unpaused]))
            .is_empty());
        let alerts = sentinel.observe(&quiet);
        assert_eq!(kinds(&alerts), [AlertKind::Stalled]);
        assert_eq!(alerts[0].detail, "nothing written for 6m40s");
        assert!(sentinel.observe(&quiet).is_empty());
    }

    #[test]
    fn a_run_first_seen_done_is_finished_but_not_seen_unended() {
        let request = request("M1", "seed", "M1", 1);
        let mut log = vec![started(request.id.clone()).event()];
        log.extend(ending(&request.id, 0.9));
        let mut sentinel = Sentinel::new(AlertRules::default());
        let alerts = sentinel.observe(&Update::New {
            record: record(&request, &log),
            events: log,
        });
        assert_eq!(kinds(&alerts), [AlertKind::Finished]);
        assert!(!sentinel.seen_unended(&request.id));
        assert!(!sentinel.saw_unended(&alerts[0]));
    }

    #[test]
    fn divergence_fires_once_when_the_loss_stays_high_and_never_on_noisy_descent() {
        let request = request("M1", "seed", "M1", 1);
        let mut sentinel = running(&request);
        for epoch in 1..=3 {
            for step in (5..=500).step_by(5) {
                let t = f64::from(epoch - 1) * 500.0 + step as f64;
                let noise = 1.0 + 0.5 * (t * 0.7).sin();
                let loss = 2.3 * (-t / 600.0).exp() * noise + 0.05;
                let alerts = sentinel.observe_event(&progress(&request.id, epoch, step, loss));
                assert!(alerts.is_empty(), "step {t}: {alerts:?}");
            }
        }
        let nan = progress(&request.id, 4, 5, f64::NAN);
        assert!(sentinel.observe_event(&nan).is_empty());
        let mut fired = Vec::new();
        for step in (10..=500).step_by(5) {
            let alerts = sentinel.observe_event(&progress(&request.id, 4, step, 5.0));
            fired.extend(alerts.into_iter().map(|alert| (step, alert)));
        }
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!((fired[0].0, fired[0].1.kind), (210, AlertKind::Diverging));
        assert!(fired[0].1.detail.ends_with("for 200 steps"), "{fired:?}");
    }

    #[test]
    fn a_plateau_fires_after_the_patience_without_a_better_validation_accuracy() {
        let request = request("M1", "seed", "M1", 1);
        let mut sentinel = running(&request);
        let accuracies = [0.80, 0.85, 0.84, 0.85, 0.83, 0.84, 0.85, 0.84];
        let fired: Vec<(u32, Alert)> = (1..)
            .zip(accuracies)
            .flat_map(|(epoch, accuracy)| {
                let event = epoch_end(&request.id, epoch, accuracy);
                sentinel
                    .observe(&events(&request.id, vec![event]))
                    .into_iter()
                    .map(move |alert| (epoch, alert))
            })
            .collect();
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!((fired[0].0, fired[0].1.kind), (7, AlertKind::Plateaued));
        assert_eq!(
            fired[0].1.detail,
            "validation accuracy 0.8500 at epoch 2, not bettered for 5 epochs"
        );
    }

    #[test]
    fn a_sweep_finishes_once_every_run_ended_and_names_its_best_group() {
        let runs = [
            (request("a", "grid", "M1 lr=1e-3", 1), Some(0.90)),
            (request("b", "grid", "M1 lr=1e-3", 2), Some(0.91)),
            (request("c", "grid", "M2 lr=3e-4", 1), Some(0.92)),
            (request("d", "grid", "M2 lr=3e-4", 2), Some(0.93)),
            (request("e", "grid", "M2 lr=3e-4", 3), None),
        ];
        let log = |request: &RunRequest, accuracy: Option<f64>| {
            let mut log = vec![started(request.id.clone()).event()];
            match accuracy {
                Some(accuracy) => log.extend(ending(&request.id, accuracy)),
                None => log.push(Event::Failed {
                    run: request.id.clone(),
                    message: "out of memory".into(),
                }),
            }
            log
        };
        let mut updates: Vec<Update> = runs
            .iter()
            .map(|(request, accuracy)| {
                let log = log(request, *accuracy);
                Update::New {
                    record: record(request, &log),
                    events: log,
                }
            })
            .collect();
        let (last, accuracy) = &runs[1];
        let still_running = vec![started(last.id.clone()).event()];
        updates[1] = Update::New {
            record: record(last, &still_running),
            events: still_running,
        };
        let mut sentinel = Sentinel::new(AlertRules::default());
        let alerts = sentinel.observe_poll(&updates);
        assert!(!kinds(&alerts).contains(&AlertKind::SweepFinished));
        let alerts = sentinel.observe(&events(&last.id, ending(&last.id, accuracy.unwrap())));
        assert_eq!(
            kinds(&alerts),
            [AlertKind::Finished, AlertKind::SweepFinished]
        );
        assert_eq!((&alerts[1].run, alerts[1].plan.as_str()), (&None, "grid"));
        assert_eq!(
            alerts[1].detail,
            "best: M2 lr=3e-4 (mean test accuracy 0.9250 over 2 runs); 1 failed"
        );
        let done = log(last, *accuracy);
        assert!(sentinel
            .observe(&Update::Record(record(last, &done)))
            .is_empty());
    }

    #[test]
    fn a_sweep_seen_whole_at_first_poll_is_judged_after_the_poll() {
        let runs = [request("a", "grid", "A", 1), request("b", "grid", "B", 1)];
        let updates: Vec<Update> = runs
            .iter()
            .map(|request| {
                let mut log = vec![started(request.id.clone()).event()];
                log.extend(ending(&request.id, 0.9));
                Update::New {
                    record: record(request, &log),
                    events: log,
                }
            })
            .collect();
        let mut sentinel = Sentinel::new(AlertRules::default());
        let alerts = sentinel.observe_poll(&updates);
        assert_eq!(
            kinds(&alerts),
            [
                AlertKind::Finished,
                AlertKind::Finished,
                AlertKind::SweepFinished
            ]
        );
        assert!(!sentinel.saw_unended(&alerts[2]));
    }

    #[test]
    fn requeues_are_told_once_per_requeue_and_a_lost_task_once() {
        let request = request("M1", "seed", "M1", 1);
        let mut sentinel = running(&request);
        let mut label = |label: &str| kinds(&sentinel.slurm_label(&request.id, label));
        assert_eq!(label("running on node7"), []);
        assert_eq!(label("requeued"), [AlertKind::Requeued]);
        assert_eq!(label("requeued, pending (Priority)"), []);
        assert_eq!(label("running on node2"), []);
        assert_eq!(label("requeued"), [AlertKind::Requeued]);
        assert_eq!(label("lost"), [AlertKind::Lost]);
        assert_eq!(label("lost"), []);
    }

    #[test]
    fn a_continued_run_that_ends_again_is_told_again() {
        let request = request("M1", "seed", "M1", 1);
        let mut sentinel = running(&request);
        let stop = Event::Cancelled {
            run: request.id.clone(),
            epochs_done: 2,
        };
        let again = started(request.id.clone()).resumed(2, 0).event();
        let told = |sentinel: &mut Sentinel, events: &[Event]| -> Vec<AlertKind> {
            events
                .iter()
                .flat_map(|event| kinds(&sentinel.observe_event(event)))
                .collect()
        };
        assert_eq!(
            told(&mut sentinel, &[stop.clone(), stop.clone()]),
            [AlertKind::Interrupted]
        );
        assert_eq!(
            told(&mut sentinel, &[again, stop.clone()]),
            [AlertKind::Interrupted]
        );
        assert_eq!(
            told(&mut sentinel, &ending(&request.id, 0.9)),
            [AlertKind::Finished]
        );
    }
}
