//! Model specifications (plain data) and the tch networks built from them.

pub mod init;
pub mod net;
pub mod spec;

pub use net::Net;
pub use spec::{ModelSpec, SpecError};
