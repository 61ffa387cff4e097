//! Model specifications (plain data) and the tch networks built from them.

pub mod blocks;
pub mod convnet;
pub mod dropout;
pub mod error;
pub mod init;
pub mod net;
pub mod precision;
pub mod relu_pool;
pub mod spec;
pub mod weights;

pub use error::SpecError;
pub use net::Net;
pub use precision::Precision;
pub use spec::ModelSpec;
pub use weights::check_weights;
