//! Alerts over merged sources: the store's rules ([`Sentinel`]) read every
//! source's news in one place, and each alert is delivered once
//! ([`Notifier`]), with the host it came from. The app, `watch` and
//! `watch --alerts` all go through here, so they tell the same things.

use std::{
    collections::{HashMap, HashSet},
    io::Write,
};

use super::{News, Sourced};
use crate::{
    protocol::{Event, RunId},
    session::notify::{Delivery, Ledger, Notifier, NotifyError},
    slurm::watch::Poll,
    store::{Alert, AlertRules, Sentinel, Update},
};

/// The rules and the delivery of one viewer.
pub struct Alerting {
    sentinel: Sentinel,
    notifier: Notifier,
    /// The host of each run met (`None`: a local folder), and of each plan.
    hosts: HashMap<RunId, Option<String>>,
    plan_hosts: HashMap<String, Option<String>>,
    /// Runs already noted in the ledger as watched.
    noted: HashSet<RunId>,
}

/// What one look brought: the alerts delivered, and what went wrong
/// delivering or remembering them (shown, never fatal).
#[derive(Debug, Default)]
pub struct Told {
    pub alerts: Vec<Alert>,
    pub problems: Vec<NotifyError>,
}

impl Alerting {
    pub fn new(rules: AlertRules, delivery: Delivery, ledger: Ledger) -> Self {
        Self {
            sentinel: Sentinel::new(rules),
            notifier: Notifier::new(delivery, ledger),
            hosts: HashMap::new(),
            plan_hosts: HashMap::new(),
            noted: HashSet::new(),
        }
    }

    /// Judges one poll of the sources and delivers what fires; the bell and
    /// OSC go to `terminal` only when `is_terminal`.
    pub fn observe(
        &mut self,
        news: &[Sourced],
        terminal: &mut dyn Write,
        is_terminal: bool,
    ) -> Told {
        let mut updates = Vec::new();
        let mut labels = Vec::new();
        for sourced in news {
            match &sourced.news {
                News::Update(update) => {
                    if let Update::New { record, .. } = update {
                        self.hosts.insert(record.id.clone(), sourced.host.clone());
                        self.plan_hosts
                            .insert(record.plan.clone(), sourced.host.clone());
                    }
                    updates.push(update.clone());
                }
                News::Slurm(Poll::Labels(batch)) => labels.extend(batch.iter().cloned()),
                News::Slurm(Poll::Failed(_)) | News::State(_) | News::File { .. } => {}
            }
        }
        let mut alerts = self.sentinel.observe_poll(&updates);
        for (run, label) in &labels {
            alerts.extend(self.sentinel.slurm_label(run, label));
        }
        let touched: Vec<RunId> = updates.iter().map(run_of).cloned().collect();
        self.tell(alerts, &touched, terminal, is_terminal)
    }

    /// Judges an event of this app's own trainer (its runs are local).
    pub fn observe_event(
        &mut self,
        event: &Event,
        terminal: &mut dyn Write,
        is_terminal: bool,
    ) -> Told {
        self.hosts.entry(event.run().clone()).or_insert(None);
        let alerts = self.sentinel.observe_event(event);
        self.tell(
            alerts,
            std::slice::from_ref(event.run()),
            terminal,
            is_terminal,
        )
    }

    /// Waits for the notify commands still running; their problems.
    pub fn finish(&mut self) -> Vec<NotifyError> {
        self.notifier.wait_commands()
    }

    /// Notes the runs seen unended, then offers and delivers each alert.
    fn tell(
        &mut self,
        alerts: Vec<Alert>,
        touched: &[RunId],
        terminal: &mut dyn Write,
        is_terminal: bool,
    ) -> Told {
        let mut told = Told::default();
        for run in touched {
            if let Err(problem) = self.note_watched(run) {
                told.problems.push(problem);
            }
        }
        for mut alert in alerts {
            alert.host = match &alert.run {
                Some(run) => self.hosts.get(run).cloned().flatten(),
                None => self.plan_hosts.get(&alert.plan).cloned().flatten(),
            };
            let seen = self.sentinel.saw_unended(&alert);
            match self.notifier.offer(&alert, seen) {
                Ok(false) => {}
                Ok(true) => {
                    if let Err(problem) = self.notifier.deliver(&alert, terminal, is_terminal) {
                        told.problems.push(problem);
                    }
                    told.alerts.push(alert);
                }
                Err(problem) => told.problems.push(problem),
            }
        }
        told.problems.extend(self.notifier.command_errors());
        told
    }

    /// Marks `run` (and its sweep) watched in the ledger, once, as soon as
    /// it is seen queued or running.
    fn note_watched(&mut self, run: &RunId) -> Result<(), NotifyError> {
        if self.noted.contains(run) || !self.sentinel.seen_unended(run) {
            return Ok(());
        }
        self.noted.insert(run.clone());
        let host = self.hosts.get(run).cloned().flatten();
        self.notifier.watching(host.as_deref(), run)?;
        if let Some(plan) = self.sentinel.plan_of(run).filter(|plan| !plan.is_empty()) {
            let plan = plan.to_string();
            self.notifier.watching_sweep(host.as_deref(), &plan)?;
        }
        Ok(())
    }
}

fn run_of(update: &Update) -> &RunId {
    match update {
        Update::New { record, .. } | Update::Record(record) => &record.id,
        Update::Events { run, .. }
        | Update::Liveness { run, .. }
        | Update::Removed { run }
        | Update::Unreadable { run, .. } => run,
    }
}
