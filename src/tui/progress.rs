//! How far a sweep has got: the run list's bottom line while a sweep (or a
//! group of seeds, from `--seeds`) has runs left to train.
//!
//! The time left is the mean epoch time of the sweep's finished epochs
//! times the epochs its runs have left, with a training run's own pace
//! where it has one. Runs train one after another, so the times add up.

use std::collections::HashMap;

use super::run_view::{RunView, UiStatus};
use crate::units::clock;

/// A sweep's runs, counted.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepProgress {
    /// `sweep lr` or `group M1`.
    pub label: String,
    pub total: usize,
    pub done: usize,
    /// Training, paused or stalled.
    pub running: usize,
    /// Failed or crashed.
    pub failed: usize,
    /// Seconds until every planned, queued and training run is done; None
    /// while no epoch has finished to tell the pace.
    pub eta_secs: Option<f64>,
}

/// What a run's progress is counted in: its sweep, else its group when
/// the group has other runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Unit {
    Sweep(String),
    Group(String),
}

fn training(view: &RunView) -> bool {
    matches!(
        view.status,
        UiStatus::Running | UiStatus::Paused | UiStatus::Stalled
    )
}

/// Planned, queued or training: a run the sweep still waits for.
fn left(view: &RunView) -> bool {
    view.status == UiStatus::Planned || view.is_active()
}

/// The sweep in progress: the one a training run belongs to, else a
/// queued run's, else a planned run's; None when no sweep has runs left.
pub fn sweep_progress(runs: &[RunView]) -> Option<SweepProgress> {
    let keys: Vec<String> = runs.iter().map(|view| view.spec.group().id()).collect();
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for key in &keys {
        *sizes.entry(key).or_default() += 1;
    }
    let unit_of = |index: usize| -> Option<Unit> {
        match &runs[index].spec.sweep {
            Some(sweep) => Some(Unit::Sweep(sweep.clone())),
            None => (sizes[keys[index].as_str()] > 1).then(|| Unit::Group(keys[index].clone())),
        }
    };
    let tiers: [fn(&RunView) -> bool; 3] = [
        training,
        |view| view.status == UiStatus::Queued,
        |view| view.status == UiStatus::Planned,
    ];
    let unit = tiers.iter().find_map(|tier| {
        (0..runs.len())
            .filter(|&index| tier(&runs[index]))
            .find_map(unit_of)
    })?;
    let members: Vec<&RunView> = (0..runs.len())
        .filter(|&index| unit_of(index).as_ref() == Some(&unit))
        .map(|index| &runs[index])
        .collect();
    let label = match &unit {
        Unit::Sweep(sweep) => format!("sweep {sweep}"),
        Unit::Group(_) => format!("group {}", members[0].spec.group().name),
    };
    let count = |wanted: fn(&RunView) -> bool| members.iter().filter(|view| wanted(view)).count();
    Some(SweepProgress {
        label,
        total: members.len(),
        done: count(|view| view.status == UiStatus::Done),
        running: count(training),
        failed: count(|view| matches!(view.status, UiStatus::Failed | UiStatus::Crashed)),
        eta_secs: eta_secs(&members),
    })
}

/// Seconds the runs left need: each training run at its own pace, the
/// others (and a training run with no pace yet) at the mean epoch time.
fn eta_secs(members: &[&RunView]) -> Option<f64> {
    let epochs: Vec<f64> = members
        .iter()
        .flat_map(|view| view.logged().epochs.iter().map(|row| row.seconds))
        .collect();
    let per_epoch = (!epochs.is_empty()).then(|| epochs.iter().sum::<f64>() / epochs.len() as f64);
    let mut seconds = 0.0;
    for view in members.iter().filter(|view| left(view)) {
        let pace = training(view).then(|| view.eta_secs()).flatten();
        let epochs_left = view
            .spec
            .epochs
            .saturating_sub(view.logged().epochs.len() as u32);
        seconds += match pace {
            Some(pace) => pace,
            None if epochs_left == 0 => 0.0,
            None => per_epoch? * f64::from(epochs_left),
        };
    }
    Some(seconds)
}

impl SweepProgress {
    /// `sweep lr: 7/15 done · 1 running · 0 failed · ETA 42m10s`, the label
    /// shortened with `…` to fit `width` columns.
    pub fn line(&self, width: usize) -> String {
        let eta = self.eta_secs.map_or_else(|| "-".to_string(), clock);
        let rest = format!(
            ": {}/{} done · {} running · {} failed · ETA {eta}",
            self.done, self.total, self.running, self.failed
        );
        let room = width.saturating_sub(rest.chars().count()).max(2);
        let label = if self.label.chars().count() <= room {
            self.label.clone()
        } else {
            let kept: String = self.label.chars().take(room - 1).collect();
            format!("{kept}…")
        };
        format!("{label}{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::ModelSpec, plan::RunSpec, protocol::Event};

    fn sweep_run(sweep: Option<&str>, lr: f64, seed: u64) -> RunView {
        RunView::planned(RunSpec {
            learning_rate: lr,
            seed,
            epochs: 4,
            sweep: sweep.map(str::to_string),
            ..RunSpec::new(format!("r lr={lr} seed={seed}"), ModelSpec::tiny_mlp())
        })
    }

    fn epochs(view: &mut RunView, count: u32, seconds: f64) {
        for epoch in 1..=count {
            view.apply(&Event::EpochEnd {
                run: "r".into(),
                epoch,
                epochs: 4,
                train_loss: 0.5,
                train_accuracy: 0.8,
                val_loss: 0.4,
                val_accuracy: 0.8,
                seconds,
            });
        }
    }

    fn finish(view: &mut RunView) {
        view.id = Some("r".into());
        epochs(view, 4, 10.0);
        view.apply(&Event::Finished {
            run: "r".into(),
            seconds: 40.0,
            best_val_accuracy: 0.8,
            best_epoch: 4,
        });
    }

    #[test]
    fn nothing_to_show_without_a_sweep_or_with_nothing_left() {
        assert_eq!(sweep_progress(&[]), None);
        // Two different experiments, neither from a sweep: no group either.
        let alone = [sweep_run(None, 1e-3, 1), sweep_run(None, 3e-4, 1)];
        assert_eq!(sweep_progress(&alone), None);
        let mut finished = vec![
            sweep_run(Some("lr"), 1e-3, 1),
            sweep_run(Some("lr"), 3e-4, 1),
        ];
        finished.iter_mut().for_each(finish);
        assert_eq!(sweep_progress(&finished), None, "a finished sweep");
    }

    #[test]
    fn a_sweep_counts_its_runs_and_times_what_is_left_by_its_epochs() {
        let mut runs: Vec<RunView> = [1e-3, 3e-4, 1e-4]
            .iter()
            .flat_map(|&lr| [1, 2].map(|seed| sweep_run(Some("lr"), lr, seed)))
            .collect();
        // Not in the sweep: left out of its counts.
        runs.push(sweep_run(None, 5e-2, 1));
        let fresh = sweep_progress(&runs).unwrap();
        assert_eq!(
            (fresh.total, fresh.done, fresh.running, fresh.eta_secs),
            (6, 0, 0, None),
            "no epoch yet, no pace"
        );
        assert_eq!(
            fresh.line(80),
            "sweep lr: 0/6 done · 0 running · 0 failed · ETA -"
        );
        finish(&mut runs[0]);
        finish(&mut runs[1]);
        runs[2].id = Some("f".into());
        runs[2].apply(&Event::Failed {
            run: "f".into(),
            message: "boom".into(),
        });
        // The fourth trains, one epoch of 20 s done, no pace reported yet.
        runs[3].id = Some("t".into());
        runs[3].apply(
            &crate::testing::started("t")
                .params(1)
                .samples(320, 80)
                .epochs(4)
                .event(),
        );
        epochs(&mut runs[3], 1, 20.0);
        let progress = sweep_progress(&runs).unwrap();
        // Epochs take (8 × 10 + 20) / 9 s; 3 left in the fourth, 4 in each of the last two.
        let per_epoch = 100.0 / 9.0;
        assert_eq!(
            (progress.done, progress.running, progress.failed),
            (2, 1, 1)
        );
        assert!((progress.eta_secs.unwrap() - 11.0 * per_epoch).abs() < 1e-9);
        assert_eq!(
            progress.line(80),
            "sweep lr: 2/6 done · 1 running · 1 failed · ETA 2m02s"
        );
        // With a pace, the training run's own time left counts instead.
        runs[3].apply(&Event::Progress {
            run: "t".into(),
            epoch: 2,
            step: 5,
            steps: 10,
            loss: 0.4,
            accuracy: 0.8,
            recent_loss: 0.4,
            recent_accuracy: 0.8,
            samples_per_sec: 32.0,
            elapsed_secs: 25.0,
            learning_rate: None,
        });
        let paced = sweep_progress(&runs).unwrap();
        let own = runs[3].eta_secs().unwrap();
        assert!((paced.eta_secs.unwrap() - (own + 8.0 * per_epoch)).abs() < 1e-9);
    }

    #[test]
    fn seeds_without_a_sweep_count_as_their_group_and_a_queued_run_beats_a_planned_one() {
        // An unrelated planned sweep, and M1's seeds of which one trains.
        let mut runs = vec![sweep_run(Some("later"), 1e-3, 1)];
        runs.extend([1, 2, 3].map(|seed| sweep_run(None, 3e-4, seed)));
        for view in &mut runs[1..] {
            view.spec.group = Some("M1".into());
        }
        let spec = Box::new(runs[2].spec.clone());
        runs[2].id = Some("t".into());
        runs[2].apply(&Event::Queued {
            run: "t".into(),
            spec,
        });
        let queued = sweep_progress(&runs).unwrap();
        assert_eq!((queued.label.as_str(), queued.total), ("group M1", 3));
        assert_eq!(queued.running, 0, "queued is not running");
    }

    #[test]
    fn a_long_name_is_shortened_to_fit() {
        let progress = SweepProgress {
            label: "sweep a-very-long-sweep-name-indeed".into(),
            total: 15,
            done: 7,
            running: 1,
            failed: 0,
            eta_secs: Some(2_530.0),
        };
        let full =
            "sweep a-very-long-sweep-name-indeed: 7/15 done · 1 running · 0 failed · ETA 42m10s";
        assert_eq!(progress.line(200), full);
        let short = progress.line(60);
        assert_eq!(short.chars().count(), 60, "{short}");
        assert_eq!(
            short,
            "sweep a-very…: 7/15 done · 1 running · 0 failed · ETA 42m10s"
        );
    }
}
