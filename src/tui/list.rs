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
//!
//! A filter ([`App::filter`]) lists only the runs it matches, and a group
//! when any of its runs does (expanded, with those runs); the list's order
//! ([`App::order`]) sorts lone runs and groups alike, a group's runs among
//! themselves.

pub mod filter;
pub mod order;
mod prompt;
pub mod row;
mod summary;

use std::collections::HashMap;

pub use filter::Filter;
pub use order::Order;
pub use row::{Cursor, ListRow};
pub use summary::{group_status, GroupSummary};

use super::{
    run_view::{RunView, UiStatus},
    state::App,
};
use crate::plan::settings::{group_labels, GroupLabel};
use order::Rank;

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

    /// The rows the run list shows, top to bottom: each group (where its
    /// first run is) or lone run that the filter lets through, in the
    /// list's order.
    pub fn list_rows(&self) -> Vec<ListRow> {
        let keys = self.group_keys();
        let members = members_by_key(&keys);
        let shown = self.shown();
        let mut entries: Vec<&[usize]> = keys
            .iter()
            .enumerate()
            .map(|(index, key)| (index, members[key.as_str()].as_slice()))
            .filter(|(index, group)| group[0] == *index && group.iter().any(|&i| shown[i]))
            .map(|(_, group)| group)
            .collect();
        let labels = (self.order == Order::Name)
            .then(|| group_labels(self.runs.iter().map(|view| &view.spec)));
        self.order
            .sort(&mut entries, |group| self.rank(group, labels.as_ref()));
        let mut rows = Vec::with_capacity(self.runs.len());
        for group in entries {
            let first = group[0];
            if group.len() < 2 {
                rows.push(ListRow::Run {
                    index: first,
                    member: false,
                });
                continue;
            }
            let key = &keys[first];
            let expanded = self.expanded.contains(key);
            rows.push(ListRow::Group {
                key: key.clone(),
                name: self.runs[first].spec.group().name,
                members: group.to_vec(),
                expanded,
            });
            if expanded {
                let mut listed: Vec<usize> = group.iter().copied().filter(|&i| shown[i]).collect();
                self.order
                    .sort(&mut listed, |&index| self.rank(&[index], None));
                rows.extend(listed.into_iter().map(|index| ListRow::Run {
                    index,
                    member: true,
                }));
            }
        }
        rows
    }

    /// What a lone run or a group's runs sort by; a group is named as its
    /// header names it (`labels`, by group id), a run by its title.
    fn rank(&self, members: &[usize], labels: Option<&HashMap<String, GroupLabel>>) -> Rank {
        let runs: Vec<&RunView> = members.iter().map(|&index| &self.runs[index]).collect();
        let name = || {
            let spec = &runs[0].spec;
            if members.len() < 2 {
                return spec.title();
            }
            let group = spec.group();
            labels
                .and_then(|labels| labels.get(&group.id()))
                .map_or(group.name, |label| label.fit(usize::MAX))
        };
        self.order.rank(&runs, name)
    }

    /// Which runs the filter lets through, by index: all without one.
    pub fn shown(&self) -> Vec<bool> {
        if !self.filter.is_on() {
            return vec![true; self.runs.len()];
        }
        let matcher = self.filter.matcher(&self.runs);
        self.runs.iter().map(|view| matcher.matches(view)).collect()
    }

    /// How many runs the filter lets through.
    pub fn shown_count(&self) -> usize {
        self.shown().into_iter().filter(|&shown| shown).count()
    }

    /// `members` that the filter lets through (all without one).
    fn shown_among(&self, members: &[usize]) -> Vec<usize> {
        if !self.filter.is_on() {
            return members.to_vec();
        }
        let matcher = self.filter.matcher(&self.runs);
        members
            .iter()
            .copied()
            .filter(|&index| {
                self.runs
                    .get(index)
                    .is_some_and(|view| matcher.matches(view))
            })
            .collect()
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
    /// collapsed group; else the selected run. None without runs, or when
    /// the filter hides that row (so that no key acts on a run not shown;
    /// [`App::keep_cursor_listed`] moves it to one that is).
    pub fn cursor(&self) -> Option<Cursor> {
        let cursor = self.unfiltered_cursor()?;
        let listed = match &cursor {
            Cursor::Run(index) => !self.shown_among(&[*index]).is_empty(),
            Cursor::Group(key) => !self.shown_among(&self.group_members(key)).is_empty(),
        };
        listed.then_some(cursor)
    }

    /// Where the cursor is, the filter aside.
    fn unfiltered_cursor(&self) -> Option<Cursor> {
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
        let Some(last) = rows.len().checked_sub(1) else {
            return;
        };
        let target = self
            .cursor_row(&rows)
            .map_or(0, |current| current.saturating_add_signed(delta).min(last));
        self.put_cursor(&rows[target]);
    }

    /// Puts the cursor back on a listed row when the filter hides its own:
    /// on the header of its run's group when that is listed, else on the
    /// first row. Where nothing is listed it stays (nothing is selected).
    pub fn keep_cursor_listed(&mut self) {
        if !self.filter.is_on() || self.runs.is_empty() || self.cursor().is_some() {
            return;
        }
        let rows = self.list_rows();
        let own = self
            .runs
            .get(self.selected)
            .map(|view| view.spec.group().id());
        let header = rows
            .iter()
            .find(|row| matches!(row, ListRow::Group { key, .. } if Some(key) == own.as_ref()));
        if let Some(row) = header.or(rows.first()).cloned() {
            self.put_cursor(&row);
        }
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
    /// the member training, else the latest finished, else the first; of
    /// the members the filter lets through, when it lets any through.
    pub fn representative(&self, members: &[usize]) -> Option<usize> {
        let shown = self.shown_among(members);
        let members = if shown.is_empty() { members } else { &shown };
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

    fn filter(app: &mut App, text: &str) {
        app.filter = Filter::parse(text);
        app.keep_cursor_listed();
    }

    #[test]
    fn a_filter_lists_a_group_when_any_of_its_runs_match_and_only_those_expanded() {
        let mut app = app();
        finish(&mut app, 2, 0.9);
        filter(&mut app, "status:done");
        let a = key(&app, 0);
        assert_eq!(
            app.list_rows(),
            [header(&app, false)],
            "B and C are planned"
        );
        assert_eq!(app.shown_count(), 1);
        // The header stands for the run that matches.
        assert_eq!(app.cursor(), Some(Cursor::Group(a.clone())));
        assert_eq!(app.selected_run().unwrap().spec.name, "A seed=2");
        app.toggle_group();
        assert_eq!(app.list_rows(), [header(&app, true), run(2, true)]);
        app.move_selection(1);
        assert_eq!(app.cursor(), Some(Cursor::Run(2)));
        // Text looks at names and labels, in any case.
        filter(&mut app, "b");
        assert_eq!(app.list_rows(), [run(1, false)]);
        assert_eq!(app.cursor(), Some(Cursor::Run(1)), "moved to a listed row");
        app.filter = Filter::default();
        assert_eq!(app.list_rows().len(), 6, "every run again, A expanded");
    }

    #[test]
    fn an_event_that_hides_the_cursors_run_moves_the_cursor_to_a_listed_row() {
        let mut app = App::new(Vec::new(), vec![spec("B"), spec("C"), spec("D")]);
        for index in 0..3 {
            app.assign_id(index, format!("run-{index}").into());
        }
        app.move_selection(1);
        filter(&mut app, "status:queued");
        assert_eq!(app.cursor(), Some(Cursor::Run(1)));
        finish(&mut app, 1, 0.9);
        assert_eq!(app.cursor(), Some(Cursor::Run(0)), "C is done: not listed");
        finish(&mut app, 0, 0.9);
        finish(&mut app, 2, 0.9);
        assert_eq!((app.list_rows().len(), app.cursor()), (0, None));
        assert_eq!(app.selected_run(), None, "no key acts on a run not listed");
    }

    #[test]
    fn groups_sort_by_their_mean_and_their_runs_among_themselves() {
        let mut app = app();
        finish(&mut app, 0, 0.80);
        finish(&mut app, 2, 0.90);
        finish(&mut app, 1, 0.86);
        finish(&mut app, 3, 0.84);
        app.expanded.insert(key(&app, 0));
        app.order = Order::Accuracy;
        // B 86%, A's mean 85% (seed=3 has none), C 84%; A's best seed first.
        assert_eq!(
            app.list_rows(),
            [
                run(1, false),
                header(&app, true),
                run(2, true),
                run(0, true),
                run(4, true),
                run(3, false)
            ]
        );
        app.order = Order::Name;
        let names: Vec<usize> = app
            .list_rows()
            .iter()
            .filter_map(|row| match row {
                ListRow::Run { index, .. } => Some(*index),
                ListRow::Group { .. } => None,
            })
            .collect();
        assert_eq!(names, [0, 2, 4, 1, 3], "A's seeds, then B and C");
        app.order = Order::Status;
        assert_eq!(
            app.list_rows()[0],
            header(&app, true),
            "A has a planned run"
        );
    }
}
