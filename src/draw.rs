//! Pictures in memory, below everything that writes one: an RGB canvas and
//! its PNG encoding, the embedded fonts, terminal colours as RGB, glyphs
//! drawn from geometry, and the per-run figures (a confusion matrix, a
//! training history) that both the report and the `TensorBoard` export show.

mod canvas;
pub mod figures;
pub mod fonts;
pub mod glyphs;
mod palette;

pub use canvas::{encode_png, Canvas};
pub use palette::{Rgb, Theme};

/// A picture that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    /// plotters refused a figure, with its name and why.
    #[error("cannot draw {figure}: {problem}")]
    Figure { figure: String, problem: PlotError },
    /// A figure of test results asked of a run (named) that has none.
    #[error("cannot draw the confusion matrix of {0}: the run has no test results")]
    NoTestResults(String),
    /// The PNG encoder failed.
    #[error("cannot encode the PNG: {0}")]
    Png(#[from] ::png::EncodingError),
}

/// What plotters said when it refused to draw. Its error type is generic
/// over the drawing backend; the text is what all of them share.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(String);

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>>
    for PlotError
{
    fn from(error: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        Self(error.to_string())
    }
}
