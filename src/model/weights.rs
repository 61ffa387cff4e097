//! Whether stored tensors are the weights of a model: the one check that a
//! resume (before loading `last.safetensors`) and an ONNX export (before
//! trusting `final.safetensors`) both make.

use tch::{nn::VarStore, Device, Tensor};

use super::{ModelSpec, Net, SpecError};

/// How stored tensors fail to be a network's weights.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeightsError {
    #[error("the weights {0:?} are missing")]
    Missing(String),
    #[error("{name:?} has shape {saved:?}, the network expects {expected:?}")]
    Shape {
        name: String,
        saved: Vec<i64>,
        expected: Vec<i64>,
    },
    /// The spec itself builds no network.
    #[error(transparent)]
    Spec(#[from] SpecError),
}

/// The first way `saved` (a variable's name → its stored shape) fails to hold
/// every variable of `store` in its shape; `None` when it holds them all.
pub fn mismatch(
    store: &VarStore,
    saved: impl Fn(&str) -> Option<Vec<i64>>,
) -> Option<WeightsError> {
    let mut variables: Vec<(String, Tensor)> = store.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    variables
        .into_iter()
        .find_map(|(name, variable)| match saved(&name) {
            None => Some(WeightsError::Missing(name)),
            Some(shape) if shape != variable.size() => Some(WeightsError::Shape {
                name,
                saved: shape,
                expected: variable.size(),
            }),
            Some(_) => None,
        })
}

/// Checks `tensors` against the network `spec` builds (on the CPU, never run).
pub fn check_weights(spec: &ModelSpec, tensors: &[(String, Tensor)]) -> Result<(), WeightsError> {
    let store = VarStore::new(Device::Cpu);
    Net::new(&store.root(), spec)?;
    let shape = |name: &str| {
        tensors
            .iter()
            .find(|(saved, _)| saved == name)
            .map(|(_, tensor)| tensor.size())
    };
    mismatch(&store, shape).map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_networks_own_weights_pass_and_a_wrong_shape_or_a_gap_is_named() {
        let spec = ModelSpec::tiny_mlp();
        let store = VarStore::new(Device::Cpu);
        Net::new(&store.root(), &spec).unwrap();
        let mut tensors: Vec<(String, Tensor)> = store.variables().into_iter().collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(check_weights(&spec, &tensors), Ok(()));
        let (name, tensor) = &tensors[0];
        let wrong = Tensor::zeros([tensor.numel() as i64 + 1], tch::kind::FLOAT_CPU);
        let mut damaged = tensors
            .iter()
            .map(|(n, t)| (n.clone(), t.shallow_clone()))
            .collect::<Vec<_>>();
        damaged[0].1 = wrong;
        let problem = check_weights(&spec, &damaged).unwrap_err().to_string();
        assert!(
            problem.contains(&format!("{name:?} has shape")),
            "{problem}"
        );
        drop(damaged.remove(0));
        let problem = check_weights(&spec, &damaged).unwrap_err();
        assert_eq!(problem, WeightsError::Missing(name.clone()));
        assert_eq!(
            problem.to_string(),
            format!("the weights {name:?} are missing")
        );
    }
}
