//! `watch --alerts` without a terminal: one line per alert on standard
//! output (for `nohup`, cron or a Slurm job of its own), each source's
//! state on standard error, until every watched run has ended.

use std::{collections::BTreeMap, io::Write, thread, time::Duration};

use crossbeam_channel::Receiver;

use super::{alerting::Alerting, News, SourceState, Sourced, Sources};
use crate::{
    protocol::RunId,
    session::notify::alert_line,
    slurm::watch::Poll,
    store::{follow::POLL_INTERVAL, Liveness, RunStatus, Update},
};

/// How the watched runs ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    pub done: usize,
    pub failed: usize,
    pub interrupted: usize,
    pub crashed: usize,
}

impl Ended {
    /// Whether any run failed or crashed: the exit status says so.
    pub fn with_failures(self) -> bool {
        self.failed + self.crashed > 0
    }

    /// The closing line.
    pub fn summary(self) -> String {
        let runs = self.done + self.failed + self.interrupted + self.crashed;
        format!(
            "all {} ended: {} done, {} failed, {} interrupted, {} crashed",
            crate::units::count(runs, "watched run"),
            self.done,
            self.failed,
            self.interrupted,
            self.crashed
        )
    }
}

/// What is known of one watched run.
#[derive(Clone, Debug, Default)]
struct Seen {
    status: Option<RunStatus>,
    crashed: bool,
    /// Slurm will run it again (pending or requeued), whatever its record says.
    queued_by_slurm: bool,
}

/// Where the headless watcher writes.
pub struct Outputs<'a> {
    /// Alert lines (and the closing line).
    pub lines: &'a mut dyn Write,
    pub lines_are_terminal: bool,
    /// Source states.
    pub notes: &'a mut dyn Write,
}

/// Watches until every run seen has ended (`Some`), or `stop` fires (`None`).
pub fn watch(
    sources: &mut Sources,
    alerting: &mut Alerting,
    out: &mut Outputs<'_>,
    stop: &Receiver<()>,
) -> Option<Ended> {
    let mut runs: BTreeMap<RunId, Seen> = BTreeMap::new();
    let mut reached = vec![false; sources.statuses().len()];
    loop {
        let news = sources.poll();
        for sourced in &news {
            fold(&mut runs, sourced);
            note_state(sources, &mut reached, sourced, out.notes);
        }
        let told = alerting.observe(&news, out.lines, out.lines_are_terminal);
        for alert in &told.alerts {
            let _ = writeln!(out.lines, "{}", alert_line(alert));
        }
        for problem in &told.problems {
            let _ = writeln!(out.notes, "alert not delivered: {problem}");
        }
        let every_source_read = sources
            .statuses()
            .iter()
            .zip(&reached)
            .all(|(status, reached)| !status.remote || *reached);
        if news.is_empty() && every_source_read {
            if let Some(ended) = all_ended(&runs) {
                let _ = writeln!(out.lines, "{}", ended.summary());
                for problem in alerting.finish() {
                    let _ = writeln!(out.notes, "alert not delivered: {problem}");
                }
                return Some(ended);
            }
        }
        if stop.recv_timeout(POLL_INTERVAL).is_ok() {
            alerting.finish();
            return None;
        }
        // A remote source's first look takes a moment: let it come whole.
        if news.is_empty() && !every_source_read {
            thread::sleep(Duration::from_millis(50));
        }
    }
}

fn fold(runs: &mut BTreeMap<RunId, Seen>, sourced: &Sourced) {
    match &sourced.news {
        News::Update(Update::New { record, .. } | Update::Record(record)) => {
            let seen = runs.entry(record.id.clone()).or_default();
            seen.status = Some(record.status);
            if !matches!(record.status, RunStatus::Queued | RunStatus::Running) {
                seen.crashed = false;
            }
        }
        News::Update(Update::Liveness { run, liveness }) => {
            if let Some(seen) = runs.get_mut(run) {
                seen.crashed = *liveness == Liveness::Crashed;
            }
        }
        News::Update(Update::Removed { run }) => {
            runs.remove(run);
        }
        News::Slurm(Poll::Labels(labels)) => {
            for (run, label) in labels {
                if let Some(seen) = runs.get_mut(run) {
                    seen.queued_by_slurm =
                        label.starts_with("pending") || label.starts_with("requeued");
                }
            }
        }
        _ => {}
    }
}

/// Says when a source connects, drops or fails; notes which have been read.
fn note_state(sources: &Sources, reached: &mut [bool], sourced: &Sourced, notes: &mut dyn Write) {
    let News::State(state) = &sourced.news else {
        return;
    };
    let label = sources
        .statuses()
        .get(sourced.source)
        .map(|status| status.label.clone())
        .unwrap_or_default();
    let text = match state {
        SourceState::Connecting => return,
        SourceState::Connected => {
            if let Some(reached) = reached.get_mut(sourced.source) {
                *reached = true;
            }
            "connected".to_string()
        }
        SourceState::Reconnecting { reason, .. } => format!("reconnecting ({reason})"),
        SourceState::Failed { reason } => format!("failed: {reason}"),
    };
    let _ = writeln!(
        notes,
        "{}: {}",
        crate::edge::escape::printable(&label),
        crate::edge::escape::printable(&text)
    );
}

/// How the runs ended, once every one has (and there is at least one).
fn all_ended(runs: &BTreeMap<RunId, Seen>) -> Option<Ended> {
    if runs.is_empty() {
        return None;
    }
    let mut ended = Ended::default();
    for seen in runs.values() {
        match seen.status? {
            _ if seen.queued_by_slurm => return None,
            RunStatus::Done => ended.done += 1,
            RunStatus::Failed => ended.failed += 1,
            RunStatus::Interrupted => ended.interrupted += 1,
            RunStatus::Queued | RunStatus::Running if seen.crashed => ended.crashed += 1,
            RunStatus::Queued | RunStatus::Running => return None,
        }
    }
    Some(ended)
}
