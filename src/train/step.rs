//! One optimisation step: the run's network and optimizer, the training
//! loss (with label smoothing when the recipe asks), forward and backward.

use tch::{
    nn::{self, ModuleT},
    Device, Tensor,
};

use super::optimizer::Optimizer;
use crate::{
    model::{Net, SpecError},
    plan::RunSpec,
};

/// A network with its variables and its optimizer.
pub struct Model {
    pub store: nn::VarStore,
    pub net: Net,
    pub optimizer: Optimizer,
}

impl Model {
    /// Builds the run's model on `device`, computing in its precision, with
    /// its recipe's optimizer (the original's: Adam with Keras' betas and
    /// epsilon) at its learning rate.
    pub fn build(spec: &RunSpec, device: Device) -> Result<Self, SpecError> {
        let store = nn::VarStore::new(device);
        let mut net = Net::new(&store.root(), &spec.model)?;
        net.set_precision(spec.precision);
        let optimizer = Optimizer::new(&store, &spec.recipe, spec.learning_rate);
        Ok(Self {
            store,
            net,
            optimizer,
        })
    }
}

/// One optimisation step on a batch; returns the batch's mean loss (with
/// `label_smoothing`, against the smoothed targets) and its logits.
pub fn train_step(
    net: &Net,
    optimizer: &mut Optimizer,
    images: &Tensor,
    labels: &Tensor,
    label_smoothing: f64,
) -> (Tensor, Tensor) {
    let logits = net.forward_t(images, true);
    let loss = training_loss(&logits, labels, label_smoothing);
    optimizer.backward_step(&loss);
    (loss, logits)
}

/// Mean cross-entropy; with smoothing, against targets that give
/// `smoothing / 10` to every class and the rest to the true one.
pub fn training_loss(logits: &Tensor, labels: &Tensor, smoothing: f64) -> Tensor {
    if smoothing == 0.0 {
        return logits.cross_entropy_for_logits(labels);
    }
    logits.cross_entropy_loss::<Tensor>(labels, None, tch::Reduction::Mean, -100, smoothing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_smoothing_is_cross_entropy_against_smoothed_targets() {
        let logits = Tensor::from_slice(&[2.0f32, 0.5, -1.0, 0.0, 1.0, 3.0]).view([2, 3]);
        let labels = Tensor::from_slice(&[0i64, 2]);
        let smoothing = 0.3;
        // By hand: targets (1 − ε) on the label plus ε/3 on every class.
        let rows = [[2.0f64, 0.5, -1.0], [0.0, 1.0, 3.0]];
        let mut expected = 0.0;
        for (row, label) in rows.iter().zip([0usize, 2]) {
            let log_sum = row.iter().map(|x| x.exp()).sum::<f64>().ln();
            for (class, value) in row.iter().enumerate() {
                let target = smoothing / 3.0 + if class == label { 1.0 - smoothing } else { 0.0 };
                expected -= target * (value - log_sum);
            }
        }
        expected /= 2.0;
        let ours = training_loss(&logits, &labels, smoothing).double_value(&[]);
        assert!((ours - expected).abs() < 1e-6, "{ours} vs {expected}");
        let plain = training_loss(&logits, &labels, 0.0).double_value(&[]);
        let by_hand = -((2.0 - rows[0].iter().map(|x: &f64| x.exp()).sum::<f64>().ln())
            + (3.0 - rows[1].iter().map(|x: &f64| x.exp()).sum::<f64>().ln()))
            / 2.0;
        assert!((plain - by_hand).abs() < 1e-6);
    }
}
