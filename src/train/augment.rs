//! Augmentation of a training batch: random shifts (pad with 0, crop back),
//! left–right mirroring and random erasing. Every random number is drawn on
//! the host from a generator seeded by the batch's place in the run, so a
//! batch is the same whoever trains it and whenever: a run resumed mid-epoch
//! augments exactly as an uninterrupted one. The pixels move on the device,
//! in one gather and one multiplication.

use tch::Tensor;

use crate::{data::IMAGE_SIDE, plan::Augment};

/// Random erasing's rectangle covers this share of the image…
const ERASE_AREA: (f64, f64) = (0.02, 0.25);
/// …with a height-to-width ratio between these (drawn log-uniformly).
const ERASE_RATIO: (f64, f64) = (0.3, 3.3);

/// `images` (`N×1×28×28`) changed as `augment` says, from `seed`.
pub fn augment(images: &Tensor, augment: &Augment, seed: u64) -> Tensor {
    if !augment.is_on() {
        return images.shallow_clone();
    }
    let count = usize::try_from(images.size()[0]).unwrap_or(0);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut x = images.shallow_clone();
    if augment.crop > 0 || augment.flip {
        x = moved(
            &x,
            &source_indices(count, augment, &mut rng),
            i64::from(augment.crop),
        );
    }
    if augment.erasing > 0.0 {
        let keep = erasing_mask(count, augment.erasing, &mut rng);
        let mask = Tensor::from_slice(&keep)
            .view([count as i64, 1, 28, 28])
            .to_device(images.device());
        // Not in place: without a shift `x` is still the caller's batch.
        let erased = &x * mask;
        x = erased;
    }
    x
}

/// For each output pixel of each image, where it comes from in the image
/// padded by `crop` on every side.
fn source_indices(count: usize, augment: &Augment, rng: &mut fastrand::Rng) -> Vec<i64> {
    let side = IMAGE_SIDE as i64;
    let pad = i64::from(augment.crop);
    let padded = side + 2 * pad;
    let mut indices = Vec::with_capacity(count * IMAGE_SIDE * IMAGE_SIDE);
    for _ in 0..count {
        let (dx, dy) = (rng.i64(-pad..=pad), rng.i64(-pad..=pad));
        let flip = augment.flip && rng.bool();
        for y in 0..side {
            for x in 0..side {
                let from_x = if flip { side - 1 - x } else { x };
                indices.push((y + pad + dy) * padded + from_x + pad + dx);
            }
        }
    }
    indices
}

/// The images gathered at `indices` from themselves padded by `padding`.
fn moved(images: &Tensor, indices: &[i64], padding: i64) -> Tensor {
    let count = images.size()[0];
    let side = IMAGE_SIDE as i64;
    let padded = images
        .constant_pad_nd([padding, padding, padding, padding])
        .view([count, -1]);
    let index = Tensor::from_slice(indices)
        .view([count, side * side])
        .to_device(images.device());
    padded.gather(1, &index, false).view([count, 1, side, side])
}

/// 1 where a pixel is kept, 0 inside each erased rectangle.
fn erasing_mask(count: usize, probability: f64, rng: &mut fastrand::Rng) -> Vec<f32> {
    let side = IMAGE_SIDE;
    let mut keep = vec![1f32; count * side * side];
    for image in keep.chunks_mut(side * side) {
        if rng.f64() >= probability {
            continue;
        }
        let area =
            (ERASE_AREA.0 + rng.f64() * (ERASE_AREA.1 - ERASE_AREA.0)) * (side * side) as f64;
        let (low, high) = (ERASE_RATIO.0.ln(), ERASE_RATIO.1.ln());
        let ratio = (low + rng.f64() * (high - low)).exp();
        let height = ((area * ratio).sqrt().round() as usize).clamp(1, side);
        let width = ((area / ratio).sqrt().round() as usize).clamp(1, side);
        let top = rng.usize(0..=side - height);
        let left = rng.usize(0..=side - width);
        for row in image.chunks_mut(side).skip(top).take(height) {
            row[left..left + width].fill(0.0);
        }
    }
    keep
}

/// The images mirrored left–right (for test-time flipping).
pub fn mirrored(images: &Tensor) -> Tensor {
    images.flip([3])
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind};

    use super::*;

    fn images(count: i64) -> Tensor {
        Tensor::rand([count, 1, 28, 28], (Kind::Float, Device::Cpu))
    }

    const ALL: Augment = Augment {
        crop: 2,
        flip: true,
        erasing: 0.5,
    };

    #[test]
    fn the_same_seed_gives_the_same_batch_and_another_seed_another() {
        let batch = images(16);
        let a = augment(&batch, &ALL, 7);
        assert!(a.equal(&augment(&batch, &ALL, 7)));
        assert!(!a.equal(&augment(&batch, &ALL, 8)));
        assert!(!a.equal(&batch));
        assert_eq!(a.size(), batch.size());
    }

    #[test]
    fn nothing_asked_changes_nothing() {
        let batch = images(4);
        assert!(augment(&batch, &Augment::default(), 1).equal(&batch));
    }

    #[test]
    fn a_flip_alone_mirrors_some_images_and_keeps_the_others() {
        let batch = images(32);
        let flip = Augment {
            flip: true,
            ..Augment::default()
        };
        let out = augment(&batch, &flip, 3);
        let mut flipped = 0;
        for n in 0..32 {
            let (image, result) = (batch.get(n), out.get(n));
            if result.equal(&image.flip([2])) {
                flipped += 1;
            } else {
                assert!(
                    result.equal(&image),
                    "image {n} is neither kept nor mirrored"
                );
            }
        }
        assert!((4..=28).contains(&flipped), "{flipped} of 32 mirrored");
    }

    #[test]
    fn a_shift_moves_the_pixels_and_fills_with_zero() {
        let one = Tensor::ones([64, 1, 28, 28], (Kind::Float, Device::Cpu));
        let shift = Augment {
            crop: 2,
            ..Augment::default()
        };
        let out = augment(&one, &shift, 5);
        // Every shifted image keeps (28 − |dx|)(28 − |dy|) ones; zeros fill the rest.
        let kept: Vec<f64> = (0..64)
            .map(|n| out.get(n).sum(Kind::Float).double_value(&[]))
            .collect();
        assert!(kept.iter().all(|&sum| (26.0 * 26.0..=784.0).contains(&sum)));
        assert!(kept.iter().any(|&sum| sum < 784.0), "no image moved");
    }

    #[test]
    fn erasing_blanks_one_rectangle_in_about_its_share_of_images() {
        let one = Tensor::ones([200, 1, 28, 28], (Kind::Float, Device::Cpu));
        let erase = Augment {
            erasing: 0.5,
            ..Augment::default()
        };
        let out = augment(&one, &erase, 11);
        let erased = (0..200)
            .filter(|&n| out.get(n).sum(Kind::Float).double_value(&[]) < 784.0)
            .count();
        assert!((70..=130).contains(&erased), "{erased} of 200 erased");
        for n in 0..200 {
            let blank = 784.0 - out.get(n).sum(Kind::Float).double_value(&[]);
            assert!(
                blank <= 0.26 * 784.0 + 28.0,
                "image {n}: {blank} pixels blank"
            );
        }
    }
}
