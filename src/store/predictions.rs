//! `predictions.safetensors`: what a finished run predicted for every test
//! image, for the gallery and the run diff.
//!
//! The file is a plain [safetensors](https://github.com/huggingface/safetensors)
//! file (readable with `safetensors.numpy.load_file`) of three `U8` tensors:
//!
//! - `labels` `[N]`: the true class of test image `i`;
//! - `predicted` `[N]`: the class the model chose (argmax of its logits);
//! - `probabilities` `[N, 10]`: the softmax of the logits, `round(p × 255)`.
//!
//! About 12 bytes an image (120 kB for the test set); one byte a probability
//! is finer than the percentages the gallery shows. It is written whole or
//! not at all, like the checkpoints.

use std::{
    collections::BTreeMap,
    fs::File,
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::{error::PredictionsProblem, StoreError};
use crate::data::NUM_CLASSES;

/// The file's name in a run folder.
pub const PREDICTIONS_FILE: &str = "predictions.safetensors";
/// `__metadata__.format` of the file, checked on reading.
const FORMAT: &str = "atelier-predictions-1";
/// A quantized probability of 1.
const ONE: f64 = 255.0;

/// Per-image test predictions of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predictions {
    labels: Vec<u8>,
    predicted: Vec<u8>,
    /// `NUM_CLASSES` bytes per image, row-major.
    probabilities: Vec<u8>,
}

/// One tensor's entry in a safetensors header.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

impl Predictions {
    /// Checks that the three parts describe the same images and valid classes.
    pub fn new(
        labels: Vec<u8>,
        predicted: Vec<u8>,
        probabilities: Vec<u8>,
    ) -> Result<Self, PredictionsProblem> {
        let count = labels.len();
        if predicted.len() != count || probabilities.len() != count * NUM_CLASSES {
            return Err(PredictionsProblem::Lengths {
                count,
                predicted: predicted.len(),
                probabilities: probabilities.len(),
            });
        }
        for (name, values) in [("labels", &labels), ("predicted", &predicted)] {
            if let Some(at) = values
                .iter()
                .position(|&class| usize::from(class) >= NUM_CLASSES)
            {
                return Err(PredictionsProblem::NotAClass {
                    name,
                    at,
                    found: values[at],
                });
            }
        }
        Ok(Self {
            labels,
            predicted,
            probabilities,
        })
    }

    /// Per image, whether the prediction is right.
    pub fn correctness(&self) -> Vec<bool> {
        (0..self.len()).map(|i| self.correct(i)).collect()
    }

    /// Number of test images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The true classes, by test index.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The true class of test image `index`.
    pub fn label(&self, index: usize) -> usize {
        usize::from(self.labels[index])
    }

    /// The predicted class of test image `index`.
    pub fn predicted(&self, index: usize) -> usize {
        usize::from(self.predicted[index])
    }

    /// Whether the model got test image `index` right.
    pub fn correct(&self, index: usize) -> bool {
        self.labels[index] == self.predicted[index]
    }

    /// The probability of each class for test image `index`, in [0, 1].
    pub fn probabilities(&self, index: usize) -> [f64; NUM_CLASSES] {
        let row = &self.probabilities[index * NUM_CLASSES..(index + 1) * NUM_CLASSES];
        std::array::from_fn(|class| f64::from(row[class]) / ONE)
    }

    /// The `k` most probable classes of test image `index`, most probable
    /// first (the predicted class leads even where rounding ties it).
    pub fn top(&self, index: usize, k: usize) -> Vec<(usize, f64)> {
        let probabilities = self.probabilities(index);
        let predicted = self.predicted(index);
        let mut classes: Vec<usize> = (0..NUM_CLASSES).collect();
        classes.sort_by(|&a, &b| {
            (b == predicted)
                .cmp(&(a == predicted))
                .then(probabilities[b].total_cmp(&probabilities[a]))
                .then(a.cmp(&b))
        });
        classes
            .into_iter()
            .take(k)
            .map(|class| (class, probabilities[class]))
            .collect()
    }

    /// Test indices of true class `truth` predicted as `predicted`.
    pub fn cell(&self, truth: usize, predicted: usize) -> Vec<usize> {
        (0..self.len())
            .filter(|&index| self.label(index) == truth && self.predicted(index) == predicted)
            .collect()
    }

    /// The file's bytes: a safetensors header, then the three tensors.
    fn to_bytes(&self) -> Vec<u8> {
        let count = self.len();
        let entry = |shape: Vec<usize>, start: usize, len: usize| Entry {
            dtype: "U8".into(),
            shape,
            data_offsets: [start, start + len],
        };
        let mut header = serde_json::Map::new();
        header.insert(
            "__metadata__".into(),
            serde_json::json!({ "format": FORMAT }),
        );
        let entries = [
            ("labels", entry(vec![count], 0, count)),
            ("predicted", entry(vec![count], count, count)),
            (
                "probabilities",
                entry(vec![count, NUM_CLASSES], 2 * count, count * NUM_CLASSES),
            ),
        ];
        for (name, entry) in entries {
            header.insert(name.into(), serde_json::to_value(entry).unwrap_or_default());
        }
        let mut json = serde_json::Value::Object(header).to_string().into_bytes();
        // The format allows trailing spaces; 8-byte alignment suits mmap readers.
        while !json.len().is_multiple_of(8) {
            json.push(b' ');
        }
        let mut bytes = Vec::with_capacity(8 + json.len() + 12 * count);
        bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&json);
        bytes.extend_from_slice(&self.labels);
        bytes.extend_from_slice(&self.predicted);
        bytes.extend_from_slice(&self.probabilities);
        bytes
    }

    /// Reads the file's bytes; `Err` says what is wrong with them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PredictionsProblem> {
        let size = bytes
            .get(..8)
            .ok_or(PredictionsProblem::NoHeaderSize(bytes.len()))?;
        let size = u64::from_le_bytes(size.try_into().unwrap_or_default());
        let data_start = usize::try_from(size)
            .ok()
            .and_then(|size| size.checked_add(8))
            .filter(|&end| end <= bytes.len())
            .ok_or(PredictionsProblem::HeaderTooLong {
                size,
                available: bytes.len() - 8,
            })?;
        let header: BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..data_start])
                .map_err(|e| PredictionsProblem::Header(e.to_string()))?;
        let format = header
            .get("__metadata__")
            .and_then(|metadata| metadata.get("format"))
            .and_then(serde_json::Value::as_str);
        if format != Some(FORMAT) {
            return Err(PredictionsProblem::Format {
                expected: FORMAT,
                found: format.map(str::to_string),
            });
        }
        let data = &bytes[data_start..];
        let tensor = |name: &'static str,
                      columns: Option<usize>|
         -> Result<Vec<u8>, PredictionsProblem> {
            let value = header.get(name).ok_or(PredictionsProblem::Missing(name))?;
            let entry: Entry =
                serde_json::from_value(value.clone()).map_err(|e| PredictionsProblem::Entry {
                    name,
                    problem: e.to_string(),
                })?;
            if entry.dtype != "U8" {
                return Err(PredictionsProblem::Dtype {
                    name,
                    found: entry.dtype,
                });
            }
            let expected_rank = if columns.is_some() { 2 } else { 1 };
            if entry.shape.len() != expected_rank
                || columns.is_some_and(|columns| entry.shape[1] != columns)
            {
                return Err(PredictionsProblem::Shape {
                    name,
                    expected: columns.map_or("[N]".to_string(), |c| format!("[N, {c}]")),
                    found: entry.shape,
                });
            }
            let [start, end] = entry.data_offsets;
            let len = entry.shape.iter().product::<usize>();
            if start > end || end > data.len() || end - start != len {
                return Err(PredictionsProblem::Offsets {
                    name,
                    start,
                    end,
                    len,
                    available: data.len(),
                });
            }
            Ok(data[start..end].to_vec())
        };
        Self::new(
            tensor("labels", None)?,
            tensor("predicted", None)?,
            tensor("probabilities", Some(NUM_CLASSES))?,
        )
    }

    /// Writes `dir/predictions.safetensors`: to a temporary file beside it,
    /// fsync'd, renamed over it, then the folder fsync'd.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join(PREDICTIONS_FILE);
        let mut builder = tempfile::Builder::new();
        // Readable by other users' viewers, as `run.json` is.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let mut file = builder
            .prefix(".predictions.")
            .tempfile_in(dir)
            .map_err(|e| StoreError::io(dir, "cannot create a temporary file", e))?;
        file.write_all(&self.to_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| StoreError::io(file.path(), "cannot write", e))?;
        file.persist(&path)
            .map_err(|e| StoreError::io(&path, "cannot replace", e.error))?;
        File::open(dir)
            .and_then(|folder| folder.sync_all())
            .map_err(|e| StoreError::io(dir, "cannot flush the folder", e))
    }

    /// Reads `dir/predictions.safetensors`.
    pub fn load(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(PREDICTIONS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoPredictions { path })
            }
            Err(e) => return Err(StoreError::io(&path, "cannot read", e)),
        };
        Self::from_bytes(&bytes).map_err(|problem| StoreError::BadPredictions {
            path: PathBuf::from(&path),
            problem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three images: a confident right one, a Shirt taken for a T-shirt, a close call.
    fn sample() -> Predictions {
        let mut probabilities = vec![0u8; 3 * NUM_CLASSES];
        probabilities[0] = 255;
        probabilities[NUM_CLASSES] = 153; // T-shirt/top 60%
        probabilities[NUM_CLASSES + 6] = 77; // Shirt 30%
        probabilities[NUM_CLASSES + 2] = 25; // Pullover 10%
        probabilities[2 * NUM_CLASSES + 4] = 128;
        probabilities[2 * NUM_CLASSES + 2] = 127;
        Predictions::new(vec![0, 6, 2], vec![0, 0, 4], probabilities).unwrap()
    }

    #[test]
    fn predictions_round_trip_through_the_run_folder() {
        let dir = tempfile::tempdir().unwrap();
        let predictions = sample();
        predictions.save(dir.path()).unwrap();
        assert_eq!(Predictions::load(dir.path()).unwrap(), predictions);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [PREDICTIONS_FILE], "no temporary file is left");
        // The header is a safetensors header that says what each tensor is.
        let bytes = std::fs::read(dir.path().join(PREDICTIONS_FILE)).unwrap();
        let size = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(size % 8, 0);
        let header = std::str::from_utf8(&bytes[8..8 + size]).unwrap();
        assert!(
            header
                .contains(r#""probabilities":{"data_offsets":[6,36],"dtype":"U8","shape":[3,10]}"#),
            "{header}"
        );
        assert_eq!(bytes.len(), 8 + size + 36);
    }

    #[test]
    fn top_cells_and_correctness() {
        let predictions = sample();
        let top = predictions.top(1, 3);
        let classes: Vec<usize> = top.iter().map(|&(class, _)| class).collect();
        assert_eq!(classes, [0, 6, 2]);
        assert!((top[0].1 - 0.6).abs() < 1e-9 && (top[1].1 - 77.0 / 255.0).abs() < 1e-9);
        assert_eq!(predictions.top(2, 1), [(4, 128.0 / 255.0)]);
        assert_eq!(predictions.cell(6, 0), [1]);
        assert_eq!(predictions.cell(0, 0), [0]);
        assert!(predictions.cell(6, 6).is_empty());
        assert!(predictions.correct(0) && !predictions.correct(1));
    }

    #[test]
    fn a_missing_file_says_the_run_predates_predictions() {
        let dir = tempfile::tempdir().unwrap();
        let message = Predictions::load(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("predictions.safetensors: no test predictions")
                && message.contains("predates"),
            "{message}"
        );
    }

    #[test]
    fn damaged_files_are_named_with_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PREDICTIONS_FILE);
        let load = || Predictions::load(dir.path()).unwrap_err().to_string();
        std::fs::write(&path, b"\x01\x02").unwrap();
        assert!(
            load().contains("expected an 8-byte header size, found 2 bytes"),
            "{}",
            load()
        );
        std::fs::write(&path, b"\xff\x00\x00\x00\x00\x00\x00\x00{}").unwrap();
        assert!(load().contains("the header claims 255 bytes"), "{}", load());
        // Cut short: the probabilities no longer fit in the data.
        let bytes = sample().to_bytes();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let message = load();
        assert!(
            message.contains("not valid test predictions")
                && message.contains("\"probabilities\" claims bytes 6..36"),
            "{message}"
        );
        // A class out of range.
        let mut bad = sample().to_bytes();
        let at = bad.len() - 36;
        bad[at] = 12;
        std::fs::write(&path, &bad).unwrap();
        assert!(
            load().contains("labels[0] is 12, expected a class below 10"),
            "{}",
            load()
        );
        // Some other safetensors file (a checkpoint, say).
        let other = b"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        let mut foreign = (other.len() as u64).to_le_bytes().to_vec();
        foreign.extend_from_slice(other);
        foreign.extend_from_slice(&[0; 4]);
        std::fs::write(&path, foreign).unwrap();
        assert!(
            load().contains("expected __metadata__.format"),
            "{}",
            load()
        );
    }
}
