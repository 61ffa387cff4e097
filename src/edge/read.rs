//! Small inputs read with a size limit: `--plan /dev/zero` or a run record
//! grown to gigabytes ends in a clear error, not in exhausted memory.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use thiserror::Error;

/// The most a plan file may hold.
pub const PLAN_LIMIT: u64 = 4 << 20;
/// The most a run record, submission record or lock note may hold.
pub const RECORD_LIMIT: u64 = 16 << 20;

/// Why a small input could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("{path}: cannot read: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: larger than {} MiB; this is not a file atelier wrote (or it is damaged)", .limit >> 20)]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path}: not UTF-8 text")]
    NotText { path: PathBuf },
}

/// The bytes of `path`, at most `limit` of them.
pub fn bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |error| ReadError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// The text of `path`, at most `limit` bytes of it.
pub fn text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(bytes(path, limit)?).map_err(|_| ReadError::NotText {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_input_stops_at_the_limit() {
        let error = bytes(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(
            error.to_string(),
            "/dev/zero: larger than 1 MiB; this is not a file atelier wrote (or it is damaged)"
        );
    }

    #[test]
    fn a_file_at_the_limit_reads_whole_and_bad_text_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.toml");
        std::fs::write(&path, "abcd").unwrap();
        assert_eq!(text(&path, 4).unwrap(), "abcd");
        assert!(matches!(text(&path, 3), Err(ReadError::TooLarge { .. })));
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert!(text(&path, 4)
            .unwrap_err()
            .to_string()
            .ends_with("not UTF-8 text"));
    }
}
