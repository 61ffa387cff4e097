//! What an epoch needs besides the steps: its shuffled order and seeds, and
//! a meter of loss and accuracy kept on the device.

use std::time::{Duration, Instant};

use tch::{Device, Kind, Tensor};

use super::{checkpoint::MidEpoch, tensors::Pair};

/// At most this many progress events a second; each costs one device readback.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// The training split in this epoch's order: a permutation drawn from a
/// generator seeded by (run seed, epoch), so any epoch's order can be
/// reproduced on its own. One gather on the device; batches are then slices.
pub(super) fn shuffled(train: &Pair, seed: u64, epoch: u32, device: Device) -> (Tensor, Tensor) {
    let mut order: Vec<i64> = (0..train.len() as i64).collect();
    fastrand::Rng::with_seed(epoch_seed(seed, epoch)).shuffle(&mut order);
    let order = Tensor::from_slice(&order).to_device(device);
    (
        train.images.index_select(0, &order),
        train.labels.index_select(0, &order),
    )
}

/// The seed of one epoch's shuffle and dropout, from the run's seed.
pub(super) fn epoch_seed(seed: u64, epoch: u32) -> u64 {
    seed ^ u64::from(epoch).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The seed of one step's augmentation: its own stream, not the dropout's.
pub(super) fn augment_seed(seed: u64, epoch: u32, step: usize) -> u64 {
    epoch_seed(seed, epoch)
        ^ (step as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ 0xA076_1D64_78BD_642F
}

/// Running sums of loss and correct predictions, kept on the device and
/// read back only when a progress event is due.
pub(super) struct Meter {
    loss_sum: Tensor,
    correct: Tensor,
    /// Images of the epoch so far.
    pub(super) samples: usize,
    last_read: Instant,
    read_loss: f64,
    read_correct: f64,
    read_samples: usize,
}

impl Meter {
    pub(super) fn new(device: Device) -> Self {
        Self {
            loss_sum: Tensor::zeros([], (Kind::Double, device)),
            correct: Tensor::zeros([], (Kind::Int64, device)),
            samples: 0,
            last_read: Instant::now(),
            read_loss: 0.0,
            read_correct: 0.0,
            read_samples: 0,
        }
    }

    pub(super) fn add(&mut self, loss: &Tensor, logits: &Tensor, labels: &Tensor, len: i64) {
        tch::no_grad(|| {
            self.loss_sum += loss.detach().to_kind(Kind::Double) * len as f64;
            self.correct += logits.argmax(-1, false).eq_tensor(labels).sum(Kind::Int64);
        });
        self.samples += len as usize;
    }

    /// Picks up the sums of the steps a suspended epoch already took.
    pub(super) fn restore(&mut self, within: &MidEpoch) {
        let device = self.loss_sum.device();
        self.loss_sum = Tensor::from(within.loss_sum).to_device(device);
        self.correct = Tensor::from(within.correct).to_device(device);
        self.samples = within.samples;
        self.read_loss = within.loss_sum;
        self.read_correct = within.correct as f64;
        self.read_samples = within.samples;
    }

    /// The place after `step` steps, for a mid-epoch checkpoint.
    pub(super) fn mid_epoch(&self, step: usize, dropout_state: u64, seconds: f64) -> MidEpoch {
        MidEpoch {
            step,
            loss_sum: self.loss_sum.double_value(&[]),
            correct: self.correct.int64_value(&[]),
            samples: self.samples,
            dropout_state,
            seconds,
        }
    }

    pub(super) fn due(&self) -> bool {
        self.last_read.elapsed() >= PROGRESS_INTERVAL
    }

    /// Epoch means and the means since the previous read.
    pub(super) fn read(&mut self) -> (f64, f64, f64, f64) {
        let loss = self.loss_sum.double_value(&[]);
        let correct = self.correct.double_value(&[]);
        let samples = self.samples.max(1) as f64;
        let recent_samples = (self.samples - self.read_samples).max(1) as f64;
        let result = (
            loss / samples,
            correct / samples,
            (loss - self.read_loss) / recent_samples,
            (correct - self.read_correct) / recent_samples,
        );
        self.read_loss = loss;
        self.read_correct = correct;
        self.read_samples = self.samples;
        self.last_read = Instant::now();
        result
    }
}
