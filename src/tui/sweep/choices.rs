//! What the user chose in the sweep view: the table's order, the lower
//! panel, the heat table's pair and the curves' axes. Plain values the app
//! state holds; [`super`] reads the sweep with them.

/// The column the configuration table is ordered by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortBy {
    /// The swept key at this position, in its values' order.
    Key(usize),
    /// Finished seeds, most first.
    N,
    /// Mean test accuracy, best first.
    Mean,
    /// Standard deviation, steadiest first.
    Sd,
    /// The 95% interval's lower end, surest first.
    Ci,
    /// Rank (best first); the order a sweep is read in.
    #[default]
    Rank,
}

impl SortBy {
    /// Every sortable column of a sweep with `keys` swept keys, left to right.
    pub fn columns(keys: usize) -> Vec<SortBy> {
        (0..keys)
            .map(SortBy::Key)
            .chain([
                SortBy::N,
                SortBy::Mean,
                SortBy::Sd,
                SortBy::Ci,
                SortBy::Rank,
            ])
            .collect()
    }
}

/// The lower panel shown where only one of them fits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Panel {
    #[default]
    Effects,
    Heat,
    Curves,
}

impl Panel {
    pub const ALL: [Panel; 3] = [Panel::Effects, Panel::Heat, Panel::Curves];

    pub fn name(self) -> &'static str {
        match self {
            Panel::Effects => "effects",
            Panel::Heat => "heat table",
            Panel::Curves => "curves",
        }
    }
}

/// What the curves plot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Metric {
    #[default]
    ValAccuracy,
    ValLoss,
    /// Validation loss on a log scale: late epochs' small gains stay visible.
    LogValLoss,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::ValAccuracy => "validation accuracy",
            Metric::ValLoss => "validation loss",
            Metric::LogValLoss => "validation loss (log)",
        }
    }
}

/// What the curves' x-axis counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XAxis {
    #[default]
    Epochs,
    /// Training images seen: runs of different batch sizes or subsets line up.
    Images,
    /// Training seconds: what a setting costs.
    WallTime,
}

impl XAxis {
    /// After a metric's name: `validation loss per epoch`.
    pub fn phrase(self) -> &'static str {
        match self {
            XAxis::Epochs => "per epoch",
            XAxis::Images => "by images seen",
            XAxis::WallTime => "by training time",
        }
    }
}

/// The sweep view's choices; its cursor is [`App::selected`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepState {
    pub sort: SortBy,
    /// The order read backwards.
    pub reversed: bool,
    pub panel: Panel,
    /// Which pair of keys the heat table shows, an index into [`heat_pairs`].
    pub heat: usize,
    pub metric: Metric,
    pub x_axis: XAxis,
}
