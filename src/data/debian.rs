//! `atelier data fetch --from debian`: Debian's `dataset-fashion-mnist`
//! package, without root and without the internet at large.
//!
//! `apt-get download` needs no privileges and reaches whatever package mirror
//! the machine is set up for, often the only outside host a lab or company
//! box can reach. On a machine whose package lists are empty (a fresh
//! container), a private copy of the lists is refreshed first, inside a
//! temporary folder, again without root. `dpkg-deb -x` unpacks the package;
//! every file's decompressed bytes must have the official content MD5 (as
//! `data verify` checks) before any of them is copied into place, each
//! through a temporary file and a rename, so a bad package writes nothing.

use std::{
    ffi::OsStr,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use super::{fetch::Outcome, idx, verify, DataError};

/// The Debian (and Ubuntu) package holding the four official files.
pub const PACKAGE: &str = "dataset-fashion-mnist";
/// Where the package puts them, relative to its root.
pub const PACKAGE_DIR: &str = "usr/share/datasets/fashion-mnist";

/// Gets the four files from Debian's package into `dest` (created if needed);
/// files already there with the right content are kept as they are.
pub fn fetch_debian(dest: &Path) -> Result<Vec<(PathBuf, Outcome)>, DataError> {
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    let present: Vec<bool> = idx::FILE_STEMS
        .iter()
        .map(|stem| has_content(&dest.join(gz_name(stem)), stem))
        .collect();
    if present.iter().all(|&ok| ok) {
        return Ok(idx::FILE_STEMS
            .iter()
            .map(|stem| (dest.join(gz_name(stem)), Outcome::AlreadyPresent))
            .collect());
    }
    // Inside `dest`, so that the final renames stay on one file system.
    let work = tempfile::Builder::new()
        .prefix(".debian-")
        .tempdir_in(dest)
        .map_err(|e| DataError::io(dest, e))?;
    let deb = download(work.path())?;
    let unpacked = work.path().join("unpacked");
    run(
        "dpkg-deb",
        [OsStr::new("-x"), deb.as_os_str(), unpacked.as_os_str()],
        &format!("dpkg-deb -x {}", deb.display()),
    )?;
    let files = checked_files(&deb, &unpacked)?;
    let mut outcomes = Vec::new();
    for ((stem, bytes), was_present) in files.into_iter().zip(present) {
        let path = dest.join(gz_name(stem));
        if was_present {
            outcomes.push((path, Outcome::AlreadyPresent));
        } else {
            install(&path, &bytes)?;
            outcomes.push((path, Outcome::Downloaded(bytes.len() as u64)));
        }
    }
    Ok(outcomes)
}

fn gz_name(stem: &str) -> String {
    format!("{stem}.gz")
}

/// Whether `path` holds `stem`'s official content (compressed or not).
fn has_content(path: &Path, stem: &str) -> bool {
    path.is_file()
        && idx::read_maybe_gz(path).is_ok_and(|bytes| verify::md5_hex(&bytes) == content_md5(stem))
}

fn content_md5(stem: &str) -> &'static str {
    verify::CONTENT_MD5
        .iter()
        .find(|(name, _)| *name == stem)
        .map_or("", |(_, md5)| md5)
}

/// Downloads the package into `work`; returns the `.deb`'s path.
fn download(work: &Path) -> Result<PathBuf, DataError> {
    let step = format!("apt-get download {PACKAGE}");
    let first = apt_get(work, &[], &["download", PACKAGE], &step)?;
    if !first.status.success() {
        let reason = stderr_tail(&first);
        if !lacks_package_lists(&reason) {
            return Err(debian_error(&step, reason));
        }
        let options = private_lists(work)?;
        let update = "apt-get update (private package lists, no root)";
        let refreshed = apt_get(work, &options, &["update"], update)?;
        if !refreshed.status.success() {
            return Err(debian_error(update, stderr_tail(&refreshed)));
        }
        let second = apt_get(work, &options, &["download", PACKAGE], &step)?;
        if !second.status.success() {
            return Err(debian_error(&step, stderr_tail(&second)));
        }
    }
    find_deb(work).ok_or_else(|| {
        debian_error(
            &step,
            format!(
                "it succeeded but left no {PACKAGE}_*.deb in {}",
                work.display()
            ),
        )
    })
}

/// What apt says when this machine's package lists do not know the package.
fn lacks_package_lists(stderr: &str) -> bool {
    [
        "Unable to locate package",
        "no installation candidate",
        "Can't select",
    ]
    .iter()
    .any(|sign| stderr.contains(sign))
}

/// apt options that keep package lists and caches inside `work`.
fn private_lists(work: &Path) -> Result<Vec<String>, DataError> {
    let lists = work.join("lists");
    let cache = work.join("cache");
    for dir in [lists.join("partial"), cache.join("archives/partial")] {
        std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
    }
    Ok(vec![
        "-o".into(),
        format!("Dir::State::Lists={}", lists.display()),
        "-o".into(),
        format!("Dir::Cache={}", cache.display()),
        "-o".into(),
        "Debug::NoLocking=1".into(),
    ])
}

fn apt_get(
    work: &Path,
    options: &[String],
    args: &[&str],
    step: &str,
) -> Result<Output, DataError> {
    Command::new("apt-get")
        .args(options)
        .args(["-q", "-y"])
        .args(args)
        .current_dir(work)
        .output()
        .map_err(|e| spawn_error(step, "apt-get", &e))
}

fn run<I, S>(program: &str, args: I, step: &str) -> Result<(), DataError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| spawn_error(step, program, &e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(debian_error(step, stderr_tail(&output)))
    }
}

fn spawn_error(step: &str, program: &str, error: &std::io::Error) -> DataError {
    let reason = if error.kind() == std::io::ErrorKind::NotFound {
        format!("{program} is not installed here (not a Debian or Ubuntu machine?)")
    } else {
        format!("cannot run {program}: {error}")
    };
    debian_error(step, reason)
}

fn debian_error(step: &str, reason: String) -> DataError {
    DataError::Debian {
        step: step.to_string(),
        reason,
    }
}

/// The last few lines a tool wrote on stderr (or its exit status if none).
fn stderr_tail(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return format!("exited with {}", output.status);
    }
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

fn find_deb(work: &Path) -> Option<PathBuf> {
    let prefix = format!("{PACKAGE}_");
    std::fs::read_dir(work)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".deb"))
        })
}

/// Every file of the unpacked package, read and checked before any is installed.
fn checked_files(deb: &Path, unpacked: &Path) -> Result<Vec<(&'static str, Vec<u8>)>, DataError> {
    idx::FILE_STEMS
        .iter()
        .map(|&stem| {
            let inside = format!("{PACKAGE_DIR}/{}", gz_name(stem));
            let path = unpacked.join(&inside);
            if !path.is_file() {
                return Err(DataError::format(
                    deb,
                    format!("the package has no {inside}"),
                ));
            }
            let compressed = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
            let content = idx::decode_maybe_gz(&path, compressed.clone())
                .map_err(|e| DataError::format(deb, format!("{inside}: {e}")))?;
            let found = verify::md5_hex(&content);
            if found != content_md5(stem) {
                return Err(DataError::Checksum {
                    what: format!("{}: {inside} (decompressed)", deb.display()),
                    expected: content_md5(stem).to_string(),
                    found,
                });
            }
            Ok((stem, compressed))
        })
        .collect()
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
fn install(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut partial = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(|e| DataError::io(dir, e))?;
    partial
        .write_all(bytes)
        .and_then(|()| super::fetch::readable_by_all(partial.as_file()))
        .and_then(|()| partial.as_file().sync_all())
        .map_err(|e| DataError::io(partial.path(), e))?;
    partial
        .persist(path)
        .map_err(|e| DataError::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_without_package_lists_is_told_apart_from_other_apt_failures() {
        assert!(lacks_package_lists(
            "E: Unable to locate package dataset-fashion-mnist"
        ));
        assert!(lacks_package_lists(
            "E: Package 'dataset-fashion-mnist' has no installation candidate"
        ));
        assert!(!lacks_package_lists(
            "E: Failed to fetch http://deb.debian.org/… Temporary failure resolving"
        ));
    }

    #[test]
    fn every_file_stem_has_a_content_checksum() {
        for stem in idx::FILE_STEMS {
            assert_eq!(content_md5(stem).len(), 32, "{stem}");
        }
    }
}
