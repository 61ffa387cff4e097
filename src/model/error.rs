//! What can be wrong with a model's spec, naming the field and the problem.

use thiserror::Error;

/// Why a spec cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SpecError {
    #[error("{field}: width must be positive, found {value}")]
    NonPositiveWidth { field: String, value: i64 },
    #[error("{field}: at least one layer is needed")]
    NoLayers { field: String },
    #[error(
        "conv[{layer}] = {width}: the feature map vanishes there ({input}×{input} input is too \
         small for a 3×3 convolution then 2×2 pooling); use at most {max_depth} conv layers"
    )]
    FeatureMapVanishes {
        layer: usize,
        width: i64,
        input: i64,
        max_depth: usize,
    },
    #[error("{spec}: the parameter count overflows a 64-bit integer; use smaller widths")]
    TooManyParameters { spec: String },
    #[error("{field}: expected {expected}, found {found}")]
    Setting {
        field: String,
        expected: String,
        found: String,
    },
    #[error(
        "{layer}: the feature map vanishes there ({input}×{input} input); use fewer or \
         smaller-stride blocks"
    )]
    Vanishes { layer: String, input: i64 },
}
