//! The app's full-screen views.

/// The full-screen views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Run list, live curves and (on wide screens) the confusion matrix.
    #[default]
    Monitor,
    /// The selected run's confusion matrix, full size.
    Confusion,
    /// Test results of every finished run side by side.
    Compare,
    /// The run list alone, using the whole screen.
    Runs,
    /// Test images of a confusion cell, or where two runs disagree.
    Gallery,
    /// Two finished runs' confusion matrices, the second minus the first.
    Diff,
    /// A whole sweep: its configurations ranked, each setting's effect,
    /// a heat table of two settings and the best configurations' curves.
    Sweep,
}

impl View {
    /// Every view (the number keys show all but the gallery, which opens
    /// from a confusion cell).
    pub const ALL: [View; 7] = [
        View::Monitor,
        View::Confusion,
        View::Compare,
        View::Runs,
        View::Gallery,
        View::Diff,
        View::Sweep,
    ];

    /// The views Tab goes through, in turn: those of the number keys 1 to 6.
    pub const TAB_ORDER: [View; 6] = [
        View::Monitor,
        View::Confusion,
        View::Compare,
        View::Runs,
        View::Diff,
        View::Sweep,
    ];

    /// The view after this one in [`View::TAB_ORDER`], the first after the
    /// last; the gallery (not in it) goes back to the first.
    pub fn next(self) -> View {
        let at = Self::TAB_ORDER.iter().position(|&view| view == self);
        at.map_or(Self::TAB_ORDER[0], |at| {
            Self::TAB_ORDER[(at + 1) % Self::TAB_ORDER.len()]
        })
    }

    /// The view's name, as the status bar and screenshot files show it.
    pub fn name(self) -> &'static str {
        match self {
            View::Monitor => "monitor",
            View::Confusion => "confusion",
            View::Compare => "compare",
            View::Runs => "runs",
            View::Gallery => "gallery",
            View::Diff => "diff",
            View::Sweep => "sweep",
        }
    }
}
