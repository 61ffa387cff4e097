//! What a group's header says of its runs: how many, how many finished,
//! their test accuracy as mean ± sd, the status that matters most, and
//! how many have each status when they differ.

use crate::{
    stats::Summary,
    tui::run_view::{RunView, UiStatus},
};

/// What a group's header shows of its runs.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSummary {
    pub runs: usize,
    /// Runs that finished.
    pub done: usize,
    /// The most pressing of the members' statuses (see [`group_status`]).
    pub status: UiStatus,
    /// Test accuracy over the runs that have one.
    pub test_accuracy: Summary,
    /// How many runs have each status, the most pressing first.
    pub statuses: Vec<(UiStatus, usize)>,
}

impl GroupSummary {
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a RunView>) -> Self {
        let runs: Vec<&RunView> = runs.into_iter().collect();
        let accuracies: Vec<f64> = runs
            .iter()
            .filter_map(|view| view.logged().test.as_ref().map(|test| test.accuracy))
            .collect();
        Self {
            runs: runs.len(),
            done: runs
                .iter()
                .filter(|view| view.status == UiStatus::Done)
                .count(),
            status: group_status(runs.iter().map(|view| view.status)),
            test_accuracy: Summary::of(&accuracies),
            statuses: status_counts(runs.iter().map(|view| view.status)),
        }
    }

    /// Whether the runs' statuses differ.
    pub fn mixed(&self) -> bool {
        self.statuses.len() > 1
    }

    /// `89.40±0.33%`; the mean alone from one run; `-` from none.
    pub fn accuracy_text(&self) -> String {
        match (self.test_accuracy.mean, self.test_accuracy.sd) {
            (Some(mean), Some(sd)) => format!("{:.2}±{:.2}%", mean * 100.0, sd * 100.0),
            (Some(mean), None) => format!("{:.2}%", mean * 100.0),
            (None, _) => "-".into(),
        }
    }
}

/// A group's status: training if any member trains, then what needs the
/// user's attention (failed, crashed, interrupted), then planned work;
/// done only when every member is.
pub fn group_status(statuses: impl IntoIterator<Item = UiStatus>) -> UiStatus {
    statuses
        .into_iter()
        .min_by_key(|status| status_rank(*status))
        .unwrap_or(UiStatus::Planned)
}

/// How pressing a status is: 0 for training, the most.
pub fn status_rank(status: UiStatus) -> usize {
    use UiStatus::{Crashed, Done, Failed, Interrupted, Paused, Planned, Queued, Running, Stalled};
    const ORDER: [UiStatus; 9] = [
        Running,
        Paused,
        Stalled,
        Queued,
        Failed,
        Crashed,
        Interrupted,
        Planned,
        Done,
    ];
    ORDER
        .iter()
        .position(|s| *s == status)
        .unwrap_or(ORDER.len())
}

/// How many of `statuses` are each status, the most pressing first.
fn status_counts(statuses: impl IntoIterator<Item = UiStatus>) -> Vec<(UiStatus, usize)> {
    let mut counts: Vec<(UiStatus, usize)> = Vec::new();
    for status in statuses {
        match counts.iter_mut().find(|(s, _)| *s == status) {
            Some((_, count)) => *count += 1,
            None => counts.push((status, 1)),
        }
    }
    counts.sort_by_key(|(status, _)| status_rank(*status));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_support::run_view;

    fn run(status: UiStatus, accuracy: Option<f64>) -> RunView {
        run_view("A", status, accuracy)
    }

    #[test]
    fn the_accuracy_is_mean_and_sd_or_the_mean_of_one_result_or_nothing() {
        use UiStatus::*;
        let none = [run(Planned, None), run(Queued, None)];
        assert_eq!(GroupSummary::of(&none).accuracy_text(), "-");
        let one = [run(Done, Some(0.8912)), run(Planned, None)];
        let summary = GroupSummary::of(&one);
        assert_eq!(summary.accuracy_text(), "89.12%", "no spread from one run");
        assert_eq!((summary.runs, summary.done), (2, 1));
        let two = [
            run(Done, Some(0.89)),
            run(Failed, None),
            run(Done, Some(0.90)),
        ];
        let summary = GroupSummary::of(&two);
        assert_eq!(summary.accuracy_text(), "89.50±0.71%");
        assert_eq!((summary.runs, summary.done, summary.status), (3, 2, Failed));
    }

    #[test]
    fn a_group_is_done_when_every_run_is_and_flags_a_failure_before_planned_work() {
        use UiStatus::*;
        assert_eq!(group_status([Done, Done]), Done);
        assert_eq!(group_status([Done, Planned]), Planned);
        assert_eq!(group_status([Done, Failed, Planned]), Failed);
        assert_eq!(group_status([Failed, Queued]), Queued);
        assert_eq!(group_status([Interrupted, Paused, Running]), Running);
        assert_eq!(group_status([]), Planned);
    }

    #[test]
    fn statuses_are_counted_most_pressing_first_and_mixed_only_when_they_differ() {
        use UiStatus::*;
        let runs = [
            run(Planned, None),
            run(Running, None),
            run(Planned, None),
            run(Running, None),
            run(Planned, None),
        ];
        let summary = GroupSummary::of(&runs);
        assert_eq!(summary.statuses, [(Running, 2), (Planned, 3)]);
        assert!(summary.mixed());
        let same = GroupSummary::of(&[run(Done, Some(0.9)), run(Done, Some(0.8))]);
        assert_eq!((same.mixed(), same.statuses), (false, vec![(Done, 2)]));
    }
}
