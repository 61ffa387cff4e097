//! Files written for the user (screenshots, figures, reports, ONNX models,
//! `TensorBoard` logs): whole or not at all, and never over what is not theirs
//! to replace.
//!
//! An output path is the user's to choose, so it may name anything: a run's
//! own `run.json`, a device such as `/dev/full`, a symbolic link, a FIFO. The
//! rules, checked before anything is written:
//! - a file inside a runs folder (a run's folder, or the runs folder in use)
//!   is never replaced: the store is the record of every run;
//! - only a regular file is ever replaced: a link, a device, a FIFO or a
//!   folder at the path is refused;
//! - an existing file is replaced only when it looks like what is written
//!   (an older screenshot, figure or model), or when the user says `--force`.
//!
//! The bytes go to a temporary file beside the target, renamed over it at
//! the end; a new file is created only where nothing appeared meanwhile.

use std::{
    fs::{self, Metadata},
    io::{Read, Write},
    path::{Path, PathBuf},
};

use thiserror::Error;

/// A run folder is the folder holding this record (the store's `RECORD_FILE`).
pub const RUN_RECORD_FILE: &str = "run.json";

/// What is being written: an existing file is replaced without `--force`
/// only when it looks like the same kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Plain or ANSI text, Markdown, CSV.
    Text,
    Html,
    Svg,
    Png,
    Onnx,
    /// A `TensorBoard` event file (`TFRecord` framing).
    TfEvents,
}

impl Kind {
    /// The kind, as an error message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Text => "a text file",
            Kind::Html => "an HTML page",
            Kind::Svg => "an SVG image",
            Kind::Png => "a PNG image",
            Kind::Onnx => "an ONNX model",
            Kind::TfEvents => "a TensorBoard event file",
        }
    }

    /// Whether `head`, the first bytes of a file, look like this kind.
    fn looks_like(self, head: &[u8]) -> bool {
        let text = || text_head(head);
        match self {
            Kind::Text => text().is_some(),
            Kind::Html => text().is_some_and(|t| t.to_ascii_lowercase().contains("<html")),
            Kind::Svg => text().is_some_and(|t| t.contains("<svg")),
            Kind::Png => head.starts_with(b"\x89PNG\r\n\x1a\n"),
            // ir_version is field 1 (tag 0x08), written first by every exporter.
            Kind::Onnx => matches!(head, [0x08, version, ..] if (1..=32).contains(version)),
            // The first record holds the event with `file_version: "brain.Event:…"`.
            Kind::TfEvents => head
                .get(12..head.len().min(64))
                .is_some_and(|rest| rest.windows(11).any(|w| w == b"brain.Event")),
        }
    }
}

/// Text without NUL bytes, allowing a character cut at the end of the head.
fn text_head(head: &[u8]) -> Option<&str> {
    if head.contains(&0) {
        return None;
    }
    match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&head[..error.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
}

/// How output paths may be used by one command.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Replace an existing regular file of another kind (`--force`).
    pub force: bool,
    /// The runs folder in use; nothing under it is ever replaced.
    pub runs_dir: Option<PathBuf>,
}

impl Policy {
    /// The policy of a command with `--force` set or not, using `runs_dir`.
    pub fn new(force: bool, runs_dir: Option<PathBuf>) -> Self {
        Self { force, runs_dir }
    }
}

/// Why an output path was refused or could not be written.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("{path}: {what}; atelier replaces only regular files: choose another path")]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{path}: inside the runs folder {runs}; atelier never writes over a run's files: choose a path outside it")]
    InsideRuns { path: PathBuf, runs: PathBuf },
    #[error("{path}: exists and is not {expected}; not replacing it (pass --force to replace it)")]
    OtherKind {
        path: PathBuf,
        expected: &'static str,
    },
    #[error("{path}: {what}: {error}")]
    Io {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
}

fn io(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |error| OutputError::Io { path, what, error }
}

/// Whether `path` may be written as `kind` under `policy`; `Ok(true)` when a
/// file is there to replace, `Ok(false)` when the path is free.
pub fn check(path: &Path, kind: Kind, policy: &Policy) -> Result<bool, OutputError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(io(path, "cannot look at")(error)),
    };
    if let Some(what) = not_regular(&metadata) {
        return Err(OutputError::NotRegular {
            path: path.to_path_buf(),
            what,
        });
    }
    if let Some(runs) = runs_folder_around(path, policy.runs_dir.as_deref()) {
        return Err(OutputError::InsideRuns {
            path: path.to_path_buf(),
            runs,
        });
    }
    if !policy.force && !kind.looks_like(&head(path)?) {
        return Err(OutputError::OtherKind {
            path: path.to_path_buf(),
            expected: kind.describe(),
        });
    }
    Ok(true)
}

/// Writes `bytes` to `path` as `kind` if [`check`] allows it: whole or not
/// at all, readable by everyone (outputs are for sharing).
pub fn write(path: &Path, kind: Kind, bytes: &[u8], policy: &Policy) -> Result<(), OutputError> {
    let replacing = check(path, kind, policy)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut partial = tempfile::Builder::new()
        .prefix(".atelier-partial.")
        .tempfile_in(dir)
        .map_err(io(dir, "cannot create a file in"))?;
    partial
        .write_all(bytes)
        .and_then(|()| readable_by_all(partial.as_file()))
        .and_then(|()| partial.as_file().sync_all())
        .map_err(io(path, "cannot write"))?;
    let persisted = if replacing {
        partial.persist(path).map(drop)
    } else {
        partial.persist_noclobber(path).map(drop)
    };
    persisted.map_err(|error| io(path, "cannot write")(error.error))
}

/// Creates `dir` (and its parents) for outputs; refused for a path that
/// exists and is not a folder.
pub fn create_folder(dir: &Path) -> Result<(), OutputError> {
    if let Ok(metadata) = fs::metadata(dir) {
        if !metadata.is_dir() {
            return Err(OutputError::NotRegular {
                path: dir.to_path_buf(),
                what: "exists and is not a folder",
            });
        }
    }
    fs::create_dir_all(dir).map_err(io(dir, "cannot create the folder"))
}

fn not_regular(metadata: &Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_file() {
        None
    } else if kind.is_symlink() {
        Some("is a symbolic link")
    } else if kind.is_dir() {
        Some("is a folder")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("is a device")
    } else if kind.is_fifo() {
        Some("is a FIFO")
    } else {
        Some("is not a regular file")
    }
}

/// The run folder or runs folder `path` lies in, if any.
fn runs_folder_around(path: &Path, runs_dir: Option<&Path>) -> Option<PathBuf> {
    let parent = fs::canonicalize(path).ok()?.parent()?.to_path_buf();
    if let Some(runs) = runs_dir.and_then(|dir| fs::canonicalize(dir).ok()) {
        if parent.starts_with(&runs) {
            return Some(runs);
        }
    }
    parent
        .ancestors()
        .find(|folder| folder.join(RUN_RECORD_FILE).is_file())
        .map(Path::to_path_buf)
}

/// The first bytes of the file at `path`.
fn head(path: &Path) -> Result<Vec<u8>, OutputError> {
    let mut head = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(4096).read_to_end(&mut head))
        .map_err(io(path, "cannot read"))?;
    Ok(head)
}

fn readable_by_all(file: &fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Temporary files start private (0600); outputs are for sharing.
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\nrest";

    fn policy() -> Policy {
        Policy::default()
    }

    #[test]
    fn a_new_file_is_written_readable_by_all() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        write(&path, Kind::Png, PNG, &policy()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), PNG);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn a_file_of_the_same_kind_is_replaced_another_only_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        fs::write(&path, b"\x89PNG\r\n\x1a\nold").unwrap();
        write(&path, Kind::Png, PNG, &policy()).unwrap();
        fs::write(&path, "my notes").unwrap();
        let error = write(&path, Kind::Png, PNG, &policy()).unwrap_err();
        assert!(matches!(error, OutputError::OtherKind { .. }));
        assert!(error.to_string().contains("is not a PNG image"), "{error}");
        assert_eq!(fs::read(&path).unwrap(), b"my notes");
        write(&path, Kind::Png, PNG, &Policy::new(true, None)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), PNG);
    }

    #[test]
    fn links_fifos_devices_and_folders_are_never_replaced_even_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        fs::write(&target, "keep").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fifo = dir.path().join("fifo.txt");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
        let force = Policy::new(true, None);
        for path in [link.as_path(), &fifo, Path::new("/dev/null"), dir.path()] {
            let error = write(path, Kind::Text, b"x", &force).unwrap_err();
            assert!(
                matches!(error, OutputError::NotRegular { .. }),
                "{path:?}: {error}"
            );
        }
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn files_in_a_run_folder_or_the_runs_folder_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs").join("20261201-000000-M1");
        fs::create_dir_all(&run).unwrap();
        fs::write(run.join(RUN_RECORD_FILE), "{}").unwrap();
        fs::write(run.join("final.safetensors"), b"\x08\x01weights").unwrap();
        let force = Policy::new(true, None);
        for name in [RUN_RECORD_FILE, "final.safetensors"] {
            let error = write(&run.join(name), Kind::Onnx, b"\x08\x08", &force).unwrap_err();
            assert!(matches!(error, OutputError::InsideRuns { .. }), "{error}");
        }
        assert_eq!(fs::read_to_string(run.join(RUN_RECORD_FILE)).unwrap(), "{}");
        let loose = dir.path().join("runs").join("notes.txt");
        fs::write(&loose, "mine").unwrap();
        let runs = Policy::new(true, Some(dir.path().join("runs")));
        assert!(write(&loose, Kind::Text, b"x", &runs).is_err());
        // A new file beside a run's files is not a replacement.
        write(&run.join("export.onnx"), Kind::Onnx, b"\x08\x08", &policy()).unwrap();
    }

    #[test]
    fn kinds_are_recognised_by_their_first_bytes() {
        assert!(Kind::Text.looks_like("héllo".as_bytes()));
        assert!(
            Kind::Text.looks_like(&"é".as_bytes()[..1]),
            "a cut character"
        );
        assert!(!Kind::Text.looks_like(b"\x00\x01"));
        assert!(Kind::Html.looks_like(b"<!DOCTYPE html><HTML>"));
        assert!(Kind::Svg.looks_like(b"<?xml?><svg "));
        assert!(!Kind::Onnx.looks_like(b"{\"id\": 3}"));
        assert!(!Kind::Png.looks_like(b"{\"id\": 3}"));
        let mut events = vec![0u8; 12];
        events.extend_from_slice(b"\x09\x00\x00\x00\x00\x00\x00\x00\x00\x1a\x0dbrain.Event:2");
        assert!(Kind::TfEvents.looks_like(&events));
    }
}
