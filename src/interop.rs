//! Runs leaving atelier for other tools: networks as ONNX models for ONNX
//! Runtime ([`onnx`]), and runs as `TensorBoard` event files ([`tensorboard`]).

pub mod onnx;
pub mod tensorboard;

/// A run that could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum InteropError {
    /// A model that cannot be exported, with the run or file and why.
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Output(#[from] crate::edge::output::OutputError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Draw(#[from] crate::draw::DrawError),
}
