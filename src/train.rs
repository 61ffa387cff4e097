//! Training: the trainer thread that owns tch, and the messages it speaks.
//!
//! Everything crossing a thread boundary or reaching the disk is a type in
//! [`messages`]; the rest of the module is the machinery behind them.

pub mod adam;
pub mod allocator;
pub mod checkpoint;
pub mod denormals;
pub mod device;
pub mod fit;
pub mod messages;
pub mod metrics;
pub mod openmp;
pub mod tensors;
pub mod throughput;
pub mod trainer;

pub use device::{device_name, DevicePref};
pub use messages::{Command, Event, Phase, RunId, RunRequest};
pub use trainer::Trainer;
