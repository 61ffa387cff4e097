//! What the app knows of its runs' Slurm tasks: the label each submitted
//! run last got from squeue ([`super::RunView::slurm_label`]), and squeue's last
//! failure, shown once. The poller ([`crate::slurm::watch`]) sends them.

use std::collections::HashMap;

use super::App;
use crate::{protocol::RunId, slurm::watch::Poll};

/// The status bar's text for a failure of squeue.
pub fn failure_message(problem: &str) -> String {
    format!("slurm: {problem}")
}

impl App {
    /// Folds what the poller found into the rows; true when the screen changes.
    pub fn apply_slurm(&mut self, poll: Poll) -> bool {
        self.apply_slurm_of(None, poll)
    }

    /// Folds what squeue on `host` (`None`: this machine) found into that
    /// host's rows; true when the screen changes.
    pub fn apply_slurm_of(&mut self, host: Option<&str>, poll: Poll) -> bool {
        match poll {
            Poll::Labels(labels) => self.set_slurm_labels_of(host, labels),
            Poll::Failed(problem) => self.slurm_failed(match host {
                Some(host) => format!("{host}: {problem}"),
                None => problem,
            }),
        }
    }

    /// Gives each run its label from `labels`, a whole batch: a run left out
    /// of it is in no submission and has none. A failure shown before is
    /// over (squeue answered). True when anything changed.
    pub fn set_slurm_labels(&mut self, labels: Vec<(RunId, String)>) -> bool {
        self.set_slurm_labels_of(None, labels)
    }

    /// [`App::set_slurm_labels`] for the runs of `host` only: each host's
    /// squeue speaks for its own runs.
    pub fn set_slurm_labels_of(
        &mut self,
        host: Option<&str>,
        labels: Vec<(RunId, String)>,
    ) -> bool {
        let mut labels: HashMap<RunId, String> = labels.into_iter().collect();
        let mut changed = false;
        for view in self
            .runs
            .iter_mut()
            .filter(|view| view.host.as_deref() == host)
        {
            let label = view.id.as_ref().and_then(|id| labels.remove(id));
            changed |= view.slurm_label != label;
            view.slurm_label = label;
        }
        if let Some(problem) = self.slurm_error.take() {
            if self.message.as_deref() == Some(failure_message(&problem).as_str()) {
                self.message = None;
                changed = true;
            }
        }
        changed
    }

    /// Shows why squeue failed, unless that is what it said last time: the
    /// poller keeps trying every few seconds, and the same words each time
    /// would push out every other message. The labels stay as last known.
    pub fn slurm_failed(&mut self, problem: String) -> bool {
        if self.slurm_error.as_ref() == Some(&problem) {
            return false;
        }
        self.message = Some(failure_message(&problem));
        self.slurm_error = Some(problem);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_support::planned_app;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(RunId, String)> {
        pairs
            .iter()
            .map(|(run, label)| (RunId::from(*run), (*label).to_string()))
            .collect()
    }

    fn shown(app: &App) -> Vec<&str> {
        app.runs
            .iter()
            .map(|view| view.slurm_label.as_deref().unwrap_or("-"))
            .collect()
    }

    #[test]
    fn a_batch_labels_its_runs_and_clears_the_others() {
        let mut app = planned_app(&["M1", "M2", "M3"]);
        app.assign_id(0, "a".into());
        app.assign_id(1, "b".into());
        let batch = labels(&[("a", "pending (Priority)"), ("b", "running on node7")]);
        assert!(app.set_slurm_labels(batch.clone()));
        assert_eq!(shown(&app), ["pending (Priority)", "running on node7", "-"]);
        assert!(
            !app.set_slurm_labels(batch),
            "the same batch changes nothing"
        );
        // b's submission is gone: b is no Slurm run any more.
        assert!(app.set_slurm_labels(labels(&[("a", "requeued"), ("zz", "lost")])));
        assert_eq!(shown(&app), ["requeued", "-", "-"]);
        app.set_slurm_labels(Vec::new());
        assert!(app.runs.iter().all(|view| view.slurm_label.is_none()));
    }

    #[test]
    fn each_host_s_squeue_labels_only_that_host_s_runs() {
        let mut app = planned_app(&["M1", "M2"]);
        app.assign_id(0, "here".into());
        app.assign_id(1, "far".into());
        app.runs[1].host = Some("gpu-box".into());
        app.apply_slurm_of(None, Poll::Labels(labels(&[("here", "running on n1")])));
        app.apply_slurm_of(
            Some("gpu-box"),
            Poll::Labels(labels(&[("far", "pending (Priority)")])),
        );
        assert_eq!(shown(&app), ["running on n1", "pending (Priority)"]);
        // A later batch from this machine leaves the remote run's label alone.
        app.apply_slurm_of(None, Poll::Labels(Vec::new()));
        assert_eq!(shown(&app), ["-", "pending (Priority)"]);
        app.apply_slurm_of(Some("gpu-box"), Poll::Failed("squeue: not found".into()));
        assert_eq!(
            app.message.as_deref(),
            Some("slurm: gpu-box: squeue: not found")
        );
    }

    #[test]
    fn a_failure_shows_once_and_goes_when_squeue_answers() {
        let mut app = planned_app(&["M1"]);
        app.assign_id(0, "a".into());
        app.apply_slurm(Poll::Labels(labels(&[("a", "running on node7")])));
        let problem = "squeue is not on PATH: run this on a Slurm login node".to_string();
        assert!(app.apply_slurm(Poll::Failed(problem.clone())));
        assert_eq!(app.message, Some(format!("slurm: {problem}")));
        assert_eq!(shown(&app), ["running on node7"], "the last labels stay");
        // Another message comes; the same failure again does not push it out.
        app.message = Some("deleted x".into());
        assert!(!app.apply_slurm(Poll::Failed(problem.clone())));
        assert_eq!(app.message.as_deref(), Some("deleted x"));
        // A new failure is news.
        assert!(app.apply_slurm(Poll::Failed("`squeue` failed".into())));
        assert_eq!(app.message.as_deref(), Some("slurm: `squeue` failed"));
        // squeue answers: its failure leaves the status bar, and a later one shows again.
        assert!(app.apply_slurm(Poll::Labels(labels(&[("a", "running on node7")]))));
        assert_eq!(
            (app.message.as_deref(), app.slurm_error.as_deref()),
            (None, None)
        );
        assert!(app.apply_slurm(Poll::Failed(problem)));
        // Answering again leaves other messages alone.
        app.message = Some("deleted x".into());
        app.apply_slurm(Poll::Labels(Vec::new()));
        assert_eq!(app.message.as_deref(), Some("deleted x"));
    }
}
