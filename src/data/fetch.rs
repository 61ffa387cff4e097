//! `atelier data fetch`: download the four official files, checked and atomic.
//!
//! Each file streams into a temporary file beside its destination while its
//! MD5 is computed; only a complete file with the published checksum is
//! renamed into place, so an interrupted or corrupt download never leaves a
//! half file under the real name.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};
use md5::{Digest, Md5};

use super::DataError;

/// Zalando Research's official mirror.
pub const DEFAULT_MIRROR: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
/// Environment variable overriding the mirror's base URL.
pub const MIRROR_ENV: &str = "ATELIER_MIRROR";

/// The published MD5 of each official `.gz` file, by file name.
pub const OFFICIAL_GZ_MD5: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
];

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Downloaded and verified; this many bytes.
    Downloaded(u64),
    /// Already present with the right checksum; nothing downloaded.
    AlreadyPresent,
}

/// Downloads every official file missing from `dest` (created if needed).
///
/// `show_progress` draws a bar per file on stderr.
pub fn fetch_all(
    base_url: &str,
    dest: &Path,
    show_progress: bool,
) -> Result<Vec<(PathBuf, Outcome)>, DataError> {
    fetch_files(base_url, dest, &OFFICIAL_GZ_MD5, show_progress)
}

/// Downloads each `(file name, MD5)` of `files` from `base_url` into `dest`.
pub fn fetch_files(
    base_url: &str,
    dest: &Path,
    files: &[(&str, &str)],
    show_progress: bool,
) -> Result<Vec<(PathBuf, Outcome)>, DataError> {
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut outcomes = Vec::new();
    for &(name, md5) in files {
        let url = format!("{}/{name}", base_url.trim_end_matches('/'));
        let path = dest.join(name);
        let progress = if show_progress {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        let outcome = fetch_file(&agent, &url, &path, md5, &progress)?;
        outcomes.push((path, outcome));
    }
    Ok(outcomes)
}

/// Opens a finished file to everyone's reading, as a copied file would be:
/// temporary files start private, and a data folder is often shared.
pub(crate) fn readable_by_all(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

/// Downloads `url` to `path` unless `path` already has MD5 `expected_md5`.
pub fn fetch_file(
    agent: &ureq::Agent,
    url: &str,
    path: &Path,
    expected_md5: &str,
    progress: &ProgressBar,
) -> Result<Outcome, DataError> {
    if path.is_file() {
        let existing = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        if super::verify::md5_hex(&existing) == expected_md5 {
            return Ok(Outcome::AlreadyPresent);
        }
    }
    let failed = |reason: String| DataError::Download {
        url: url.to_string(),
        reason,
    };
    let mut response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let announced = response.body().content_length();
    let dir = path.parent().unwrap_or(Path::new("."));
    // Same folder as the destination, so the final rename is atomic.
    let mut partial = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(|e| DataError::io(dir, e))?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    progress.set_length(announced.unwrap_or(0));
    progress.set_style(
        ProgressStyle::with_template(
            "{msg:28} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message(name.clone());
    let mut reader = response.body_mut().as_reader();
    let mut hasher = Md5::new();
    let mut buffer = vec![0; 1 << 16];
    let mut received: u64 = 0;
    loop {
        let read = reader
            .read(&mut buffer)
            .map_err(|e| failed(format!("connection broke after {received} bytes: {e}")))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        partial
            .write_all(&buffer[..read])
            .map_err(|e| DataError::io(partial.path(), e))?;
        received += read as u64;
        progress.set_position(received);
    }
    progress.finish_and_clear();
    if let Some(announced) = announced.filter(|&announced| announced != received) {
        return Err(failed(format!(
            "connection closed early: expected {announced} bytes, received {received}"
        )));
    }
    let found = format!("{:x}", hasher.finalize());
    if found != expected_md5 {
        return Err(DataError::Checksum {
            what: url.to_string(),
            expected: expected_md5.to_string(),
            found,
        });
    }
    readable_by_all(partial.as_file())
        .and_then(|()| partial.as_file().sync_all())
        .map_err(|e| DataError::io(partial.path(), e))?;
    partial
        .persist(path)
        .map_err(|e| DataError::io(path, e.error))?;
    Ok(Outcome::Downloaded(received))
}
