//! Checks on the real Fashion-MNIST. CI installs it, so there (CI=true) a
//! missing dataset fails the suite; elsewhere these tests are skipped with a note.

use crate::common;
use atelier::data::{self, verify, FashionMnist};

fn real_source() -> Option<data::DataSource> {
    match data::discover(None) {
        Ok(source) => Some(source),
        Err(error) => {
            common::missing(&format!("the real dataset is missing: {error}"));
            None
        }
    }
}

#[test]
fn real_dataset_verifies_against_the_official_checksums() {
    let Some(source) = real_source() else { return };
    let report = verify::verify(&source).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.train_counts, [6000; 10]);
    assert_eq!(report.test_counts, [1000; 10]);
    if matches!(source.format, data::Format::Idx { .. }) {
        assert_eq!(report.checksums.len(), 4);
        assert!(report.checksums.iter().all(|c| c.found == c.expected));
    }
}

#[test]
fn real_dataset_loads_with_the_known_first_image() {
    let Some(source) = real_source() else { return };
    let dataset = FashionMnist::load(&source).unwrap();
    assert_eq!((dataset.train.len(), dataset.test.len()), (60_000, 10_000));
    // The first training image is an ankle boot, label 9.
    assert_eq!(dataset.train.labels[0], 9);
    assert_eq!(data::CLASS_NAMES[9], "Ankle boot");
    assert!(dataset.train.image(0).iter().any(|&p| p > 200));
    let (train, validation) = dataset.train.keras_validation_split(0.2);
    assert_eq!((train.len(), validation.len()), (48_000, 12_000));
    assert_eq!(validation.labels[0], dataset.train.labels[48_000]);
    let images = dataset.test.images_tensor(tch::Device::Cpu);
    assert_eq!(images.size(), vec![10_000, 1, 28, 28]);
    let max = images.max().double_value(&[]);
    assert!(
        (max - 1.0).abs() < 1e-6,
        "pixels scale to [0, 1], max was {max}"
    );
}
