//! The whole dataset in memory: both splits, read from where discovery found them.

use super::{csv, discover::Format, idx, split::Split, DataError, DataSource};

/// The whole dataset as found on disk.
#[derive(Clone, Debug)]
pub struct FashionMnist {
    pub train: Split,
    pub test: Split,
}

impl FashionMnist {
    /// Loads both splits from where discovery found them.
    ///
    /// The four IDX files are decoded on parallel threads: gunzipping the
    /// training images dominates the load.
    pub fn load(source: &DataSource) -> Result<Self, DataError> {
        match &source.format {
            Format::Idx {
                train_images,
                train_labels,
                test_images,
                test_labels,
            } => std::thread::scope(|scope| {
                let test_images_job = scope.spawn(|| idx::read_images(test_images));
                let train_labels_job = scope.spawn(|| idx::read_labels(train_labels));
                let test_labels_job = scope.spawn(|| idx::read_labels(test_labels));
                let train = paired(
                    train_images,
                    idx::read_images(train_images),
                    train_labels,
                    join(train_labels_job),
                )?;
                let test = paired(
                    test_images,
                    join(test_images_job),
                    test_labels,
                    join(test_labels_job),
                )?;
                Ok(Self { train, test })
            }),
            Format::Csv { train, test } => {
                let (train, test) = std::thread::scope(|scope| {
                    let test = scope.spawn(|| csv::read_split(test));
                    (csv::read_split(train), join(test))
                });
                Ok(Self {
                    train: train?,
                    test: test?,
                })
            }
        }
    }
}

impl FashionMnist {
    /// Loads the test split alone (the gallery's images): a tenth of the work.
    pub fn load_test(source: &DataSource) -> Result<Split, DataError> {
        match &source.format {
            Format::Idx {
                test_images,
                test_labels,
                ..
            } => paired(
                test_images,
                idx::read_images(test_images),
                test_labels,
                idx::read_labels(test_labels),
            ),
            Format::Csv { test, .. } => csv::read_split(test),
        }
    }
}

fn join<T>(
    handle: std::thread::ScopedJoinHandle<'_, Result<T, DataError>>,
) -> Result<T, DataError> {
    // A reader thread only panics on a bug; surface that as the panic it is.
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn paired(
    images_path: &std::path::Path,
    images: Result<(usize, Vec<u8>), DataError>,
    labels_path: &std::path::Path,
    labels: Result<Vec<u8>, DataError>,
) -> Result<Split, DataError> {
    let (image_count, images) = images?;
    let labels = labels?;
    if image_count != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            image_count,
            label_count: labels.len(),
        });
    }
    Ok(Split { images, labels })
}
