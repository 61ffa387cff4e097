//! Eval-mode passes over a split in large batches: loss, accuracy and the
//! confusion matrix, optionally each image's prediction (the test set's),
//! or with each image's mirror averaged in (test-time flipping).

use tch::{nn::ModuleT, Device, Kind, Tensor};
use thiserror::Error;

use super::{augment, tensors::Pair};
use crate::{
    data::NUM_CLASSES,
    model::Net,
    protocol::ConfusionMatrix,
    store::{Predictions, PredictionsProblem},
};

/// Images per forward pass when evaluating (no gradients, so larger is fine).
const EVAL_BATCH: i64 = 1000;

/// Per-image predictions that could not be brought back.
#[derive(Debug, Error)]
pub enum PredictionsError {
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("bad test predictions: {0}")]
    Invalid(#[from] PredictionsProblem),
}

/// Loss, accuracy and confusion matrix of one pass over a split.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
}

/// Loss and accuracy of each image's probabilities averaged with its mirror's.
pub fn evaluate_flipped(net: &Net, split: &Pair) -> Evaluation {
    let averaged = |images: &Tensor| {
        (net.forward_t(images, false).softmax(-1, Kind::Float)
            + net
                .forward_t(&augment::mirrored(images), false)
                .softmax(-1, Kind::Float))
            / 2.0
    };
    let loss = |probabilities: &Tensor, labels: &Tensor| {
        probabilities.clamp_min(1e-12).log().nll_loss(labels)
    };
    evaluate_pass(split, averaged, loss, |_, _, _| {})
}

/// A confusion matrix from its flattened counts on the device.
fn confusion_from(cells: &Tensor) -> ConfusionMatrix {
    let cells = Vec::<i64>::try_from(cells.to_device(Device::Cpu)).unwrap_or_default();
    let mut confusion = [[0u32; NUM_CLASSES]; NUM_CLASSES];
    for (index, count) in cells.into_iter().enumerate() {
        confusion[index / NUM_CLASSES][index % NUM_CLASSES] =
            u32::try_from(count).unwrap_or(u32::MAX);
    }
    confusion
}

/// Loss (mean), accuracy and confusion matrix of `net` on `split`, in eval mode.
pub fn evaluate(net: &Net, split: &Pair) -> Evaluation {
    evaluate_logits(net, split, |_, _, _| {})
}

/// One eval-mode pass of `net`'s logits over `split`, each batch's labels,
/// predictions and logits handed to `keep`.
fn evaluate_logits(
    net: &Net,
    split: &Pair,
    keep: impl FnMut(&Tensor, &Tensor, &Tensor),
) -> Evaluation {
    let logits = |images: &Tensor| net.forward_t(images, false);
    let loss = |logits: &Tensor, labels: &Tensor| logits.cross_entropy_for_logits(labels);
    evaluate_pass(split, logits, loss, keep)
}

/// [`evaluate`], and what the net predicted for each image (the test set's
/// gallery and diff need them; validation passes do not pay for them).
pub fn evaluate_with_predictions(
    net: &Net,
    split: &Pair,
) -> Result<(Evaluation, Predictions), PredictionsError> {
    let mut kept = Kept::default();
    let evaluation = evaluate_logits(net, split, |labels, predicted, logits| {
        // Quantized on the device: one byte per probability comes back.
        let probabilities = logits.to_kind(Kind::Float).softmax(-1, Kind::Float);
        kept.labels.push(labels.to_kind(Kind::Uint8));
        kept.predicted.push(predicted.to_kind(Kind::Uint8));
        kept.probabilities
            .push((probabilities * 255.0).round().to_kind(Kind::Uint8));
    });
    let host = |parts: &[Tensor]| -> Result<Vec<u8>, PredictionsError> {
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(Vec::<u8>::try_from(
            Tensor::cat(parts, 0).flatten(0, -1).to_device(Device::Cpu),
        )?)
    };
    let predictions = Predictions::new(
        host(&kept.labels)?,
        host(&kept.predicted)?,
        host(&kept.probabilities)?,
    )?;
    Ok((evaluation, predictions))
}

/// Per-batch predictions of a pass, as u8 tensors on the device.
#[derive(Default)]
struct Kept {
    labels: Vec<Tensor>,
    predicted: Vec<Tensor>,
    probabilities: Vec<Tensor>,
}

/// One eval-mode pass over `split` in batches: `scores` gives a batch's
/// per-class scores (logits, or averaged probabilities), `loss` their mean
/// loss against the labels, and `keep` sees each batch's labels,
/// predictions and scores. Loss and confusion counts stay on the device:
/// one readback for the whole pass.
fn evaluate_pass(
    split: &Pair,
    scores: impl Fn(&Tensor) -> Tensor,
    loss: impl Fn(&Tensor, &Tensor) -> Tensor,
    mut keep: impl FnMut(&Tensor, &Tensor, &Tensor),
) -> Evaluation {
    tch::no_grad(|| {
        let device = split.images.device();
        let classes = NUM_CLASSES as i64;
        let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
        let mut cells = Tensor::zeros([classes * classes], (Kind::Int64, device));
        let total = split.len() as i64;
        let mut start = 0;
        while start < total {
            let len = EVAL_BATCH.min(total - start);
            let images = split.images.narrow(0, start, len);
            let labels = split.labels.narrow(0, start, len);
            let batch = scores(&images);
            loss_sum += loss(&batch, &labels).to_kind(Kind::Double) * len as f64;
            let predicted = batch.argmax(-1, false);
            keep(&labels, &predicted, &batch);
            cells += (labels * classes + predicted).bincount::<Tensor>(None, classes * classes);
            start += len;
        }
        let confusion = confusion_from(&cells);
        Evaluation {
            loss: loss_sum.double_value(&[]) / total.max(1) as f64,
            accuracy: crate::stats::confusion::accuracy(&confusion),
            confusion,
        }
    })
}
