//! The Kaggle CSV layout the original notebook read: a header, then one
//! `label,pixel1,…,pixel784` row per image.

use std::path::Path;

use super::{
    split::{Split, IMAGE_PIXELS},
    DataError, NUM_CLASSES,
};

/// Kaggle's file names for the two splits.
pub const TRAIN_CSV: &str = "fashion-mnist_train.csv";
pub const TEST_CSV: &str = "fashion-mnist_test.csv";

const COLUMNS: usize = 1 + IMAGE_PIXELS;

/// Reads a Kaggle Fashion-MNIST CSV file into a split.
pub fn read_split(path: &Path) -> Result<Split, DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    parse_split(path, std::io::BufReader::new(file))
}

/// [`read_split`] on any reader (bytes in memory, a decompressor); `path`
/// is only named in errors.
pub fn parse_split(path: &Path, input: impl std::io::Read) -> Result<Split, DataError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        // Row widths are checked here, so the error can say which line and how wide.
        .flexible(true)
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(path, &e))?
        .clone();
    if header.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    if header.len() != COLUMNS {
        return Err(DataError::Csv {
            path: path.to_path_buf(),
            line: 1,
            problem: format!(
                "header has {} columns, expected {COLUMNS} (label,pixel1..pixel784)",
                header.len()
            ),
        });
    }
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut record = ::csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = record.position().map_or(0, ::csv::Position::line);
        let row_error = |problem: String| DataError::Csv {
            path: path.to_path_buf(),
            line,
            problem,
        };
        if record.len() != COLUMNS {
            return Err(row_error(format!(
                "expected {COLUMNS} columns, found {}",
                record.len()
            )));
        }
        for (column, field) in record.iter().enumerate() {
            let value = parse_byte(field).ok_or_else(|| {
                row_error(format!(
                    "column {} ({}): expected an integer 0..=255, found {:?}",
                    column + 1,
                    String::from_utf8_lossy(header.get(column).unwrap_or(b"?")),
                    String::from_utf8_lossy(field)
                ))
            })?;
            if column == 0 {
                if usize::from(value) >= NUM_CLASSES {
                    return Err(row_error(format!(
                        "label {value} is out of range (expected 0..={})",
                        NUM_CLASSES - 1
                    )));
                }
                labels.push(value);
            } else {
                images.push(value);
            }
        }
    }
    if labels.is_empty() {
        return Err(DataError::format(path, "no data rows after the header"));
    }
    Ok(Split { images, labels })
}

fn parse_byte(field: &[u8]) -> Option<u8> {
    std::str::from_utf8(field).ok()?.trim().parse::<u8>().ok()
}

fn csv_error(path: &Path, error: &::csv::Error) -> DataError {
    let line = error.position().map_or(0, ::csv::Position::line);
    DataError::Csv {
        path: path.to_path_buf(),
        line,
        problem: error.to_string(),
    }
}

/// Writes a split in the Kaggle layout; used by tests to make fixtures.
pub fn encode_split(split: &Split) -> String {
    let mut out = String::from("label");
    for pixel in 1..=IMAGE_PIXELS {
        out.push_str(&format!(",pixel{pixel}"));
    }
    out.push('\n');
    for (label, image) in split.labels.iter().zip(split.images.chunks(IMAGE_PIXELS)) {
        out.push_str(&label.to_string());
        for pixel in image {
            out.push_str(&format!(",{pixel}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn sample() -> Split {
        Split {
            images: (0..3 * IMAGE_PIXELS).map(|i| (i % 256) as u8).collect(),
            labels: vec![9, 0, 4],
        }
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TRAIN_CSV);
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn error_for(text: &str) -> String {
        let (_dir, path) = write(text);
        read_split(&path).unwrap_err().to_string()
    }

    #[test]
    fn round_trips_the_kaggle_layout() {
        let (_dir, path) = write(&encode_split(&sample()));
        assert_eq!(read_split(&path).unwrap(), sample());
    }

    #[test]
    fn wrong_column_count_names_the_line() {
        let mut text = encode_split(&sample());
        text.push_str("1,2,3\n");
        let message = error_for(&text);
        assert!(
            message.contains("line 5: expected 785 columns, found 3"),
            "{message}"
        );
    }

    #[test]
    fn non_numeric_and_too_large_values_are_reported() {
        let text = encode_split(&sample()).replacen("\n9,0,", "\n9,zero,", 1);
        let message = error_for(&text);
        assert!(
            message
                .contains("line 2: column 2 (pixel1): expected an integer 0..=255, found \"zero\""),
            "{message}"
        );
        // The second image starts at pixel value 784 % 256 = 16.
        let text = encode_split(&sample()).replacen("\n0,16,", "\n0,256,", 1);
        let message = error_for(&text);
        assert!(
            message
                .contains("line 3: column 2 (pixel1): expected an integer 0..=255, found \"256\""),
            "{message}"
        );
    }

    #[test]
    fn label_out_of_range_is_reported() {
        let text = encode_split(&sample()).replacen("\n4,", "\n12,", 1);
        let message = error_for(&text);
        assert!(
            message.contains("line 4: label 12 is out of range"),
            "{message}"
        );
    }

    #[test]
    fn empty_and_header_only_files_are_reported() {
        assert!(error_for("").contains("file is empty"));
        let header_only = encode_split(&Split {
            images: vec![],
            labels: vec![],
        });
        assert!(error_for(&header_only).contains("no data rows"));
        assert!(error_for("label,pixel1\n1,2\n").contains("header has 2 columns"));
    }
}
