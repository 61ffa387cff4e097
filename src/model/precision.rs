//! The number format of a network's arithmetic.

use std::fmt;

use serde::{Deserialize, Serialize};
use tch::Kind;

/// How a network computes. Weights, gradients and the optimizer always stay
/// in fp32; `Bf16` runs convolutions and dense layers, and the activations
/// between them, in bfloat16, as `PyTorch`'s autocast does (faster where the
/// CPU has AVX-512 BF16 or AMX, and on CUDA; slightly less accurate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats throughout (the original's, and the default).
    #[default]
    Fp32,
    /// bfloat16 compute over fp32 weights (mixed precision).
    Bf16,
}

impl Precision {
    /// The kind compute runs in.
    pub fn compute_kind(self) -> Kind {
        match self {
            Precision::Fp32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        }
    }

    /// Whether this is the default (left out of run records).
    pub fn is_fp32(&self) -> bool {
        *self == Precision::Fp32
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        })
    }
}
