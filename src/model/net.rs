//! The tch network built from a [`ModelSpec`], layer for layer as Keras built it.

use tch::{
    nn::{self, ModuleT},
    Kind, Tensor,
};

use super::{
    convnet::ConvBlocks,
    dropout::Dropout,
    error::SpecError,
    init::{glorot_uniform, ZERO},
    precision::Precision,
    relu_pool::relu_pool2,
    spec::{ModelSpec, DROPOUT_HIDDEN, DROPOUT_LAST, KERNEL},
};
use crate::data::NUM_CLASSES;

/// A CNN or MLP whose variables live in the `VarStore` it was built in.
#[derive(Debug)]
pub struct Net {
    spec: ModelSpec,
    convs: Vec<nn::Conv2D>,
    hidden: Vec<nn::Linear>,
    output: nn::Linear,
    /// A `ConvNet`'s blocks; `convs` is then empty and `hidden` is its head.
    blocks: Option<ConvBlocks>,
    precision: Precision,
    dropout: Dropout,
}

impl Net {
    /// Creates the layers under `root`, initialised as Keras does.
    pub fn new(root: &nn::Path, spec: &ModelSpec) -> Result<Self, SpecError> {
        spec.validate()?;
        let mut convs = Vec::new();
        let mut hidden = Vec::new();
        let mut blocks = None;
        let mut inputs = spec.flat_features()?;
        match spec {
            ModelSpec::ConvNet {
                blocks: specs,
                head,
            } => {
                blocks = Some(ConvBlocks::new(root, specs, head));
                for (index, &width) in head.dense.iter().enumerate() {
                    hidden.push(nn::linear(
                        root / format!("dense{index}"),
                        inputs,
                        width,
                        nn::LinearConfig::default(),
                    ));
                    inputs = width;
                }
            }
            ModelSpec::Cnn { conv, dense, .. } => {
                let mut channels = 1;
                for (index, &width) in conv.iter().enumerate() {
                    let area = KERNEL * KERNEL;
                    let config = nn::ConvConfig {
                        ws_init: glorot_uniform(channels * area, width * area),
                        bs_init: ZERO,
                        ..Default::default()
                    };
                    convs.push(nn::conv2d(
                        root / format!("conv{index}"),
                        channels,
                        width,
                        KERNEL,
                        config,
                    ));
                    channels = width;
                }
                hidden.push(linear(root / "dense0", inputs, *dense));
                inputs = *dense;
            }
            ModelSpec::Mlp { hidden: widths, .. } => {
                for (index, &width) in widths.iter().enumerate() {
                    hidden.push(linear(root / format!("dense{index}"), inputs, width));
                    inputs = width;
                }
            }
        }
        let output = match blocks {
            // PyTorch's initialisation, as the recipes it comes from.
            Some(_) => nn::linear(
                root / "output",
                inputs,
                NUM_CLASSES as i64,
                nn::LinearConfig::default(),
            ),
            None => linear(root / "output", inputs, NUM_CLASSES as i64),
        };
        Ok(Self {
            spec: spec.clone(),
            convs,
            hidden,
            output,
            blocks,
            precision: Precision::Fp32,
            dropout: Dropout::new(0),
        })
    }

    /// The spec this network was built from.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }
}

fn linear(path: nn::Path, inputs: i64, outputs: i64) -> nn::Linear {
    let config = nn::LinearConfig {
        ws_init: glorot_uniform(inputs, outputs),
        bs_init: Some(ZERO),
        bias: true,
    };
    nn::linear(path, inputs, outputs, config)
}

impl ModuleT for Net {
    /// Images `N×1×28×28` in, logits `N×10` out; dropout is active only when `train`.
    fn forward_t(&self, images: &Tensor, train: bool) -> Tensor {
        if let Some(blocks) = &self.blocks {
            return self.convnet_forward(blocks, images, train);
        }
        let dropout = self.spec.has_dropout();
        let mut x = images.shallow_clone();
        for conv in &self.convs {
            x = relu_pool2(&self.conv(&x, conv));
            if dropout {
                x = self.dropout.apply(&x, DROPOUT_HIDDEN, train);
            }
        }
        x = x.flat_view();
        let last = self.hidden.len().saturating_sub(1);
        for (index, layer) in self.hidden.iter().enumerate() {
            x = self.linear(&x, layer).relu();
            if dropout {
                // The CNN has one dense layer, which is also the last.
                let rate = if index == last {
                    DROPOUT_LAST
                } else {
                    DROPOUT_HIDDEN
                };
                x = self.dropout.apply(&x, rate, train);
            }
        }
        // Logits (and so the loss) in fp32 whatever the compute precision.
        self.linear(&x, &self.output).to_kind(Kind::Float)
    }
}

impl Net {
    /// A `ConvNet`: its blocks, then dropout before each dense layer of the head.
    fn convnet_forward(&self, blocks: &ConvBlocks, images: &Tensor, train: bool) -> Tensor {
        let rate = blocks.head_dropout;
        let mut x = blocks.features(images, train, &self.dropout);
        for layer in &self.hidden {
            x = self.dropout.apply(&x, rate, train).apply(layer).relu();
        }
        self.dropout.apply(&x, rate, train).apply(&self.output)
    }

    /// Sets the compute precision (fp32 unless asked otherwise).
    pub fn set_precision(&mut self, precision: Precision) {
        self.precision = precision;
    }

    /// Restarts the dropout masks at `seed` (libtorch's generator, which
    /// dropout uses off the CPU, is seeded separately with `tch::manual_seed`).
    pub fn reseed_dropout(&self, seed: u64) {
        self.dropout.reseed(seed);
    }

    /// The dropout mask generator's state, for a mid-epoch checkpoint.
    pub fn dropout_state(&self) -> u64 {
        self.dropout.state()
    }

    /// Puts the dropout mask generator back where [`Net::dropout_state`] read it.
    pub fn set_dropout_state(&self, state: u64) {
        self.dropout.reseed(state);
    }

    /// The compute precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// A convolution in the compute precision: in bf16 its input, weight
    /// and bias are cast on the way in, and gradients flow back to the fp32
    /// weights through the casts (what autocast does).
    fn conv(&self, x: &Tensor, conv: &nn::Conv2D) -> Tensor {
        match self.precision {
            Precision::Fp32 => x.apply(conv),
            Precision::Bf16 => {
                let kind = self.precision.compute_kind();
                x.to_kind(kind).conv2d(
                    &conv.ws.to_kind(kind),
                    conv.bs.as_ref().map(|bias| bias.to_kind(kind)),
                    [1, 1],
                    [0, 0],
                    [1, 1],
                    1,
                )
            }
        }
    }

    /// A dense layer in the compute precision (see [`Net::conv`]).
    fn linear(&self, x: &Tensor, layer: &nn::Linear) -> Tensor {
        match self.precision {
            Precision::Fp32 => x.apply(layer),
            Precision::Bf16 => {
                let kind = self.precision.compute_kind();
                x.to_kind(kind).linear(
                    &layer.ws.to_kind(kind),
                    layer.bs.as_ref().map(|bias| bias.to_kind(kind)),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tch::{nn::VarStore, Device, Kind};

    use super::*;

    fn built(spec: &ModelSpec) -> (VarStore, Net) {
        let store = VarStore::new(Device::Cpu);
        let net = Net::new(&store.root(), spec).unwrap();
        (store, net)
    }

    fn seed_specs() -> Vec<(ModelSpec, i64)> {
        vec![
            (
                ModelSpec::Cnn {
                    conv: vec![64],
                    dense: 16,
                    dropout: false,
                },
                173_882,
            ),
            (
                ModelSpec::Cnn {
                    conv: vec![64],
                    dense: 16,
                    dropout: true,
                },
                173_882,
            ),
            (
                ModelSpec::Cnn {
                    conv: vec![512],
                    dense: 128,
                    dropout: true,
                },
                11_082_122,
            ),
            (
                ModelSpec::Cnn {
                    conv: vec![512, 256, 128],
                    dense: 32,
                    dropout: true,
                },
                1_484_522,
            ),
            (
                ModelSpec::Mlp {
                    hidden: vec![512, 256, 128],
                    dropout: true,
                },
                567_434,
            ),
        ]
    }

    #[test]
    fn built_parameters_match_the_spec_and_the_original() {
        for (spec, expected) in seed_specs() {
            let (store, _net) = built(&spec);
            let count: i64 = store
                .trainable_variables()
                .iter()
                .map(Tensor::numel)
                .map(|n| n as i64)
                .sum();
            assert_eq!(count, expected, "{spec}");
            assert_eq!(spec.param_count().unwrap(), expected as u64);
        }
    }

    #[test]
    fn output_is_one_logit_per_class() {
        for (spec, _) in seed_specs() {
            let (_store, net) = built(&spec);
            let images = Tensor::rand([3, 1, 28, 28], (Kind::Float, Device::Cpu));
            assert_eq!(net.forward_t(&images, true).size(), vec![3, 10], "{spec}");
            assert_eq!(net.forward_t(&images, false).size(), vec![3, 10], "{spec}");
        }
    }

    #[test]
    fn biases_start_at_zero_and_weights_within_the_glorot_limit() {
        let (store, _net) = built(&ModelSpec::Mlp {
            hidden: vec![512],
            dropout: false,
        });
        let variables = store.variables();
        let bias = &variables["dense0.bias"];
        assert_eq!(bias.abs().sum(Kind::Float).double_value(&[]), 0.0);
        let limit = (6.0f64 / (784.0 + 512.0)).sqrt();
        let weight = &variables["dense0.weight"];
        let max = weight.abs().max().double_value(&[]);
        assert!(
            max <= limit && max > limit * 0.9,
            "max |w| {max} vs limit {limit}"
        );
    }

    #[test]
    fn dropout_only_in_training_mode() {
        tch::manual_seed(7);
        let (_store, net) = built(&ModelSpec::Mlp {
            hidden: vec![64, 32],
            dropout: true,
        });
        let images = Tensor::rand([4, 1, 28, 28], (Kind::Float, Device::Cpu));
        let eval_a = net.forward_t(&images, false);
        let eval_b = net.forward_t(&images, false);
        assert!(eval_a.equal(&eval_b), "evaluation must be deterministic");
        let train_a = net.forward_t(&images, true);
        let train_b = net.forward_t(&images, true);
        assert!(!train_a.equal(&train_b), "training mode must drop units");
    }

    #[test]
    fn bf16_computes_close_to_fp32_and_trains_the_fp32_weights() {
        tch::manual_seed(3);
        let spec = ModelSpec::Cnn {
            conv: vec![8],
            dense: 16,
            dropout: false,
        };
        let (store, mut net) = built(&spec);
        let images = Tensor::rand([4, 1, 28, 28], (Kind::Float, Device::Cpu));
        let exact = net.forward_t(&images, false);
        net.set_precision(Precision::Bf16);
        let mixed = net.forward_t(&images, false);
        assert_eq!(mixed.kind(), Kind::Float, "logits come back in fp32");
        assert_eq!(mixed.size(), exact.size());
        // bf16 keeps 8 bits of mantissa: close, not equal.
        let error = (&mixed - &exact).abs().max().double_value(&[]);
        let scale = exact.abs().max().double_value(&[]);
        assert!(
            error > 0.0 && error < 0.05 * scale.max(1.0),
            "error {error}, scale {scale}"
        );
        // Gradients flow through the casts to the fp32 weights.
        let loss = net
            .forward_t(&images, true)
            .cross_entropy_for_logits(&Tensor::from_slice(&[0i64, 1, 2, 3]));
        loss.backward();
        for variable in store.trainable_variables() {
            assert_eq!(variable.kind(), Kind::Float);
            assert!(variable.grad().defined(), "every weight gets a gradient");
        }
    }
}
