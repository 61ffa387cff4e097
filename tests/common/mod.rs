//! Fixtures shared by the integration tests: small datasets written to temp folders.
#![allow(dead_code)]

use std::{io::Write, path::Path};

use atelier::data::{idx, IMAGE_PIXELS};
use flate2::{write::GzEncoder, Compression};

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes a tiny but valid IDX dataset (`train` and `test` images) into `dir`, gzipped.
pub fn write_idx_dataset(dir: &Path, train: usize, test: usize) {
    for (images, labels, count) in [
        (idx::TRAIN_IMAGES, idx::TRAIN_LABELS, train),
        (idx::TEST_IMAGES, idx::TEST_LABELS, test),
    ] {
        let pixels: Vec<u8> = (0..count * IMAGE_PIXELS).map(|i| (i % 256) as u8).collect();
        let label_bytes: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        std::fs::write(
            dir.join(format!("{images}.gz")),
            gzip(&idx::encode_images(count, &pixels)),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{labels}.gz")),
            gzip(&idx::encode_labels(&label_bytes)),
        )
        .unwrap();
    }
}
