//! `max_pool2d(relu(x), 2)` as one op: a C++ autograd function on the CPU
//! (`relu_pool.cpp`, built by `build.rs`), libtorch's two ops elsewhere.
//!
//! On the CPU, libtorch's `ReLU` plus its NCHW 2×2 pool (int64 indices, a
//! zero-filled gradient scattered into) cost about as much as the rest of an
//! M1 step together. The fused op makes one pass each way and gives the same
//! values and gradients bit for bit (tested against the two ops).

use std::ffi::{c_char, CStr};

use tch::{Device, Kind, TchError, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn atelier_relu_pool2(input: *const C_tensor, out: *mut *mut C_tensor) -> *mut c_char;
}

/// `x.relu().max_pool2d_default(2)` for `N×C×H×W` `x`.
pub fn relu_pool2(x: &Tensor) -> Tensor {
    // bf16 goes through fp32 and back: both casts are exact here (every
    // output and gradient is a copy of a bf16 value or zero), and libtorch's
    // bf16 ReLU and pool are slower than the two casts and the fused op.
    if x.kind() == Kind::BFloat16 && x.device() == Device::Cpu {
        return relu_pool2(&x.to_kind(Kind::Float)).to_kind(Kind::BFloat16);
    }
    if !fused_applies(x) {
        return x.relu().max_pool2d_default(2);
    }
    match fused(x) {
        Ok(y) => y,
        // What every tch op does with a libtorch error, word for word, so the
        // trainer reports it the same way.
        Err(error) => panic!("called `Result::unwrap()` on an `Err` value: {error:?}"),
    }
}

/// The fused kernel covers fp32 CPU tensors of at least one window.
fn fused_applies(x: &Tensor) -> bool {
    x.device() == Device::Cpu
        && x.kind() == Kind::Float
        && x.dim() == 4
        && x.size().iter().skip(2).all(|&side| side >= 2)
}

fn fused(x: &Tensor) -> Result<Tensor, TchError> {
    let mut out: *mut C_tensor = std::ptr::null_mut();
    // SAFETY: `x` is a live tensor; on success the kernel hands over a new
    // tensor that `from_ptr` owns, on failure a malloc'd message we free.
    unsafe {
        let message = atelier_relu_pool2(x.as_ptr(), &raw mut out);
        if message.is_null() {
            Ok(Tensor::from_ptr(out))
        } else {
            let text = CStr::from_ptr(message).to_string_lossy().into_owned();
            libc::free(message.cast());
            Err(TchError::Torch(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values and input gradients of the fused op and of libtorch's two ops.
    fn both(x: &Tensor, grad: &Tensor) -> [(Tensor, Tensor); 2] {
        let run = |fused: bool| {
            let input = x.detach().copy().set_requires_grad(true);
            let y = if fused {
                relu_pool2(&input)
            } else {
                input.relu().max_pool2d_default(2)
            };
            // d(sum(y·g))/dy = 1·g: exactly g, -0.0 included.
            (&y * grad).sum(Kind::Float).backward();
            (y.detach(), input.grad())
        };
        [run(true), run(false)]
    }

    fn same_bits(a: &Tensor, b: &Tensor) -> bool {
        let (a, b) = (a.to_kind(Kind::Float), b.to_kind(Kind::Float));
        a.size() == b.size()
            && Vec::<f32>::try_from(a.flatten(0, -1))
                .unwrap()
                .iter()
                .zip(Vec::<f32>::try_from(b.flatten(0, -1)).unwrap())
                .all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn equals_relu_then_pool_bit_for_bit_in_values_and_gradients() {
        tch::manual_seed(7);
        // Even and odd sides, one plane and many, as M1 to M5 pool them.
        for shape in [[32, 64, 26, 26], [3, 5, 11, 11], [2, 3, 3, 3], [1, 1, 2, 7]] {
            let x = Tensor::randn(shape, (Kind::Float, Device::Cpu));
            let [n, c, h, w] = shape;
            let grad = Tensor::randn([n, c, h / 2, w / 2], (Kind::Float, Device::Cpu));
            let [(y, gx), (y_ref, gx_ref)] = both(&x, &grad);
            assert!(same_bits(&y, &y_ref), "{shape:?}: values differ");
            assert!(same_bits(&gx, &gx_ref), "{shape:?}: gradients differ");
        }
    }

    #[test]
    fn bf16_goes_through_the_fused_op_and_still_equals_libtorchs() {
        tch::manual_seed(3);
        let x = Tensor::randn([4, 8, 13, 13], (Kind::BFloat16, Device::Cpu));
        let grad = Tensor::randn([4, 8, 6, 6], (Kind::BFloat16, Device::Cpu));
        let [(y, gx), (y_ref, gx_ref)] = both(&x, &grad);
        assert_eq!((y.kind(), gx.kind()), (Kind::BFloat16, Kind::BFloat16));
        assert!(same_bits(&y, &y_ref), "values differ");
        assert!(same_bits(&gx, &gx_ref), "gradients differ");
    }

    #[test]
    fn ties_zeros_negative_zero_and_nan_follow_libtorch() {
        // Windows: a tie of positives, all negative, zeros, a NaN, -0.0 gradients.
        let x = Tensor::from_slice(&[
            2.0f32,
            2.0,
            -1.0,
            -3.0,
            0.0,
            0.0,
            1.0,
            f32::NAN, //
            1.0,
            -2.0,
            -1.0,
            -5.0,
            0.0,
            -0.0,
            3.0,
            4.0,
        ])
        .view([1, 1, 2, 8]);
        let grad = Tensor::from_slice(&[-0.0f32, 1.5, 2.5, -0.0]).view([1, 1, 1, 4]);
        let [(y, gx), (y_ref, gx_ref)] = both(&x, &grad);
        assert!(same_bits(&y, &y_ref), "{y} vs {y_ref}");
        assert!(same_bits(&gx, &gx_ref), "{gx} vs {gx_ref}");
    }

    #[test]
    fn other_tensors_take_libtorchs_ops() {
        let x = Tensor::randn([2, 3, 4, 4], (Kind::Double, Device::Cpu));
        let y = relu_pool2(&x);
        assert_eq!(y.kind(), Kind::Double);
        assert!(y.equal(&x.relu().max_pool2d_default(2)));
        // A non-contiguous input is made contiguous first.
        let x = Tensor::randn([2, 6, 6, 3], (Kind::Float, Device::Cpu)).permute([0, 3, 1, 2]);
        assert!(relu_pool2(&x).equal(&x.relu().max_pool2d_default(2)));
    }
}
