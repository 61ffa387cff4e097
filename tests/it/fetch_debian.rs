//! `atelier data fetch --from debian|auto` without network and without root:
//! a fake `apt-get` on PATH serves `.deb` packages this test builds with the
//! real `dpkg-deb` (good, truncated, one file altered), and says "Unable to
//! locate package" until it is asked to refresh private package lists, as
//! apt does on a machine whose lists are empty. One test uses the real
//! `apt-get` and Debian's real package: it must pass in CI, which reaches
//! the Debian mirror.

use crate::common;

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use atelier::data::{debian, idx};

/// The real dataset's folder; CI installs it, elsewhere a missing one skips.
fn real_dataset() -> Option<PathBuf> {
    let dir = PathBuf::from("/usr/share/datasets/fashion-mnist");
    if dir.join("train-images-idx3-ubyte.gz").is_file() {
        return Some(dir);
    }
    common::missing(&format!(
        "Fashion-MNIST is not installed at {}",
        dir.display()
    ));
    None
}

fn has_dpkg_deb() -> bool {
    let found = Command::new("dpkg-deb").arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: dpkg-deb is not installed (not a Debian machine)");
    }
    found
}

/// Builds `dataset-fashion-mnist_1.0_all.deb` in `dir` from the real files,
/// `alter` changing the bytes of the file it is given the name of.
fn build_deb(dir: &Path, source: &Path, alter: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> PathBuf {
    let root = dir.join("root");
    let data = root.join(debian::PACKAGE_DIR);
    fs::create_dir_all(&data).unwrap();
    fs::create_dir_all(root.join("DEBIAN")).unwrap();
    fs::write(
        root.join("DEBIAN/control"),
        "Package: dataset-fashion-mnist\nVersion: 1.0\nArchitecture: all\n\
         Maintainer: test <test@example.org>\nDescription: test copy\n",
    )
    .unwrap();
    for stem in idx::FILE_STEMS {
        let name = format!("{stem}.gz");
        let bytes = fs::read(source.join(&name)).unwrap();
        fs::write(data.join(&name), alter(&name, bytes)).unwrap();
    }
    let deb = dir.join("dataset-fashion-mnist_1.0_all.deb");
    let built = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Znone", "--build"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    deb
}

/// A folder holding a fake `apt-get` that serves `deb`. With `lists_empty`
/// it fails `download` unless given private lists (`Dir::State::Lists=`),
/// which its `update` must have filled first. It logs its arguments.
fn fake_apt(dir: &Path, deb: &Path, lists_empty: bool) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let script = format!(
        r#"#!/bin/sh
echo "$*" >> "{log}"
lists=""
for arg in "$@"; do
  case "$arg" in Dir::State::Lists=*) lists="${{arg#Dir::State::Lists=}}" ;; esac
done
case "$*" in
  *update*) [ -n "$lists" ] && touch "$lists/refreshed"; exit 0 ;;
  *download*)
    if [ "{lists_empty}" = yes ] && [ ! -e "$lists/refreshed" ]; then
      echo "E: Unable to locate package dataset-fashion-mnist" >&2; exit 100
    fi
    cp "{deb}" ./dataset-fashion-mnist_1.0_all.deb ;;
esac
"#,
        log = dir.join("apt.log").display(),
        deb = deb.display(),
        lists_empty = if lists_empty { "yes" } else { "no" },
    );
    let path = bin.join("apt-get");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `atelier data fetch ARGS --dest DEST` with `bin` first on PATH.
fn fetch(bin: &Path, dest: &Path, args: &[&str]) -> Output {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["data", "fetch"])
        .args(args)
        .arg("--dest")
        .arg(dest)
        .env("PATH", path)
        .env_remove(atelier::data::fetch::MIRROR_ENV)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every name in `dir`, hidden ones included, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn verify(dest: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("--data-dir")
        .arg(dest)
        .args(["data", "verify"])
        .output()
        .unwrap()
}

const GOOD_NAMES: [&str; 4] = [
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
];

#[test]
fn an_unreachable_mirror_falls_back_to_the_package_and_the_copy_verifies() {
    let Some(source) = real_dataset() else { return };
    if !has_dpkg_deb() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path(), &source, |_, bytes| bytes);
    let bin = fake_apt(dir.path(), &deb, false);
    let dest = dir.path().join("data");
    // Port 1 on loopback refuses at once: the mirror is unreachable.
    let output = fetch(&bin, &dest, &["--base-url", "http://127.0.0.1:1/"]);
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("failed: http://127.0.0.1:1/"), "{said}");
    assert!(said.contains("Debian's package"), "{said}");
    assert_eq!(names(&dest), GOOD_NAMES, "no temporary files left");
    let checked = verify(&dest);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(text(&checked).contains("matches the official dataset"));

    // Again: everything is there, so nothing is fetched or replaced.
    let again = fetch(&bin, &dest, &["--from", "debian"]);
    assert!(text(&again).contains("already present"), "{}", text(&again));
    let log = fs::read_to_string(dir.path().join("apt.log")).unwrap();
    assert_eq!(log.lines().count(), 1, "apt-get ran again: {log}");
}

#[test]
fn empty_package_lists_are_refreshed_privately_without_root() {
    let Some(source) = real_dataset() else { return };
    if !has_dpkg_deb() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path(), &source, |_, bytes| bytes);
    let bin = fake_apt(dir.path(), &deb, true);
    let dest = dir.path().join("data");
    let output = fetch(&bin, &dest, &["--from", "debian"]);
    assert!(output.status.success(), "{}", text(&output));
    let log = fs::read_to_string(dir.path().join("apt.log")).unwrap();
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 3, "{log}");
    assert!(
        calls[0].ends_with("download dataset-fashion-mnist"),
        "{log}"
    );
    assert!(
        calls[1].contains("Dir::State::Lists=") && calls[1].ends_with("update"),
        "{log}"
    );
    assert!(calls[2].contains("Dir::State::Lists="), "{log}");
    assert_eq!(names(&dest), GOOD_NAMES);
}

#[test]
fn a_truncated_package_is_refused_and_writes_nothing() {
    let Some(source) = real_dataset() else { return };
    if !has_dpkg_deb() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path(), &source, |_, bytes| bytes);
    let whole = fs::read(&deb).unwrap();
    fs::write(&deb, &whole[..whole.len() / 2]).unwrap();
    let bin = fake_apt(dir.path(), &deb, false);
    let dest = dir.path().join("data");
    let output = fetch(&bin, &dest, &["--from", "debian"]);
    let said = text(&output);
    assert!(!output.status.success(), "{said}");
    assert!(said.contains("dpkg-deb -x"), "{said}");
    assert!(said.contains("Ways to get it"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    assert_eq!(names(&dest), Vec::<String>::new(), "{said}");
}

#[test]
fn a_package_with_an_altered_file_is_refused_by_content_checksum() {
    let Some(source) = real_dataset() else { return };
    if !has_dpkg_deb() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Same length, one label changed, gzipped again: only the MD5 can tell.
    let deb = build_deb(dir.path(), &source, |name, bytes| {
        if name != "train-labels-idx1-ubyte.gz" {
            return bytes;
        }
        let mut labels = idx::decode_maybe_gz(Path::new(name), bytes).unwrap();
        let last = labels.len() - 1;
        labels[last] = (labels[last] + 1) % 10;
        common::gzip(&labels)
    });
    let bin = fake_apt(dir.path(), &deb, false);
    // One good file already in place must survive the refusal.
    let dest = dir.path().join("data");
    fs::create_dir_all(&dest).unwrap();
    let kept = fs::read(source.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    fs::write(dest.join("t10k-labels-idx1-ubyte.gz"), &kept).unwrap();
    let output = fetch(&bin, &dest, &["--from", "debian"]);
    let said = text(&output);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("train-labels-idx1-ubyte.gz (decompressed): expected MD5 9018921c"),
        "{said}"
    );
    assert_eq!(names(&dest), ["t10k-labels-idx1-ubyte.gz"], "{said}");
    assert_eq!(
        fs::read(dest.join("t10k-labels-idx1-ubyte.gz")).unwrap(),
        kept
    );
}

#[test]
fn with_no_source_at_all_the_error_lists_every_way_to_get_the_data() {
    let dir = tempfile::tempdir().unwrap();
    // A PATH with neither apt-get nor dpkg-deb.
    let empty = dir.path().join("empty-bin");
    fs::create_dir_all(&empty).unwrap();
    let dest = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args([
            "data",
            "fetch",
            "--base-url",
            "http://127.0.0.1:1/",
            "--dest",
        ])
        .arg(&dest)
        .env("PATH", &empty)
        .output()
        .unwrap();
    let said = text(&output);
    assert!(!output.status.success(), "{said}");
    for expected in [
        "Sources tried, in order",
        "the official mirror (http://127.0.0.1:1/)",
        "apt-get is not installed here",
        "atelier data fetch --from debian",
        "sudo apt-get install dataset-fashion-mnist",
        "--data-dir DIR",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    assert!(!said.contains("panicked"), "{said}");
}

#[test]
fn the_real_debian_package_fetched_without_root_verifies() {
    // CI reaches Debian's mirror; elsewhere a machine without apt is skipped.
    if Command::new("apt-get").arg("--version").output().is_err() {
        common::missing("apt-get is not installed here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["data", "fetch", "--from", "debian", "--dest"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(names(&dest), GOOD_NAMES);
    let checked = verify(&dest);
    assert!(checked.status.success(), "{}", text(&checked));
}
