//! The data layer's errors: each names the file (or place) and the problem.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while finding, reading or fetching the dataset.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("{path}: cannot read: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: not a valid gzip stream: {error}")]
    Gzip {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Format { path: PathBuf, problem: String },
    #[error("{path}: line {line}: {problem}")]
    Csv {
        path: PathBuf,
        line: u64,
        problem: String,
    },
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        images: PathBuf,
        labels: PathBuf,
        image_count: usize,
        label_count: usize,
    },
    #[error("{}", not_found_message(.tried))]
    NotFound { tried: Vec<(PathBuf, String)> },
    #[error("{what}: expected MD5 {expected}, found {found}")]
    Checksum {
        what: String,
        expected: String,
        found: String,
    },
    #[error("{url}: download failed: {reason}")]
    Download { url: String, reason: String },
    #[error("{step}: {reason}")]
    Debian { step: String, reason: String },
    #[error("{}", no_source_message(.attempts))]
    NoSource {
        /// Each source tried, with why it failed.
        attempts: Vec<(String, String)>,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

fn not_found_message(tried: &[(PathBuf, String)]) -> String {
    let mut message = String::from("Fashion-MNIST not found. Places tried, in order:\n");
    for (place, why) in tried {
        message.push_str(&format!("  - {}: {why}\n", place.display()));
    }
    message.push_str(WAYS_TO_GET_IT);
    message
}

fn no_source_message(attempts: &[(String, String)]) -> String {
    let mut message = String::from("could not get Fashion-MNIST. Sources tried, in order:\n");
    for (source, why) in attempts {
        message.push_str(&format!("  - {source}: {why}\n"));
    }
    message.push_str(WAYS_TO_GET_IT);
    message
}

/// Every way to get the data, for the errors that end without it.
const WAYS_TO_GET_IT: &str = "Ways to get it:\n  \
     - any machine with internet: atelier data fetch\n  \
     - Debian/Ubuntu, no root needed: atelier data fetch --from debian (apt-get download)\n  \
     - Debian/Ubuntu with root: sudo apt-get install dataset-fashion-mnist\n  \
     - your own copy (IDX .gz/raw or the Kaggle CSVs): --data-dir DIR or ATELIER_DATA=DIR";
