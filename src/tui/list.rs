//! The run list's rows and its cursor. Runs that differ only in their seed
//! (a group, [`crate::plan::Group`]) fold into one header row, drawn where
//! the group's first run is; expanded, the header lists every member under
//! it, wherever the members are in [`App::runs`]. A run alone in its group
//! is a plain row, as before groups.
//!
//! The cursor is [`App::selected`], an index into the runs, and on a header
//! also [`App::on_group`]. Movement and drawing both read
//! [`App::list_rows`], so they agree on what is visible; [`App::cursor`]
//! says where the cursor is when the selected run is hidden in a collapsed
//! group (on its header).

pub mod row;
mod summary;

use std::collections::HashMap;

pub use row::{Cursor, ListRow};
pub use summary::{group_status, GroupSummary};

use super::{run_view::UiStatus, state::App};

/// Each key's runs, in order.
fn members_by_key(keys: &[String]) -> HashMap<&str, Vec<usize>> {
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, key) in keys.iter().enumerate() {
        members.entry(key).or_default().push(index);
    }
    members
}

impl App {
    /// Each run's group key, in the runs' order.
    fn group_keys(&self) -> Vec<String> {
        self.runs
            .iter()
            .map(|view| view.spec.group().id())
            .collect()
    }

    /// The rows the run list shows, top to bottom.
    pub fn list_rows(&self) -> Vec<ListRow> {
        let keys = self.group_keys();
        let members = members_by_key(&keys);
        let mut rows = Vec::with_capacity(self.runs.len());
        for (index, key) in keys.iter().enumerate() {
            let group = &members[key.as_str()];
            if group.len() < 2 {
                rows.push(ListRow::Run {
                    index,
                    member: false,
                });
            } else if group[0] == index {
                let expanded = self.expanded.contains(key);
                rows.push(ListRow::Group {
                    key: key.clone(),
                    name: self.runs[index].spec.group().name,
                    members: group.clone(),
                    expanded,
                });
                if expanded {
                    rows.extend(group.iter().map(|&index| ListRow::Run {
                        index,
                        member: true,
                    }));
                }
            }
        }
        rows
    }

    /// The runs of the group with this key, in order.
    pub fn group_members(&self, key: &str) -> Vec<usize> {
        self.runs
            .iter()
            .enumerate()
            .filter(|(_, view)| view.spec.group().id() == key)
            .map(|(index, _)| index)
            .collect()
    }

    /// Where the cursor is: a header when [`App::on_group`] names a group
    /// of two or more runs, or when the selected run is hidden in a
    /// collapsed group; else the selected run. None without runs.
    pub fn cursor(&self) -> Option<Cursor> {
        let last = self.runs.len().checked_sub(1)?;
        if let Some(key) = &self.on_group {
            if self.group_members(key).len() > 1 {
                return Some(Cursor::Group(key.clone()));
            }
        }
        let selected = self.selected.min(last);
        let key = self.runs[selected].spec.group().id();
        if !self.expanded.contains(&key) && self.group_members(&key).len() > 1 {
            return Some(Cursor::Group(key));
        }
        Some(Cursor::Run(selected))
    }

    /// The position of the cursor's row in `rows` (from [`App::list_rows`]).
    pub fn cursor_row(&self, rows: &[ListRow]) -> Option<usize> {
        let cursor = self.cursor()?;
        rows.iter().position(|row| match (row, &cursor) {
            (ListRow::Group { key, .. }, Cursor::Group(on)) => key == on,
            (ListRow::Run { index, .. }, Cursor::Run(on)) => index == on,
            _ => false,
        })
    }

    /// The group under the cursor, when it is on a header: its name and runs.
    pub fn cursor_group(&self) -> Option<(String, Vec<usize>)> {
        let Some(Cursor::Group(key)) = self.cursor() else {
            return None;
        };
        let members = self.group_members(&key);
        let name = self.runs[members[0]].spec.group().name;
        Some((name, members))
    }

    /// Moves the cursor by `delta` visible rows, clamped to the list.
    pub fn move_selection(&mut self, delta: isize) {
        let rows = self.list_rows();
        let Some(current) = self.cursor_row(&rows) else {
            return;
        };
        let target = current.saturating_add_signed(delta).min(rows.len() - 1);
        self.put_cursor(&rows[target]);
    }

    fn put_cursor(&mut self, row: &ListRow) {
        match row {
            ListRow::Group { key, members, .. } => {
                self.selected = self.representative(members).unwrap_or(members[0]);
                self.on_group = Some(key.clone());
            }
            ListRow::Run { index, .. } => {
                self.selected = *index;
                self.on_group = None;
            }
        }
    }

    /// Puts the cursor on this run, expanding its group to show it.
    pub fn select_run(&mut self, index: usize) {
        let Some(view) = self.runs.get(index) else {
            return;
        };
        let key = view.spec.group().id();
        if self.group_members(&key).len() > 1 {
            self.expanded.insert(key);
        }
        self.selected = index;
        self.on_group = None;
    }

    /// The run a group's header stands for in the panes that show one run:
    /// the member training, else the latest finished, else the first.
    pub fn representative(&self, members: &[usize]) -> Option<usize> {
        let status = |index: &&usize| self.runs.get(**index).map(|view| view.status);
        members
            .iter()
            .find(|index| {
                matches!(
                    status(index),
                    Some(UiStatus::Running | UiStatus::Paused | UiStatus::Stalled)
                )
            })
            .or_else(|| {
                members
                    .iter()
                    .rev()
                    .find(|index| status(index) == Some(UiStatus::Done))
            })
            .or(members.first())
            .copied()
    }

    /// Expands or collapses the group under the cursor: on a header, that
    /// group (the cursor stays on it); on a member's row, the member's
    /// group, the cursor going up to its header.
    pub fn toggle_group(&mut self) {
        match self.cursor() {
            Some(Cursor::Group(key)) => {
                if !self.expanded.remove(&key) {
                    self.expanded.insert(key.clone());
                }
                self.on_group = Some(key);
            }
            Some(Cursor::Run(index)) => {
                let key = self.runs[index].spec.group().id();
                if self.group_members(&key).len() > 1 {
                    self.expanded.remove(&key);
                    self.on_group = Some(key);
                } else {
                    self.message = Some(
                        "no group here: a group is runs that differ only in their seed".into(),
                    );
                }
            }
            None => {}
        }
    }

    /// After a run's row is gone: a header whose group is down to one run
    /// gives the cursor to that run, a header keeps a run of its group
    /// selected, and groups that are no more are forgotten (one that forms
    /// again starts collapsed).
    pub(super) fn forget_dissolved_groups(&mut self) {
        let keys = self.group_keys();
        let members = members_by_key(&keys);
        let grouped = |key: &str| members.get(key).is_some_and(|runs| runs.len() > 1);
        if let Some(key) = self.on_group.take() {
            let group = members.get(key.as_str()).map_or(&[][..], Vec::as_slice);
            match group {
                [index] => self.selected = *index,
                [] => {}
                _ => {
                    // The header's run may be the one that went.
                    if !group.contains(&self.selected) {
                        self.selected = self.representative(group).unwrap_or(group[0]);
                    }
                    self.on_group = Some(key);
                }
            }
        }
        self.expanded.retain(|key| grouped(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        plan::RunSpec,
        protocol::{Event, RunId},
        tui::test_support::spec,
    };

    /// A seed of `group`: the group's settings, its own seed and name.
    fn seed(group: &str, seed: u64) -> RunSpec {
        RunSpec {
            seed,
            name: format!("{group} seed={seed}"),
            ..spec(group)
        }
    }

    /// Runs A seed=1, B, A seed=2, C, A seed=3: group A is not contiguous.
    fn app() -> App {
        App::new(
            Vec::new(),
            vec![
                seed("A", 1),
                spec("B"),
                seed("A", 2),
                spec("C"),
                seed("A", 3),
            ],
        )
    }

    fn key(app: &App, index: usize) -> String {
        app.runs[index].spec.group().id()
    }

    fn run(index: usize, member: bool) -> ListRow {
        ListRow::Run { index, member }
    }

    fn header(app: &App, expanded: bool) -> ListRow {
        ListRow::Group {
            key: key(app, 0),
            name: "A".into(),
            members: vec![0, 2, 4],
            expanded,
        }
    }

    fn finish(app: &mut App, index: usize, accuracy: f64) {
        let id = RunId::from(format!("run-{index}"));
        app.assign_id(index, id.clone());
        app.apply(&Event::Evaluated {
            run: id.clone(),
            test_loss: 0.3,
            test_accuracy: accuracy,
            confusion: Box::new([[1; 10]; 10]),
        });
        app.apply(&Event::Finished {
            run: id,
            seconds: 1.0,
            best_val_accuracy: accuracy,
            best_epoch: 1,
        });
    }

    #[test]
    fn a_group_is_one_row_where_its_first_run_is_and_lists_every_member_expanded() {
        let mut app = app();
        assert_eq!(
            app.list_rows(),
            [header(&app, false), run(1, false), run(3, false)],
            "groups start collapsed"
        );
        app.expanded.insert(key(&app, 0));
        assert_eq!(
            app.list_rows(),
            [
                header(&app, true),
                run(0, true),
                run(2, true),
                run(4, true),
                run(1, false),
                run(3, false)
            ]
        );
        // A run alone in its group is a plain row, expanded or not.
        let mut single = App::new(Vec::new(), vec![seed("A", 1), spec("B")]);
        single.expanded.insert(key(&single, 0));
        assert_eq!(single.list_rows(), [run(0, false), run(1, false)]);
    }

    #[test]
    fn the_cursor_moves_over_the_visible_rows_headers_included() {
        let mut app = app();
        let a = key(&app, 0);
        // The first run is hidden in its collapsed group: the cursor is on the header.
        assert_eq!(app.cursor(), Some(Cursor::Group(a.clone())));
        app.move_selection(1);
        assert_eq!(
            (app.cursor(), app.on_group.as_ref()),
            (Some(Cursor::Run(1)), None)
        );
        app.move_selection(1);
        app.move_selection(1);
        assert_eq!(
            app.cursor(),
            Some(Cursor::Run(3)),
            "clamped at the last row"
        );
        app.move_selection(-1);
        app.move_selection(-1);
        assert_eq!(app.cursor(), Some(Cursor::Group(a.clone())));
        assert_eq!(app.cursor_row(&app.list_rows()), Some(0));
        // Expanded, the members come between the header and B.
        app.toggle_group();
        assert_eq!(
            app.cursor(),
            Some(Cursor::Group(a.clone())),
            "still on the header"
        );
        let mut seen = Vec::new();
        for _ in 0..5 {
            app.move_selection(1);
            seen.push(app.cursor());
        }
        let runs = [0, 2, 4, 1, 3].map(|index| Some(Cursor::Run(index)));
        assert_eq!(seen, runs);
        app.move_selection(isize::MIN);
        assert_eq!(app.cursor(), Some(Cursor::Group(a.clone())));
        // On a member, the toggle collapses its group and goes up to the header.
        app.move_selection(2);
        assert_eq!(app.selected_run().unwrap().spec.name, "A seed=2");
        app.toggle_group();
        assert_eq!(app.cursor(), Some(Cursor::Group(a.clone())));
        assert!(app.expanded.is_empty());
        assert_eq!(app.list_rows().len(), 3);
        // On a lone run it only explains.
        app.move_selection(1);
        app.toggle_group();
        assert_eq!(app.cursor(), Some(Cursor::Run(1)));
        assert!(app.message.as_deref().unwrap().starts_with("no group here"));
        // Without runs there is nowhere to go.
        let mut empty = App::default();
        empty.move_selection(1);
        empty.toggle_group();
        assert_eq!((empty.cursor(), empty.selected_run()), (None, None));
    }

    #[test]
    fn a_header_stands_for_its_training_run_else_its_latest_finished_else_its_first() {
        let mut app = app();
        let name = |app: &App| app.selected_run().unwrap().spec.name.clone();
        assert_eq!(name(&app), "A seed=1");
        finish(&mut app, 0, 0.89);
        finish(&mut app, 2, 0.90);
        assert_eq!(name(&app), "A seed=2", "the latest finished");
        app.assign_id(4, "run-4".into());
        app.apply(
            &crate::testing::started("run-4")
                .params(1)
                .samples(320, 80)
                .epochs(15)
                .event(),
        );
        assert_eq!(name(&app), "A seed=3", "the one training");
        assert_eq!(app.cursor_group(), Some(("A".to_string(), vec![0, 2, 4])));
        // What the header shows of them.
        let summary = GroupSummary::of([0, 2, 4].map(|index| &app.runs[index]));
        assert_eq!(
            (summary.runs, summary.done, summary.status),
            (3, 2, UiStatus::Running)
        );
        assert_eq!(summary.accuracy_text(), "89.50±0.71%");
    }

    #[test]
    fn a_run_that_joins_the_selected_runs_group_folds_it_under_a_header() {
        let mut app = app();
        app.move_selection(1);
        assert_eq!(app.cursor(), Some(Cursor::Run(1)));
        // B again, queued from elsewhere: B is now a group of two, collapsed.
        app.apply(&Event::Queued {
            run: "again".into(),
            spec: Box::new(spec("B")),
        });
        let b = key(&app, 1);
        assert_eq!(app.cursor(), Some(Cursor::Group(b.clone())));
        assert_eq!(app.selected, 1, "the selection is the same run");
        // A run picked by index (a re-run, a screenshot's --run) opens its group.
        app.select_run(5);
        assert_eq!(app.cursor(), Some(Cursor::Run(5)));
        assert!(app.expanded.contains(&b));
    }

    #[test]
    fn a_group_down_to_one_run_leaves_that_run_under_the_cursor() {
        let mut app = App::new(Vec::new(), vec![spec("C"), seed("A", 1), seed("A", 2)]);
        for index in 1..3 {
            app.assign_id(index, format!("a{index}").into());
        }
        let a = key(&app, 1);
        app.expanded.insert(a.clone());
        app.move_selection(1);
        assert_eq!(
            (app.cursor(), app.selected),
            (Some(Cursor::Group(a.clone())), 1)
        );
        app.remove(&"a1".into());
        assert_eq!(app.cursor(), Some(Cursor::Run(1)), "on a2, now alone");
        assert_eq!(app.runs[1].id.as_deref(), Some("a2"));
        assert_eq!((app.on_group.as_ref(), app.expanded.len()), (None, 0));
    }
}
