//! Model specifications (plain data) and the tch networks built from them.

pub mod blocks;
pub mod convnet;
pub mod dropout;
pub mod init;
pub mod net;
pub mod precision;
pub mod relu_pool;
pub mod spec;

pub use net::Net;
pub use precision::Precision;
pub use spec::{ModelSpec, SpecError};
