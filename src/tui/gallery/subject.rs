//! What the gallery shows: a confusion cell of one run, or the images where
//! two runs disagree, and the arithmetic that picks those images.

use std::sync::Arc;

use crate::{protocol::RunId, store::Predictions, tui::view::View};

/// Something read from disk for the gallery or the diff, or why it could not be.
pub type Loaded<T> = Result<Arc<T>, String>;

/// Which test images the gallery shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Images of class `truth` that `run` predicted as `predicted`.
    Cell {
        run: RunId,
        truth: usize,
        predicted: usize,
    },
    /// Images of class `truth` that one of runs `a` and `b` gets right and
    /// the other predicts as `predicted` (as anything wrong, on the diagonal).
    Disagreement {
        a: RunId,
        b: RunId,
        truth: usize,
        predicted: usize,
    },
    /// Images of any class that one of runs `a` and `b` (B when `b_right`)
    /// gets right and the other wrong.
    OneRight { a: RunId, b: RunId, b_right: bool },
}

/// The open gallery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gallery {
    pub subject: Subject,
    /// Position in the image list of the first image shown.
    pub first: usize,
    /// The view Esc returns to.
    pub back: View,
}

impl Subject {
    /// The runs whose predictions the subject needs.
    pub fn runs(&self) -> Vec<&RunId> {
        match self {
            Subject::Cell { run, .. } => vec![run],
            Subject::Disagreement { a, b, .. } | Subject::OneRight { a, b, .. } => vec![a, b],
        }
    }
}

/// Test indices that `right` gets right and `wrong` does not.
pub fn only_right(right: &Predictions, wrong: &Predictions) -> Vec<usize> {
    (0..right.len().min(wrong.len()))
        .filter(|&index| right.correct(index) && !wrong.correct(index))
        .collect()
}

/// Test indices of class `truth` that exactly one of `a` and `b` gets right,
/// where the wrong one predicts `predicted` (anything, when it is `truth`).
pub fn disagreements(
    a: &Predictions,
    b: &Predictions,
    truth: usize,
    predicted: usize,
) -> Vec<usize> {
    let wrong_as = |p: &Predictions, index: usize| {
        !p.correct(index) && (predicted == truth || p.predicted(index) == predicted)
    };
    (0..a.len().min(b.len()))
        .filter(|&index| a.label(index) == truth)
        .filter(|&index| {
            (a.correct(index) && wrong_as(b, index)) || (b.correct(index) && wrong_as(a, index))
        })
        .collect()
}
