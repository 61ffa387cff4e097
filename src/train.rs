//! Training: the trainer thread that owns tch. It speaks the types of
//! [`crate::protocol`] (commands in, events out) and writes each run to the
//! store itself, so headless and detached runs need no viewer.

pub mod adam;
pub mod allocator;
pub mod augment;
pub mod checkpoint;
pub mod denormals;
pub mod device;
pub mod epoch;
pub mod evaluate;
pub mod fit;
pub mod openmp;
pub mod optimizer;
pub mod sgd;
pub mod state;
pub mod step;
pub mod tensors;
pub mod threads;
pub mod throughput;
pub mod trainer;

pub use device::{device_name, ResolveDevice};
pub use trainer::Trainer;
