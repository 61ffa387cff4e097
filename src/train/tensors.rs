//! The dataset on the training device: uploaded once per device and split,
//! then only sliced, never copied back from the host.

use tch::{Device, Tensor};

use crate::data::FashionMnist;

/// Images (`N×1×28×28` f32) and labels (`N` i64) of one split, on the device.
#[derive(Debug)]
pub struct Pair {
    pub images: Tensor,
    pub labels: Tensor,
}

/// Which upload this is, so the trainer can reuse it for the next run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UploadKey {
    pub device: Device,
    pub validation_split: f64,
    pub limit_train: Option<usize>,
}

/// Training, validation and test data on one device.
#[derive(Debug)]
pub struct DeviceData {
    pub key: UploadKey,
    pub train: Pair,
    pub validation: Pair,
    pub test: Pair,
}

impl Pair {
    /// Number of images.
    pub fn len(&self) -> usize {
        usize::try_from(self.labels.size()[0]).unwrap_or(0)
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DeviceData {
    /// Splits off validation data as Keras does (the end of the training
    /// file, before shuffling), keeps the first `limit_train` training
    /// images if asked, and uploads all three splits.
    pub fn upload(dataset: &FashionMnist, key: UploadKey) -> Self {
        let (train, validation) = dataset.train.keras_validation_split(key.validation_split);
        let train = match key.limit_train {
            Some(limit) => train.head(limit),
            None => train,
        };
        let pair = |split: &crate::data::Split| Pair {
            images: split.images_tensor(key.device),
            labels: split.labels_tensor(key.device),
        };
        Self {
            key,
            train: pair(&train),
            validation: pair(&validation),
            test: pair(&dataset.test),
        }
    }
}
