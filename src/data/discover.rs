//! Finding the dataset on this machine: a fixed list of places, first hit wins.
//!
//! Order: `--data-dir`, `ATELIER_DATA`, `./data/fashion-mnist/`, the Debian
//! package's `/usr/share/datasets/fashion-mnist/`, then the per-user data dir
//! that `atelier data fetch` fills. A place the user named explicitly (flag or
//! variable) is the only one searched: silently training on some other copy
//! would be worse than an error.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use super::{csv, idx, DataError};

/// Environment variable naming the data folder.
pub const DATA_ENV: &str = "ATELIER_DATA";
/// Where the Debian/Ubuntu package `dataset-fashion-mnist` installs the files.
pub const SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The project-local folder, relative to the current directory.
pub const PROJECT_DIR: &str = "data/fashion-mnist";

/// Why a folder is on the search list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceKind {
    /// Named with `--data-dir`.
    Flag,
    /// Named by `ATELIER_DATA`.
    Env,
    /// `./data/fashion-mnist/` under the current directory.
    Project,
    /// The Debian/Ubuntu package's folder.
    SystemPackage,
    /// The per-user data folder that `atelier data fetch` fills.
    UserData,
}

/// One folder to look in, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPlace {
    pub kind: PlaceKind,
    pub dir: PathBuf,
}

/// Which layout was found, with the paths of its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// The four official IDX files, each gzip-compressed or raw.
    Idx {
        train_images: PathBuf,
        train_labels: PathBuf,
        test_images: PathBuf,
        test_labels: PathBuf,
    },
    /// Kaggle's two CSV files.
    Csv { train: PathBuf, test: PathBuf },
}

/// Where the dataset was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSource {
    pub place: SearchPlace,
    pub format: Format,
}

impl fmt::Display for PlaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flag => "--data-dir",
            Self::Env => DATA_ENV,
            Self::Project => "project folder",
            Self::SystemPackage => "Debian package dataset-fashion-mnist",
            Self::UserData => "user data folder",
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Idx { train_images, .. } => {
                let compressed = train_images.extension().is_some_and(|ext| ext == "gz");
                f.write_str(if compressed {
                    "IDX (gzip)"
                } else {
                    "IDX (raw)"
                })
            }
            Self::Csv { .. } => f.write_str("Kaggle CSV"),
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in {} ({})",
            self.format,
            self.place.dir.display(),
            self.place.kind
        )
    }
}

/// The places to search, in order, given the `--data-dir` flag, the value
/// of `ATELIER_DATA` and the per-user data folder.
pub fn search_places(
    flag: Option<&Path>,
    env: Option<PathBuf>,
    user_dir: Option<PathBuf>,
) -> Vec<SearchPlace> {
    let place = |kind, dir: PathBuf| SearchPlace { kind, dir };
    if let Some(dir) = flag {
        return vec![place(PlaceKind::Flag, dir.to_path_buf())];
    }
    if let Some(dir) = env.filter(|dir| !dir.as_os_str().is_empty()) {
        return vec![place(PlaceKind::Env, dir)];
    }
    let mut places = vec![
        place(PlaceKind::Project, PathBuf::from(PROJECT_DIR)),
        place(PlaceKind::SystemPackage, PathBuf::from(SYSTEM_DIR)),
    ];
    places.extend(user_dir.map(|dir| place(PlaceKind::UserData, dir)));
    places
}

/// Finds the dataset for this process: flag, environment, then the fixed places.
pub fn discover(flag: Option<&Path>) -> Result<DataSource, DataError> {
    let env = std::env::var_os(DATA_ENV).map(PathBuf::from);
    discover_in(&search_places(flag, env, crate::paths::user_dataset_dir()))
}

/// Returns the first place that holds a complete dataset, or an error listing
/// every place tried and what was missing there.
pub fn discover_in(places: &[SearchPlace]) -> Result<DataSource, DataError> {
    let mut tried = Vec::new();
    for place in places {
        match probe(&place.dir) {
            Ok(format) => {
                return Ok(DataSource {
                    place: place.clone(),
                    format,
                })
            }
            Err(why) => tried.push((place.dir.clone(), format!("{why} [{}]", place.kind))),
        }
    }
    Err(DataError::NotFound { tried })
}

/// Why a folder holds no complete dataset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Absent {
    #[error("no such folder")]
    NoSuchFolder,
    #[error("not a folder")]
    NotAFolder,
    /// Some of the four IDX files, and these missing.
    #[error("incomplete IDX set, missing {}", .0.join(", "))]
    IncompleteIdx(Vec<String>),
    /// One of the two CSV files, and this one missing.
    #[error("incomplete CSV set, missing {0}")]
    IncompleteCsv(&'static str),
    #[error("no Fashion-MNIST files")]
    NoFiles,
}

/// Looks for a complete dataset in one folder; says what is missing otherwise.
pub fn probe(dir: &Path) -> Result<Format, Absent> {
    if !dir.is_dir() {
        return Err(if dir.exists() {
            Absent::NotAFolder
        } else {
            Absent::NoSuchFolder
        });
    }
    let found = idx::FILE_STEMS.map(|stem| idx::find_file(dir, stem));
    if let [Some(train_images), Some(train_labels), Some(test_images), Some(test_labels)] =
        found.clone()
    {
        return Ok(Format::Idx {
            train_images,
            train_labels,
            test_images,
            test_labels,
        });
    }
    let (train_csv, test_csv) = (dir.join(csv::TRAIN_CSV), dir.join(csv::TEST_CSV));
    if train_csv.is_file() && test_csv.is_file() {
        return Ok(Format::Csv {
            train: train_csv,
            test: test_csv,
        });
    }
    let missing: Vec<String> = idx::FILE_STEMS
        .iter()
        .zip(&found)
        .filter(|(_, path)| path.is_none())
        .map(|(stem, _)| format!("{stem}[.gz]"))
        .collect();
    if missing.len() < idx::FILE_STEMS.len() {
        return Err(Absent::IncompleteIdx(missing));
    }
    if train_csv.is_file() || test_csv.is_file() {
        let absent = if train_csv.is_file() {
            csv::TEST_CSV
        } else {
            csv::TRAIN_CSV
        };
        return Err(Absent::IncompleteCsv(absent));
    }
    Err(Absent::NoFiles)
}

impl DataSource {
    /// The files this source reads, for messages and checksums.
    pub fn files(&self) -> Vec<&Path> {
        match &self.format {
            Format::Idx {
                train_images,
                train_labels,
                test_images,
                test_labels,
            } => vec![train_images, train_labels, test_images, test_labels],
            Format::Csv { train, test } => vec![train, test],
        }
        .into_iter()
        .map(PathBuf::as_path)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn touch_all(dir: &Path, names: &[&str]) {
        for name in names {
            fs::write(dir.join(name), b"x").unwrap();
        }
    }

    fn place(kind: PlaceKind, dir: &Path) -> SearchPlace {
        SearchPlace {
            kind,
            dir: dir.to_path_buf(),
        }
    }

    #[test]
    fn explicit_places_are_searched_alone() {
        let flag = search_places(Some(Path::new("/a")), Some("/b".into()), Some("/c".into()));
        assert_eq!(flag, vec![place(PlaceKind::Flag, Path::new("/a"))]);
        let env = search_places(None, Some("/b".into()), Some("/c".into()));
        assert_eq!(env, vec![place(PlaceKind::Env, Path::new("/b"))]);
        let kinds: Vec<PlaceKind> = search_places(None, Some("".into()), Some("/c".into()))
            .into_iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                PlaceKind::Project,
                PlaceKind::SystemPackage,
                PlaceKind::UserData
            ]
        );
    }

    #[test]
    fn first_complete_place_wins_and_mixed_gz_raw_is_fine() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        touch_all(a.path(), &["train-images-idx3-ubyte.gz"]);
        touch_all(
            b.path(),
            &[
                "train-images-idx3-ubyte.gz",
                "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz",
            ],
        );
        let places = [
            place(PlaceKind::Project, a.path()),
            place(PlaceKind::UserData, b.path()),
        ];
        let source = discover_in(&places).unwrap();
        assert_eq!(source.place.kind, PlaceKind::UserData);
        assert_eq!(source.files()[1], b.path().join("train-labels-idx1-ubyte"));
        assert!(source.to_string().starts_with("IDX (gzip) in "));
    }

    #[test]
    fn csv_layout_is_found() {
        let dir = tempfile::tempdir().unwrap();
        touch_all(dir.path(), &[csv::TRAIN_CSV, csv::TEST_CSV]);
        let source = discover_in(&[place(PlaceKind::Env, dir.path())]).unwrap();
        assert!(matches!(source.format, Format::Csv { .. }));
    }

    #[test]
    fn not_found_lists_every_place_and_the_remedies() {
        let partial = tempfile::tempdir().unwrap();
        touch_all(
            partial.path(),
            &["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"],
        );
        let places = [
            place(PlaceKind::Project, Path::new("/nonexistent/atelier-data")),
            place(PlaceKind::SystemPackage, partial.path()),
        ];
        let message = discover_in(&places).unwrap_err().to_string();
        assert!(
            message.contains("/nonexistent/atelier-data: no such folder [project folder]"),
            "{message}"
        );
        assert!(
            message.contains("incomplete IDX set, missing train-labels-idx1-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]"),
            "{message}"
        );
        assert!(
            message.contains("apt-get install dataset-fashion-mnist"),
            "{message}"
        );
        assert!(message.contains("atelier data fetch"), "{message}");
    }

    #[test]
    fn half_a_csv_pair_is_named() {
        let dir = tempfile::tempdir().unwrap();
        touch_all(dir.path(), &[csv::TRAIN_CSV]);
        assert_eq!(
            probe(dir.path()).unwrap_err().to_string(),
            "incomplete CSV set, missing fashion-mnist_test.csv"
        );
    }
}
