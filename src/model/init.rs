//! Keras' default initialisation, so results compare with the original:
//! Glorot-uniform weights and zero biases (libtorch defaults to Kaiming-uniform).

use tch::nn::Init;

/// Glorot (Xavier) uniform: U(-l, l) with l = sqrt(6 / (`fan_in` + `fan_out`)).
pub fn glorot_uniform(fan_in: i64, fan_out: i64) -> Init {
    #[allow(clippy::cast_precision_loss)]
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    Init::Uniform {
        lo: -limit,
        up: limit,
    }
}

/// Zero biases, as Keras initialises them.
pub const ZERO: Init = Init::Const(0.0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_limit_matches_the_formula() {
        let Init::Uniform { lo, up } = glorot_uniform(784, 512) else {
            panic!("expected a uniform init");
        };
        assert!((up - (6.0f64 / 1296.0).sqrt()).abs() < 1e-12);
        assert_eq!(lo, -up);
    }
}
