//! The run list's orders, as plain data: the plan's (the runs' own order),
//! then by test accuracy (best first), by name and by status. A group sorts
//! by its runs together: their mean accuracy, its most pressing status.

use std::cmp::Ordering;

use super::summary::{group_status, status_rank};
use crate::tui::run_view::RunView;

/// How the run list is ordered; a key cycles through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// As the runs are: stored runs oldest first, then the plan's.
    #[default]
    Plan,
    /// Best test accuracy first; runs without one after, in plan order.
    Accuracy,
    /// By name, in any case.
    Name,
    /// Training first, then what needs attention, planned work, and done
    /// last ([`group_status`]'s order).
    Status,
}

impl Order {
    /// The order after this one, back to the plan's after the last.
    pub fn next(self) -> Self {
        match self {
            Order::Plan => Order::Accuracy,
            Order::Accuracy => Order::Name,
            Order::Name => Order::Status,
            Order::Status => Order::Plan,
        }
    }

    /// What the run list's title says of it; nothing in the plan's order.
    pub fn title(self) -> Option<&'static str> {
        match self {
            Order::Plan => None,
            Order::Accuracy => Some("by test accuracy"),
            Order::Name => Some("by name"),
            Order::Status => Some("by status"),
        }
    }

    /// What an entry of the list (one run, or a group's runs) sorts by in
    /// this order; `name` names it, asked only when sorting by name.
    pub fn rank(self, runs: &[&RunView], name: impl FnOnce() -> String) -> Rank {
        match self {
            Order::Plan => Rank::Plan,
            Order::Accuracy => Rank::Accuracy(mean_accuracy(runs)),
            Order::Name => Rank::Name(name().to_lowercase()),
            Order::Status => {
                Rank::Status(status_rank(group_status(runs.iter().map(|run| run.status))))
            }
        }
    }

    /// Sorts `items` by `rank_of` (stable: ties keep their order).
    pub fn sort<T>(self, items: &mut Vec<T>, rank_of: impl Fn(&T) -> Rank) {
        if self == Order::Plan {
            return;
        }
        let mut ranked: Vec<(Rank, T)> =
            items.drain(..).map(|item| (rank_of(&item), item)).collect();
        ranked.sort_by(|(a, _), (b, _)| a.compare(b));
        items.extend(ranked.into_iter().map(|(_, item)| item));
    }
}

/// What one entry sorts by.
#[derive(Clone, Debug, PartialEq)]
pub enum Rank {
    Plan,
    Accuracy(Option<f64>),
    Name(String),
    Status(usize),
}

impl Rank {
    fn compare(&self, other: &Self) -> Ordering {
        match (self, other) {
            // The best first; entries without a result after every result.
            (Rank::Accuracy(a), Rank::Accuracy(b)) => match (a, b) {
                (Some(a), Some(b)) => b.total_cmp(a),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            (Rank::Name(a), Rank::Name(b)) => a.cmp(b),
            (Rank::Status(a), Rank::Status(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

/// The mean test accuracy of the runs that have a (finite) one.
fn mean_accuracy(runs: &[&RunView]) -> Option<f64> {
    let accuracies: Vec<f64> = runs
        .iter()
        .filter_map(|run| run.logged().test.as_ref().map(|test| test.accuracy))
        .filter(|accuracy| accuracy.is_finite())
        .collect();
    (!accuracies.is_empty()).then(|| accuracies.iter().sum::<f64>() / accuracies.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::{run_view::UiStatus, test_support::run_view as run};

    /// The names of `runs` (each entry one run) in `order`.
    fn sorted(order: Order, runs: &[RunView]) -> Vec<String> {
        let mut items: Vec<&RunView> = runs.iter().collect();
        order.sort(&mut items, |run| {
            order.rank(&[run], || run.spec.name.clone())
        });
        items.iter().map(|run| run.spec.name.clone()).collect()
    }

    #[test]
    fn the_order_cycles_and_the_plans_says_nothing() {
        let mut order = Order::default();
        let mut titles = Vec::new();
        for _ in 0..4 {
            titles.push(order.title());
            order = order.next();
        }
        assert_eq!(order, Order::Plan);
        assert_eq!(
            titles,
            [
                None,
                Some("by test accuracy"),
                Some("by name"),
                Some("by status")
            ]
        );
    }

    #[test]
    fn runs_sort_best_first_by_name_and_by_status_ties_in_plan_order() {
        use UiStatus::*;
        let runs = [
            run("b", Done, Some(0.88)),
            run("C", Planned, None),
            run("a", Done, Some(0.91)),
            run("d", Running, None),
            run("e", Failed, Some(f64::NAN)),
            run("f", Done, Some(0.88)),
        ];
        assert_eq!(sorted(Order::Plan, &runs), ["b", "C", "a", "d", "e", "f"]);
        assert_eq!(
            sorted(Order::Accuracy, &runs),
            ["a", "b", "f", "C", "d", "e"],
            "no result (or not a number) last"
        );
        assert_eq!(sorted(Order::Name, &runs), ["a", "b", "C", "d", "e", "f"]);
        assert_eq!(sorted(Order::Status, &runs), ["d", "e", "C", "b", "a", "f"]);
    }

    #[test]
    fn a_group_sorts_by_its_mean_and_its_most_pressing_status() {
        use UiStatus::*;
        let group = [run("g1", Done, Some(0.95)), run("g2", Running, Some(0.85))];
        let lone = run("lone", Done, Some(0.91));
        let group: Vec<&RunView> = group.iter().collect();
        let mean = Order::Accuracy.rank(&group, String::new);
        assert!(matches!(mean, Rank::Accuracy(Some(x)) if (x - 0.9).abs() < 1e-12));
        let lone_rank = Order::Accuracy.rank(&[&lone], String::new);
        assert_eq!(lone_rank.compare(&mean), Ordering::Less, "0.91 before 0.90");
        assert_eq!(
            Order::Status
                .rank(&group, String::new)
                .compare(&Order::Status.rank(&[&lone], String::new)),
            Ordering::Less,
            "a group training comes before a run done"
        );
    }
}
