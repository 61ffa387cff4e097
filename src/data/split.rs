//! One split in memory (raw bytes, as every reader returns it), the image
//! shape every reader checks, and the split's tensor form.

use tch::{Device, Kind, Tensor};

use super::NUM_CLASSES;

/// Images are square, this many pixels a side.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// One split: `labels.len()` images of 784 bytes each, row-major.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

/// The training images Keras keeps of `total` when `fraction` of them (the
/// end of the file) is held out for validation.
pub fn keras_train_count(total: usize, fraction: f64) -> usize {
    let fraction = fraction.clamp(0.0, 1.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let at = (total as f64 * (1.0 - fraction)) as usize;
    at
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        &self.images[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    /// How many images each class has.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// The first `count` images (all of them when there are fewer).
    pub fn head(&self, count: usize) -> Split {
        let count = count.min(self.len());
        Split {
            images: self.images[..count * IMAGE_PIXELS].to_vec(),
            labels: self.labels[..count].to_vec(),
        }
    }

    /// Splits off the last `fraction` as validation data, exactly as Keras'
    /// `fit(validation_split=…)` does: before any shuffling, at
    /// `int(n * (1 - fraction))`. Returns `(train, validation)`.
    pub fn keras_validation_split(&self, fraction: f64) -> (Split, Split) {
        let at = keras_train_count(self.len(), fraction);
        let train = Split {
            images: self.images[..at * IMAGE_PIXELS].to_vec(),
            labels: self.labels[..at].to_vec(),
        };
        let validation = Split {
            images: self.images[at * IMAGE_PIXELS..].to_vec(),
            labels: self.labels[at..].to_vec(),
        };
        (train, validation)
    }

    /// Images as an `N×1×28×28` f32 tensor on `device`, scaled to [0, 1].
    ///
    /// The bytes travel to the device as u8 (4× less traffic) and are
    /// converted there.
    pub fn images_tensor(&self, device: Device) -> Tensor {
        let side = IMAGE_SIDE as i64;
        Tensor::from_slice(&self.images)
            .view([self.len() as i64, 1, side, side])
            .to_device(device)
            .to_kind(Kind::Float)
            / 255.0
    }

    /// Labels as an `N` i64 tensor on `device`.
    pub fn labels_tensor(&self, device: Device) -> Tensor {
        Tensor::from_slice(&self.labels)
            .to_device(device)
            .to_kind(Kind::Int64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(count: usize) -> Split {
        Split {
            images: (0..count)
                .flat_map(|i| vec![i as u8; IMAGE_PIXELS])
                .collect(),
            labels: (0..count).map(|i| (i % NUM_CLASSES) as u8).collect(),
        }
    }

    #[test]
    fn validation_split_takes_the_last_fifth_unshuffled() {
        let (train, validation) = numbered(10).keras_validation_split(0.2);
        assert_eq!(train.labels, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(validation.labels, vec![8, 9]);
        assert_eq!(validation.image(0)[0], 8);
        assert_eq!(train.images.len(), 8 * IMAGE_PIXELS);
    }

    #[test]
    fn validation_split_of_60000_is_48000_and_12000() {
        let split = Split {
            images: vec![0; 60_000 * IMAGE_PIXELS],
            labels: vec![0; 60_000],
        };
        let (train, validation) = split.keras_validation_split(0.2);
        assert_eq!((train.len(), validation.len()), (48_000, 12_000));
    }

    #[test]
    fn tensors_have_the_documented_shape_kind_and_scale() {
        let mut split = numbered(3);
        split.images[5] = 255;
        let images = split.images_tensor(Device::Cpu);
        assert_eq!(images.size(), vec![3, 1, 28, 28]);
        assert_eq!(images.kind(), Kind::Float);
        assert!((images.double_value(&[0, 0, 0, 5]) - 1.0).abs() < 1e-6);
        assert!((images.double_value(&[2, 0, 27, 27]) - 2.0 / 255.0).abs() < 1e-6);
        let labels = split.labels_tensor(Device::Cpu);
        assert_eq!(labels.kind(), Kind::Int64);
        assert_eq!(Vec::<i64>::try_from(&labels).unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn class_counts_and_head() {
        let split = numbered(25);
        assert_eq!(split.class_counts(), [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
        assert_eq!(split.head(4).labels, vec![0, 1, 2, 3]);
        assert_eq!(split.head(100).len(), 25);
    }
}
