//! The IDX format of the official files, gzip-compressed or raw.
//!
//! An IDX file is a big-endian header (magic, then one u32 per dimension)
//! followed by the unsigned-byte body. Images use magic `0x0000_0803` with
//! dimensions `count × 28 × 28`; labels use `0x0000_0801` with `count`.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
};

use flate2::read::MultiGzDecoder;

use super::{split::IMAGE_SIDE, DataError, NUM_CLASSES};

/// Magic number of an IDX file of unsigned bytes with three dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const IMAGES_HEADER_LEN: usize = 16;
const LABELS_HEADER_LEN: usize = 8;
/// No genuine file comes near this; it stops a gzip bomb from eating memory.
const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a whole file, gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_maybe_gz(path, raw)
}

/// [`read_maybe_gz`] on bytes already in memory; `path` is only named in errors.
///
/// The output grows with the data actually decompressed (never with what a
/// header claims) and stops at 256 MiB.
pub fn decode_maybe_gz(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if raw.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    // Real files decompress to about 1.8× their size; start there to avoid regrowth.
    let mut out = Vec::with_capacity(raw.len().saturating_mul(2));
    MultiGzDecoder::new(raw.as_slice())
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|error| DataError::Gzip {
            path: path.to_path_buf(),
            error,
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(DataError::format(
            path,
            format!("decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes; not a Fashion-MNIST file"),
        ));
    }
    if out.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Parses a decompressed image file into its pixels (`count × 784` bytes).
///
/// Returns the pixels with the header removed, so callers own the body
/// without a second copy of 47 MB.
pub fn parse_images(path: &Path, mut bytes: Vec<u8>) -> Result<(usize, Vec<u8>), DataError> {
    let dims = parse_header(path, &bytes, IMAGES_MAGIC, 3, "images")?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows != IMAGE_SIDE || cols != IMAGE_SIDE {
        return Err(DataError::format(
            path,
            format!("expected {IMAGE_SIDE}×{IMAGE_SIDE} images, found {rows}×{cols}"),
        ));
    }
    check_body_len(path, bytes.len() - IMAGES_HEADER_LEN, count, rows * cols)?;
    bytes.drain(..IMAGES_HEADER_LEN);
    Ok((count, bytes))
}

/// Parses a decompressed label file into one byte per label, each checked to be a class.
pub fn parse_labels(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    let dims = parse_header(path, &bytes, LABELS_MAGIC, 1, "labels")?;
    check_body_len(path, bytes.len() - LABELS_HEADER_LEN, dims[0], 1)?;
    bytes.drain(..LABELS_HEADER_LEN);
    if let Some((index, label)) = bytes
        .iter()
        .enumerate()
        .find(|(_, &label)| usize::from(label) >= NUM_CLASSES)
    {
        return Err(DataError::format(
            path,
            format!(
                "label {label} at index {index} is out of range (expected 0..={})",
                NUM_CLASSES - 1
            ),
        ));
    }
    Ok(bytes)
}

/// Reads and parses an image file (gzip or raw).
pub fn read_images(path: &Path) -> Result<(usize, Vec<u8>), DataError> {
    parse_images(path, read_maybe_gz(path)?)
}

/// Reads and parses a label file (gzip or raw).
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    parse_labels(path, read_maybe_gz(path)?)
}

/// Serialises images in IDX layout; used by tests and tools that write fixtures.
pub fn encode_images(count: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(IMAGES_HEADER_LEN + pixels.len());
    for word in [
        IMAGES_MAGIC,
        count as u32,
        IMAGE_SIDE as u32,
        IMAGE_SIDE as u32,
    ] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Serialises labels in IDX layout; used by tests and tools that write fixtures.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABELS_HEADER_LEN + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

fn parse_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    ndims: usize,
    kind: &str,
) -> Result<Vec<usize>, DataError> {
    let header_len = 4 + 4 * ndims;
    if bytes.len() < 4 {
        return Err(truncated_header(path, header_len, bytes.len()));
    }
    let found = be_u32(&bytes[..4]);
    if found != magic {
        let hint = match found {
            IMAGES_MAGIC => " (this is an image file)",
            LABELS_MAGIC => " (this is a label file)",
            _ => "",
        };
        return Err(DataError::format(
            path,
            format!(
                "wrong magic number for {kind}: expected {magic:#010x}, found {found:#010x}{hint}"
            ),
        ));
    }
    if bytes.len() < header_len {
        return Err(truncated_header(path, header_len, bytes.len()));
    }
    Ok(bytes[4..header_len]
        .chunks_exact(4)
        .map(|word| be_u32(word) as usize)
        .collect())
}

fn check_body_len(
    path: &Path,
    found: usize,
    count: usize,
    item_len: usize,
) -> Result<(), DataError> {
    // Checked multiplication: a header may claim absurd dimensions.
    let expected = count.checked_mul(item_len);
    if expected == Some(found) {
        return Ok(());
    }
    let problem = match expected {
        Some(expected) if found < expected => format!(
            "truncated body: header announces {count} items ({expected} bytes), found {found} bytes"
        ),
        Some(expected) => format!(
            "trailing data: header announces {count} items ({expected} bytes), found {found} bytes"
        ),
        None => format!("header announces an impossible item count {count}"),
    };
    Err(DataError::format(path, problem))
}

fn truncated_header(path: &Path, expected: usize, found: usize) -> DataError {
    DataError::format(
        path,
        format!("truncated header: expected {expected} bytes, found {found}"),
    )
}

fn be_u32(word: &[u8]) -> u32 {
    u32::from_be_bytes([word[0], word[1], word[2], word[3]])
}

/// The four official file names, without the `.gz` suffix.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
pub const FILE_STEMS: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Finds `stem.gz` or `stem` in `dir`, preferring the compressed file.
pub fn find_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.gz"), stem.to_string()]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{write::GzEncoder, Compression};

    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn err_text(result: Result<impl std::fmt::Debug, DataError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn raw_and_gzip_files_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..2 * 784).map(|i| (i % 251) as u8).collect();
        let encoded = encode_images(2, &pixels);
        let raw = write(dir.path(), "raw", &encoded);
        let gz = write(dir.path(), "raw.gz", &gzip(&encoded));
        assert_eq!(read_images(&raw).unwrap(), (2, pixels.clone()));
        assert_eq!(read_images(&gz).unwrap(), (2, pixels));
        let labels = write(dir.path(), "labels.gz", &gzip(&encode_labels(&[9, 0, 3])));
        assert_eq!(read_labels(&labels).unwrap(), vec![9, 0, 3]);
    }

    #[test]
    fn missing_file_names_the_path() {
        let message = err_text(read_labels(Path::new("/nonexistent/labels")));
        assert!(message.contains("/nonexistent/labels"), "{message}");
        assert!(message.contains("cannot read"), "{message}");
    }

    #[test]
    fn empty_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "empty", b"");
        let message = err_text(read_images(&path));
        assert!(message.ends_with("empty: file is empty"), "{message}");
    }

    #[test]
    fn wrong_magic_says_expected_and_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "swapped", &encode_labels(&[1, 2]));
        let message = err_text(read_images(&path));
        assert!(
            message.contains("expected 0x00000803, found 0x00000801 (this is a label file)"),
            "{message}"
        );
        let path = write(dir.path(), "junk", b"PK\x03\x04 not idx at all");
        assert!(err_text(read_labels(&path)).contains("wrong magic number for labels"));
    }

    #[test]
    fn truncated_header_and_body_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "short", &[0, 0]);
        assert!(
            err_text(read_labels(&path)).contains("truncated header: expected 8 bytes, found 2")
        );
        let mut bytes = encode_images(3, &vec![7; 3 * 784]);
        bytes.truncate(bytes.len() - 100);
        let path = write(dir.path(), "cut", &bytes);
        let message = err_text(read_images(&path));
        assert!(
            message.contains(
                "truncated body: header announces 3 items (2352 bytes), found 2252 bytes"
            ),
            "{message}"
        );
        let mut bytes = encode_labels(&[1, 2]);
        bytes.push(3);
        let path = write(dir.path(), "long", &bytes);
        assert!(err_text(read_labels(&path)).contains("trailing data"));
    }

    #[test]
    fn absurd_header_does_not_allocate_or_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for word in [IMAGES_MAGIC, u32::MAX, 28, 28] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        let path = write(dir.path(), "huge", &bytes);
        assert!(err_text(read_images(&path)).contains("truncated body"));
    }

    #[test]
    fn wrong_dimensions_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        for word in [IMAGES_MAGIC, 1, 32, 32] {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        bytes.extend(vec![0; 32 * 32]);
        let path = write(dir.path(), "cifar", &bytes);
        assert!(err_text(read_images(&path)).contains("expected 28×28 images, found 32×32"));
    }

    #[test]
    fn label_out_of_range_names_index_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "labels", &encode_labels(&[0, 9, 10]));
        let message = err_text(read_labels(&path));
        assert!(
            message.contains("label 10 at index 2 is out of range (expected 0..=9)"),
            "{message}"
        );
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = gzip(&encode_labels(&[1; 1000]));
        let middle = bytes.len() / 2;
        bytes.truncate(middle);
        let path = write(dir.path(), "labels.gz", &bytes);
        let message = err_text(read_labels(&path));
        assert!(
            message.contains("labels.gz: not a valid gzip stream"),
            "{message}"
        );
    }

    #[test]
    fn find_file_prefers_gz_then_raw() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_file(dir.path(), TEST_LABELS), None);
        let raw = write(dir.path(), TEST_LABELS, b"x");
        assert_eq!(find_file(dir.path(), TEST_LABELS), Some(raw));
        let gz = write(dir.path(), &format!("{TEST_LABELS}.gz"), b"x");
        assert_eq!(find_file(dir.path(), TEST_LABELS), Some(gz));
    }
}
