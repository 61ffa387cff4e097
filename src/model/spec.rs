//! What a model is, as data: the layer widths of a CNN or an MLP as the
//! original notebook built them (3×3 valid convolutions), or a modern
//! `ConvNet`'s blocks and head, whose kernels, padding and strides are its
//! own ([`blocks`]). Validation and parameter counts need no tch.

use std::fmt;

use super::{
    blocks::{self, Block, Head},
    error::SpecError,
};
use crate::data::{IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use serde::{Deserialize, Serialize};

/// Kernel side of the original's CNN convolutions (3×3, valid padding);
/// a `ConvNet`'s blocks choose their own (see [`blocks`]).
pub const KERNEL: i64 = 3;
/// Dropout after each conv block, and after each MLP hidden layer but the last.
pub const DROPOUT_HIDDEN: f64 = 0.25;
/// Dropout before the output layer.
pub const DROPOUT_LAST: f64 = 0.5;

/// A network's architecture.
///
/// - CNN (the original's): for each conv width c: Conv2d(c, 3×3, valid) → `ReLU` → `MaxPool` 2×2
///   → [Dropout 0.25]; then Flatten → Linear(dense) → `ReLU` → [Dropout 0.5] → Linear(10).
/// - MLP: Linear(h) → `ReLU` → [Dropout 0.25] per hidden width, the last one's
///   dropout being 0.5; then Linear(10).
///
/// - `ConvNet`: blocks of stacked convolutions with `BatchNorm`, pooling or
///   strides, residual shortcuts and dropout, then a head (see [`blocks`]).
///
/// Stored with every run, so it reads fields it does not know (a newer
/// version's); plan files are checked for typos by `plan::file`'s own type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSpec {
    /// Convolutional network.
    Cnn {
        conv: Vec<i64>,
        dense: i64,
        #[serde(default)]
        dropout: bool,
    },
    /// Multi-layer perceptron on the flattened image.
    Mlp {
        hidden: Vec<i64>,
        #[serde(default)]
        dropout: bool,
    },
    /// Convolution blocks and a head, for the recipes beyond the original.
    #[serde(rename = "convnet")]
    ConvNet {
        blocks: Vec<Block>,
        #[serde(default)]
        head: Head,
    },
}

impl ModelSpec {
    /// An MLP with one hidden layer of 8 units and no dropout (6,370
    /// parameters): trains in milliseconds, for tests and smoke runs.
    pub fn tiny_mlp() -> Self {
        Self::Mlp {
            hidden: vec![8],
            dropout: false,
        }
    }

    /// Short family name: "CNN" or "MLP".
    pub fn family(&self) -> &'static str {
        match self {
            Self::Cnn { .. } | Self::ConvNet { .. } => "CNN",
            Self::Mlp { .. } => "MLP",
        }
    }

    /// Whether the spec has dropout layers.
    pub fn has_dropout(&self) -> bool {
        match self {
            Self::Cnn { dropout, .. } | Self::Mlp { dropout, .. } => *dropout,
            Self::ConvNet { blocks, head } => {
                head.dropout > 0.0 || blocks.iter().any(|block| block.dropout > 0.0)
            }
        }
    }

    /// Turns the model's dropout layers on or off. A `ConvNet`'s rates are
    /// its own: off sets them all to 0, on leaves them as they are.
    pub fn set_dropout(&mut self, on: bool) {
        match self {
            Self::Cnn { dropout, .. } | Self::Mlp { dropout, .. } => *dropout = on,
            Self::ConvNet { blocks, head } if !on => {
                head.dropout = 0.0;
                for block in blocks {
                    block.dropout = 0.0;
                }
            }
            Self::ConvNet { .. } => {}
        }
    }

    /// Checks widths and that every conv block still has a feature map to work on.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self {
            Self::Cnn { conv, dense, .. } => {
                check_widths("conv", conv)?;
                check_width("dense", *dense)?;
                self.feature_sides()?;
            }
            Self::Mlp { hidden, .. } => check_widths("hidden", hidden)?,
            Self::ConvNet { blocks, head } => blocks::validate(blocks, head)?,
        }
        // Last: the count needs positive widths and a feature map.
        self.checked_param_count().map(|_| ())
    }

    /// Side of the feature map after each conv block (conv 3×3 valid, then pool 2×2).
    fn feature_sides(&self) -> Result<Vec<i64>, SpecError> {
        let Self::Cnn { conv, .. } = self else {
            return Ok(Vec::new());
        };
        let max_depth = max_conv_depth();
        let mut side = IMAGE_SIDE as i64;
        let mut sides = Vec::new();
        for (layer, &width) in conv.iter().enumerate() {
            let after = (side - (KERNEL - 1)) / 2;
            if after < 1 {
                return Err(SpecError::FeatureMapVanishes {
                    layer,
                    width,
                    input: side,
                    max_depth,
                });
            }
            side = after;
            sides.push(side);
        }
        Ok(sides)
    }

    /// Number of trainable parameters (weights and biases), as Keras counts them.
    ///
    /// Errors when the spec is invalid.
    pub fn param_count(&self) -> Result<u64, SpecError> {
        self.validate()?;
        self.checked_param_count()
    }

    /// [`Self::param_count`] on a spec whose widths are known to be positive;
    /// checked, as a plan file may give any width up to `i64::MAX`.
    fn checked_param_count(&self) -> Result<u64, SpecError> {
        let too_large = || SpecError::TooManyParameters {
            spec: self.to_string(),
        };
        // Weights and biases of a dense layer; tch sizes are i64, so the count must fit one.
        let linear = |inputs: i64, outputs: i64| {
            inputs
                .checked_mul(outputs)
                .and_then(|weights| weights.checked_add(outputs))
        };
        if let Self::ConvNet { blocks, head } = self {
            return blocks::param_count(blocks, head)
                .map(|count| count as u64)
                .ok_or_else(too_large);
        }
        let classes = NUM_CLASSES as i64;
        let mut total: i64 = 0;
        let mut add = |inputs: i64, outputs: i64| -> Result<(), SpecError> {
            total = linear(inputs, outputs)
                .and_then(|layer| total.checked_add(layer))
                .ok_or_else(too_large)?;
            Ok(())
        };
        match self {
            Self::Cnn { conv, dense, .. } => {
                // Each output channel sees a 3×3 patch of every input channel.
                let mut inputs = KERNEL * KERNEL;
                for &width in conv {
                    add(inputs, width)?;
                    inputs = width.checked_mul(KERNEL * KERNEL).ok_or_else(too_large)?;
                }
                add(self.flat_features()?, *dense)?;
                add(*dense, classes)?;
            }
            Self::Mlp { hidden, .. } => {
                let mut inputs = IMAGE_PIXELS as i64;
                for &width in hidden {
                    add(inputs, width)?;
                    inputs = width;
                }
                add(inputs, classes)?;
            }
            Self::ConvNet { .. } => {}
        }
        Ok(total as u64)
    }

    /// Width of the flattened features entering the first dense layer.
    pub fn flat_features(&self) -> Result<i64, SpecError> {
        match self {
            Self::Cnn { conv, .. } => {
                let side = *self.feature_sides()?.last().unwrap_or(&(IMAGE_SIDE as i64));
                conv.last()
                    .copied()
                    .unwrap_or(1)
                    .checked_mul(side * side)
                    .ok_or_else(|| SpecError::TooManyParameters {
                        spec: self.to_string(),
                    })
            }
            Self::Mlp { .. } => Ok(IMAGE_PIXELS as i64),
            Self::ConvNet { blocks, head } => blocks::head_features(blocks, head),
        }
    }
}

/// How many conv blocks a 28×28 image supports (three: 28 → 13 → 5 → 1).
pub fn max_conv_depth() -> usize {
    let mut side = IMAGE_SIDE as i64;
    let mut depth = 0;
    while (side - (KERNEL - 1)) / 2 >= 1 {
        side = (side - (KERNEL - 1)) / 2;
        depth += 1;
    }
    depth
}

fn check_widths(field: &str, widths: &[i64]) -> Result<(), SpecError> {
    if widths.is_empty() {
        return Err(SpecError::NoLayers {
            field: field.to_string(),
        });
    }
    for (index, &width) in widths.iter().enumerate() {
        check_width(&format!("{field}[{index}]"), width)?;
    }
    Ok(())
}

fn check_width(field: &str, value: i64) -> Result<(), SpecError> {
    if value > 0 {
        Ok(())
    } else {
        Err(SpecError::NonPositiveWidth {
            field: field.to_string(),
            value,
        })
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |widths: &[i64]| {
            widths
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Self::Cnn { conv, dense, .. } => write!(f, "CNN conv [{}] dense {dense}", list(conv))?,
            Self::Mlp { hidden, .. } => write!(f, "MLP hidden [{}]", list(hidden))?,
            Self::ConvNet { blocks, head } => {
                // Its dropout rates are in the blocks; the suffix below is for the classic models.
                return write!(f, "ConvNet [{}]", blocks::describe(blocks, head));
            }
        }
        if self.has_dropout() {
            f.write_str(" + dropout")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cnn(conv: &[i64], dense: i64, dropout: bool) -> ModelSpec {
        ModelSpec::Cnn {
            conv: conv.to_vec(),
            dense,
            dropout,
        }
    }

    #[test]
    fn parameter_counts_match_the_original_models() {
        assert_eq!(cnn(&[64], 16, false).param_count(), Ok(173_882));
        assert_eq!(cnn(&[64], 16, true).param_count(), Ok(173_882));
        assert_eq!(cnn(&[512], 128, false).param_count(), Ok(11_082_122));
        assert_eq!(cnn(&[512, 256, 128], 32, true).param_count(), Ok(1_484_522));
        let mlp = ModelSpec::Mlp {
            hidden: vec![512, 256, 128],
            dropout: true,
        };
        assert_eq!(mlp.param_count(), Ok(567_434));
    }

    #[test]
    fn too_deep_a_conv_stack_names_the_layer() {
        assert_eq!(max_conv_depth(), 3);
        let error = cnn(&[8, 8, 8, 8], 16, false).validate().unwrap_err();
        assert_eq!(
            error,
            SpecError::FeatureMapVanishes {
                layer: 3,
                width: 8,
                input: 1,
                max_depth: 3
            }
        );
        assert!(error
            .to_string()
            .starts_with("conv[3] = 8: the feature map vanishes there (1×1 input"));
    }

    #[test]
    fn non_positive_and_missing_widths_are_rejected() {
        let error = cnn(&[64, 0], 16, false).validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "conv[1]: width must be positive, found 0"
        );
        let error = cnn(&[64], -5, false).validate().unwrap_err();
        assert_eq!(error.to_string(), "dense: width must be positive, found -5");
        let error = ModelSpec::Mlp {
            hidden: vec![],
            dropout: false,
        }
        .validate()
        .unwrap_err();
        assert_eq!(error.to_string(), "hidden: at least one layer is needed");
    }

    #[test]
    fn widths_whose_parameter_count_overflows_are_rejected() {
        // Found by fuzzing the plan parser: this overflowed (a panic in debug builds).
        let mlp = ModelSpec::Mlp {
            hidden: vec![i64::MAX],
            dropout: false,
        };
        assert_eq!(
            mlp.validate().unwrap_err().to_string(),
            format!("MLP hidden [{}]: the parameter count overflows a 64-bit integer; use smaller widths", i64::MAX)
        );
        assert!(mlp.param_count().is_err());
        for spec in [
            cnn(&[i64::MAX], 1, false),
            cnn(&[1 << 40, 1 << 40], 1, false),
            cnn(&[64], i64::MAX / 2, false),
        ] {
            assert!(
                matches!(spec.validate(), Err(SpecError::TooManyParameters { .. })),
                "{spec}"
            );
        }
        // The largest widths that still fit are counted exactly.
        let wide = ModelSpec::Mlp {
            hidden: vec![1 << 40],
            dropout: false,
        };
        assert_eq!(
            wide.param_count(),
            Ok((784 << 40) + (1 << 40) + (10 << 40) + 10)
        );
    }

    #[test]
    fn flat_features_and_display() {
        assert_eq!(cnn(&[64], 16, false).flat_features(), Ok(64 * 13 * 13));
        assert_eq!(cnn(&[512, 256, 128], 32, true).flat_features(), Ok(128));
        assert_eq!(
            cnn(&[512, 256, 128], 32, true).to_string(),
            "CNN conv [512,256,128] dense 32 + dropout"
        );
    }

    #[test]
    fn serde_form_is_tagged_and_reads_fields_of_newer_versions() {
        let spec: ModelSpec = toml::from_str("kind = \"cnn\"\nconv = [64]\ndense = 16\n").unwrap();
        assert_eq!(spec, cnn(&[64], 16, false));
        // A stored spec from a newer version; plan files catch typos elsewhere.
        let spec: ModelSpec =
            toml::from_str("kind = \"cnn\"\nconv = [64]\ndense = 16\nnorm = \"batch\"\n").unwrap();
        assert_eq!(spec, cnn(&[64], 16, false));
    }
}
