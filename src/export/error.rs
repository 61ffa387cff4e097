//! What can go wrong writing a screenshot or a figure.

use std::path::PathBuf;

/// A failed export, naming the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{action} {path}: {error}")]
    Io {
        path: PathBuf,
        action: &'static str,
        error: std::io::Error,
    },
    #[error("{path}: expected an extension among .txt, .ansi, .html, .svg or .png")]
    UnknownFormat { path: PathBuf },
    #[error("cannot encode the PNG: {0}")]
    Png(String),
    /// A model that cannot be exported, with the run or file and why.
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Output(#[from] crate::edge::output::OutputError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Boxed: a report error can hold an export error.
    #[error(transparent)]
    Report(#[from] Box<crate::report::ReportError>),
}
