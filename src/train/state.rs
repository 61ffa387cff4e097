//! What every optimizer here shares: the trainable variables in name order,
//! fresh gradients, and state saved in a checkpoint and checked tensor by
//! tensor before anything is restored.

use std::collections::BTreeMap;

use tch::{nn::VarStore, Kind, Tensor};
use thiserror::Error;

/// A checkpoint's optimizer state that does not fit the network.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StateError {
    #[error("the checkpoint has no optimizer state for {0:?}")]
    Missing(String),
    #[error("optimizer state for {name:?} has shape {found:?}, the network expects {expected:?}")]
    Shape {
        name: String,
        expected: Vec<i64>,
        found: Vec<i64>,
    },
    #[error("the checkpoint's step count is {0}; expected a non-negative integer")]
    Step(i64),
}

/// The trainable variables of `store` (not `BatchNorm`'s running
/// statistics), in name order: how every optimizer here lays out its state.
pub fn trainable(store: &VarStore) -> impl Iterator<Item = (String, Tensor)> {
    let named: BTreeMap<String, Tensor> = store.variables().into_iter().collect();
    named.into_iter().filter(|(_, param)| param.requires_grad())
}

/// Zeroes the gradients of `params`, then back-propagates `loss` into them.
pub fn backward_fresh<'a>(params: impl Iterator<Item = &'a Tensor>, loss: &Tensor) {
    for param in params {
        let mut grad = param.grad();
        if grad.defined() {
            let _ = grad.detach_().zero_();
        }
    }
    loss.backward();
}

/// The saved tensor `key`, shaped like `like`, on its device and of its
/// kind; an error when it is missing or shaped otherwise.
pub fn matching(
    tensors: &BTreeMap<String, Tensor>,
    key: String,
    like: &Tensor,
) -> Result<Tensor, StateError> {
    let found = tensors
        .get(&key)
        .ok_or_else(|| StateError::Missing(key.clone()))?;
    if found.size() != like.size() {
        return Err(StateError::Shape {
            name: key,
            expected: like.size(),
            found: found.size(),
        });
    }
    Ok(found.to_kind(like.kind()).to_device(like.device()))
}

/// The saved step count `key`.
pub fn step_count(tensors: &BTreeMap<String, Tensor>, key: &str) -> Result<u64, StateError> {
    let step = tensors
        .get(key)
        .ok_or_else(|| StateError::Missing(key.into()))?
        .to_kind(Kind::Int64)
        .int64_value(&[]);
    u64::try_from(step).map_err(|_| StateError::Step(step))
}
