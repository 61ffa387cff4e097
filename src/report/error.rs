//! What can go wrong writing a report.

use std::path::PathBuf;

use crate::store::StoreError;

/// What went wrong writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Draw(#[from] crate::draw::DrawError),
    #[error(transparent)]
    Output(#[from] crate::edge::output::OutputError),
    #[error("cannot write {table}: {problem}")]
    Table { table: String, problem: String },
    #[error("{path}: {what}: {error}")]
    Io {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
    #[error("no finished runs to report{0}; train some first (`atelier train --only M1`)")]
    NothingToReport(String),
}
