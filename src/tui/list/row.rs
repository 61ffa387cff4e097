//! The run list's rows and where its cursor is, as plain data (the list's
//! logic is in [`super`]).

/// One row of the run list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListRow {
    /// A group's header. `members` index [`App::runs`], in their order.
    Group {
        key: String,
        name: String,
        members: Vec<usize>,
        expanded: bool,
    },
    /// A run; `member` when it is listed under its group's header.
    Run { index: usize, member: bool },
}

/// Where the run list's cursor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// On this run's row.
    Run(usize),
    /// On the header of the group with this key.
    Group(String),
}
