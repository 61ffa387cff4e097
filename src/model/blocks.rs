//! A modern convolutional network as data: blocks of stacked convolutions
//! with a kernel size, padding, `BatchNorm`, max-pooling or a strided first
//! convolution, residual shortcuts and dropout, then a head (global average
//! pooling or flatten, optional dense layers). Shapes and parameter counts
//! need no tch.

use serde::{Deserialize, Serialize};

use super::error::SpecError;
use crate::data::{IMAGE_SIDE, NUM_CLASSES};

/// `same` keeps the side (odd kernels); `valid` shrinks it by kernel − 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    #[default]
    Same,
    Valid,
}

/// How a block halves its feature map, if it does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Downsample {
    /// Max-pool 2×2 after the block.
    #[default]
    Max,
    /// The block's first convolution has stride 2.
    Stride,
    /// Keep the side.
    None,
}

/// How the head turns the last feature map into features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadPool {
    /// Global average pooling: one feature per channel.
    #[default]
    Gap,
    /// Every value of the feature map.
    Flatten,
}

fn one() -> u32 {
    1
}

fn three() -> i64 {
    3
}

/// `convs` convolutions of `width` channels, each followed by [`BatchNorm`]
/// and `ReLU`; with `residual`, the block's input is added before the last
/// `ReLU` (a 1×1 projection when the shape changes); then the downsampling
/// and [dropout].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub width: i64,
    #[serde(default = "one")]
    pub convs: u32,
    #[serde(default = "three")]
    pub kernel: i64,
    #[serde(default)]
    pub padding: Padding,
    #[serde(default)]
    pub batch_norm: bool,
    #[serde(default)]
    pub pool: Downsample,
    #[serde(default)]
    pub residual: bool,
    #[serde(default)]
    pub dropout: f64,
}

/// After the blocks: pooling, then dense layers (`ReLU`, dropout before each
/// layer including the output one) and the 10 logits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Head {
    #[serde(default)]
    pub pool: HeadPool,
    #[serde(default)]
    pub dense: Vec<i64>,
    #[serde(default)]
    pub dropout: f64,
}

/// One block's shapes: the stride and padding of each convolution and the
/// side after each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub stride: i64,
    pub padding: i64,
}

impl Block {
    /// Stride and padding of convolution `index` of the block.
    pub fn conv_shape(&self, index: u32) -> ConvShape {
        ConvShape {
            stride: if index == 0 && self.pool == Downsample::Stride {
                2
            } else {
                1
            },
            padding: match self.padding {
                Padding::Same => self.kernel / 2,
                Padding::Valid => 0,
            },
        }
    }

    /// Whether the residual shortcut needs a 1×1 projection.
    pub fn projects(&self, inputs: i64) -> bool {
        self.residual && (inputs != self.width || self.pool == Downsample::Stride)
    }

    fn check(&self, index: usize) -> Result<(), SpecError> {
        let field = |name: &str| format!("blocks[{index}].{name}");
        let bad = |name: &str, expected: &str, found: String| SpecError::Setting {
            field: field(name),
            expected: expected.into(),
            found,
        };
        if self.width < 1 {
            return Err(SpecError::NonPositiveWidth {
                field: field("width"),
                value: self.width,
            });
        }
        if self.convs == 0 {
            return Err(bad("convs", "1 or more", "0".into()));
        }
        if !(1..=IMAGE_SIDE as i64).contains(&self.kernel) {
            return Err(bad(
                "kernel",
                "a side from 1 to 28",
                self.kernel.to_string(),
            ));
        }
        if self.padding == Padding::Same && self.kernel % 2 == 0 {
            return Err(bad(
                "kernel",
                "an odd side with padding \"same\"",
                self.kernel.to_string(),
            ));
        }
        if self.residual && self.padding != Padding::Same {
            return Err(bad(
                "padding",
                "\"same\" in a residual block (the shortcut must match)",
                "\"valid\"".into(),
            ));
        }
        check_rate(&field("dropout"), self.dropout)
    }
}

fn check_rate(field: &str, rate: f64) -> Result<(), SpecError> {
    if (0.0..1.0).contains(&rate) {
        Ok(())
    } else {
        Err(SpecError::Setting {
            field: field.into(),
            expected: "a dropout rate in [0, 1)".into(),
            found: rate.to_string(),
        })
    }
}

/// Checks every block and the head, and that the feature map survives.
pub fn validate(blocks: &[Block], head: &Head) -> Result<(), SpecError> {
    if blocks.is_empty() {
        return Err(SpecError::NoLayers {
            field: "blocks".into(),
        });
    }
    for (index, block) in blocks.iter().enumerate() {
        block.check(index)?;
    }
    for (index, &width) in head.dense.iter().enumerate() {
        if width < 1 {
            return Err(SpecError::NonPositiveWidth {
                field: format!("head.dense[{index}]"),
                value: width,
            });
        }
    }
    check_rate("head.dropout", head.dropout)?;
    feature_side(blocks).map(|_| ())
}

/// The side of the last feature map; the error names the layer where it vanishes.
pub fn feature_side(blocks: &[Block]) -> Result<i64, SpecError> {
    let mut side = IMAGE_SIDE as i64;
    for (index, block) in blocks.iter().enumerate() {
        for conv in 0..block.convs {
            let shape = block.conv_shape(conv);
            let after = (side + 2 * shape.padding - block.kernel).div_euclid(shape.stride) + 1;
            if after < 1 {
                return Err(SpecError::Vanishes {
                    layer: format!("blocks[{index}] conv {}", conv + 1),
                    input: side,
                });
            }
            side = after;
        }
        if block.pool == Downsample::Max {
            if side < 2 {
                return Err(SpecError::Vanishes {
                    layer: format!("blocks[{index}] max-pool"),
                    input: side,
                });
            }
            side /= 2;
        }
    }
    Ok(side)
}

/// Width of the features entering the head's first layer.
pub fn head_features(blocks: &[Block], head: &Head) -> Result<i64, SpecError> {
    let channels = blocks.last().map_or(1, |block| block.width);
    Ok(match head.pool {
        HeadPool::Gap => channels,
        HeadPool::Flatten => {
            let side = feature_side(blocks)?;
            channels.saturating_mul(side * side)
        }
    })
}

/// Trainable parameters: convolution weights (biases only without
/// `BatchNorm`), `BatchNorm`'s scale and shift, projections and dense layers.
/// `None` when the count overflows.
pub fn param_count(blocks: &[Block], head: &Head) -> Option<i64> {
    let mut total: i64 = 0;
    let mut add = |count: Option<i64>| -> Option<()> {
        total = total.checked_add(count?)?;
        Some(())
    };
    let mut inputs: i64 = 1;
    for block in blocks {
        let norm_or_bias = if block.batch_norm {
            2 * block.width
        } else {
            block.width
        };
        let area = block.kernel.checked_mul(block.kernel)?;
        let mut channels = inputs;
        for _ in 0..block.convs {
            add(area
                .checked_mul(channels)?
                .checked_mul(block.width)?
                .checked_add(norm_or_bias))?;
            channels = block.width;
        }
        if block.projects(inputs) {
            add(inputs.checked_mul(block.width)?.checked_add(norm_or_bias))?;
        }
        inputs = block.width;
    }
    let mut features = head_features(blocks, head).ok()?;
    for &width in head.dense.iter().chain(&[NUM_CLASSES as i64]) {
        add(features.checked_mul(width)?.checked_add(width))?;
        features = width;
    }
    Some(total)
}

/// `32×2 bn → 64 s res …`: a block list in a line.
pub fn describe(blocks: &[Block], head: &Head) -> String {
    let mut parts: Vec<String> = blocks
        .iter()
        .map(|block| {
            let mut text = block.width.to_string();
            if block.convs > 1 {
                text += &format!("×{}", block.convs);
            }
            if block.kernel != 3 {
                text += &format!(" k{}", block.kernel);
            }
            if block.padding == Padding::Valid {
                text += " valid";
            }
            if block.batch_norm {
                text += " bn";
            }
            if block.residual {
                text += " res";
            }
            text += match block.pool {
                Downsample::Max => " pool",
                Downsample::Stride => " s2",
                Downsample::None => "",
            };
            if block.dropout > 0.0 {
                text += &format!(" drop {}", block.dropout);
            }
            text
        })
        .collect();
    parts.push(match head.pool {
        HeadPool::Gap => "gap".into(),
        HeadPool::Flatten => "flatten".into(),
    });
    parts.extend(head.dense.iter().map(ToString::to_string));
    if head.dropout > 0.0 {
        parts.push(format!("drop {}", head.dropout));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn block(width: i64) -> Block {
        Block {
            width,
            convs: 1,
            kernel: 3,
            padding: Padding::Same,
            batch_norm: false,
            pool: Downsample::Max,
            residual: false,
            dropout: 0.0,
        }
    }

    #[test]
    fn sides_follow_padding_pooling_and_stride() {
        let blocks = [block(8), block(16)];
        assert_eq!(feature_side(&blocks), Ok(7));
        let valid = [Block {
            padding: Padding::Valid,
            convs: 2,
            ..block(8)
        }];
        assert_eq!(feature_side(&valid), Ok(12), "28 → 26 → 24 → 12");
        let strided = [Block {
            pool: Downsample::Stride,
            ..block(8)
        }];
        assert_eq!(feature_side(&strided), Ok(14), "(28 + 2 − 3) / 2 + 1");
    }

    #[test]
    fn a_vanishing_map_names_the_layer() {
        let blocks: Vec<Block> = (0..6).map(|_| block(4)).collect();
        let error = validate(&blocks, &Head::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "blocks[4] max-pool: the feature map vanishes there (1×1 input); use fewer or smaller-stride blocks"
        );
    }

    #[test]
    fn parameter_counts_by_hand() {
        // conv 3×3 1→8 with bias (80), GAP, dense 8→10 (90).
        assert_eq!(param_count(&[block(8)], &Head::default()), Some(170));
        // With BatchNorm: 72 weights + 16 scale/shift, no conv bias.
        let bn = Block {
            batch_norm: true,
            ..block(8)
        };
        assert_eq!(
            param_count(std::slice::from_ref(&bn), &Head::default()),
            Some(72 + 16 + 90)
        );
        // Residual 8→16, two convs: 8·16·9 + 32, 16·16·9 + 32, projection 8·16 + 32.
        let residual = Block {
            width: 16,
            convs: 2,
            residual: true,
            ..bn.clone()
        };
        let expected = 88 + (1152 + 32) + (2304 + 32) + (128 + 32) + 170;
        assert_eq!(
            param_count(&[bn, residual], &Head::default()),
            Some(expected)
        );
        // Flatten 8×14×14 → dense 4 → 10.
        let head = Head {
            pool: HeadPool::Flatten,
            dense: vec![4],
            dropout: 0.0,
        };
        assert_eq!(
            param_count(&[block(8)], &head),
            Some(80 + 1568 * 4 + 4 + 50)
        );
    }

    #[test]
    fn bad_settings_name_the_field() {
        let check = |block: Block| {
            validate(&[block], &Head::default())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            check(Block {
                kernel: 4,
                ..block(8)
            }),
            "blocks[0].kernel: expected an odd side with padding \"same\", found 4"
        );
        assert_eq!(
            check(Block {
                dropout: 1.0,
                ..block(8)
            }),
            "blocks[0].dropout: expected a dropout rate in [0, 1), found 1"
        );
        assert_eq!(
            check(Block {
                convs: 0,
                ..block(8)
            }),
            "blocks[0].convs: expected 1 or more, found 0"
        );
        assert_eq!(
            check(Block {
                residual: true,
                padding: Padding::Valid,
                ..block(8)
            }),
            "blocks[0].padding: expected \"same\" in a residual block (the shortcut must match), found \"valid\""
        );
        assert_eq!(
            validate(&[], &Head::default()).unwrap_err().to_string(),
            "blocks: at least one layer is needed"
        );
    }
}
