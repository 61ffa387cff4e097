//! `atelier data verify`: is this the genuine, complete Fashion-MNIST?
//!
//! Checks counts, image size, label range, class balance and, for IDX files,
//! the MD5 of the decompressed bytes (the Debian copies are recompressed, so
//! the compressed checksums differ while the content is identical).

use std::fmt;

use md5::{Digest, Md5};

use super::{
    csv, discover::Format, idx, split::Split, DataError, DataSource, CLASS_NAMES, NUM_CLASSES,
};

/// Images in the official training file.
pub const TRAIN_COUNT: usize = 60_000;
/// Images in the official test file.
pub const TEST_COUNT: usize = 10_000;

/// MD5 of each official file's decompressed bytes, by file stem.
pub const CONTENT_MD5: [(&str, &str); 4] = [
    (idx::TRAIN_IMAGES, "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    (idx::TRAIN_LABELS, "9018921c3c673c538a1fc5bad174d6f9"),
    (idx::TEST_IMAGES, "8181f5470baa50b63fa0f6fddb340f0a"),
    (idx::TEST_LABELS, "15d484375f8d13e6eb1aabb0c3f46965"),
];

/// One file's checksum, as expected and as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentCheck {
    pub file: String,
    pub expected: &'static str,
    pub found: String,
}

/// The outcome of verifying one dataset copy.
#[derive(Clone, Debug)]
pub struct Report {
    pub source: DataSource,
    pub train_counts: [usize; NUM_CLASSES],
    pub test_counts: [usize; NUM_CLASSES],
    /// Empty for the CSV layout, which has no official checksums.
    pub checksums: Vec<ContentCheck>,
    /// Everything that differs from the official dataset; empty when genuine.
    pub problems: Vec<String>,
}

impl Report {
    /// Whether the copy matches the official dataset in every check.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads every file of `source` once, checking its structure (any structural
/// fault is an error) and comparing it with the official dataset (any
/// difference is listed in the report's problems).
pub fn verify(source: &DataSource) -> Result<Report, DataError> {
    let mut checksums = Vec::new();
    let (train, test) = match &source.format {
        Format::Idx { .. } => {
            let mut splits = Vec::new();
            for pair in source.files().chunks(2) {
                let (images_path, labels_path) = (pair[0], pair[1]);
                let images = idx::read_maybe_gz(images_path)?;
                let labels = idx::read_maybe_gz(labels_path)?;
                checksums.push(content_check(images_path, &images));
                checksums.push(content_check(labels_path, &labels));
                let (image_count, images) = idx::parse_images(images_path, images)?;
                let labels = idx::parse_labels(labels_path, labels)?;
                if image_count != labels.len() {
                    return Err(DataError::CountMismatch {
                        images: images_path.to_path_buf(),
                        labels: labels_path.to_path_buf(),
                        image_count,
                        label_count: labels.len(),
                    });
                }
                splits.push(Split { images, labels });
            }
            let test = splits.pop().unwrap_or_default();
            (splits.pop().unwrap_or_default(), test)
        }
        Format::Csv { train, test } => (csv::read_split(train)?, csv::read_split(test)?),
    };
    let mut problems = Vec::new();
    check_split("training", &train, TRAIN_COUNT, &mut problems);
    check_split("test", &test, TEST_COUNT, &mut problems);
    for check in &checksums {
        if check.found != check.expected {
            problems.push(format!(
                "{}: content MD5 {} differs from the official {}",
                check.file, check.found, check.expected
            ));
        }
    }
    Ok(Report {
        source: source.clone(),
        train_counts: train.class_counts(),
        test_counts: test.class_counts(),
        checksums,
        problems,
    })
}

/// Lowercase hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    format!("{:x}", Md5::digest(bytes))
}

fn content_check(path: &std::path::Path, bytes: &[u8]) -> ContentCheck {
    let file = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stem = file.trim_end_matches(".gz");
    let expected = CONTENT_MD5
        .iter()
        .find(|(name, _)| *name == stem)
        .map_or("(unknown file)", |(_, md5)| md5);
    ContentCheck {
        file,
        expected,
        found: md5_hex(bytes),
    }
}

fn check_split(name: &str, split: &Split, expected: usize, problems: &mut Vec<String>) {
    if split.len() != expected {
        problems.push(format!(
            "{name} split: expected {expected} images, found {}",
            split.len()
        ));
    }
    let per_class = expected / NUM_CLASSES;
    for (class, count) in split.class_counts().iter().enumerate() {
        if *count != per_class {
            problems.push(format!(
                "{name} split: class {class} ({}) has {count} images, expected {per_class}",
                CLASS_NAMES[class]
            ));
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Fashion-MNIST: {}", self.source)?;
        let total = |counts: &[usize]| counts.iter().sum::<usize>();
        writeln!(
            f,
            "  images: {} training, {} test, 28×28, labels 0–9",
            total(&self.train_counts),
            total(&self.test_counts)
        )?;
        writeln!(
            f,
            "  {:<3} {:<12} {:>8} {:>6}",
            "", "class", "train", "test"
        )?;
        for (class, name) in CLASS_NAMES.iter().enumerate() {
            writeln!(
                f,
                "  {class:<3} {name:<12} {:>8} {:>6}",
                self.train_counts[class], self.test_counts[class]
            )?;
        }
        if self.checksums.is_empty() {
            writeln!(
                f,
                "  content MD5: not checked (the CSV layout has no official checksums)"
            )?;
        }
        for check in &self.checksums {
            let verdict = if check.found == check.expected {
                "ok"
            } else {
                "MISMATCH"
            };
            writeln!(f, "  md5 {:<28} {}  {verdict}", check.file, check.found)?;
        }
        if self.is_ok() {
            write!(f, "OK: matches the official dataset")
        } else {
            writeln!(
                f,
                "{}:",
                crate::units::count(self.problems.len(), "problem")
            )?;
            for problem in &self.problems {
                writeln!(f, "  - {problem}")?;
            }
            Ok(())
        }
    }
}
