//! The tch layers of a `ConvNet`'s blocks (see [`super::blocks`]): convolutions
//! with `PyTorch`'s default initialisation, `BatchNorm` (batch statistics while
//! training, running ones in evaluation; the running statistics are
//! variables of the store, so checkpoints carry them), residual shortcuts.

use tch::{nn, Tensor};

use super::{
    blocks::{Block, Downsample, Head, HeadPool},
    dropout::Dropout,
};

/// A convolution and the `BatchNorm` after it, if any.
#[derive(Debug)]
struct Unit {
    conv: nn::Conv2D,
    norm: Option<nn::BatchNorm>,
}

impl Unit {
    fn new(
        path: &nn::Path,
        inputs: i64,
        outputs: i64,
        kernel: i64,
        stride: i64,
        padding: i64,
        norm: bool,
    ) -> Self {
        let config = nn::ConvConfig {
            stride,
            padding,
            // BatchNorm's shift makes a bias redundant.
            bias: !norm,
            ..Default::default()
        };
        Self {
            conv: nn::conv2d(path / "conv", inputs, outputs, kernel, config),
            norm: norm
                .then(|| nn::batch_norm2d(path / "bn", outputs, nn::BatchNormConfig::default())),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.apply(&self.conv);
        match &self.norm {
            Some(norm) => y.apply_t(norm, train),
            None => y,
        }
    }
}

#[derive(Debug)]
struct BlockLayers {
    spec: Block,
    units: Vec<Unit>,
    shortcut: Option<Unit>,
}

/// Every block of a `ConvNet`, and how its head pools.
#[derive(Debug)]
pub struct ConvBlocks {
    blocks: Vec<BlockLayers>,
    pool: HeadPool,
    /// Dropout before each of the head's dense layers.
    pub head_dropout: f64,
}

impl ConvBlocks {
    /// Creates the layers under `root/block{i}` for an already validated spec.
    pub fn new(root: &nn::Path, blocks: &[Block], head: &Head) -> Self {
        let mut inputs = 1;
        let layers = blocks
            .iter()
            .enumerate()
            .map(|(index, block)| {
                let path = root / format!("block{index}");
                let units = (0..block.convs)
                    .map(|conv| {
                        let shape = block.conv_shape(conv);
                        let channels = if conv == 0 { inputs } else { block.width };
                        Unit::new(
                            &(&path / format!("unit{conv}")),
                            channels,
                            block.width,
                            block.kernel,
                            shape.stride,
                            shape.padding,
                            block.batch_norm,
                        )
                    })
                    .collect();
                let stride = block.conv_shape(0).stride;
                let shortcut = block.projects(inputs).then(|| {
                    Unit::new(
                        &(&path / "shortcut"),
                        inputs,
                        block.width,
                        1,
                        stride,
                        0,
                        block.batch_norm,
                    )
                });
                inputs = block.width;
                BlockLayers {
                    spec: block.clone(),
                    units,
                    shortcut,
                }
            })
            .collect();
        Self {
            blocks: layers,
            pool: head.pool,
            head_dropout: head.dropout,
        }
    }

    /// Images `N×1×28×28` in, the head's features `N×F` out.
    pub fn features(&self, images: &Tensor, train: bool, dropout: &Dropout) -> Tensor {
        let mut x = images.shallow_clone();
        for block in &self.blocks {
            x = block.forward_t(&x, train, dropout);
        }
        match self.pool {
            HeadPool::Gap => x.mean_dim([2i64, 3].as_slice(), false, None),
            HeadPool::Flatten => x.flat_view(),
        }
    }
}

impl BlockLayers {
    fn forward_t(&self, input: &Tensor, train: bool, dropout: &Dropout) -> Tensor {
        let last = self.units.len() - 1;
        let mut x = input.shallow_clone();
        for (index, unit) in self.units.iter().enumerate() {
            x = unit.forward_t(&x, train);
            // A residual block adds its input before the last ReLU.
            if !(self.spec.residual && index == last) {
                x = x.relu();
            }
        }
        if self.spec.residual {
            let shortcut = match &self.shortcut {
                Some(projection) => projection.forward_t(input, train),
                None => input.shallow_clone(),
            };
            x = (x + shortcut).relu();
        }
        if self.spec.pool == Downsample::Max {
            x = x.max_pool2d_default(2);
        }
        dropout.apply(&x, self.spec.dropout, train)
    }
}

#[cfg(test)]
mod tests {
    use tch::{nn::VarStore, Device, Kind};

    use super::*;
    use crate::model::blocks::Padding;

    fn block(width: i64) -> Block {
        Block {
            width,
            convs: 1,
            kernel: 3,
            padding: Padding::Same,
            batch_norm: true,
            pool: Downsample::None,
            residual: false,
            dropout: 0.0,
        }
    }

    fn variable(store: &VarStore, name: &str) -> Tensor {
        store.variables()[name].shallow_clone()
    }

    /// Conv → `BatchNorm` → `ReLU` with libtorch's functional ops, from the
    /// store's own weights and running statistics.
    fn by_hand(store: &VarStore, prefix: &str, x: &Tensor, train: bool, stride: i64) -> Tensor {
        let conv = x.conv2d(
            &variable(store, &format!("{prefix}.conv.weight")),
            None::<Tensor>,
            [stride, stride],
            [1, 1],
            [1, 1],
            1,
        );
        conv.batch_norm(
            Some(variable(store, &format!("{prefix}.bn.weight"))),
            Some(variable(store, &format!("{prefix}.bn.bias"))),
            Some(variable(store, &format!("{prefix}.bn.running_mean")).copy()),
            Some(variable(store, &format!("{prefix}.bn.running_var")).copy()),
            train,
            0.1,
            1e-5,
            false,
        )
    }

    #[test]
    fn a_batchnorm_block_is_libtorchs_ops_in_both_modes_and_trains_its_statistics() {
        tch::manual_seed(1);
        let store = VarStore::new(Device::Cpu);
        let blocks = ConvBlocks::new(&store.root(), &[block(4)], &Head::default());
        let dropout = Dropout::new(0);
        let x = Tensor::rand([6, 1, 28, 28], (Kind::Float, Device::Cpu)) * 3.0 + 1.0;
        let expected = by_hand(&store, "block0.unit0", &x, true, 1)
            .relu()
            .mean_dim([2i64, 3].as_slice(), false, None);
        let ours = blocks.features(&x, true, &dropout);
        assert!(ours.allclose(&expected, 1e-5, 1e-6, false));
        // Training moved the running statistics away from 0 and 1…
        let mean = variable(&store, "block0.unit0.bn.running_mean");
        assert!(mean.abs().max().double_value(&[]) > 1e-3);
        // …and evaluation normalises with them, not with the batch's.
        let expected = by_hand(&store, "block0.unit0", &x, false, 1)
            .relu()
            .mean_dim([2i64, 3].as_slice(), false, None);
        let ours = blocks.features(&x, false, &dropout);
        assert!(ours.allclose(&expected, 1e-5, 1e-6, false));
        let unchanged = variable(&store, "block0.unit0.bn.running_mean");
        assert!(
            unchanged.equal(&mean),
            "evaluation must not update the statistics"
        );
    }

    #[test]
    fn a_residual_block_adds_its_projected_input_and_gradients_flow_alike() {
        tch::manual_seed(2);
        let store = VarStore::new(Device::Cpu);
        let residual = Block {
            convs: 2,
            residual: true,
            pool: Downsample::Stride,
            ..block(4)
        };
        let blocks = ConvBlocks::new(
            &store.root(),
            &[residual],
            &Head {
                pool: HeadPool::Flatten,
                ..Head::default()
            },
        );
        let x = Tensor::rand([3, 1, 28, 28], (Kind::Float, Device::Cpu));
        let ours = blocks.features(&x, true, &Dropout::new(0));
        let first = by_hand(&store, "block0.unit0", &x, true, 2).relu();
        let second = {
            let conv = first.conv2d(
                &variable(&store, "block0.unit1.conv.weight"),
                None::<Tensor>,
                [1, 1],
                [1, 1],
                [1, 1],
                1,
            );
            conv.batch_norm(
                Some(variable(&store, "block0.unit1.bn.weight")),
                Some(variable(&store, "block0.unit1.bn.bias")),
                None::<Tensor>,
                None::<Tensor>,
                true,
                0.1,
                1e-5,
                false,
            )
        };
        let shortcut = x
            .conv2d(
                &variable(&store, "block0.shortcut.conv.weight"),
                None::<Tensor>,
                [2, 2],
                [0, 0],
                [1, 1],
                1,
            )
            .batch_norm(
                Some(variable(&store, "block0.shortcut.bn.weight")),
                Some(variable(&store, "block0.shortcut.bn.bias")),
                None::<Tensor>,
                None::<Tensor>,
                true,
                0.1,
                1e-5,
                false,
            );
        let expected = (second + shortcut).relu().flat_view();
        assert_eq!(ours.size(), vec![3, 4 * 14 * 14]);
        assert!(ours.allclose(&expected, 1e-5, 1e-6, false));
        // The same loss gives the same gradient on the first convolution.
        let weight = variable(&store, "block0.unit0.conv.weight");
        let gradient = |output: &Tensor| {
            let mut grad = weight.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
            output.square().sum(Kind::Float).backward();
            weight.grad().copy()
        };
        let ours_grad = gradient(&ours);
        let expected_grad = gradient(&expected);
        assert!(ours_grad.abs().sum(Kind::Float).double_value(&[]) > 0.0);
        assert!(ours_grad.allclose(&expected_grad, 1e-4, 1e-5, false));
    }
}
