//! The sweep view's model: the sweep the selection belongs to, read whole
//! ([`SweepReport`]) from the app's rows; its configurations in the order
//! the user picked; the heat table of two swept keys; and the curves of the
//! selected configuration beside the best few. The view's cursor is the
//! app's selection, so moving it here selects the configuration's runs in
//! every other view.
//!
//! Pure functions of the state, and the few methods that change the view's
//! choices; the pane draws from them.

pub mod choices;

use std::collections::BTreeMap;

pub use choices::{Metric, Panel, SortBy, SweepState, XAxis};

use super::{App, RunView};
use crate::{
    analysis::sweep::{usable_margin, SweepGroup, SweepReport, SweepRun, DEFAULT_MARGIN_POINTS},
    plan::Group,
    stats::Summary,
};

/// The sweep the view shows.
#[derive(Clone, Debug)]
pub struct Sheet {
    pub report: SweepReport,
    /// Indices into `report.groups`, in table order.
    pub order: Vec<usize>,
    /// The cursor's position in `order`, when the selection is in the sweep.
    pub cursor: Option<usize>,
    /// How many sweeps the app's rows hold.
    pub sweeps: usize,
}

impl Sheet {
    /// The configuration under the cursor.
    pub fn selected(&self) -> Option<&SweepGroup> {
        self.cursor
            .and_then(|row| self.order.get(row))
            .map(|&index| &self.report.groups[index])
    }
}

/// The sweeps among the app's rows, in the order their first row appears.
fn sweep_names(app: &App) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for name in app.runs.iter().filter_map(|run| run.spec.sweep.as_deref()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The selected run's sweep, else the last sweep in the list.
pub fn current_sweep(app: &App) -> Option<String> {
    app.selected_run()
        .and_then(|run| run.spec.sweep.clone())
        .or_else(|| sweep_names(app).last().map(|name| (*name).to_string()))
}

/// The margin the sweep's newest row carries from its plan, else the default.
fn margin(app: &App, sweep: &str) -> f64 {
    app.runs
        .iter()
        .rev()
        .filter(|run| run.spec.sweep.as_deref() == Some(sweep))
        .find_map(|run| usable_margin(run.spec.margin))
        .unwrap_or(DEFAULT_MARGIN_POINTS)
}

/// The sweep the view shows, read from the app's rows; none without a sweep.
pub fn sheet(app: &App) -> Option<Sheet> {
    let name = current_sweep(app)?;
    let groups: Vec<Group> = app.runs.iter().map(|run| run.spec.group()).collect();
    let runs: Vec<SweepRun> = app
        .runs
        .iter()
        .zip(&groups)
        .map(|(run, group)| SweepRun {
            spec: &run.spec,
            group,
            accuracy: test_accuracy(run),
        })
        .collect();
    let report = SweepReport::of_runs(&name, &runs, margin(app, &name));
    let order = sorted(&report, app.sweep.sort, app.sweep.reversed);
    let selected = app.selected_run().map(|run| run.spec.group().id());
    let cursor = order
        .iter()
        .position(|&index| Some(&report.groups[index].id) == selected.as_ref());
    Some(Sheet {
        report,
        order,
        cursor,
        sweeps: sweep_names(app).len(),
    })
}

fn test_accuracy(run: &RunView) -> Option<f64> {
    run.logged().test.as_ref().map(|test| test.accuracy)
}

/// A setting's values in their natural order: numbers by value, else as text.
fn by_value(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

/// The groups' indices in the table's order; ties (and rows without a
/// result, which the report puts last) keep the rank order.
fn sorted(report: &SweepReport, sort: SortBy, reversed: bool) -> Vec<usize> {
    let groups = &report.groups;
    let missing = f64::NEG_INFINITY;
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&groups[a], &groups[b]);
        match sort {
            SortBy::Key(key) => match (a.keys.get(key), b.keys.get(key)) {
                (Some(x), Some(y)) => by_value(&x.1, &y.1),
                _ => std::cmp::Ordering::Equal,
            },
            SortBy::N => b.n.cmp(&a.n),
            SortBy::Mean | SortBy::Rank => std::cmp::Ordering::Equal,
            SortBy::Sd => {
                let sd = |g: &SweepGroup| g.sd.unwrap_or(f64::INFINITY);
                sd(a).total_cmp(&sd(b))
            }
            SortBy::Ci => {
                let low = |g: &SweepGroup| g.ci.map_or(missing, |ci| ci.0);
                low(b).total_cmp(&low(a))
            }
        }
    });
    if reversed {
        order.reverse();
    }
    order
}

/// Pairs of swept keys (indices), the pair whose effects are surest first.
pub fn heat_pairs(report: &SweepReport) -> Vec<(usize, usize)> {
    let p = |key: usize| report.effects.get(key).and_then(|e| e.p).unwrap_or(1.0);
    let keys = report.keys.len();
    let mut pairs: Vec<(usize, usize)> = (0..keys)
        .flat_map(|a| (a + 1..keys).map(move |b| (a, b)))
        .collect();
    pairs.sort_by(|x, y| {
        let worst = |(a, b): (usize, usize)| p(a).max(p(b));
        worst(*x).total_cmp(&worst(*y))
    });
    pairs
}

/// Two keys' grid: each cell the runs at one value of each, pooled over
/// the other keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Heat {
    pub rows_key: String,
    pub columns_key: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    /// `cells[row][column]`.
    pub cells: Vec<Vec<Summary>>,
}

/// The heat table of the `choice`-th pair of [`heat_pairs`] (wrapping);
/// none when the sweep varies fewer than two keys.
pub fn heat(report: &SweepReport, choice: usize) -> Option<Heat> {
    let pairs = heat_pairs(report);
    let &(row_key, column_key) = pairs.get(choice % pairs.len().max(1))?;
    let levels = |key: usize| -> Vec<String> {
        let mut values: Vec<String> = report
            .groups
            .iter()
            .map(|g| g.keys[key].1.clone())
            .collect();
        values.sort_by(|a, b| by_value(a, b));
        values.dedup();
        values
    };
    let (rows, columns) = (levels(row_key), levels(column_key));
    let mut pooled: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for group in &report.groups {
        pooled
            .entry((&group.keys[row_key].1, &group.keys[column_key].1))
            .or_default()
            .extend(&group.values);
    }
    let cells = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|column| {
                    let values = pooled.get(&(row.as_str(), column.as_str()));
                    Summary::of(values.map_or(&[][..], Vec::as_slice))
                })
                .collect()
        })
        .collect();
    Some(Heat {
        rows_key: report.keys[row_key].clone(),
        columns_key: report.keys[column_key].clone(),
        rows,
        columns,
        cells,
    })
}

/// How many configurations the curves show besides the selected one.
pub const BEST_FEW: usize = 3;

/// One configuration's curve: its seeds' mean per epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepCurve {
    /// `#1 1e-3 true`: its rank and its values of the swept keys, in the
    /// table's column order (the legend has no room for the keys' names).
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub selected: bool,
}

/// The selected configuration's curve first, then the best few by rank.
pub fn curves(app: &App, sheet: &Sheet) -> Vec<SweepCurve> {
    let selected = sheet.selected().map(|group| group.id.clone());
    let mut chosen: Vec<&SweepGroup> = sheet.selected().into_iter().collect();
    let best = sheet
        .report
        .groups
        .iter()
        .filter(|group| group.rank.is_some() && Some(&group.id) != selected.as_ref());
    chosen.extend(best.take(BEST_FEW));
    chosen
        .into_iter()
        .map(|group| {
            let members: Vec<&RunView> = app
                .runs
                .iter()
                .filter(|run| run.spec.group().id() == group.id)
                .collect();
            let rank = group
                .rank
                .map_or_else(|| "–".to_string(), |r| r.to_string());
            let values: Vec<&str> = group.keys.iter().map(|(_, value)| value.as_str()).collect();
            SweepCurve {
                name: format!("#{rank} {}", values.join(" ")),
                points: mean_curve(&members, app.sweep),
                selected: Some(&group.id) == selected.as_ref(),
            }
        })
        .collect()
}

/// The members' mean (x, y) per epoch over those that reached it.
fn mean_curve(members: &[&RunView], state: SweepState) -> Vec<(f64, f64)> {
    let mut by_epoch: BTreeMap<u32, Vec<(f64, f64)>> = BTreeMap::new();
    for member in members {
        let state_of = member.logged();
        let mut seconds = 0.0;
        for row in &state_of.epochs {
            seconds += row.seconds;
            let x = match state.x_axis {
                XAxis::Epochs => f64::from(row.epoch),
                XAxis::Images => match state_of.train_samples {
                    Some(samples) => f64::from(row.epoch) * samples as f64,
                    None => continue,
                },
                XAxis::WallTime => seconds,
            };
            let y = match state.metric {
                Metric::ValAccuracy => row.val_accuracy,
                Metric::ValLoss => row.val_loss,
                Metric::LogValLoss if row.val_loss > 0.0 => row.val_loss.log10(),
                Metric::LogValLoss => continue,
            };
            if x.is_finite() && y.is_finite() {
                by_epoch.entry(row.epoch).or_default().push((x, y));
            }
        }
    }
    by_epoch
        .values()
        .map(|points| {
            let count = points.len() as f64;
            let x = points.iter().map(|p| p.0).sum::<f64>() / count;
            let y = points.iter().map(|p| p.1).sum::<f64>() / count;
            (x, y)
        })
        .collect()
}

/// Steps `current` by `delta` through `all`, wrapping.
fn step<T: PartialEq + Copy>(all: &[T], current: T, delta: isize) -> T {
    let at = all.iter().position(|item| *item == current).unwrap_or(0);
    let len = all.len() as isize;
    all[(at as isize + delta).rem_euclid(len.max(1)) as usize]
}

impl App {
    /// Moves the sweep view's cursor by `delta` rows (clamped), selecting
    /// the configuration's runs; from outside the sweep, to its first row.
    pub fn sweep_move(&mut self, delta: isize) {
        let Some(sheet) = sheet(self) else {
            return;
        };
        let last = sheet.order.len().saturating_sub(1);
        let target = match sheet.cursor {
            Some(row) => row.saturating_add_signed(delta).min(last),
            None => 0,
        };
        if let Some(&index) = sheet.order.get(target) {
            self.select_group_of(&sheet.report.groups[index].id);
        }
    }

    /// Puts the run list's cursor on the group with this id: its header when
    /// it has several runs, else its run.
    fn select_group_of(&mut self, id: &str) {
        let members = self.group_members(id);
        let Some(&first) = members.first() else {
            return;
        };
        if members.len() > 1 {
            self.selected = self.representative(&members).unwrap_or(first);
            self.on_group = Some(id.to_string());
        } else {
            self.selected = first;
            self.on_group = None;
        }
    }

    /// Orders the table by the next (`delta` 1) or previous (-1) column.
    pub fn sweep_sort(&mut self, delta: isize) {
        let keys = sheet(self).map_or(0, |sheet| sheet.report.keys.len());
        let columns = SortBy::columns(keys);
        let current = match self.sweep.sort {
            SortBy::Key(key) if key >= keys => SortBy::Rank,
            other => other,
        };
        self.sweep.sort = step(&columns, current, delta);
        self.sweep.reversed = false;
    }

    pub fn sweep_reverse(&mut self) {
        self.sweep.reversed = !self.sweep.reversed;
    }

    pub fn sweep_next_panel(&mut self) {
        self.sweep.panel = step(&Panel::ALL, self.sweep.panel, 1);
    }

    pub fn sweep_next_heat(&mut self) {
        let pairs = sheet(self).map_or(0, |sheet| heat_pairs(&sheet.report).len());
        self.sweep.heat = if pairs == 0 {
            0
        } else {
            (self.sweep.heat + 1) % pairs
        };
    }

    pub fn sweep_next_metric(&mut self) {
        let all = [Metric::ValAccuracy, Metric::ValLoss, Metric::LogValLoss];
        self.sweep.metric = step(&all, self.sweep.metric, 1);
    }

    pub fn sweep_next_x_axis(&mut self) {
        let all = [XAxis::Epochs, XAxis::Images, XAxis::WallTime];
        self.sweep.x_axis = step(&all, self.sweep.x_axis, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        plan::{self, RunSpec},
        protocol::Event,
    };

    /// Learning rate × batch, two seeds each; accuracy from the rate alone,
    /// but 1e-3 at batch 64, which has no finished run.
    const PLAN: &str = r#"
[defaults]
epochs = 2
device = "cpu"

[[run]]
name = "MLP"
model = { kind = "mlp", hidden = [32] }

[[sweep]]
name = "S"
model = { kind = "mlp", hidden = [32] }
seeds = 2
grid = { learning_rate = [1e-2, 1e-3, 1e-4], batch_size = [32, 64] }
"#;

    fn accuracy(spec: &RunSpec) -> f64 {
        let rate = spec.learning_rate.log10().round();
        0.85 + 0.01 * (rate + 4.0) + 0.001 * spec.seed as f64
    }

    fn app() -> App {
        let plan = plan::parse_plan(PLAN, "s", std::path::Path::new("s.toml")).unwrap();
        let mut app = App::new(Vec::new(), plan.runs);
        for index in 0..app.runs.len() {
            let spec = app.runs[index].spec.clone();
            if spec.learning_rate == 1e-3 && spec.batch_size == 64 {
                continue;
            }
            let run = crate::protocol::RunId::from(format!("r{index}"));
            app.assign_id(index, run.clone());
            app.apply(
                &crate::testing::started(run.clone())
                    .samples(1_000, 200)
                    .event(),
            );
            for epoch in 1..=2 {
                app.apply(&Event::EpochEnd {
                    run: run.clone(),
                    epoch,
                    epochs: 2,
                    train_loss: 0.5,
                    train_accuracy: 0.8,
                    val_loss: 0.5 / f64::from(epoch),
                    val_accuracy: accuracy(&spec) - 0.01 * f64::from(2 - epoch),
                    seconds: 10.0 * f64::from(spec.batch_size) / 32.0,
                });
            }
            app.apply(&Event::Evaluated {
                run,
                test_loss: 0.3,
                test_accuracy: accuracy(&spec),
                confusion: Box::new([[0; 10]; 10]),
            });
        }
        app
    }

    fn labels(sheet: &Sheet) -> Vec<String> {
        sheet
            .order
            .iter()
            .map(|&index| sheet.report.groups[index].label.clone())
            .collect()
    }

    #[test]
    fn the_sweep_is_the_selected_runs_else_the_last_one() {
        let mut app = app();
        // The lone MLP is selected: the only sweep shows, without a cursor.
        app.selected = 0;
        let sheet = sheet(&app).unwrap();
        assert_eq!(sheet.report.sweep, "S");
        assert_eq!(sheet.cursor, None);
        assert_eq!(sheet.sweeps, 1);
        let empty = App::new(Vec::new(), vec![app.runs[0].spec.clone()]);
        assert!(super::sheet(&empty).is_none());
    }

    #[test]
    fn the_cursor_walks_the_table_and_selects_each_configurations_runs() {
        let mut app = app();
        app.selected = 0;
        app.sweep_move(1);
        let sheet = sheet(&app).unwrap();
        assert_eq!(sheet.cursor, Some(0), "from outside, to the first row");
        assert_eq!(sheet.selected().unwrap().rank, Some(1));
        // On a group of two seeds the run list's cursor is its header.
        let id = sheet.selected().unwrap().id.clone();
        assert_eq!(app.on_group.as_deref(), Some(id.as_str()));
        assert_eq!(app.selected_run().unwrap().spec.group().id(), id);
        app.sweep_move(isize::MAX);
        let sheet = super::sheet(&app).unwrap();
        assert_eq!(sheet.cursor, Some(5));
        assert_eq!(
            sheet.selected().unwrap().n,
            0,
            "the configuration without a result is last"
        );
        app.sweep_move(-2);
        assert_eq!(super::sheet(&app).unwrap().cursor, Some(3));
    }

    #[test]
    fn columns_order_the_table_and_i_reads_it_backwards() {
        let mut app = app();
        let by_rank = labels(&sheet(&app).unwrap());
        assert_eq!(
            by_rank,
            [
                "batch=32 lr=0.01",
                "batch=64 lr=0.01",
                "batch=32 lr=1e-3",
                "batch=32 lr=1e-4",
                "batch=64 lr=1e-4",
                "batch=64 lr=1e-3"
            ],
            "best first, the configuration without a result last"
        );
        // → moves from rank (the last column) round to the first key.
        app.sweep_sort(1);
        app.sweep_sort(1);
        assert_eq!(app.sweep.sort, SortBy::Key(1));
        let by_rate = labels(&sheet(&app).unwrap());
        assert_eq!(
            by_rate,
            [
                "batch=32 lr=1e-4",
                "batch=64 lr=1e-4",
                "batch=32 lr=1e-3",
                "batch=64 lr=1e-3",
                "batch=32 lr=0.01",
                "batch=64 lr=0.01"
            ],
            "numbers by value, ties by rank"
        );
        app.sweep_reverse();
        let mut reversed = labels(&sheet(&app).unwrap());
        reversed.reverse();
        assert_eq!(reversed, by_rate);
        // ← from the first key wraps round to rank, and a new column reads forwards.
        app.sweep_sort(-2);
        assert_eq!((app.sweep.sort, app.sweep.reversed), (SortBy::Rank, false));
        app.sweep_sort(-2);
        assert_eq!(app.sweep.sort, SortBy::Sd);
    }

    #[test]
    fn the_heat_table_pools_each_cell_and_marks_an_empty_one() {
        let app = app();
        let sheet = sheet(&app).unwrap();
        let table = heat(&sheet.report, 0).unwrap();
        assert_eq!(
            (table.rows_key.as_str(), table.columns_key.as_str()),
            ("batch", "lr")
        );
        assert_eq!(table.rows, ["32", "64"]);
        assert_eq!(table.columns, ["1e-4", "1e-3", "0.01"]);
        let cell = &table.cells[1][2];
        assert_eq!(cell.n, 2);
        assert!((cell.mean.unwrap() - (0.87 + 0.0015)).abs() < 1e-12);
        assert_eq!(table.cells[1][1].n, 0);
        assert_eq!(table.cells[1][1].mean, None);
        assert_eq!(
            heat(&sheet.report, 1),
            Some(table),
            "one pair: the choice wraps"
        );
    }

    #[test]
    fn curves_show_the_selected_configuration_and_the_best_few_on_any_axis() {
        let mut app = app();
        app.sweep_move(1);
        app.sweep_move(isize::MAX);
        app.sweep_move(-1);
        let sheet = sheet(&app).unwrap();
        let found = curves(&app, &sheet);
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["#5 64 1e-4", "#1 32 0.01", "#2 64 0.01", "#3 32 1e-3"]
        );
        assert!(found[0].selected && !found[1].selected);
        assert_eq!(found[0].points.len(), 2);
        assert!((found[1].points[1].1 - 0.8715).abs() < 1e-12, "{found:?}");
        app.sweep_next_x_axis();
        app.sweep_next_metric();
        let images = curves(&app, &sheet);
        assert_eq!(
            images[0].points[0],
            (1_000.0, 0.5),
            "epoch × training images, loss"
        );
        app.sweep_next_x_axis();
        app.sweep_next_metric();
        let time = curves(&app, &sheet);
        // Batch 64's epochs take 20 s: the x-axis sums them.
        assert_eq!(time[0].points[1].0, 40.0);
        assert!((time[0].points[1].1 - 0.25f64.log10()).abs() < 1e-12);
    }

    #[test]
    fn the_sweep_views_keys_drive_it_and_other_views_keep_theirs() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let press = |app: &mut App, code: KeyCode| {
            crate::tui::input::handle_key(app, KeyEvent::new(code, KeyModifiers::NONE));
        };
        let mut app = app();
        press(&mut app, KeyCode::Char('6'));
        assert_eq!(app.view, crate::tui::View::Sweep);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(sheet(&app).unwrap().cursor, Some(0));
        press(&mut app, KeyCode::Down);
        assert_eq!(sheet(&app).unwrap().cursor, Some(1));
        press(&mut app, KeyCode::Char('l'));
        assert_eq!(app.sweep.sort, SortBy::Key(0));
        press(&mut app, KeyCode::Char('i'));
        assert!(app.sweep.reversed);
        for key in ['v', 'H', 'y', 't'] {
            press(&mut app, KeyCode::Char(key));
        }
        assert_eq!(
            (app.sweep.panel, app.sweep.metric, app.sweep.x_axis),
            (Panel::Heat, Metric::ValLoss, XAxis::Images)
        );
        // In the monitor, j selects the next run again and l is nothing.
        press(&mut app, KeyCode::Char('1'));
        let before = app.sweep;
        press(&mut app, KeyCode::Char('l'));
        assert_eq!(app.sweep, before);
    }
}
